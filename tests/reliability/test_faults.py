"""Faults, injected: the disk filling up and the database refusing a write, the ASR failing in the middle
of a recording, a worker process killed, a corrupt model cache. After each, no scored call may be lost
or stored twice: a call is either fully stored or absent and listed in `failures`, and the next run
scores what is missing.

The disk-full test is real: the writing process gets a file-size limit (RLIMIT_FSIZE), so DuckDB's own
write fails exactly as on a full disk. The other database faults are raised inside QaDatabase.write_call
(a lock or a conflict cannot be provoked on demand with one writer); the ASR fault wraps the real
transcriber; the worker is killed with SIGKILL from outside.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pytest

from qa_pipeline.store.database import QaDatabase
from tests.conftest import REPO, SAMPLE_AUDIO
from tests.reliability.conftest import Ledger

CALLS = ("call_016.wav", "call_017.wav", "call_019.wav", "call_018.wav")
STORE_FAILS, STORE_CONFLICT_ONCE, ASR_FAILS = "call_016", "call_017", "call_019"
RESULT_TABLES = ("calls", "segments", "check_results", "call_events", "speaker_turns", "redactions")


def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def rows_per_call(db_path: Path) -> dict[str, dict[str, int]]:
    """table -> call_id -> rows: a half-written call shows as rows without a `calls` row."""
    counts: dict[str, dict[str, int]] = {}
    for table in RESULT_TABLES:
        counts[table] = dict(query(db_path, f"SELECT call_id, count(*) FROM {table} GROUP BY call_id"))
    return counts


def account(db_path: Path, input_dir: Path, ledger: Ledger) -> tuple[int, int]:
    """(lost, duplicated) recordings of `input_dir` in the database, recorded in the ledger."""
    paths = sorted(str(p) for p in input_dir.glob("*.wav"))
    scored = dict(query(db_path, "SELECT audio_path, count(*) FROM calls GROUP BY audio_path"))
    open_failures = {path for (path,) in query(db_path, "SELECT audio_path FROM open_failures")}
    lost = sum(1 for path in paths if path not in scored and path not in open_failures)
    duplicated = sum(1 for path in paths if scored.get(path, 0) > 1)
    ledger.outcome(checked=len(paths), lost=lost, duplicates=duplicated)
    return lost, duplicated


@pytest.fixture
def calls_dir(tmp_path: Path) -> Path:
    root = tmp_path / "calls"
    root.mkdir()
    for name in CALLS:
        shutil.copy(SAMPLE_AUDIO / name, root / name)
    return root


def run_flow(input_dir: Path, db_path: Path, **options: Any) -> Any:
    from qa_pipeline.run.flow import qa_batch

    state = qa_batch(
        input_dir=str(input_dir), db_path=str(db_path), device="cpu", report_dir="", return_state=True, **options
    )
    return state.result()


DISK_FULL_SCRIPT = r"""
import json, os, resource, sys
import duckdb
sys.path.insert(0, sys.argv[2])
from tests.factories import make_call
from qa_pipeline.store.database import QaDatabase

path = sys.argv[1]
db = QaDatabase(path)
run_id = db.start_run(None, "test-model", "test", "test", "/calls")
db.write_call(make_call("before"), run_id)
db.connection.execute("CHECKPOINT")
# The disk is full: no file of this process may be written past 16 KiB (after the checkpoint the
# write-ahead log is empty: the next transaction goes there, and fails when it outgrows that).
resource.setrlimit(resource.RLIMIT_FSIZE, (16384, resource.RLIM_INFINITY))
import random
rng = random.Random(0)
words = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]  # varied text: the WAL cannot squeeze it small
long_call = make_call(
    "big", segments=[("customer", i, i + 0.5, "".join(rng.choices(words, k=200))) for i in range(2000)]
)
outcome = {}
try:
    db.write_call(long_call, run_id)
    outcome["write"] = "stored"
except duckdb.Error as error:
    outcome["write"] = f"{type(error).__name__}: {error}"
try:
    db.record_failure(run_id, "/calls/big.wav", "store", outcome["write"])
    outcome["failure_recorded"] = True
except duckdb.Error as error:
    outcome["failure_recorded"] = False
