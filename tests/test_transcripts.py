"""`qa-pipeline score`: transcripts from elsewhere through the same checks and tables."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from qa_pipeline.cli import main
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.run.transcript_file import TranscriptLineError, parse_line, score_transcript_file

GOOD_CALL = {
    "call_id": "vendor-1",
    "asr_model": "vendor-asr-v2",
    "metadata": {
        "agent_id": "A009",
        "direction": "inbound",
        "started_at": "2026-11-20T10:00:00+08:00",
        "survey_score": 4,
        "queue": "VIP",
    },
    "segments": [
        {
            "speaker": "agent",
            "start_s": 0.5,
            "end_s": 4.0,
            "text": "您好，欢迎致电红树西岸管理处，请问有什么可以帮您？",
        },
        {"speaker": "customer", "start_s": 4.5, "end_s": 7.0, "text": "我家厨房漏水了，想报修。"},
        {"speaker": "agent", "start_s": 7.5, "end_s": 9.0, "text": "这个不归我们管。"},
        {"speaker": "agent", "start_s": 30.0, "end_s": 32.5, "text": "感谢您的来电，再见。"},
    ],
}
MONO_CALL = {
    "call_id": "vendor-2",
    "metadata": {"call_type": "inquiry"},
    "segments": [{"speaker": "unknown", "start_s": 0.2, "end_s": 3.0, "text": "您好，江苏CA为您服务。"}],
}


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "transcripts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_transcripts_are_scored_into_the_same_tables(tmp_path: Path) -> None:
    path = _write(tmp_path, [json.dumps(GOOD_CALL, ensure_ascii=False), json.dumps(MONO_CALL, ensure_ascii=False)])
    db = tmp_path / "qa.duckdb"
    summary = score_transcript_file(path, db, load_scorecard())
    assert (summary.calls_ok, summary.calls_failed) == (2, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "SELECT diarization, asr_model, call_type, call_type_source, qa_score, qa_passed, satisfaction,"
            " satisfaction_source, audio_sha256, talk_s, extra->>'queue' FROM calls WHERE call_id = 'vendor-1'"
        ).fetchone()
        assert row == ("external", "vendor-asr-v2", "repair", "inferred", 0.0, False, 4.0, "survey", None, 32.5, "VIP")
        forbidden = con.execute(
            "SELECT passed, evidence_start_s, evidence_end_s FROM check_results"
            " WHERE call_id = 'vendor-1' AND check_id = 'forbidden_phrase'"
        ).fetchone()
        assert forbidden == (False, 7.5, 9.0)
        # Without speakers only the checks that judge the whole call's timing apply.
        mono = con.execute(
            "SELECT diarization, list(check_id ORDER BY check_id) FILTER (WHERE r.applicable)"
            " FROM calls JOIN check_results r USING (call_id) WHERE call_id = 'vendor-2' GROUP BY ALL"
        ).fetchone()
        assert mono == ("none", ["dead_air", "talk_time_limit"])
        assert con.execute("SELECT count(*) FROM segments").fetchone() == (5,)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "JSON object"),
        ('{"segments": []}', "call_id"),
        ('{"call_id": "x"}', "segments"),
        ('{"call_id": "x", "segments": [{"speaker": "robot", "start_s": 0, "end_s": 1, "text": "a"}]}', "speaker"),
        ('{"call_id": "x", "segments": [{"speaker": "agent", "start_s": 2, "end_s": 1, "text": "a"}]}', "before"),
        ('{"call_id": "x", "segments": [{"speaker": "agent", "start_s": "0", "end_s": 1, "text": "a"}]}', "start_s"),
    ],
)
def test_bad_lines_are_refused_with_the_reason(line: str, message: str) -> None:
    with pytest.raises(TranscriptLineError, match=message):
        parse_line(line, 3, "t.jsonl")


def _segment_line(**segment: object) -> str:
    return json.dumps({"call_id": "x", "segments": [{"speaker": "agent", "start_s": 0, "end_s": 1, **segment}]})


REFUSED_VALUES = {
    "end_s 1e308": (_segment_line(end_s=1e308), r"segments\[0\]\.end_s .* within 0\.\.86400"),
    "end_s past a day": (_segment_line(end_s=86400.5), r"segments\[0\]\.end_s"),
    "end_s 401 digits": (_segment_line(end_s=10**400), r"segments\[0\]\.end_s .*401 characters"),
    "start_s NaN": (_segment_line(start_s=float("nan")), r"segments\[0\]\.start_s .*nan"),
    "confidence above 1": (_segment_line(confidence=1.01), r"segments\[0\]\.confidence .* within 0\.\.1"),
    "confidence true": (_segment_line(confidence=True), r"segments\[0\]\.confidence"),
    "surrogate in call_id": ('{"call_id": "x\\ud800", "segments": []}', "call_id holds a lone surrogate"),
    "surrogate in text": (_segment_line(text="a\udc00"), r"segments\[0\]\.text holds a lone surrogate"),
    "surrogate in a metadata key": ('{"call_id": "x", "metadata": {"\\ud800": "1"}, "segments": []}', "metadata key"),
    "surrogate in a list": ('{"call_id": "x", "asr_model": ["\\ud800"], "segments": []}', r"asr_model\[0\]"),
    "nested 50,000 deep": ('{"call_id": "x", "segments": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    "integer of 5,000 digits": ('{"call_id": "x", "segments": [], "n": ' + "9" * 5000 + "}", "not valid JSON"),
}


@pytest.mark.parametrize(("line", "message"), REFUSED_VALUES.values(), ids=REFUSED_VALUES.keys())
def test_values_no_call_can_have_are_refused_naming_the_field(line: str, message: str) -> None:
    with pytest.raises(TranscriptLineError, match=message):
        parse_line(line, 3, "t.jsonl")


def test_one_bad_line_does_not_stop_the_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = json.dumps(GOOD_CALL, ensure_ascii=False)
    path = _write(tmp_path, [good, "{broken", good, json.dumps(MONO_CALL, ensure_ascii=False)])
    db = tmp_path / "qa.duckdb"
    assert main(["score", str(path), "--db", str(db)]) == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM calls").fetchone() == (2,)
        failures = [f for (f,) in con.execute("SELECT error FROM failures ORDER BY error").fetchall()]
    assert len(failures) == 2
    assert "line 2: not valid JSON" in failures[0]
    assert "line 3: duplicate call_id 'vendor-1' (first on line 1)" in failures[1]


def test_bad_metadata_value_is_recorded_and_the_call_still_scored(tmp_path: Path) -> None:
    call = dict(GOOD_CALL, metadata={"started_at": "yesterday", "call_type": "sales"})
    path = _write(tmp_path, [json.dumps(call, ensure_ascii=False)])
    db = tmp_path / "qa.duckdb"
    assert score_transcript_file(path, db, load_scorecard()).calls_ok == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT started_at, call_type_source FROM calls").fetchone() == (None, "inferred")
        errors = sorted(e for (e,) in con.execute("SELECT error FROM failures WHERE stage = 'metadata'").fetchall())
    assert len(errors) == 2 and "'call_type'" in errors[0] and "'started_at'" in errors[1]


def test_times_and_confidence_at_their_bounds_are_accepted() -> None:
    call = parse_line(
        '{"call_id": "x", "segments": [{"speaker": "agent", "start_s": 0, "end_s": 86400, "confidence": 1},'
        ' {"speaker": "customer", "start_s": 1, "end_s": 2, "confidence": 0}]}',
        1,
        "t.jsonl",
    )
    assert [(s.start_s, s.end_s, s.confidence) for s in call.transcript.segments] == [
        (0.0, 86400.0, 1.0),
        (1.0, 2.0, 0.0),
    ]


def test_a_long_bad_value_is_quoted_cut_short() -> None:
    speaker = "robot" * 2000
    with pytest.raises(TranscriptLineError) as raised:
        parse_line(json.dumps({"call_id": "x", "segments": [{"speaker": speaker, "start_s": 0, "end_s": 1}]}), 1, "t")
    message = str(raised.value)
    assert "segments[0].speaker" in message and "10000 characters" in message and len(message) < 200


def test_score_help_names_the_database_wait(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    assert "--db-wait SECONDS" in capsys.readouterr().out


def test_score_times_the_answer_from_the_lines_metadata(tmp_path: Path) -> None:
    """A recording that began with 25 s of ringing (answered_at - started_at): the ringing is not dead air and
    the greeting, 1 s after the answer, is not late (issue 19: it was 'late by' the ringing, dead air 0-25 s)."""
    call = {
        "call_id": "rang",
        "metadata": {"started_at": "2026-11-20 09:00:00", "answered_at": "2026-11-20 09:00:25", "call_type": "inquiry"},
        "segments": [
            {"speaker": "agent", "start_s": 26.0, "end_s": 29.0, "text": "您好，很高兴为您服务，请问有什么可以帮您？"},
            {"speaker": "customer", "start_s": 29.5, "end_s": 32.0, "text": "我想问一下营业时间。"},
            {"speaker": "agent", "start_s": 32.5, "end_s": 36.0, "text": "我们每天早上九点到晚上六点营业。"},
            {"speaker": "agent", "start_s": 36.5, "end_s": 39.0, "text": "感谢您的来电，再见。"},
        ],
    }
    db_path = tmp_path / "qa.duckdb"
    assert main(["score", str(_write(tmp_path, [json.dumps(call, ensure_ascii=False)])), "--db", str(db_path)]) == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT answer_s, answer_source, ring_s, talk_s FROM calls").fetchall() == [
            (25.0, "metadata", 25.0, 14.0)
        ]
        verdicts = dict(con.execute("SELECT check_id, passed FROM check_results WHERE applicable").fetchall())
        assert verdicts["dead_air"] is True
        [(greeting,)] = con.execute("SELECT detail FROM check_results WHERE check_id = 'greeting'").fetchall()
        assert "late" not in greeting  # it fails only for the organisation this center has not configured
        assert con.execute("SELECT count(*) FROM call_events WHERE kind = 'silence' AND start_s < 25").fetchall() == [
            (0,)
        ]
