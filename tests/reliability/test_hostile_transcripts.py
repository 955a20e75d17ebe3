"""Hostile transcript files for `qa-pipeline score` (issue 18, items 6 and 7): real files written byte by
byte, real DuckDB, no ASR (fast).

Each bad line sits between two good calls. It must end in `failures` once, naming its line; the good
calls around it must be stored; the run must be closed (never left 'running'); and nothing the line
quoted may reach `failures.error` or the console with a personal number unmasked.
"""

from __future__ import annotations

import errno
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from qa_pipeline.cli import main
from qa_pipeline.run import transcript_file as transcripts
from qa_pipeline.store import database as storage
from qa_pipeline.text.numbers import digits_of
from tests.reliability.conftest import Ledger

PHONE = "13912345678"  # invented; what a vendor's export may hold where a speaker label belongs
LONG_DIGITS = re.compile(r"\d{7,}")  # a phone number without its area code is 7 digits


def call(call_id: str, **changes: Any) -> dict[str, Any]:
    """A small good call; `changes` replace keys of its first segment."""
    return {
        "call_id": call_id,
        "metadata": {"agent_id": "A007", "call_type": "inquiry"},
        "segments": [
            {"speaker": "agent", "start_s": 0.4, "end_s": 3.2, "text": "您好，请问有什么可以帮您？", **changes},
            {"speaker": "customer", "start_s": 3.6, "end_s": 6.0, "text": "我想问一下物业费怎么交。"},
            {"speaker": "agent", "start_s": 6.5, "end_s": 9.0, "text": "感谢您的来电，再见。"},
        ],
    }


def line(record: dict[str, Any]) -> bytes:
    # ASCII JSON: a lone surrogate is written as the escape \ud800, which is how it arrives from vendors.
    return json.dumps(record).encode("ascii")


def with_bytes(record: dict[str, Any], placeholder: str, raw: bytes) -> bytes:
    """The record as a line with `placeholder` (inside a string) replaced by raw bytes."""
    return line(record).replace(placeholder.encode("ascii"), raw)


@dataclass
class Outcome:
    code: int
    output: str
    calls: list[str]
    failures: list[tuple[str, str, str]]  # (audio_path, stage, error)
    statuses: list[str]


def score(tmp_path: Path, lines: list[bytes], capsys: pytest.CaptureFixture[str], *options: str) -> Outcome:
    path = tmp_path / "vendor.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    db_path = tmp_path / "qa.duckdb"
    code = main(["score", str(path), "--db", str(db_path), *options])
    output = capsys.readouterr().out
    with duckdb.connect(str(db_path), read_only=True) as con:
        calls = [c for (c,) in con.execute("SELECT call_id FROM calls ORDER BY call_id").fetchall()]
        failures = con.execute("SELECT audio_path, stage, error FROM failures ORDER BY audio_path").fetchall()
        statuses = [s for (s,) in con.execute("SELECT status FROM runs").fetchall()]
    return Outcome(code, output, calls, failures, statuses)


def check_fate(outcome: Outcome, good: list[str], bad: dict[int, str], ledger: Ledger) -> None:
    """Good calls stored once, each bad line in failures once with its line number and `bad[line]` in the
    message, the run closed as partial, exit code 1."""
    lost = len(set(good) - set(outcome.calls))
    duplicates = len(outcome.calls) - len(set(outcome.calls))
    for number, fragment in bad.items():
        mine = [error for _, _, error in outcome.failures if f"vendor.jsonl line {number}: " in error]
        lost += not mine
        duplicates += max(0, len(mine) - 1)
        assert len(mine) == 1, (number, outcome.failures)
        assert fragment in mine[0], mine[0]
    ledger.outcome(len(good) + len(bad), lost, duplicates)
    assert outcome.calls == sorted(good)
    assert len(outcome.failures) == len(bad)
    assert outcome.statuses == ["partial"]
    assert outcome.code == 1
    assert "Traceback" not in outcome.output


def unmasked_numbers(outcome: Outcome, ledger: Ledger) -> list[str]:
    """Long digit runs (written or spoken) in failures.error and on the console."""
    texts = [error for _, _, error in outcome.failures] + [outcome.output]
    found = [run for text in texts for run in LONG_DIGITS.findall(digits_of(text))]
    ledger.numbers_scanned += len(texts)
    ledger.unredacted += len(found)
    return found


