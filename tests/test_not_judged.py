"""Calls nobody could judge (issue 19): no score that counts, a stored reason, counted apart in KPIs and report.

A mono call with `--diarization none` (or whose roles stayed below [roles] min_confidence) has every
segment 'unknown': only the speaker-independent checks (dead air, rings, call length) can apply, and they
used to make it a perfect 100 that the KPIs averaged in. Known answers below: 2 judged calls scoring 50 and
100 plus 3 not-judged calls give avg score 75, pass rate 1 of 2, and 3 calls not judged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.config.scorecard import ScorecardError, load_scorecard
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.kpis import query_kpis
from qa_pipeline.model import ScoredCall
from qa_pipeline.report.render import build_report, open_database
from qa_pipeline.run.call import score_transcript
from qa_pipeline.scoring import Attribution, score_call
from qa_pipeline.store.database import QaDatabase
from tests.factories import make_call, write_calls

DAY = date(2026, 11, 20)
UNKNOWN_SEGMENTS = (
    ("unknown", 0.5, 4.0, "您好，欢迎致电红树西岸管理处，请问有什么可以帮您？"),
    ("unknown", 4.5, 7.0, "我家厨房漏水了，想报修。"),
    ("unknown", 30.0, 32.5, "感谢您的来电，再见。"),
)


def _transcript(speakers: tuple[str, str, str], diarization: str, **extra: object) -> Transcript:
    segments = tuple(
        Segment(speaker, start, end, text, 0.9)
        for speaker, (_, start, end, text) in zip(speakers, UNKNOWN_SEGMENTS, strict=True)
    )
    return Transcript(segments, diarization, "test-model", **extra)  # type: ignore[arg-type]


def _scored(transcript: Transcript) -> ScoredCall:
    meta = CallMetadata(
        audio_file="c.wav",
        call_id="c",
        agent_id="A001",
        started_at=datetime(2026, 11, 20, 9, 0),
        direction="inbound",
        call_type="repair",
    )
    return score_transcript(CallJob("c", "/calls/c.wav", "c.wav", meta), transcript, load_scorecard())


# -- scoring through the real checks --------------------------------------------------------------------------
def test_a_call_whose_segments_are_all_unknown_gets_no_score_and_a_reason() -> None:
    scored = _scored(_transcript(("unknown",) * 3, "none"))
    assert any(r.applicable for r in scored.results)  # the speaker-independent checks did apply ...
    score = scored.score
    assert (score.qa_score, score.qa_passed, score.judged, score.not_judged_reason) == (
        None,
        None,
        False,
        "no_speakers",
    )
    assert score.judged_share is not None and score.judged_share < 0.25  # ... but they are a sliver of the card


def test_diarized_call_whose_roles_were_not_told_apart_is_not_judged() -> None:
    transcript = _transcript(
        ("unknown",) * 3, "embedded", role_confidence=0.3, role_note="agent-phrasing scores too close: no roles"
    )
    assert Attribution.of(transcript) == Attribution(speakers_known=False, roles_unclear=True)
    score = _scored(transcript).score
    assert (score.qa_score, score.qa_passed, score.not_judged_reason) == (None, None, "roles_unclear")


@pytest.mark.parametrize("diarization", ["channel", "embedded", "external"])
def test_a_normal_attributed_call_is_judged_as_before(diarization: str) -> None:
    scored = _scored(_transcript(("agent", "customer", "agent"), diarization))
    score = scored.score
    assert Attribution.of(scored.transcript) == Attribution()
    assert score.judged and score.not_judged_reason is None
    assert score.qa_score is not None and score.qa_passed is not None
    # The same verdict as scoring the results without any of the new arguments.
    plain = score_call(scored.results, load_scorecard().pass_score)
    assert (score.qa_score, score.qa_passed) == (plain.qa_score, plain.qa_passed)
    assert score.judged_share is not None and score.judged_share >= load_scorecard().min_judged_share


# -- the setting ----------------------------------------------------------------------------------------------
def test_min_judged_share_is_a_declared_scorecard_setting(tmp_path: Path) -> None:
    assert load_scorecard().min_judged_share == 0.25
    card = tmp_path / "card.toml"
    card.write_text("[scorecard]\nmin_judged_share = 0.5\n", encoding="utf-8")
    assert load_scorecard(card).min_judged_share == 0.5
    assert load_scorecard(card).sha256 != load_scorecard().sha256  # calls are re-scored when it changes
    card.write_text("[scorecard]\nmin_judged_share = 1.5\n", encoding="utf-8")
    with pytest.raises(ScorecardError, match=r"scorecard\.min_judged_share must be between 0 and 1"):
        load_scorecard(card)
    card.write_text('[scorecard]\nmin_judged_share = "half"\n', encoding="utf-8")
    with pytest.raises(ScorecardError, match=r"scorecard\.min_judged_share"):
        load_scorecard(card)


# -- stored, and the KPIs over a mix ---------------------------------------------------------------------------
def _unjudged(call: ScoredCall, min_judged_share: float = 0.0) -> ScoredCall:
    """The call scored the way the pipeline scores it: with its transcript's attribution."""
    score = score_call(call.results, 80.0, Attribution.of(call.transcript), min_judged_share)
    return replace(call, score=score)


