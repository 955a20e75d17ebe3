"""Every KPI view on hand-made calls with answers worked out by hand (docs/kpis.md has the formulas).

The calls (factory weights: forbidden_phrase 20 and fatal, every other check 10; pass mark 80):

- k1 A001 11-19 09:00 inbound inquiry, caller 100; talk 60 hold 10 acw 20 ring 6 s; greeting ok, closing
  FAIL, forbidden ok, rings ok -> 40/50 = 80, passes
- k2 A002 11-19 14:00 inbound complaint, caller 200, case C1; talk 100, ring 12 s; greeting, closing,
  forbidden ok, rings FAIL, satisfaction asked (customer's answer 2) -> 50/60 = 83.33, passes
- k5 A002 11-19 20:00 outbound callback, caller 200, case C1; talk 50 acw 10; all ok -> 100, passes
- k3 A001 11-20 10:00 inbound inquiry, caller 100; unanswered (talk 0); greeting n/a -> no verdict
- k4 A002 11-21 09:00 outbound survey, caller 300; talk 30; greeting FAIL, forbidden FAIL (fatal) -> 0
- k6 no agent, no start time, inbound inquiry; talk 40; all ok -> 100, passes

k1 has survey score 4, k2 no survey (its csat is the inferred 2), the others none. Agent A003 is on the
roster (agents table) and took no call; 2026-11-22 has no calls.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from qa_pipeline.cli import main
from qa_pipeline.kpis import KpiSettings, KpiTable, query_kpis
from qa_pipeline.kpis.database import open_reader
from qa_pipeline.store.connection import UnreadableDatabaseError
from qa_pipeline.store.database import QaDatabase, ReviewError
from tests.factories import make_call, write_calls

D19, D20, D21, D22 = (date(2026, 11, d) for d in (19, 20, 21, 22))


def _calls() -> list:
    return [
        make_call(
            "k1",
            agent="A001",
            started_at=datetime(2026, 11, 19, 9, 0),
            caller_number="100",
            talk_s=60,
            hold_s=10,
            acw_s=20,
            ring_s=6,
            survey=4,
            verdicts={"greeting": True, "closing_thanks": False, "forbidden_phrase": True, "answer_within_rings": True},
        ),
        make_call(
            "k2",
            agent="A002",
            started_at=datetime(2026, 11, 19, 14, 0),
            call_type="complaint",
            caller_number="200",
            case_id="C1",
            talk_s=100,
            ring_s=12,
            inferred_satisfaction=2,
            verdicts={"greeting": True, "closing_thanks": True, "forbidden_phrase": True, "answer_within_rings": False},
        ),
        make_call(
            "k5",
            agent="A002",
            started_at=datetime(2026, 11, 19, 20, 0),
            direction="outbound",
            call_type="callback",
            caller_number="200",
            case_id="C1",
            talk_s=50,
            acw_s=10,
        ),
        make_call(
            "k3",
            agent="A001",
            started_at=datetime(2026, 11, 20, 10, 0),
            caller_number="100",
            talk_s=0,
            verdicts={"greeting": None},
        ),
        make_call(
            "k4",
            agent="A002",
            started_at=datetime(2026, 11, 21, 9, 0),
            direction="outbound",
            call_type="survey",
            caller_number="300",
            talk_s=30,
            verdicts={"greeting": False, "forbidden_phrase": False},
        ),
        make_call("k6", agent=None, started_at=None, talk_s=40),
    ]


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "kpis.duckdb"
    with write_calls(path, _calls()) as db:
        db.connection.execute("INSERT INTO agents VALUES ('A003', 'New Hire', 'team 1')")
    return path


@pytest.fixture()
def db(db_path: Path):
    with QaDatabase(db_path) as database:
        yield database


def _rows(table: KpiTable, key: str = "") -> dict:
    key = key or table.columns[0]
    return {record[key]: record for record in table.records()}


# -- kpi_daily ---------------------------------------------------------------------------------------


def test_daily_volume_handle_time_and_rings(db: QaDatabase) -> None:
    day = _rows(query_kpis(db.connection, "day"))
    d19 = day[D19]
    assert (d19["calls"], d19["answered_calls"]) == (3, 3)
    assert d19["aht_s"] == pytest.approx(83.3)  # (60+10+20 + 100 + 50+10) / 3
    assert (d19["aht_basis"], d19["aht_acw_calls"]) == ("mixed", 2)
    assert d19["avg_talk_s"] == pytest.approx(70.0)
    assert d19["avg_ring_s"] == pytest.approx(9.0)  # k5 has no ring measure
    assert d19["answer_within_rings_rate"] == pytest.approx(0.5)
    # k3 rang out: counted as a call, not answered, and left out of handle time.
    d20 = day[D20]
    assert (d20["calls"], d20["answered_calls"], d20["aht_s"], d20["aht_basis"], d20["avg_talk_s"]) == (
        1,
        0,
        None,
        None,
        None,
    )
    assert (day[D21]["aht_s"], day[D21]["aht_basis"]) == (30.0, "talk+hold")
    assert list(day)[-1] is None and day[None]["calls"] == 1  # k6 has no start time


def test_daily_quality_compliance_and_satisfaction(db: QaDatabase) -> None:
    day = _rows(query_kpis(db.connection, "day"))
    d19 = day[D19]
    assert d19["avg_qa_score"] == pytest.approx(87.8)  # (80 + 83.33 + 100) / 3
    assert d19["qa_pass_rate"] == pytest.approx(1.0)
    assert d19["script_compliance_rate"] == pytest.approx(0.857)  # 6 of 7 mandated phrases said
    assert d19["check_pass_rates"] == {
        "answer_within_rings": 0.5,
        "closing_thanks": 0.667,
        "forbidden_phrase": 1.0,
        "greeting": 1.0,
        "satisfaction_question": 1.0,
    }
    # csat: k1's survey 4 and k2's inferred 2; k5 has neither and does not count as 0.
    assert (d19["csat"], d19["csat_survey_calls"], d19["csat_inferred_calls"]) == (3.0, 1, 1)
    assert (d19["fatal_failures"], d19["overrides"]) == (0, 0)
    # k3: no applicable check, so no verdict: rates are NULL, not 0.
    d20 = day[D20]
    assert (d20["avg_qa_score"], d20["qa_pass_rate"], d20["script_compliance_rate"], d20["check_pass_rates"]) == (
        None,
        None,
        None,
        None,
    )
    d21 = day[D21]
    assert (d21["avg_qa_score"], d21["qa_pass_rate"], d21["fatal_failures"], d21["csat"]) == (0.0, 0.0, 1, None)


def test_period_includes_empty_days_and_leaves_out_undated_calls(db: QaDatabase) -> None:
    table = query_kpis(db.connection, "day", D21, D22)
    assert [(r["call_date"], r["calls"], r["avg_qa_score"]) for r in table.records()] == [
        (D21, 1, 0.0),
        (D22, 0, None),
    ]
    assert table.total["calls"] == 1 and table.total["fatal_failures"] == 1


def test_empty_period_has_zero_counts_and_null_rates(db: QaDatabase) -> None:
    table = query_kpis(db.connection, "day", date(2026, 12, 1), date(2026, 12, 2))
    assert [(r["calls"], r["fatal_failures"], r["aht_s"], r["csat"]) for r in table.records()] == [
        (0, 0, None, None)
    ] * 2
    assert (table.total["calls"], table.total["avg_qa_score"], table.total["check_pass_rates"]) == (0, None, None)


def test_total_over_all_time(db: QaDatabase) -> None:
    total = query_kpis(db.connection, "day").total
    assert (total["calls"], total["answered_calls"], total["fatal_failures"]) == (6, 5, 1)
    # (80 + 83.33 + 100 + 0 + 100) / 5 calls with a verdict
    assert total["avg_qa_score"] == pytest.approx(72.7)
    assert total["qa_pass_rate"] == pytest.approx(0.8)
    assert total["csat"] == pytest.approx(3.0)


# -- kpi_agent, kpi_call_type, kpi_agent_daily -----------------------------------------------------------


def test_agents_with_no_calls_get_a_row(db: QaDatabase) -> None:
    agents = _rows(query_kpis(db.connection, "agent"))
    assert list(agents) == ["A001", "A002", "A003", None]
    assert (agents["A001"]["calls"], agents["A002"]["calls"], agents["A003"]["calls"], agents[None]["calls"]) == (
        2,
        3,
        0,
        1,
    )
    assert (agents["A003"]["avg_qa_score"], agents["A003"]["fatal_failures"]) == (None, 0)
    assert agents["A002"]["avg_qa_score"] == pytest.approx(61.1)  # (83.33 + 100 + 0) / 3
    assert agents["A002"]["fatal_failures"] == 1
    assert agents["A001"]["script_compliance_rate"] == pytest.approx(0.5)  # k1: greeting yes, closing no


def test_agents_without_calls_in_the_period(db: QaDatabase) -> None:
    agents = _rows(query_kpis(db.connection, "agent", D21, D21))
    assert {agent: row["calls"] for agent, row in agents.items()} == {"A001": 0, "A002": 1, "A003": 0}


def test_call_type_kpis(db: QaDatabase) -> None:
    types = _rows(query_kpis(db.connection, "call_type"))
    assert {t: row["calls"] for t, row in types.items()} == {
        "callback": 1,
        "complaint": 1,
        "inquiry": 3,
        "survey": 1,
    }
    assert types["complaint"]["csat"] == 2.0
    assert types["inquiry"]["avg_qa_score"] == pytest.approx(90.0)  # k1 80, k6 100; k3 has no verdict
    in_period = _rows(query_kpis(db.connection, "call_type", D20, D20))
    assert {t: row["calls"] for t, row in in_period.items()} == {
        "callback": 0,
        "complaint": 0,
        "inquiry": 1,
        "survey": 0,
    }


def test_agent_daily_is_every_agent_on_every_day(db: QaDatabase) -> None:
    table = query_kpis(db.connection, "agent_day", D19, D20)
    cells = {(r["agent_id"], r["call_date"]): r["calls"] for r in table.records()}
    assert cells == {
        ("A001", D19): 1,
        ("A001", D20): 1,
        ("A002", D19): 2,
        ("A002", D20): 0,
        ("A003", D19): 0,
        ("A003", D20): 0,
    }
    a002 = next(r for r in table.records() if (r["agent_id"], r["call_date"]) == ("A002", D19))
    assert a002["aht_s"] == pytest.approx(80.0)  # (100 + 50+10) / 2


# -- kpi_case ------------------------------------------------------------------------------------------


def test_case_efficiency_per_day(db: QaDatabase) -> None:
    days = _rows(query_kpis(db.connection, "case"))
    d19 = days[D19]
    # Cases opened on the 19th: C1 (k2, k5: case id) and caller 100's (k1, then k3 25 h later).
    assert (d19["cases"], d19["cases_from_case_id"], d19["cases_from_caller"]) == (2, 1, 1)
    assert d19["first_contact_resolution_rate"] == 0.5  # C1's only later call is the center's callback
    assert d19["quick_solve_rate"] == 0.0  # k2 talked 100 s, k1's case was not resolved
    # C1: 14:00 -> k5 ends 20:00:51 (6.01 h); caller 100: 09:00 -> k3 ends 10:00:10 next day (25.0 h)
    assert d19["median_case_hours"] == pytest.approx(15.51)
    assert (d19["inbound_calls"], d19["repeat_calls"], d19["repeat_call_rate"]) == (2, 0, 0.0)
    assert (d19["complaints"], d19["complaint_callback_rate"]) == (1, 1.0)  # k5 called 200 back 6 h later
    d20 = days[D20]
    assert (d20["cases"], d20["inbound_calls"], d20["repeat_calls"], d20["repeat_call_rate"]) == (0, 1, 1, 1.0)
    d21 = days[D21]  # k4: a case opened by an outbound call: no first-contact resolution to judge
    assert (d21["cases"], d21["first_contact_resolution_rate"], d21["median_case_hours"]) == (1, None, 0.01)


def test_case_efficiency_over_a_period(db: QaDatabase) -> None:
    table = query_kpis(db.connection, "case", D19, D22)
    assert [r["case_date"] for r in table.records()] == [D19, D20, D21, D22]
    assert table.records()[-1]["cases"] == 0
    total = table.total
    assert (total["cases"], total["first_contact_resolution_rate"], total["quick_solve_rate"]) == (3, 0.5, 0.0)
    assert total["median_case_hours"] == pytest.approx(6.01)
    assert (total["inbound_calls"], total["repeat_calls"], total["repeat_call_rate"]) == (3, 1, 0.333)


def test_case_windows_come_from_the_scorecard(tmp_path: Path) -> None:
    settings = KpiSettings(case_window_hours=12, repeat_window_days=1)
    with write_calls(tmp_path / "w.duckdb", _calls(), settings) as db:
        days = _rows(query_kpis(db.connection, "case"))
    # 25 h between k1 and k3 is now two cases, each resolved at first contact, and no repeat.
    assert (days[D19]["cases"], days[D19]["first_contact_resolution_rate"]) == (2, 1.0)
    assert (days[D20]["cases"], days[D20]["first_contact_resolution_rate"]) == (1, 1.0)
    assert days[D20]["repeat_calls"] == 0


def test_calls_without_a_case_id_or_number_are_cases_of_their_own(tmp_path: Path) -> None:
    calls = [make_call("s1", caller_number=None), make_call("s2", caller_number=None)]
    with write_calls(tmp_path / "s.duckdb", calls) as db:
        _, rows = db.query("SELECT call_id, case_key, case_source FROM call_cases ORDER BY call_id")
    assert rows == [("s1", "call:s1", "single_call"), ("s2", "call:s2", "single_call")]


# -- reviews -------------------------------------------------------------------------------------------


def test_override_rescores_the_call_and_moves_the_kpis(db: QaDatabase) -> None:
    db.add_review("k1", "closing_thanks", "pass", "Li Na", "said 感谢来电 over the customer")
    _, [(score, passed, machine_score, overrides)] = db.query(
        "SELECT qa_score, qa_passed, machine_qa_score, overrides FROM call_facts WHERE call_id = 'k1'"
    )
    assert (score, passed, machine_score, overrides) == (100.0, True, 80.0, 1)
    d19 = _rows(query_kpis(db.connection, "day"))[D19]
    assert d19["script_compliance_rate"] == 1.0
    assert d19["check_pass_rates"]["closing_thanks"] == 1.0
    assert d19["overrides"] == 1
    assert d19["avg_qa_score"] == pytest.approx(94.4)  # (100 + 83.33 + 100) / 3
    # The machine's result is kept as it was.
    _, [(raw,)] = db.query("SELECT passed FROM check_results WHERE call_id = 'k1' AND check_id = 'closing_thanks'")
    assert raw is False


def test_overriding_a_fatal_failure(db: QaDatabase) -> None:
    db.add_review("k4", "forbidden_phrase", "pass", "Li Na", "the phrase was the customer's, quoted")
    _, [(score, passed, fatal)] = db.query(
        "SELECT qa_score, qa_passed, fatal_failed FROM call_facts WHERE call_id='k4'"
    )
    assert (score, passed, fatal) == (66.67, False, 0)  # 20 of 30 points, below the pass mark 80
    assert _rows(query_kpis(db.connection, "agent"))["A002"]["fatal_failures"] == 0


def test_not_applicable_and_machine_abstentions(db: QaDatabase) -> None:
    db.add_review("k1", "answer_within_rings", "na", "Li Na", "transferred call: rings were another queue's")
    _, [(score, passed)] = db.query("SELECT qa_score, qa_passed FROM call_facts WHERE call_id = 'k1'")
    assert (score, passed) == (75.0, False)  # greeting 10 + forbidden 20 of 40
    assert _rows(query_kpis(db.connection, "day"))[D19]["answer_within_rings_rate"] == 0.0
    # The machine abstained on k3's greeting; the QA lead listened and it was missing.
    db.add_review("k3", "greeting", "fail", "Li Na", "no greeting at all")
    _, [(score, passed)] = db.query("SELECT qa_score, qa_passed FROM call_facts WHERE call_id = 'k3'")
    assert (score, passed) == (0.0, False)


def test_latest_review_wins_and_history_is_kept(db: QaDatabase) -> None:
    db.add_review("k1", "closing_thanks", "pass", "Li Na", "first listen")
    db.add_review("k1", "closing_thanks", "fail", "Wang Wei", "second listen: it was 谢谢 to a colleague")
    history = db.reviews_of("k1")
    assert [(r.verdict, r.reviewer, r.machine_verdict) for r in history] == [
        ("pass", "Li Na", "fail"),
        ("fail", "Wang Wei", "fail"),
    ]
    _, [(score, overrides)] = db.query("SELECT qa_score, overrides FROM call_facts WHERE call_id = 'k1'")
    assert (score, overrides) == (80.0, 0)  # the latest review agrees with the machine
    _, rows = db.query(
        "SELECT check_id, reviewed_calls, agreed, agreement_rate, overrides, reviews FROM review_agreement"
    )
    assert rows == [("closing_thanks", 1, 1, 1.0, 0, 2)]


def test_review_agreement_per_check(db: QaDatabase) -> None:
    db.add_review("k1", "closing_thanks", "pass", "Li Na", "machine missed it")
    db.add_review("k2", "closing_thanks", "pass", "Li Na", "agrees")
    db.add_review("k4", "greeting", "pass", "Li Na", "greeting was there")
    _, rows = db.query(
        "SELECT check_id, reviewed_calls, agreed, agreement_rate, overrides, machine_false_fail, machine_missed_fail"
        " FROM review_agreement ORDER BY check_id"
    )
    assert rows == [("closing_thanks", 2, 1, 0.5, 1, 1, 0), ("greeting", 1, 0, 0.0, 1, 1, 0)]


@pytest.mark.parametrize(
    ("call_id", "check_id", "verdict", "reviewer", "message"),
    [
        ("nope", "greeting", "pass", "Li", "call 'nope' is not in"),
        ("k1", "empathy", "pass", "Li", "call 'k1' has no result for check 'empathy'; its checks: answer_within_rings"),
        ("k1", "greeting", "maybe", "Li", "verdict must be one of pass, fail, na"),
        ("k1", "greeting", "pass", " ", "needs the reviewer's name"),
    ],
)
def test_bad_reviews_are_refused(
    db: QaDatabase, call_id: str, check_id: str, verdict: str, reviewer: str, message: str
) -> None:
    with pytest.raises(ReviewError, match=message.replace("(", r"\(")):
        db.add_review(call_id, check_id, verdict, reviewer, "note")
    assert db.query("SELECT count(*) FROM reviews")[1] == [(0,)]


def test_reviews_survive_a_rerun_of_the_call(db: QaDatabase) -> None:
    db.add_review("k1", "closing_thanks", "pass", "Li Na", "said it")
    run_id = db.start_run(None, "m", "test", "test", "/")
    db.write_call(_calls()[0], run_id)  # the nightly run scores k1 again
    _, [(score,)] = db.query("SELECT qa_score FROM call_facts WHERE call_id = 'k1'")
    assert score == 100.0


# -- CLI -------------------------------------------------------------------------------------------------


def test_cli_kpis_json_and_csv(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--db", str(db_path), "--by", "agent", "--from", "2026-11-19", "--to", "2026-11-19"]) == 0
    capsys.readouterr()
    assert main(["kpis", "--db", str(db_path), "--by", "case", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["by"] == "case" and document["total"]["cases"] == 3
    assert document["rows"][0]["case_date"] == "2026-11-19"
    assert main(["kpis", "--db", str(db_path), "--from", "2026-11-19", "--to", "2026-11-20", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["call_date", "calls", "answered_calls"]
    assert "pass_rate.closing_thanks" in header
    first = dict(zip(header, lines[1].split(","), strict=True))
    assert (first["call_date"], first["calls"], first["pass_rate.closing_thanks"]) == ("2026-11-19", "3", "0.667")
    assert len(lines) == 3


def test_cli_table_has_a_total_row(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--db", str(db_path), "--by", "agent"]) == 0
    out = capsys.readouterr().out
    assert "A003" in out and "total" in out and "Pass rate per check" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2026-11-20", "--to", "2026-11-19"], "is after"),
        (["--from", "last week"], "expected YYYY-MM-DD, today, yesterday or -Nd"),
    ],
)
def test_cli_kpis_refuses_bad_periods(
    db_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["kpis", "--db", str(db_path), *argv])
    except SystemExit as exit_:  # argparse refuses a malformed date itself
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert code == 2 and message in captured.out + captured.err


def test_cli_kpis_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kpis", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().out


def test_reading_a_database_from_before_reviews(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE calls (call_id VARCHAR)")
    with pytest.raises(UnreadableDatabaseError, match="written by an older qa-pipeline"):
        open_reader(path)


def test_cli_review_stores_and_shows(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["review", "k1", "--db", str(db_path), "--check", "closing_thanks", "--verdict", "pass", "--by", "Li Na"]
    assert main([*argv, "--note", "heard 感谢来电"]) == 0
    out = capsys.readouterr().out
    assert "machine fail, Li Na says pass" in out and "qa_score 100.0" in out
    assert main(argv) == 2  # no --note: a review says why
    assert "--note" in capsys.readouterr().out
    assert main(["review", "k9", "--db", str(db_path)]) == 2
    assert "call 'k9' is not in" in capsys.readouterr().out
    assert main(["review", "k1", "--db", str(db_path)]) == 0
    assert "Review history of k1" in capsys.readouterr().out