outcome["big_rows_while_full"] = db.connection.execute(
    "SELECT (SELECT count(*) FROM calls WHERE call_id = 'big') + (SELECT count(*) FROM segments WHERE call_id = 'big')"
).fetchone()[0]
# Space again (the operator freed some): the same connection writes the call in full.
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
db.write_call(long_call, run_id)
db.close()
print(json.dumps(outcome))
"""


def test_disk_full_during_a_write_rolls_the_call_back(tmp_path: Path, ledger: Ledger) -> None:
    ledger.fault("disk full while a call is written (a real file-size limit on the writing process)")
    db_path = tmp_path / "qa.duckdb"
    done = subprocess.run(
        [sys.executable, "-c", DISK_FULL_SCRIPT, str(db_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert "File too large" in outcome["write"], outcome  # DuckDB's own write error, not ours
    assert outcome["big_rows_while_full"] == 0, "nothing of the call was half-written"
    # After space came back: each call once, every segment of the big one there.
    assert query(db_path, "SELECT call_id, count(*) FROM calls GROUP BY call_id ORDER BY call_id") == [
        ("before", 1),
        ("big", 1),
    ]
    assert query(db_path, "SELECT count(*) FROM segments WHERE call_id = 'big'") == [(2000,)]
    assert query(db_path, "SELECT count(*) FROM segments WHERE call_id = 'before'") == [(3,)]
    ledger.outcome(checked=2, lost=0, duplicates=0)


class _FailingTranscriber:
    """The real transcriber, raising on its second call (the customer channel): ASR dies mid-recording."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def transcribe_regions(self, *args: Any, **kwargs: Any) -> Any:
        self._calls += 1
        if self._calls == 2:
            raise RuntimeError("ctranslate2: std::bad_alloc while decoding window 3")
        return self._real.transcribe_regions(*args, **kwargs)