def _mix() -> list[ScoredCall]:
    nobody = {"greeting": None, "closing_thanks": None, "forbidden_phrase": None, "dead_air": True}
    at = datetime(2026, 11, 20, 9, 0)
    return [
        make_call("j100", agent="A001", started_at=at),  # greeting, closing, forbidden pass: 100
        make_call(
            "j50",
            agent="A002",
            started_at=at.replace(hour=10),
            verdicts={"greeting": False, "closing_thanks": False, "forbidden_phrase": True},  # 20 of 40: 50
        ),
        # mono, --diarization none: only dead_air applied (and passed): used to be a perfect 100
        *(
            _unjudged(
                make_call(
                    f"n{i}",
                    agent="A001",
                    started_at=at.replace(hour=11 + i),
                    diarization="none",
                    segments=UNKNOWN_SEGMENTS,
                    verdicts=nobody,
                )
            )
            for i in (1, 2)
        ),
        # attributed, but only dead_air (10 of 50) could judge, below a 0.25 mark
        _unjudged(
            make_call(
                "n3",
                agent="A002",
                started_at=at.replace(hour=14),
                verdicts={"greeting": None, "closing_thanks": None, "forbidden_phrase": None, "dead_air": True},
            ),
            min_judged_share=0.25,
        ),
    ]


@pytest.fixture()
def mix_db(tmp_path: Path) -> Path:
    path = tmp_path / "qa.duckdb"
    write_calls(path, _mix()).close()
    return path


def test_not_judged_calls_are_stored_with_their_reason(mix_db: Path) -> None:
    with QaDatabase(mix_db) as db:
        _, rows = db.query(
            "SELECT call_id, qa_score, qa_passed, judged, not_judged_reason, judged_share FROM calls ORDER BY call_id"
        )
    assert rows == [
        ("j100", 100.0, True, True, None, 1.0),
        ("j50", 50.0, False, True, None, 1.0),
        ("n1", None, None, False, "no_speakers", 0.2),
        ("n2", None, None, False, "no_speakers", 0.2),
        ("n3", None, None, False, "too_few_checks", 0.2),
    ]


