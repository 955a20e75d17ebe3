"""DuckDB storage and KPI views on hand-made calls with known answers."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.audio.facts import AudioFacts
from qa_pipeline.checks.call_type import CallType
from qa_pipeline.checks.run import Verdicts
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.kpis.database import open_reader, open_writer
from qa_pipeline.measures import Hangup, Measures, Overtalk, Silence
from qa_pipeline.model import ScoredCall
from qa_pipeline.scoring import score_call
from qa_pipeline.store.database import QaDatabase
from tests.factories import check_result


def _call(
    call_id: str,
    *,
    agent: str | None,
    day: int,
    talk_s: float,
    hold_s: float | None,
    greeting: bool | None,
    closing: bool | None,
    forbidden: bool | None,
    survey: float | None = None,
    diarization: str = "channel",
) -> ScoredCall:
    results = [
        check_result("greeting", greeting),
        check_result("closing_thanks", closing),
        check_result("forbidden_phrase", forbidden),  # weight 20, fatal
    ]
    speaker = "agent" if diarization == "channel" else "unknown"
    meta = CallMetadata(
        audio_file=f"{call_id}.wav",
        call_id=call_id,
        agent_id=agent,
        started_at=datetime(2026, 11, day, 9, 30),
        hold_s=hold_s,
        survey_score=survey,
        direction="inbound",
        call_type="inquiry",
        extra={"queue": "VIP"},
    )
    return ScoredCall(
        job=CallJob(call_id, f"/calls/{call_id}.wav", f"{call_id}.wav", meta),
        audio=AudioFacts("0" * 64, 2 if diarization == "channel" else 1, 8000, "pcm_s16le", talk_s + 5),
        transcript=Transcript(
            (Segment(speaker, 0.5, 3.0, "您好", 0.9), Segment(speaker, 4.0, 6.0, "再见", 0.8)),
            diarization,
            "test-model",
        ),
        measures=Measures(talk_s=talk_s),
        verdicts=Verdicts(CallType("inquiry", "metadata"), results),
        score=score_call(results, 80.0),
        scorecard_hash="abc",
        processed_at=datetime(2026, 11, 21, 2, 0),
    )


@pytest.fixture()
def db(tmp_path: Path) -> QaDatabase:
    database = open_writer(tmp_path / "qa.duckdb")  # with the KPI views
    run_id = database.start_run("flow-1", "test-model", "abc", "test", str(tmp_path))
    # Day 19: A001 greeting ok / closing missing; A002 everything ok. Day 20: A001 mono (no speakers).
    database.write_call(
        _call("c1", agent="A001", day=19, talk_s=60, hold_s=10, greeting=True, closing=False, forbidden=True, survey=4),
        run_id,
    )
    database.write_call(
        _call("c2", agent="A002", day=19, talk_s=100, hold_s=None, greeting=True, closing=True, forbidden=True), run_id
    )
    database.write_call(
        _call(
            "c3",
            agent="A001",
            day=20,
            talk_s=30,
            hold_s=None,
            greeting=None,
            closing=None,
            forbidden=None,
            survey=2,
            diarization="none",
        ),
        run_id,
    )
    database.finish_run(run_id, 3, 0)
    return database


def test_call_rows_hold_metadata_measures_and_scores(db: QaDatabase) -> None:
    _, rows = db.query(
        "SELECT call_id, qa_score, qa_passed, talk_s, hold_s, satisfaction, satisfaction_source,"
        " diarization, extra->>'queue' FROM calls ORDER BY call_id"
    )
    assert rows == [
        ("c1", 75.0, False, 60.0, 10.0, 4.0, "survey", "channel", "VIP"),
        ("c2", 100.0, True, 100.0, None, None, None, "channel", "VIP"),
        ("c3", None, None, 30.0, None, 2.0, "survey", "none", "VIP"),
    ]


def test_kpi_daily_known_answers(db: QaDatabase) -> None:
    columns, rows = db.query("SELECT * FROM kpi_daily")
    by_day = {row[0].day: dict(zip(columns, row, strict=True)) for row in rows}
    day19, day20 = by_day[19], by_day[20]
    assert day19["calls"] == 2
    assert day19["aht_s"] == pytest.approx((70 + 100) / 2)
    assert day19["avg_qa_score"] == pytest.approx(87.5)
    assert day19["qa_pass_rate"] == pytest.approx(0.5)
    assert day19["script_compliance_rate"] == pytest.approx(0.75)  # 3 of 4 mandated phrases said
    assert day19["fatal_failures"] == 0
    assert day19["csat"] == pytest.approx(4.0)
    # Day 20 has only a mono call without speakers: no verdicts, so rates are NULL, not 0.
    assert (day20["calls"], day20["avg_qa_score"], day20["qa_pass_rate"], day20["script_compliance_rate"]) == (
        1,
        None,
        None,
        None,
    )


def test_kpi_agent_known_answers(db: QaDatabase) -> None:
    columns, rows = db.query("SELECT * FROM kpi_agent")
    by_agent = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    assert by_agent["A001"]["calls"] == 2
    assert by_agent["A001"]["aht_s"] == pytest.approx((70 + 30) / 2)
    assert by_agent["A001"]["script_compliance_rate"] == pytest.approx(0.5)
    assert by_agent["A001"]["csat"] == pytest.approx(3.0)
    assert by_agent["A002"]["qa_pass_rate"] == pytest.approx(1.0)


def test_fatal_failure_counts_in_kpis(db: QaDatabase) -> None:
    run_id = db.start_run(None, "m", "abc", "test", "/")
    db.write_call(
        _call("c4", agent="A002", day=20, talk_s=40, hold_s=0, greeting=True, closing=True, forbidden=False), run_id
    )
    _, [(score, passed)] = db.query("SELECT qa_score, qa_passed FROM calls WHERE call_id = 'c4'")
    assert (score, passed) == (0.0, False)
    _, [(fatal,)] = db.query("SELECT fatal_failures FROM kpi_agent WHERE agent_id = 'A002'")
    assert fatal == 1


def test_rewriting_a_call_replaces_its_rows(db: QaDatabase) -> None:
    run_id = db.start_run(None, "m", "abc", "test", "/")
    db.write_call(
        _call("c1", agent="A001", day=19, talk_s=61, hold_s=10, greeting=True, closing=True, forbidden=True), run_id
    )
    _, counts = db.query(
        "SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM segments), (SELECT count(*) FROM check_results)"
    )
    assert counts == [(3, 6, 9)]
    _, [(talk, score, row_run)] = db.query("SELECT talk_s, qa_score, run_id FROM calls WHERE call_id = 'c1'")
    assert (talk, score, row_run) == (61.0, 100.0, run_id)


def test_failed_write_rolls_back_and_keeps_previous_version(db: QaDatabase) -> None:
    broken = _call("c2", agent="A002", day=19, talk_s=5, hold_s=None, greeting=False, closing=False, forbidden=True)
    bad_segment = Segment("robot", 0.0, 1.0, "x")  # violates the speaker CHECK constraint
    object.__setattr__(broken.transcript, "segments", (*broken.transcript.segments, bad_segment))
    with pytest.raises(duckdb.ConstraintException):
        db.write_call(broken, "r")
    _, rows = db.query("SELECT talk_s, qa_score FROM calls WHERE call_id = 'c2'")
    assert rows == [(100.0, 100.0)]
    _, [(segments,)] = db.query("SELECT count(*) FROM segments WHERE call_id = 'c2'")
    assert segments == 2


def test_runs_and_failures_are_recorded(db: QaDatabase) -> None:
    run_id = db.start_run("flow-2", "m", "abc", "test", "/")
    db.record_failure(run_id, "/calls/bad.wav", "decode", "not audio")
    db.finish_run(run_id, 0, 1)
    _, rows = db.query("SELECT calls_ok, calls_failed, finished_at IS NOT NULL FROM runs WHERE run_id = ?", [run_id])
    assert rows == [(0, 1, True)]
    _, rows = db.query('SELECT audio_path, stage, error, "at" IS NOT NULL FROM failures')
    assert rows == [("/calls/bad.wav", "decode", "not audio", True)]


def test_read_only_connection_cannot_write(db: QaDatabase) -> None:
    path = db.path
    db.close()
    with open_reader(path) as reader:
        assert reader.query("SELECT count(*) FROM calls")[1] == [(3,)]
        with pytest.raises(duckdb.Error):
            reader.connection.execute("DELETE FROM calls")


def test_timings_and_their_stretches_are_stored(db: QaDatabase) -> None:
    measured = Measures(
        answer_s=16.2,
        answer_source="line",
        ring_count=4,
        ring_s=16.2,
        ring_source="audio",
        ring_count_audio=4,
        ring_s_audio=16.2,
        ring_count_metadata=3,
        ring_s_metadata=15.0,
        ringback_channel="agent",
        rings=((0.5, 1.5), (5.5, 6.5), (10.5, 11.5), (15.5, 16.2)),
        direction="inbound",
        direction_source="ringback",
        talk_s=50.0,
        silence_s=20.0,
        silences=(Silence(20.0, 33.0, "请您稍等"), Silence(40.0, 51.0)),
        hold_s=13.0,
        interruptions=(Overtalk(55.0, 56.0, "您先别急"),),
        raised_voice=(),
        hangup=Hangup("customer", 66.0, True, 60.0, "我还没说完"),
    )
    scored = _call("c5", agent="A001", day=21, talk_s=50, hold_s=None, greeting=True, closing=True, forbidden=True)
    db.write_call(
        ScoredCall(**{**scored.__dict__, "measures": measured}),
        db.start_run(None, "m", "abc", "test", "/"),
    )
    _, rows = db.query(
        "SELECT ring_count, ring_source, ring_count_metadata, answer_s, hold_s, hold_source, interruptions,"
        " raised_voice, ended_by, customer_cut_off, direction, direction_source FROM calls WHERE call_id = 'c5'"
    )
    assert rows == [(4, "audio", 3, 16.2, 13.0, "audio", 1, 0, "customer", True, "inbound", "ringback")]
    _, events = db.query("SELECT kind, start_s, end_s, text FROM call_events WHERE call_id = 'c5' ORDER BY start_s")
    assert [kind for kind, *_ in events] == ["ring"] * 4 + ["hold", "silence", "interruption", "cut_off"]
    assert events[4] == ("hold", 20.0, 33.0, "请您稍等")
    assert events[-1] == ("cut_off", 60.0, 66.0, "我还没说完")


def test_a_database_from_before_the_timings_gains_their_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    schema = (resources.files("qa_pipeline.store") / "schema.sql").read_text(encoding="utf-8")
    before = "\n".join(line for line in schema.splitlines() if not line.startswith("ALTER TABLE"))
    with duckdb.connect(str(path)) as con:  # the tables as the version before the timings wrote them
        con.execute(before)
        con.execute(
            "INSERT INTO calls (call_id, audio_path, diarization, asr_model, run_id, processed_at)"
            " VALUES ('old', '/a.wav', 'none', 'm', 'r', now())"
        )
    with QaDatabase(path) as database:
        _, rows = database.query("SELECT call_id, answer_s, ring_source FROM calls")
    assert rows == [("old", None, None)]


def test_a_diarized_mono_call_stores_its_turns_confidences_and_role_note(tmp_path: Path) -> None:
    from dataclasses import replace

    from qa_pipeline.asr.transcript import Turn

    scored = _call("m1", agent="A003", day=21, talk_s=20, hold_s=None, greeting=True, closing=True, forbidden=True)
    transcript = Transcript(
        (Segment("agent", 0.5, 3.0, "您好", 0.9), Segment("customer", 3.2, 5.0, "你好", 0.8)),
        "embedded",
        "test-model",
        diarization_confidence=0.41,
        role_confidence=0.95,
        speakers_found=2,
        role_note="SPEAKER_00 is the agent",
        turns=(Turn(0.4, 3.1, "SPEAKER_00", "agent"), Turn(3.1, 5.1, "SPEAKER_01", "customer")),
    )
    with QaDatabase(tmp_path / "mono.duckdb") as database:
        run_id = database.start_run(None, "test-model", "abc", "test", str(tmp_path))
        database.write_call(replace(scored, transcript=transcript), run_id)
        database.write_call(replace(scored, transcript=transcript), run_id)  # a re-run replaces, never duplicates
        _, call = database.query(
            "SELECT diarization, diarization_confidence, role_confidence, speakers_found, role_note FROM calls"
        )
        _, turns = database.query("SELECT call_id, start_s, end_s, label, role FROM speaker_turns ORDER BY start_s")
    assert call == [("embedded", 0.41, 0.95, 2, "SPEAKER_00 is the agent")]
    assert turns == [("m1", 0.4, 3.1, "SPEAKER_00", "agent"), ("m1", 3.1, 5.1, "SPEAKER_01", "customer")]
