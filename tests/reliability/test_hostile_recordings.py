"""Hostile recordings and metadata (issue 18): what a probe of a fresh clone broke, each reproduced here
with real files, real flow runs and a real DuckDB file.

- one folder per day: `day1/rec_0001.wav` and next night's `day2/rec_0001.wav` are two calls, not one
  overwritten by the other;
- a scored file moved into an archive folder stays one call (its path updated, not scored again), and a
  copy of a stored recording in a later run is listed as a duplicate, not scored as a second call;
- a file name that is not UTF-8 (GBK, from a Windows share) is scored like any other;
- a float WAV with a NaN sample is repaired and scored, one made of NaN is refused as corrupt;
- placeholder dates (9999-12-31, 1900-01-01, 0001-01-01) are refused per cell, and the KPI views and the
  report stay on the real days even over a database that holds one;
- a 200 KB metadata cell is one problem, not a stopped batch.

The recordings are synthetic sample calls (sample_audio/, TTS), copied and altered here.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import soundfile as sf

from qa_pipeline.cli import main
from qa_pipeline.intake.metadata import MAX_CELL_CHARS, read_metadata
from tests.conftest import SAMPLE_AUDIO
from tests.reliability.conftest import Ledger, db_rows, score_transcripts

FIRST = SAMPLE_AUDIO / "call_016.wav"  # 35 s stereo, 8 kHz PCM16
SECOND = SAMPLE_AUDIO / "call_017.wav"  # 33 s stereo, another call
THIRD = SAMPLE_AUDIO / "call_018.wav"
GBK_NAME = "客户来电.wav".encode("gbk")  # as a Windows share in China writes it: not UTF-8


query = db_rows


def run(input_dir: Path, db_path: Path, metadata: Path | None = None) -> Any:
    from qa_pipeline.run.flow import qa_batch

    return qa_batch(
        input_dir=str(input_dir),
        db_path=str(db_path),
        metadata_csv=str(metadata) if metadata else None,
        device="cpu",
        report_dir="",
        return_state=True,
    ).result()


def float_wav_with(path: Path, source: Path, bad: list[float], every: int | None = None) -> None:
    """`source` as a 32-bit float WAV with the values `bad` written over a few samples (or every
    `every`-th sample)."""
    samples, rate = sf.read(source, dtype="float32")
    if every:
        samples[::every] = bad[0]
    else:
        for i, value in enumerate(bad):
            samples[4000 + 700 * i] = value
    sf.write(path, samples, rate, subtype="FLOAT")


# -- the nights, in order ---------------------------------------------------------------------------------


@dataclass
class Nights:
    root: Path
    db_path: Path
    first: Any  # the RunSummary of each run
    second: Any
    second_again: Any
    after_move: Any


@pytest.fixture(scope="module")
def nights(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Nights:
    root = tmp_path_factory.mktemp("nights")
    day1, day2 = root / "day1", root / "day2"
    day1.mkdir()
    day2.mkdir()
    shutil.copy(FIRST, day1 / "rec_0001.wav")
    shutil.copy(THIRD, os.fsdecode(bytes(day1) + b"/" + GBK_NAME))
    float_wav_with(day1 / "one_nan.wav", SECOND, [float("nan")])
    float_wav_with(day1 / "all_nan.wav", SECOND, [float("nan")], every=3)
    metadata = root / "day1.csv"
    metadata.write_text(
        "audio_file,agent_id,started_at,notes\n"
        f"rec_0001.wav,A001,9999-12-31 09:00:00,{'x' * 200_000}\n"
        "one_nan.wav,A002,1900-01-01 00:00:00,\n",
        encoding="utf-8",
    )
    db_path = root / "qa.duckdb"
    first = run(day1, db_path, metadata)
    shutil.copy(SECOND, day2 / "rec_0001.wav")  # next night: the recorder starts its numbers again
    second = run(day2, db_path)
    second_again = run(day2, db_path)
    # The night after: day1's first call is archived, and the GBK one is copied under a plain name.
    (day1 / "archive").mkdir()
    (day1 / "rec_0001.wav").rename(day1 / "archive" / "rec_0001.wav")
    shutil.copy(THIRD, day1 / "copy.wav")
    # The night's export lists the archived file where it now is, with the same facts.
    moved_metadata = root / "day1_archived.csv"
    moved_metadata.write_text(
        "audio_file,agent_id,started_at,notes\n"
        "archive/rec_0001.wav,A001,9999-12-31 09:00:00,\n"
        "one_nan.wav,A002,1900-01-01 00:00:00,\n",
        encoding="utf-8",
    )
    after_move = run(day1, db_path, moved_metadata)
    return Nights(root, db_path, first, second, second_again, after_move)


@pytest.mark.slow
def test_the_same_file_name_on_two_nights_is_two_calls(nights: Nights, ledger: Ledger) -> None:
    ledger.input("day1/rec_0001.wav, then another recording as day2/rec_0001.wav (input dir per day)")
    calls = query(nights.db_path, "SELECT call_id, audio_path, audio_sha256 FROM calls WHERE call_id LIKE 'rec_0001%'")
    by_path = {Path(path).relative_to(nights.root).as_posix(): (call_id, sha) for call_id, path, sha in calls}
    assert set(by_path) == {"day1/archive/rec_0001.wav", "day2/rec_0001.wav"}
    first_id, first_sha = by_path["day1/archive/rec_0001.wav"]
    second_id, second_sha = by_path["day2/rec_0001.wav"]
    assert first_id == "rec_0001"
    assert first_sha != second_sha
    assert second_id == f"rec_0001-{second_sha[:8]}"  # the id made from the name, made unique by the audio
    assert nights.second.calls_ok == 1 and nights.second.reasons == {"new": 1}
    ledger.outcome(checked=2, lost=2 - len(calls), duplicates=0)


@pytest.mark.slow
def test_the_second_night_run_again_changes_nothing(nights: Nights, ledger: Ledger) -> None:
    ledger.input("day2 run a second time: its renamed call is recognised")
    assert nights.second_again.calls_ok == 0
    assert nights.second_again.calls_unchanged == 1
    assert query(nights.db_path, "SELECT count(*) FROM calls WHERE audio_path LIKE '%day2%'") == [(1,)]


@pytest.mark.slow
def test_a_moved_recording_stays_one_call_and_is_not_scored_again(nights: Nights, ledger: Ledger) -> None:
    ledger.input("a scored recording moved into an archive folder before the next run")
    summary = nights.after_move
    assert summary.calls_ok == 0, summary.reasons
    assert summary.calls_failed == 1  # the all-NaN file, which fails every night
    [(path, run_id)] = query(nights.db_path, "SELECT audio_path, run_id FROM calls WHERE call_id = 'rec_0001'")
    assert path == str(nights.root / "day1" / "archive" / "rec_0001.wav")
    assert run_id == nights.first.run_id  # the scores of the first night stand
    files = query(nights.db_path, "SELECT audio_path FROM recording_files WHERE call_id = 'rec_0001'")
    assert files == [(path,)]
    assert query(nights.db_path, "SELECT count(DISTINCT audio_sha256) = count(*) FROM calls") == [(True,)]


@pytest.mark.slow
def test_a_copy_of_a_stored_recording_in_a_later_run_is_a_duplicate(nights: Nights, ledger: Ledger) -> None:
    ledger.input("a copy of a recording scored the night before, under another name")
    assert nights.after_move.duplicates == 1
    [(call_id, duplicate_of)] = query(
        nights.db_path, "SELECT call_id, duplicate_of FROM recording_files WHERE audio_path LIKE '%copy.wav'"
    )
    assert duplicate_of is not None and duplicate_of.endswith("客户来电.wav")
    assert query(nights.db_path, "SELECT count(*) FROM calls WHERE call_id = ?", [call_id]) == [(1,)]
    assert query(nights.db_path, "SELECT count(*) FROM calls WHERE audio_path LIKE '%copy%'") == [(0,)]


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_scored(nights: Nights, ledger: Ledger) -> None:
    ledger.input("a file name in GBK bytes (not UTF-8) from a Windows share")
    rows = query(nights.db_path, "SELECT call_id, audio_path, qa_score FROM calls WHERE audio_path LIKE '%客户来电%'")
    assert len(rows) == 1, "the GBK name is stored as the Chinese it spells"
    [(call_id, _path, score)] = rows
    assert call_id == "客户来电" and score is not None
    assert nights.first.calls_ok == 3  # rec_0001, the GBK name and the NaN-repaired call
    ledger.outcome(checked=1, lost=0, duplicates=0)


@pytest.mark.slow
def test_a_nan_sample_is_repaired_and_the_call_scored(nights: Nights, ledger: Ledger) -> None:
    ledger.input("a 32-bit float WAV with one NaN sample")
    rows = query(nights.db_path, "SELECT qa_score, duration_s FROM calls WHERE call_id = 'one_nan'")
    assert len(rows) == 1 and rows[0][0] is not None
    assert query(nights.db_path, "SELECT count(*) FROM failures WHERE audio_path LIKE '%one_nan%'") == [(0,)]
    ledger.outcome(checked=1, lost=1 - len(rows), duplicates=0)


@pytest.mark.slow
def test_a_recording_of_nan_is_refused_as_corrupt(nights: Nights, ledger: Ledger) -> None:
    ledger.input("a 32-bit float WAV where every third sample is NaN")
    errors = query(nights.db_path, "SELECT DISTINCT stage, error FROM failures WHERE audio_path LIKE '%all_nan%'")
    assert len(errors) == 1
    stage, error = errors[0]
    assert stage == "decode"
    assert "all_nan.wav" in error and "not numbers" in error and "silent" not in error
    ledger.outcome(checked=1, lost=0, duplicates=0)


@pytest.mark.slow
def test_placeholder_dates_are_refused_and_the_call_kept(nights: Nights, ledger: Ledger) -> None:
    ledger.input("metadata started_at 9999-12-31 and 1900-01-01 (placeholders for 'no date')")
    problems = query(
        nights.db_path,
        "SELECT error FROM failures WHERE stage = 'metadata' AND run_id = ? AND error LIKE '%started_at%'",
        [nights.first.run_id],
    )
    assert len(problems) == 2
    assert all("not a plausible call time" in error for (error,) in problems)
    assert query(nights.db_path, "SELECT started_at, agent_id FROM calls WHERE call_id = 'rec_0001'") == [
        (None, "A001")
    ]


@pytest.mark.slow
def test_an_oversized_metadata_cell_is_one_problem(nights: Nights, ledger: Ledger) -> None:
    ledger.input("a metadata cell of 200,000 characters in an unknown column")
    problems = query(nights.db_path, "SELECT error FROM failures WHERE stage = 'metadata' AND error LIKE '%''notes''%'")
    assert len(problems) == 1 and "200,000 characters" in problems[0][0]
    assert len(problems[0][0]) < 500  # the cell is not quoted whole
    assert query(nights.db_path, "SELECT extra FROM calls WHERE call_id = 'rec_0001'") == [(None,)]


# -- fast: metadata and KPI views, no audio ---------------------------------------------------------------


def test_read_metadata_takes_a_huge_cell_and_refuses_it_alone(tmp_path: Path, ledger: Ledger) -> None:
    ledger.input("a metadata CSV whose audio_file cell is 300,000 characters")
    (tmp_path / "a.wav").write_bytes(b"")
    csv_path = tmp_path / "calls.csv"
    csv_path.write_text(
        f"audio_file,agent_id,remark\n{'y' * 300_000}.wav,A001,\na.wav,A002,{'z' * (MAX_CELL_CHARS + 1)}\n",
        encoding="utf-8",
    )
    metadata = read_metadata(csv_path, tmp_path)
    assert list(metadata.by_audio_file) == ["a.wav"]
    assert metadata.by_audio_file["a.wav"].agent_id == "A002"
    assert [(p.row, p.column) for p in metadata.problems] == [(2, "audio_file"), (3, "remark")]
    assert all(len(str(p)) < 500 for p in metadata.problems)


@pytest.mark.parametrize("placeholder", ["9999-12-31", "1900-01-01", "0001-01-01 00:00:00", "1999-12-31 23:59"])
def test_read_metadata_refuses_placeholder_dates(tmp_path: Path, placeholder: str) -> None:
    (tmp_path / "a.wav").write_bytes(b"")
    csv_path = tmp_path / "calls.csv"
    csv_path.write_text(f"audio_file,started_at,answered_at\na.wav,{placeholder},2026-11-20 09:00:00\n", "utf-8")
    metadata = read_metadata(csv_path, tmp_path)
    assert metadata.by_audio_file["a.wav"].started_at is None
    assert metadata.by_audio_file["a.wav"].answered_at is not None
    [problem] = metadata.problems
    assert problem.column == "started_at" and "not a plausible call time" in problem.message


def _score(tmp_path: Path, calls: list[tuple[str, str]]) -> Path:
    """`qa-pipeline score` of one short call per (call_id, started_at) into tmp_path/qa.duckdb."""
    segments = [{"speaker": "agent", "start_s": 0.5, "end_s": 3.0, "text": "您好，请问有什么可以帮您？"}]
    lines = [
        {"call_id": call_id, "metadata": {"started_at": started_at, "agent_id": "A001"}, "segments": segments}
        for call_id, started_at in calls
    ]
    score_transcripts(tmp_path, lines)
    return tmp_path / "qa.duckdb"


def test_kpis_and_report_stay_on_real_days_over_a_stored_placeholder_date(
    tmp_path: Path, ledger: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger.input("a database (written by an older version) holding calls dated 9999-12-31 and 0001-01-01")
    db_path = _score(tmp_path, [("real", "2026-11-20 09:00:00"), ("late", "2026-11-20 10:00:00"), ("early", "")])
    # What an older version let in: placeholder dates stored as call times.
    with duckdb.connect(str(db_path)) as con:
        con.execute("UPDATE calls SET started_at = TIMESTAMP '9999-12-31 09:00:00' WHERE call_id = 'late'")
        con.execute("UPDATE calls SET started_at = TIMESTAMP '0001-01-01 00:00:00' WHERE call_id = 'early'")
    capsys.readouterr()
    assert main(["kpis", "--db", str(db_path), "--by", "day", "--format", "json"]) == 0
    days = [row["call_date"] for row in json.loads(capsys.readouterr().out)["rows"]]
    # The stored dates show as what they are, one row each; they do not stretch the period over millions
    # of empty days (9999 years of them made 2.9 million rows and 5 GB).
    assert days == ["0001-01-01", "2026-11-20", "9999-12-31"]
    assert main(["report", "--db", str(db_path), "--out", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "<title>QA report 2026-11-20</title>" in page  # the real day, not year 9999


@pytest.mark.parametrize("seconds", ["1e308", "86401", "3600000"])
def test_read_metadata_refuses_durations_beyond_a_day(tmp_path: Path, seconds: str, ledger: Ledger) -> None:
    ledger.input(f"metadata hold_s = {seconds} (a unit mistake that would swamp average handle time)")
    (tmp_path / "a.wav").write_bytes(b"")
    csv_path = tmp_path / "calls.csv"
    csv_path.write_text(f"audio_file,hold_s,acw_s\na.wav,{seconds},86400\n", "utf-8")
    metadata = read_metadata(csv_path, tmp_path)
    assert metadata.by_audio_file["a.wav"].hold_s is None
    assert metadata.by_audio_file["a.wav"].acw_s == 86400.0  # a day is the limit, kept
    [problem] = metadata.problems
    assert problem.column == "hold_s" and "more than a day" in problem.message