def test_kpis_count_not_judged_calls_apart(mix_db: Path) -> None:
    with QaDatabase(mix_db) as db:
        for by, key in (("day", DAY), ("call_type", "inquiry")):
            [row] = query_kpis(db.connection, by).records()
            assert row[{"day": "call_date", "call_type": "call_type"}[by]] == key
            assert (row["calls"], row["calls_not_judged"]) == (5, 3)
            assert row["avg_qa_score"] == pytest.approx(75.0)  # (100 + 50) / 2: the not-judged are not in it
            assert row["qa_pass_rate"] == pytest.approx(0.5)  # 1 pass of 2 judged calls
        agents = {r["agent_id"]: r for r in query_kpis(db.connection, "agent").records()}
        assert (agents["A001"]["calls_not_judged"], agents["A001"]["avg_qa_score"]) == (2, 100.0)
        assert (agents["A002"]["calls_not_judged"], agents["A002"]["qa_pass_rate"]) == (1, 0.0)
        total = query_kpis(db.connection, "day").total
        assert (total["calls"], total["calls_not_judged"], total["avg_qa_score"], total["qa_pass_rate"]) == (
            5,
            3,
            75.0,
            0.5,
        )
        # the checks that did judge still count per check
        assert total["check_pass_rates"]["dead_air"] == 1.0


FACTS = "SELECT qa_score, qa_passed, judged, not_judged_reason FROM call_facts WHERE call_id = ?"


def test_reviews_do_not_give_an_unattributed_call_a_score(mix_db: Path) -> None:
    with QaDatabase(mix_db) as db:
        db.add_review("n1", "greeting", "pass", "Li Na", "heard the greeting")
        _, [row] = db.query(FACTS, ["n1"])
        assert row == (None, None, False, "no_speakers")
        # n3 (too few checks) is re-judged from the verdicts in force against its stored mark (0.25):
        # greeting reviewed as pass lifts the judged share to 20 of 50 = 0.4
        db.add_review("n3", "greeting", "pass", "Li Na", "heard the greeting")
        _, [row] = db.query(FACTS, ["n3"])
        assert row == (100.0, True, True, None)
        # a judged call whose reviews leave no applicable check has no verdict
        for check_id in ("greeting", "closing_thanks", "forbidden_phrase"):
            db.add_review("j50", check_id, "na", "Li Na", "not this call's")
        _, [row] = db.query(FACTS, ["j50"])
        assert row == (None, None, False, "no_checks")


def test_the_report_shows_not_judged_calls_apart(mix_db: Path) -> None:
    connection = open_database(mix_db)
    try:
        report = build_report(connection, str(mix_db), DAY, DAY, 30, 20)
    finally:
        connection.close()
    tiles = {tile.column: tile for tile in report.tiles}
    assert tiles["calls_not_judged"].value == "3"
    assert tiles["avg_qa_score"].value == "75.0"
    assert "3 not judged left out" in tiles["avg_qa_score"].note
    reasons = {item.call_id: [(r.kind, r.text) for r in item.reasons] for item in report.review_items}
    # the low score is a low score; the not-judged are the machine being unsure, never low scores
    assert reasons["j50"] == [("low_score", "failed QA: score 50.0 < pass mark 80")]
    for call_id in ("n1", "n2", "n3"):
        kinds = {kind for kind, _ in reasons[call_id]}
        assert kinds == {"low_confidence"}, call_id
    assert ("low_confidence", "machine unsure: not judged (no speaker attribution), no score") in reasons["n1"]
    assert ("low_confidence", "machine unsure: not judged (too few checks could judge), no score") in reasons["n3"]
    assert "j100" not in reasons


def test_rows_written_before_the_judged_column_are_judged_when_they_have_a_score(mix_db: Path) -> None:
    with QaDatabase(mix_db) as db:
        db.connection.execute("UPDATE calls SET judged = NULL, not_judged_reason = NULL, min_judged_share = NULL")
        _, rows = db.query("SELECT call_id, qa_score, judged, not_judged_reason FROM call_facts ORDER BY call_id")
    assert rows == [
        ("j100", 100.0, True, None),
        ("j50", 50.0, True, None),
        ("n1", None, False, "no_checks"),
        ("n2", None, False, "no_checks"),
        ("n3", None, False, "no_checks"),
    ]