HOSTILE_LINES = [
    (
        "a lone surrogate (JSON \\ud800) in a segment's text",
        line(call("c2", text="\ud800 您好")),
        "segments[0].text",
    ),
    ("a lone surrogate (JSON \\udfff) in call_id", line(call("c2\udfff")), "call_id"),
    (
        "a lone surrogate in a metadata value",
        line({**call("c2"), "metadata": {"queue": "VIP\ud800"}}),
        "metadata.queue",
    ),
    ("end_s an integer of 401 digits (float() overflows)", line(call("c2", end_s=10**400)), "segments[0].end_s"),
    ("end_s 1e308 (finite, but no call lasts that long)", line(call("c2", end_s=1e308)), "segments[0].end_s"),
    ("end_s one second past a day", line(call("c2", end_s=86_401)), "segments[0].end_s"),
    ("start_s NaN (a JSON extension Python's json reads)", line(call("c2", start_s=float("nan"))), "start_s"),
    ("end_s Infinity", line(call("c2", end_s=float("inf"))), "segments[0].end_s"),
    ("confidence 1.5 (above 1)", line(call("c2", confidence=1.5)), "segments[0].confidence"),
    ("confidence -0.2 (below 0)", line(call("c2", confidence=-0.2)), "segments[0].confidence"),
    ("an invalid UTF-8 byte 0xFF inside line 2's text", with_bytes(call("c2", text="@@"), "@@", b"\xff"), "UTF-8"),
    ("a truncated UTF-8 sequence at the end of line 2", line(call("c2")) + b"\xe4\xbd", "UTF-8"),
    (
        "a UTF-8-encoded surrogate (CESU-8 bytes ED A0 80)",
        with_bytes(call("c2", text="@@"), "@@", b"\xed\xa0\x80"),
        "UTF-8",
    ),
    (
        "an integer of 5,000 digits (beyond Python's int parsing limit)",
        line(call("c2")).replace(b"9.0", b"9" * 5000),
        "JSON",
    ),
    ("JSON nested 100,000 deep", b'{"call_id": "c2", "segments": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "JSON"),
]


@pytest.mark.parametrize(("description", "bad", "fragment"), HOSTILE_LINES, ids=[h[0] for h in HOSTILE_LINES])
def test_a_hostile_line_fails_alone_and_the_file_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger, description: str, bad: bytes, fragment: str
) -> None:
    ledger.input(f"transcript line: {description}")
    outcome = score(tmp_path, [line(call("c1")), bad, line(call("c3"))], capsys)
    check_fate(outcome, ["c1", "c3"], {2: fragment}, ledger)
    [(audio_path, stage, _)] = outcome.failures
    assert (audio_path, stage) == (f"{tmp_path / 'vendor.jsonl'}#2", "parse")


def test_times_stay_sane_in_the_calls_table(tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger) -> None:
    ledger.input("transcript with end_s 1e308 next to a good call: average handle time must not become 1e308")
    outcome = score(tmp_path, [line(call("c1")), line(call("c2", end_s=1e308))], capsys)
    check_fate(outcome, ["c1"], {2: "86400"}, ledger)
    with duckdb.connect(str(tmp_path / "qa.duckdb"), read_only=True) as con:
        assert con.execute("SELECT max(talk_s) < 10, max(end_s) FROM calls, segments").fetchone() == (True, 9.0)


def test_an_invalid_byte_on_line_2_does_not_lose_line_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("byte 0xFF on line 2 of a file read as a stream: line 1 must still be stored")
    bad = with_bytes(call("c2", text="@@"), "@@", b"ok \xff")
    outcome = score(tmp_path, [line(call("c1")), bad], capsys)
    check_fate(outcome, ["c1"], {2: "not UTF-8"}, ledger)
    column = bad.index(b"\xff") + 1
    assert f"byte 0xff at byte {column}" in outcome.failures[0][2]


def test_a_byte_order_mark_on_line_1_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("UTF-8 byte order mark before line 1 (Windows editors write one)")
    outcome = score(tmp_path, [b"\xef\xbb\xbf" + line(call("c1")), line(call("c2"))], capsys)
    assert (outcome.code, outcome.calls, outcome.failures, outcome.statuses) == (0, ["c1", "c2"], [], ["completed"])


PERSONAL_VALUES = [
    ("a phone number as a segment's speaker", line(call("c2", speaker=PHONE)), "segments[0].speaker"),
    ("a spoken phone number as the speaker", line(call("c2", speaker="幺三九一二三四五六七八")), "speaker"),
    ("a phone number as start_s, a string", line(call("c2", start_s=PHONE)), "segments[0].start_s"),
    ("a phone number as end_s, a number", line(call("c2", end_s=int(PHONE))), "segments[0].end_s"),
    ("a phone number as confidence", line(call("c2", confidence=PHONE)), "segments[0].confidence"),
    ("a phone number inside a 10,000-character speaker", line(call("c2", speaker=f"x{PHONE}" * 800)), "speaker"),
]


@pytest.mark.parametrize(("description", "bad", "fragment"), PERSONAL_VALUES, ids=[p[0] for p in PERSONAL_VALUES])
def test_a_bad_value_holding_a_phone_number_is_masked_in_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger, description: str, bad: bytes, fragment: str
) -> None:
    ledger.input(f"transcript line: {description}")
    outcome = score(tmp_path, [line(call("c1")), bad, line(call("c3"))], capsys)
    check_fate(outcome, ["c1", "c3"], {2: fragment}, ledger)
    assert unmasked_numbers(outcome, ledger) == []
    assert all(len(error) < 400 for _, _, error in outcome.failures), "long raw values are cut, not quoted whole"


def test_a_duplicate_call_id_that_is_a_phone_number_is_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("a phone number as call_id, twice (the failure quotes the duplicate id)")
    outcome = score(tmp_path, [line(call(PHONE)), line(call(PHONE))], capsys)
    check_fate(outcome, [PHONE], {2: "duplicate call_id"}, ledger)
    assert PHONE not in outcome.failures[0][2]