@pytest.mark.slow
def test_write_faults_and_an_asr_crash_lose_nothing(
    prefect_harness: None, calls_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    import qa_pipeline.run.call as call_module
    import qa_pipeline.run.flow as flow_module

    ledger.fault(f"every write of {STORE_FAILS} fails: No space left on device (raised in write_call)")
    ledger.fault(f"the first write of {STORE_CONFLICT_ONCE} hits a write-write conflict (raised in write_call)")
    ledger.fault(f"the ASR raises on {ASR_FAILS}'s second channel, half-way through the recording")
    monkeypatch.setattr(flow_module, "STORE_RETRY_S", 0.0)
    real_write = QaDatabase.write_call
    conflicts: list[str] = []

    def faulty_write(self: QaDatabase, scored: Any, run_id: str) -> None:
        call_id = scored.job.call_id
        if call_id == STORE_FAILS:
            # Fail after the DELETEs and part of the INSERTs, inside the transaction, as a full disk would.
            def full(*args: Any, **kwargs: Any) -> None:
                raise duckdb.IOException(f'Could not write file "{self.path}.wal": No space left on device')

            connection = self.connection
            self.connection = _Failing(connection, "INSERT INTO check_results", full)  # type: ignore[assignment]
            try:
                real_write(self, scored, run_id)
            finally:
                self.connection = connection
            return
        if call_id == STORE_CONFLICT_ONCE and not conflicts:
            conflicts.append(call_id)
            raise duckdb.TransactionException("TransactionContext Error: Conflict on tuple deletion!")
        real_write(self, scored, run_id)

    real_build = call_module.build_transcript

    def build_with_faulty_asr(audio: Any, transcriber: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(audio.path).stem == ASR_FAILS:
            transcriber = _FailingTranscriber(transcriber)
        return real_build(audio, transcriber, *args, **kwargs)

    monkeypatch.setattr(QaDatabase, "write_call", faulty_write)
    monkeypatch.setattr(call_module, "build_transcript", build_with_faulty_asr)
    db_path = tmp_path / "qa.duckdb"
    first = run_flow(calls_dir, db_path)

    assert first.calls_ok == 2 and first.calls_failed == 2
    failures = {Path(path).stem: (stage, error) for path, stage, error in first.failures}
    assert failures[STORE_FAILS][0] == "store" and "No space left on device" in failures[STORE_FAILS][1]
    assert failures[ASR_FAILS][0] == "transcribe" and "bad_alloc" in failures[ASR_FAILS][1]
    assert conflicts == [STORE_CONFLICT_ONCE], "the conflict happened, and the retry stored the call"
    counts = rows_per_call(db_path)
    for table in RESULT_TABLES:  # the failed calls left no row anywhere
        assert STORE_FAILS not in counts[table] and ASR_FAILS not in counts[table], table
    assert set(counts["calls"]) == {STORE_CONFLICT_ONCE, "call_018"}
    assert account(db_path, calls_dir, ledger) == (0, 0)

    # The faults are gone: the next run scores exactly the two that failed.
    monkeypatch.undo()
    second = run_flow(calls_dir, db_path)
    assert (second.calls_ok, second.calls_failed, second.calls_unchanged) == (2, 0, 2)
    assert second.reasons == {"failed before": 2}
    assert query(db_path, "SELECT call_id, count(*) FROM calls GROUP BY call_id ORDER BY call_id") == [
        (name.removesuffix(".wav"), 1) for name in sorted(CALLS)
    ]
    assert query(db_path, "SELECT count(*) FROM open_failures") == [(0,)]
    assert account(db_path, calls_dir, ledger) == (0, 0)


class _Failing:
    """A DuckDB connection whose `execute` or `executemany` of one statement raises (the disk filling
    mid-transaction)."""

    def __init__(self, inner: duckdb.DuckDBPyConnection, statement: str, raise_: Any) -> None:
        self.inner = inner
        self._statement = statement
        self._raise = raise_

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith(self._statement):
            self._raise()
        return self.inner.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        if sql.startswith(self._statement):
            self._raise()
        return self.inner.executemany(sql, *args)


def _worker_processes() -> list[psutil.Process]:
    """This process's children that score calls (not the Prefect server it started)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "uvicorn" in command or ("prefect" in command and "server" in command):
            continue
        found.append(child)
    return found


@pytest.fixture
def worker_killer() -> Iterator[list[int]]:
    """Kill one busy worker process once (SIGKILL, as the out-of-memory killer does); its pid is listed."""
    killed: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set() and not killed:
            for process in _worker_processes():
                try:
                    busy = process.cpu_times().user > 3.0  # loaded its model and is transcribing
                except psutil.Error:
                    continue
                if busy:
                    os.kill(process.pid, signal.SIGKILL)
                    killed.append(process.pid)
                    return
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield killed
    stop.set()
    thread.join(timeout=5)


@pytest.mark.slow
def test_a_killed_worker_loses_no_call(
    prefect_harness: None, calls_dir: Path, tmp_path: Path, worker_killer: list[int], ledger: Ledger
) -> None:
    ledger.fault("a worker process killed (SIGKILL) while it transcribes, with --workers 2")
    db_path = tmp_path / "qa.duckdb"
    first = run_flow(calls_dir, db_path, workers=2)
    assert worker_killer, "a worker was killed"
    assert first.calls_failed >= 1
    assert {stage for _, stage, _ in first.failures} == {"worker"}
    assert first.calls_ok + first.calls_failed == len(CALLS)
    assert account(db_path, calls_dir, ledger) == (0, 0)

    second = run_flow(calls_dir, db_path)
    assert second.calls_ok == first.calls_failed and second.calls_failed == 0
    assert query(db_path, "SELECT count(*), count(DISTINCT call_id) FROM calls") == [(len(CALLS), len(CALLS))]
    assert account(db_path, calls_dir, ledger) == (0, 0)


def test_a_corrupt_model_cache_is_detected_and_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    from qa_pipeline.asr.models import EMBEDDED_MODEL_SHA256, _sha256, embedded_model_dir, resolve_model
    from qa_pipeline.asr.transcribe import AsrSettings, Transcriber
    from qa_pipeline.audio.decode import decode_audio

    ledger.fault("the cached ASR model corrupted (one byte flipped), then cut short (a partial copy)")
    monkeypatch.setenv("QA_PIPELINE_CACHE", str(tmp_path / "cache"))
    model_bin = embedded_model_dir() / "model.bin"
    for damage in ("flip", "truncate"):
        data = bytearray(model_bin.read_bytes())
        if damage == "flip":
            data[len(data) // 2] ^= 0xFF
            model_bin.write_bytes(bytes(data))
        else:
            model_bin.write_bytes(bytes(data[: len(data) // 3]))
        assert _sha256(model_bin) != EMBEDDED_MODEL_SHA256
        choice = resolve_model(None, "cpu")  # verifies, finds the damage, rebuilds
        assert Path(choice.location) == model_bin.parent
        assert _sha256(model_bin) == EMBEDDED_MODEL_SHA256
    # ... and the rebuilt model really transcribes.
    from qa_pipeline.asr.vad import speech_regions

    audio = decode_audio(SAMPLE_AUDIO / "call_016.wav")
    regions = speech_regions(audio.channel(0))[:1]
    text = Transcriber(choice, AsrSettings()).transcribe_regions(audio.channel(0), regions)
    assert text and text[0].text.strip()