def test_an_unexpected_error_in_one_line_is_that_lines_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.fault("scoring one transcript line raises an unexpected RuntimeError quoting a phone number")
    real = transcripts.judge_call

    def fragile(job, transcript, settings, run_stage):  # type: ignore[no-untyped-def]
        if job.call_id == "c2":
            raise RuntimeError(f"checker blew up on {PHONE}")
        return real(job, transcript, settings, run_stage)

    monkeypatch.setattr(transcripts, "judge_call", fragile)
    outcome = score(tmp_path, [line(call("c1")), line(call("c2")), line(call("c3"))], capsys)
    check_fate(outcome, ["c1", "c3"], {2: "RuntimeError"}, ledger)
    assert unmasked_numbers(outcome, ledger) == []


def test_the_run_is_closed_when_scoring_stops_midway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.fault("Ctrl-C (KeyboardInterrupt) while scoring line 2 of a transcript file")
    real = transcripts.judge_call

    def interrupted(job, transcript, settings, run_stage):  # type: ignore[no-untyped-def]
        if job.call_id == "c2":
            raise KeyboardInterrupt
        return real(job, transcript, settings, run_stage)

    monkeypatch.setattr(transcripts, "judge_call", interrupted)
    with pytest.raises(KeyboardInterrupt):
        score(tmp_path, [line(call("c1")), line(call("c2")), line(call("c3"))], capsys)
    with duckdb.connect(str(tmp_path / "qa.duckdb"), read_only=True) as con:
        assert con.execute("SELECT call_id FROM calls").fetchall() == [("c1",)]
        assert con.execute("SELECT status, calls_ok, finished_at IS NOT NULL FROM runs").fetchall() == [
            ("failed", 1, True)
        ]


def test_a_read_error_midway_closes_the_run_as_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.fault("the transcript file's share fails (EIO) after line 1 has been read")
    first = line(call("c1")) + b"\n"

    class FailingShare(io.BytesIO):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield first
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(transcripts, "open", lambda *_: FailingShare(first * 3), raising=False)
    outcome = score(tmp_path, [first], capsys)
    assert (outcome.code, outcome.calls, outcome.statuses) == (1, ["c1"], ["failed"])
    [(audio_path, stage, error)] = outcome.failures
    assert (audio_path, stage) == (str(tmp_path / "vendor.jsonl"), "read")
    assert "reading stopped after line 1" in error and "Input/output error" in error


def test_a_database_path_that_is_not_duckdb_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("--db naming a text file, not a DuckDB database")
    transcripts_path = tmp_path / "vendor.jsonl"
    transcripts_path.write_bytes(line(call("c1")) + b"\n")
    (tmp_path / "notes.txt").write_text("not a database\n", encoding="utf-8")
    assert main(["score", str(transcripts_path), "--db", str(tmp_path / "notes.txt")]) == 2
    output = capsys.readouterr().out
    assert "cannot be opened for writing" in output and "Traceback" not in output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "not a database\n"


HOLD_READ_ONLY = (
    "import duckdb, sys, time\n"
    "connection = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print('holding', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def hold_read_only(db_path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process (a QA lead's notebook) with the database open read-only, for `seconds`."""
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_ONLY, str(db_path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "holding"
    return reader


def test_score_gives_a_clear_error_when_another_process_holds_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("the database held read-only by another process for longer than --db-wait")
    transcripts_path = tmp_path / "vendor.jsonl"
    transcripts_path.write_bytes(line(call("c1")) + b"\n")
    db_path = tmp_path / "qa.duckdb"
    assert main(["score", str(transcripts_path), "--db", str(db_path)]) == 0
    reader = hold_read_only(db_path, 60)
    try:
        capsys.readouterr()
        code = main(["score", str(transcripts_path), "--db", str(db_path), "--db-wait", "0.5"])
        output = capsys.readouterr().out
    finally:
        reader.kill()
        reader.wait()
    assert code == 2
    errors = [text for text in output.splitlines() if text.startswith("error:")]
    assert len(errors) == 1 and str(db_path) in errors[0] and "another process" in errors[0], output
    assert "Traceback" not in output
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*), count(*) FILTER (status = 'completed') FROM runs").fetchone() == (1, 1)


def test_score_waits_for_a_reader_to_let_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.input("the database held read-only by another process for 1 s, within --db-wait")
    monkeypatch.setattr(storage, "LOCK_RETRY_S", 0.2)  # try again often: the test need not take 5 s
    transcripts_path = tmp_path / "vendor.jsonl"
    transcripts_path.write_bytes(line(call("c1")) + b"\n")
    db_path = tmp_path / "qa.duckdb"
    duckdb.connect(str(db_path)).close()
    reader = hold_read_only(db_path, 1.0)
    try:
        code = main(["score", str(transcripts_path), "--db", str(db_path), "--db-wait", "30"])
    finally:
        reader.wait()
    assert code == 0
    assert "busy" in capsys.readouterr().out
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT call_id FROM calls").fetchall() == [("c1",)]
