"""Incremental nightly runs: date windows, call discovery, fingerprints and the re-score plan, run status,
open failures, waiting for the database lock, worker plans, deployment parameters and their CLI checks."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from qa_pipeline.cli import main
from qa_pipeline.intake.discovery import CallJob, DateWindow, DateWindowError, discover_calls, parse_day
from qa_pipeline.intake.metadata import CallMetadata, Metadata, RowProblem
from qa_pipeline.model import ScoredCall
from qa_pipeline.run.deploy import DeployError, NightlyDeployment, api_url, deployment_parameters, local_timezone
from qa_pipeline.run.plan import Plan, Resolution, ScoringInputs, plan_batch, rescore_reason, resolve_recordings
from qa_pipeline.run.workers import WorkerPlan, is_transient, plan_workers
from qa_pipeline.store import database as storage
from qa_pipeline.store.connection import UnwritableDatabaseError
from qa_pipeline.store.database import QaDatabase, StoredCall
from tests.factories import make_call, write_calls

TODAY = date(2026, 11, 22)
SHA = "a" * 64
MODEL = "whisper-base(embedded)/int8"
SETTINGS = {"diarization": "embedded", "agent_channel": 0}


# -- date windows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 11, 22)),
        ("yesterday", date(2026, 11, 21)),
        ("-7d", date(2026, 11, 15)),
        ("-0d", date(2026, 11, 22)),
        (" Yesterday ", date(2026, 11, 21)),
        ("TODAY", date(2026, 11, 22)),
        ("2026-11-19", date(2026, 11, 19)),
    ],
)
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text, today=TODAY) == expected


@pytest.mark.parametrize("text", ["last week", "-d", "2026-13-01", "7d", ""])
def test_parse_day_refuses_naming_the_value(text: str) -> None:
    with pytest.raises(DateWindowError) as raised:
        parse_day(text, today=TODAY)
    assert repr(text) in str(raised.value)
    assert "YYYY-MM-DD" in str(raised.value)
    assert isinstance(raised.value, ValueError)  # the CLI's configuration check catches ValueError


def test_date_window_parse_and_membership() -> None:
    assert DateWindow.parse(None, None, today=TODAY) == DateWindow(None, None)
    assert DateWindow.parse("yesterday", None, today=TODAY) == DateWindow(date(2026, 11, 21), None)
    assert DateWindow.parse(None, "-2d", today=TODAY) == DateWindow(None, date(2026, 11, 20))
    window = DateWindow.parse("2026-11-19", "yesterday", today=TODAY)
    assert window == DateWindow(date(2026, 11, 19), date(2026, 11, 21))
    assert date(2026, 11, 18) not in window
    assert date(2026, 11, 19) in window  # both ends inclusive
    assert date(2026, 11, 21) in window
    assert date(2026, 11, 22) not in window
    assert DateWindow.parse("today", "today", today=TODAY) == DateWindow(TODAY, TODAY)  # one day is fine
    assert date(1990, 1, 1) in DateWindow() and date(2100, 1, 1) in DateWindow()
    assert date(1990, 1, 1) in DateWindow(None, date(2026, 11, 20))
    assert date(2026, 11, 21) not in DateWindow(None, date(2026, 11, 20))


def test_date_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(DateWindowError, match="starts 2026-11-20 after it ends 2026-11-19"):
        DateWindow.parse("2026-11-20", "2026-11-19", today=TODAY)
    with pytest.raises(DateWindowError, match="starts 2026-11-22 after it ends 2026-11-21"):
        DateWindow.parse("today", "yesterday", today=TODAY)


def test_date_window_str() -> None:
    assert str(DateWindow()) == "all dates"
    assert str(DateWindow(date(2026, 11, 19), date(2026, 11, 21))) == "2026-11-19 to 2026-11-21"
    assert str(DateWindow(date(2026, 11, 19), None)) == "2026-11-19 to …"
    assert str(DateWindow(None, date(2026, 11, 21))) == "… to 2026-11-21"


# -- discovery with a date window ---------------------------------------------------------------------


def _touch(path: Path, day: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really audio")
    stamp = day.timestamp()  # naive datetime = local time, as call_day reads the mtime
    os.utime(path, (stamp, stamp))


@pytest.fixture
def recordings(tmp_path: Path) -> tuple[Path, Metadata]:
    root = tmp_path.resolve() / "calls"  # as discover_calls names the files
    inside, outside = datetime(2026, 11, 20, 12, 0), datetime(2026, 11, 10, 12, 0)
    _touch(root / "a.wav", outside)  # metadata says inside: metadata wins over the file time
    _touch(root / "b.mp3", inside)  # metadata says outside
    _touch(root / "d.flac", datetime(2026, 11, 21, 0, 0, 1))  # no metadata, file time after the window
    _touch(root / "sub" / "c.WAV", datetime(2026, 11, 19, 0, 0))  # no metadata, first second of the window
    _touch(root / "e.wav", inside)  # metadata reuses a.wav's call_id
    _touch(root / "notes.txt", inside)  # not audio
    rows = {
        "a.wav": CallMetadata("a.wav", call_id="C-A", started_at=datetime(2026, 11, 20, 23, 59), row=2),
        "b.mp3": CallMetadata("b.mp3", call_id="C-B", started_at=datetime(2026, 11, 18, 23, 59), row=3),
        "e.wav": CallMetadata("e.wav", call_id="C-A", started_at=datetime(2026, 11, 19, 8, 0), row=4),
        "gone_in.wav": CallMetadata("gone_in.wav", started_at=datetime(2026, 11, 19, 9, 0), row=5),
        "gone_out.wav": CallMetadata("gone_out.wav", started_at=datetime(2026, 11, 1, 9, 0), row=6),
        "gone_nodate.wav": CallMetadata("gone_nodate.wav", row=7),
    }
    problem = RowProblem("calls.csv", 3, "survey_score", "11", "survey score must be between 0 and 10")
    return root, Metadata(by_audio_file=rows, problems=[problem])


def test_discover_calls_keeps_the_window(recordings: tuple[Path, Metadata]) -> None:
    root, metadata = recordings
    window = DateWindow(date(2026, 11, 19), date(2026, 11, 20))
    batch = discover_calls(root, metadata, window)
    assert [job.call_id for job in batch.jobs] == ["C-A", "sub_c"]
    assert [job.relative_path for job in batch.jobs] == ["a.wav", "sub/c.WAV"]
    assert batch.jobs[1].audio_path == str((root / "sub" / "c.WAV").resolve())
    assert batch.jobs[1].metadata == CallMetadata(audio_file="sub/c.WAV")
    assert all(job.fingerprint is None for job in batch.jobs)  # set when hashed (plan_batch)
    # b.mp3 and d.flac by date, the missing gone_out.wav by its metadata date
    assert batch.outside_window == 3
    assert batch.skipped == [
        (str(root / "e.wav"), "call_id 'C-A' already used by a.wav; file skipped"),
        (str(root / "gone_in.wav"), "listed in metadata line 5 but no such file"),
        (str(root / "gone_nodate.wav"), "listed in metadata line 7 but no such file"),
    ]
    assert [problem.row for problem in batch.problems] == [3]


def test_discover_calls_without_a_window_takes_everything(recordings: tuple[Path, Metadata]) -> None:
    root, metadata = recordings
    batch = discover_calls(root, metadata)
    assert [job.call_id for job in batch.jobs] == ["C-A", "C-B", "d", "sub_c"]
    assert batch.outside_window == 0
    assert [path for path, _ in batch.skipped] == [
        str(root / "e.wav"),
        str(root / "gone_in.wav"),
        str(root / "gone_out.wav"),
        str(root / "gone_nodate.wav"),
    ]


def test_a_file_outside_the_window_does_not_claim_its_call_id(recordings: tuple[Path, Metadata]) -> None:
    root, metadata = recordings
    # a.wav (C-A, 2026-11-20) is outside; e.wav (C-A, 2026-11-19) is then the only C-A and is kept.
    batch = discover_calls(root, metadata, DateWindow(date(2026, 11, 19), date(2026, 11, 19)))
    assert [(job.call_id, job.relative_path) for job in batch.jobs] == [("C-A", "e.wav"), ("sub_c", "sub/c.WAV")]
    assert batch.outside_window == 4  # a.wav, b.mp3, d.flac, gone_out.wav
    assert [path for path, _ in batch.skipped] == [str(root / "gone_in.wav"), str(root / "gone_nodate.wav")]


# -- fingerprints and the plan ------------------------------------------------------------------------


def _job(call_id: str = "c1", **meta: object) -> CallJob:
    fields: dict[str, object] = {"call_id": call_id, "agent_id": "A001", "started_at": datetime(2026, 11, 21, 9, 30)}
    fields.update(meta)
    metadata = CallMetadata(f"{call_id}.wav", row=2, **fields)  # type: ignore[arg-type]
    return CallJob(call_id, f"/calls/{call_id}.wav", f"{call_id}.wav", metadata)


def _inputs(**changes: object) -> ScoringInputs:
    inputs = ScoringInputs(SHA, MODEL, "card-1", dict(SETTINGS))
    return dataclasses.replace(inputs, **changes)  # type: ignore[arg-type]


def test_fingerprint_is_the_sha256_of_the_documented_inputs() -> None:
    job = _job()
    metadata = {k: v for k, v in dataclasses.asdict(job.metadata).items() if k not in ("row", "audio_file")}
    document = {
        "asr_model": MODEL,
        "audio_sha256": SHA,
        "metadata": {**metadata, "started_at": "2026-11-21 09:30:00", "customer_tags": []},
        "scorecard_hash": "card-1",
        "settings": {"agent_channel": 0, "diarization": "embedded"},
    }
    encoded = json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")
    fingerprint = _inputs().fingerprint(job)
    assert fingerprint == hashlib.sha256(encoded).hexdigest()
    assert len(fingerprint) == 64


def test_fingerprint_depends_on_what_the_call_is_scored_from() -> None:
    job, inputs = _job(), _inputs()
    base = inputs.fingerprint(job)
    assert _inputs().fingerprint(_job()) == base  # same inputs, new objects
    # settings in another order, the job's own fingerprint, its row in the CSV: no change
    assert (
        dataclasses.replace(inputs, settings={"agent_channel": 0, "diarization": "embedded"}).fingerprint(job) == base
    )
    assert inputs.fingerprint(dataclasses.replace(job, fingerprint=base)) == base
    assert inputs.fingerprint(dataclasses.replace(job, metadata=dataclasses.replace(job.metadata, row=99))) == base
    # nor where the file lies (a recording moved into an archive folder); the fingerprint of versions that
    # kept the path still counts as unchanged (rescore_reason), so an upgrade re-scores nothing
    moved = dataclasses.replace(job, metadata=dataclasses.replace(job.metadata, audio_file="archive/a.wav"))
    assert inputs.fingerprint(moved) == base
    with_path = inputs.legacy_fingerprints(job)[1]
    assert inputs.legacy_fingerprints(moved)[1] != with_path != base
    legacy = inputs.legacy_fingerprints(job)
    assert rescore_reason(inputs, base, _stored(inputs, with_path), False, False, legacy) is None
    changed = [
        inputs.fingerprint(dataclasses.replace(job, metadata=dataclasses.replace(job.metadata, agent_id="A002"))),
        inputs.fingerprint(
            dataclasses.replace(job, metadata=dataclasses.replace(job.metadata, started_at=datetime(2026, 11, 21, 9)))
        ),
        inputs.fingerprint(dataclasses.replace(job, metadata=dataclasses.replace(job.metadata, customer_tags=("x",)))),
        _inputs(audio_sha256="b" * 64).fingerprint(job),
        _inputs(asr_model="whisper-small/float16").fingerprint(job),
        _inputs(scorecard_hash="card-2").fingerprint(job),
        _inputs(settings={"diarization": "pyannote", "agent_channel": 0}).fingerprint(job),
        _inputs(settings={"diarization": "embedded", "agent_channel": 1}).fingerprint(job),
    ]
    assert base not in changed
    assert len(set(changed)) == len(changed)


def _stored(inputs: ScoringInputs, fingerprint: str | None, **changes: object) -> StoredCall:
    stored = StoredCall(inputs.audio_sha256, inputs.asr_model, inputs.scorecard_hash, fingerprint)
    return dataclasses.replace(stored, **changes)  # type: ignore[arg-type]


def test_rescore_reason() -> None:
    job, inputs = _job(), _inputs()
    fp = inputs.fingerprint(job)
    assert rescore_reason(inputs, fp, None, force=False) == "new"
    assert rescore_reason(inputs, fp, None, force=True) == "new"
    assert rescore_reason(inputs, fp, _stored(inputs, fp), force=False) is None
    assert rescore_reason(inputs, fp, _stored(inputs, fp), force=True) == "forced"
    assert rescore_reason(inputs, fp, _stored(inputs, "old", audio_sha256="b" * 64), False) == "audio changed"
    assert rescore_reason(inputs, fp, _stored(inputs, "old", audio_sha256=None), False) == "audio changed"
    assert rescore_reason(inputs, fp, _stored(inputs, "old", asr_model="whisper-small"), False) == "model changed"
    assert rescore_reason(inputs, fp, _stored(inputs, "old", scorecard_hash="card-0"), False) == "scorecard changed"
    assert rescore_reason(inputs, fp, _stored(inputs, None), False) == "scored before fingerprints were kept"
    assert rescore_reason(inputs, fp, _stored(inputs, "old"), False) == "metadata or settings changed"
    # the first input that differs names the reason
    both = _stored(inputs, "old", asr_model="whisper-small", scorecard_hash="card-0")
    assert rescore_reason(inputs, fp, both, False) == "model changed"


def test_only_the_scorecard_settings_up_to_measure_are_in_the_fingerprint() -> None:
    job = _job()
    night1 = _inputs(measure_inputs_hash="measure-1")
    fp = night1.fingerprint(job)
    # a phrase, a weight, the pass mark: the whole scorecard's hash changes, the measure settings' does not
    night2 = dataclasses.replace(night1, scorecard_hash="card-2")
    assert night2.fingerprint(job) == fp
    assert rescore_reason(night2, fp, _stored(night1, fp, has_inputs=True), False) == "scorecard changed: re-judged"
    assert (
        rescore_reason(night2, fp, _stored(night1, fp), False) == "scorecard changed (no inputs kept to re-judge from)"
    )
    assert rescore_reason(night1, fp, _stored(night1, fp, has_inputs=True), False) is None
    assert rescore_reason(night2, fp, _stored(night1, fp, has_inputs=True), True) == "forced"
    # [timing] or the phrases the ASR stage verifies: the measure settings change, the call is re-scored
    night3 = dataclasses.replace(night2, measure_inputs_hash="measure-2")
    assert night3.fingerprint(job) != fp
    assert rescore_reason(night3, night3.fingerprint(job), _stored(night1, fp, has_inputs=True), False) == (
        "scorecard changed"
    )
    # a call stored by a version whose fingerprint held the whole scorecard's hash: unchanged while the
    # scorecard is, re-scored (it kept no inputs) when it changes
    legacy = night1.legacy_fingerprints(job)[0]
    assert rescore_reason(night1, fp, _stored(night1, legacy), False, False, night1.legacy_fingerprints(job)) is None
    assert rescore_reason(night2, fp, _stored(night1, legacy), False, False, night2.legacy_fingerprints(job)) == (
        "scorecard changed"
    )


def test_plan_batch_splits_and_counts() -> None:
    inputs = _inputs()
    new, same, model, meta = _job("new"), _job("same"), _job("model"), _job("meta", agent_id="A009")
    stored = {
        "same": _stored(inputs, inputs.fingerprint(same)),
        "model": _stored(inputs, _inputs(asr_model="whisper-tiny").fingerprint(model), asr_model="whisper-tiny"),
        "meta": _stored(inputs, inputs.fingerprint(_job("meta"))),  # scored when its agent was A001
        "elsewhere": _stored(inputs, "x"),  # stored but not in this batch: ignored
    }
    plan = plan_batch([(job, inputs) for job in (new, same, model, meta)], stored)
    assert isinstance(plan, Plan)
    assert [(job.call_id, reason) for job, reason in plan.to_score] == [
        ("new", "new"),
        ("model", "model changed"),
        ("meta", "metadata or settings changed"),
    ]
    for job, _ in plan.to_score:
        assert job.fingerprint == inputs.fingerprint(job)
        assert job.fingerprint is not None and len(job.fingerprint) == 64
        assert dataclasses.replace(job, fingerprint=None) in (new, model, meta)  # otherwise the same job
    assert plan.unchanged == [same]
    assert plan.reasons() == {"new": 1, "model changed": 1, "metadata or settings changed": 1}

    forced = plan_batch([(job, inputs) for job in (new, same, model, meta)], stored, force=True)
    assert forced.unchanged == []
    assert [reason for _, reason in forced.to_score] == ["new", "forced", "forced", "forced"]
    assert forced.reasons() == {"new": 1, "forced": 3}
    assert Plan().reasons() == {}

    # A recording whose last attempt failed is tried again even when an unchanged score is stored: only a
    # new score closes its open failure.
    retried = plan_batch([(job, inputs) for job in (new, same)], stored, failed_paths={same.audio_path})
    assert [(job.call_id, reason) for job, reason in retried.to_score] == [("new", "new"), ("same", "failed before")]
    assert retried.unchanged == []
    assert plan_batch([], stored).to_score == []


# -- which call a recording is ------------------------------------------------------------------------


def _recording(
    relative: str, sha: str, call_id: str | None = None, row: int | None = None
) -> tuple[CallJob, ScoringInputs]:
    """A discovered file under /calls: its id from the metadata (`call_id`), else from its name."""
    meta = CallMetadata(audio_file=relative, call_id=call_id, row=row)
    own_id = call_id or relative.rsplit(".", 1)[0].replace("/", "_")
    return CallJob(own_id, f"/calls/{relative}", relative, meta), _inputs(audio_sha256=sha)


def _resolve(
    hashed: list[tuple[CallJob, ScoringInputs]],
    stored: dict[str, StoredCall],
    existing: set[str] = frozenset(),  # type: ignore[assignment]
) -> Resolution:
    by_audio: dict[str, list[tuple[str, str]]] = {}
    for call_id, call in stored.items():
        if call.audio_sha256 and call.audio_path:
            by_audio.setdefault(call.audio_sha256, []).append((call_id, call.audio_path))
    return resolve_recordings(hashed, stored.get, by_audio, file_holds=lambda path, _sha: path in existing)


def test_another_recording_under_a_stored_name_is_a_new_call() -> None:
    inputs = _inputs()
    stored = {"rec_0001": _stored(inputs, "fp", audio_sha256="a" * 64, audio_path="/day1/rec_0001.wav")}
    resolution = _resolve([_recording("rec_0001.wav", "b" * 64)], stored, {"/day1/rec_0001.wav"})
    [(job, _)] = resolution.jobs
    assert job.call_id == "rec_0001-bbbbbbbb"
    assert resolution.duplicates == [] and resolution.moved == []
    [notice] = resolution.notices
    assert "/calls/rec_0001.wav" in notice and "/day1/rec_0001.wav" in notice and "'rec_0001-bbbbbbbb'" in notice
    # the suffixed id taken by yet another recording (one in four billion): a longer suffix
    stored["rec_0001-bbbbbbbb"] = _stored(inputs, "fp", audio_sha256="b" * 8 + "c" * 56, audio_path="/x.wav")
    [(job, _)] = _resolve([_recording("rec_0001.wav", "b" * 64)], stored).jobs
    assert job.call_id == "rec_0001-" + "b" * 16


def test_a_metadata_call_id_replaces_the_call_it_names_and_says_so() -> None:
    stored = {"C-77": _stored(_inputs(), "fp", audio_sha256="a" * 64, audio_path="/old/x.wav")}
    resolution = _resolve([_recording("x.wav", "b" * 64, call_id="C-77", row=2)], stored, {"/old/x.wav"})
    [(job, _)] = resolution.jobs
    assert job.call_id == "C-77"
    [notice] = resolution.notices
    assert "metadata call_id 'C-77'" in notice and "replacing" in notice


def test_a_moved_recording_keeps_its_call_and_a_copy_is_a_duplicate() -> None:
    stored = {"a": _stored(_inputs(), "fp", audio_sha256="a" * 64, audio_path="/calls/a.wav")}
    # moved: the stored path is gone, the same audio is under archive/
    resolution = _resolve([_recording("archive/a.wav", "a" * 64)], stored, existing=set())
    [(job, _)] = resolution.jobs
    assert job.call_id == "a"
    assert [(moved.call_id, old) for moved, old in resolution.moved] == [("a", "/calls/a.wav")]
    # copied: the stored file is still there
    resolution = _resolve([_recording("copy.wav", "a" * 64)], stored, existing={"/calls/a.wav"})
    assert resolution.jobs == [] and resolution.moved == []
    [duplicate] = resolution.duplicates
    assert (duplicate.job.call_id, duplicate.scored_as, duplicate.scored_path) == ("copy", "a", "/calls/a.wav")
    # the stored file and a copy in the same batch: the stored one stays the call, unmoved
    resolution = _resolve(
        [_recording("a.wav", "a" * 64), _recording("b.wav", "a" * 64)], stored, existing={"/calls/a.wav"}
    )
    assert [job.call_id for job, _ in resolution.jobs] == ["a"] and resolution.moved == []
    assert [d.job.call_id for d in resolution.duplicates] == ["b"]


def test_copies_within_a_batch_are_scored_once_preferring_the_metadata_row() -> None:
    hashed = [
        _recording("a.wav", "a" * 64),
        _recording("b.wav", "a" * 64, call_id="B", row=3),
        _recording("c.wav", "c" * 64),
    ]
    resolution = _resolve(hashed, {})
    assert [job.call_id for job, _ in resolution.jobs] == ["B", "c"]  # batch order kept
    assert [(d.job.call_id, d.scored_as) for d in resolution.duplicates] == [("a", "B")]
    assert resolution.notices == []


# -- storage: stored calls and run status --------------------------------------------------------------


def _with_fingerprint(call_id: str, fingerprint: str | None) -> ScoredCall:
    call = make_call(call_id)
    return dataclasses.replace(call, job=dataclasses.replace(call.job, fingerprint=fingerprint))


def test_stored_calls_returns_what_each_call_was_scored_from(tmp_path: Path) -> None:
    calls = [_with_fingerprint("c1", "fp-1"), _with_fingerprint("c2", None), _with_fingerprint("c3", "fp-3")]
    with write_calls(tmp_path / "qa.duckdb", calls) as db:
        found = db.stored_calls(["c1", "c2", "missing"])
        assert found == {
            "c1": StoredCall("0" * 64, "test-model", "test", "fp-1", "/calls/c1.wav"),
            "c2": StoredCall("0" * 64, "test-model", "test", None, "/calls/c2.wav"),
        }
        assert db.stored_calls([]) == {}
        assert db.stored_calls(call_id for call_id in ("c3",)) == {
            "c3": StoredCall("0" * 64, "test-model", "test", "fp-3", "/calls/c3.wav")
        }


def _runs(db: QaDatabase) -> dict[str, tuple[object, ...]]:
    _, rows = db.query(
        "SELECT run_id, status, finished_at IS NOT NULL, calls_ok, calls_failed, calls_unchanged, audio_s FROM runs"
    )
    return {run_id: tuple(rest) for run_id, *rest in rows}


def test_a_run_left_running_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "qa.duckdb"
    with QaDatabase(path) as db:
        killed = db.start_run("flow-1", MODEL, "card-1", "default", "/calls")
        assert _runs(db)[killed] == ("running", False, None, None, None, None)
    with QaDatabase(path) as db:
        run_id = db.start_run("flow-2", MODEL, "card-1", "default", "/calls")
        runs = _runs(db)
        assert runs[killed] == ("interrupted", False, None, None, None, None)
        assert runs[run_id] == ("running", False, None, None, None, None)
        db.finish_run(run_id, 3, 0, 5, 12.3456)
        assert _runs(db)[run_id] == ("completed", True, 3, 0, 5, 12.346)
        # a finished run stays as it is when the next one starts
        later = db.start_run("flow-3", MODEL, "card-1", "default", "/calls")
        runs = _runs(db)
        assert (runs[killed][0], runs[run_id][0], runs[later][0]) == ("interrupted", "completed", "running")


def test_finish_run_status(tmp_path: Path) -> None:
    with QaDatabase(tmp_path / "qa.duckdb") as db:
        partial = db.start_run(None, MODEL, "card-1", "default", "/calls")
        db.finish_run(partial, 2, 1)
        failed = db.start_run(None, MODEL, "card-1", "default", "/calls")
        db.finish_run(failed, 0, 0, status="failed")
        bad = db.start_run(None, MODEL, "card-1", "default", "/calls")
        with pytest.raises(ValueError, match="got 'done'"):
            db.finish_run(bad, 1, 0, status="done")
        runs = _runs(db)
        assert runs[partial] == ("partial", True, 2, 1, 0, 0.0)
        assert runs[failed] == ("failed", True, 0, 0, 0, 0.0)
        assert runs[bad] == ("running", False, None, None, None, None)  # nothing written
    assert storage.RUN_STATUSES == ("running", "completed", "partial", "failed", "interrupted")


# -- open_failures -------------------------------------------------------------------------------------


def test_open_failures_lists_each_unresolved_recording_once(tmp_path: Path) -> None:
    processed = datetime(2026, 11, 21, 2, 0)  # make_call's processed_at
    calls = [make_call("c1", audio_path="/calls/c1.wav"), make_call("c3", audio_path="/calls/c3.wav")]
    assert all(call.processed_at == processed for call in calls)
    failures = [
        ("r1", "/calls/c1.wav", "decode", "bad header", datetime(2026, 11, 20, 2, 0)),  # scored since
        ("r1", "/calls/c2.wav", "decode", "err 1", datetime(2026, 11, 20, 2, 0)),
        ("r2", "/calls/c2.wav", "transcribe", "err 2", datetime(2026, 11, 21, 2, 0)),  # latest of c2
        ("r2", "/calls/c3.wav", "read", "gone", datetime(2026, 11, 21, 2, 0, 1)),  # after c3 was scored
        ("r1", "/calls/c4.wav", "store", "disk full", processed),  # c4 was never scored
        ("r1", "/calls/calls.csv", "metadata", "line 3: bad value", datetime(2026, 11, 21, 3, 0)),
    ]
    with write_calls(tmp_path / "qa.duckdb", calls) as db:
        db.connection.executemany(
            'INSERT INTO failures (run_id, audio_path, stage, error, "at") VALUES (?, ?, ?, ?, ?)', failures
        )
        _, rows = db.query('SELECT run_id, audio_path, stage, error, "at" FROM open_failures ORDER BY audio_path')
    assert rows == [
        ("r2", "/calls/c2.wav", "transcribe", "err 2", datetime(2026, 11, 21, 2, 0)),
        ("r2", "/calls/c3.wav", "read", "gone", datetime(2026, 11, 21, 2, 0, 1)),
        ("r1", "/calls/c4.wav", "store", "disk full", processed),
    ]


def test_a_failure_in_the_second_the_call_was_scored_is_resolved(tmp_path: Path) -> None:
    call = dataclasses.replace(make_call("c1", audio_path="/calls/c1.wav"), processed_at=datetime(2020, 1, 1, 2, 0))
    with write_calls(tmp_path / "qa.duckdb", [call]) as db:
        db.connection.execute(
            "INSERT INTO failures VALUES (?, ?, ?, ?, ?)",
            ["r0", "/calls/c1.wav", "decode", "busy", datetime(2020, 1, 1, 2, 0)],
        )
        assert db.query("SELECT count(*) FROM open_failures")[1] == [(0,)]
        db.record_failure("r9", "/calls/c1.wav", "decode", "corrupt")  # at now(), after the call was scored
        _, rows = db.query("SELECT run_id, audio_path, stage, error FROM open_failures")
    assert rows == [("r9", "/calls/c1.wav", "decode", "corrupt")]


# -- waiting for the database --------------------------------------------------------------------------


def test_open_writer_waits_for_another_process_to_let_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "LOCK_RETRY_S", 0.5)
    path = tmp_path / "qa.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(3)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(duckdb.IOException, match=r"(?i)lock"):
            QaDatabase.open_writer(path, wait_s=0)
        assert time.monotonic() - started < 2
        waits: list[str] = []
        with QaDatabase.open_writer(path, wait_s=30, on_wait=waits.append) as db:
            assert holder.poll() is not None  # it only opened once the other process had exited
            assert db.query("SELECT count(*) FROM runs")[1] == [(0,)]
        assert waits and all("lock" in message.lower() for message in waits)
        assert 1 <= len(waits) <= 15  # about one a LOCK_RETRY_S, not a busy loop
    finally:
        holder.kill()
        holder.wait()


def test_open_writer_does_not_wait_on_other_io_errors(tmp_path: Path) -> None:
    waits: list[str] = []
    started = time.monotonic()
    with pytest.raises(UnwritableDatabaseError, match=r"(?i)directory"):
        QaDatabase.open_writer(tmp_path, wait_s=30, on_wait=waits.append)  # a directory, not a database file
    assert time.monotonic() - started < 5
    assert waits == []


# -- retries and workers --------------------------------------------------------------------------------


def _raised_from(error: BaseException, cause: BaseException | None, explicit: bool = True) -> BaseException:
    try:
        try:
            raise cause if cause is not None else RuntimeError("none")
        except BaseException as inner:
            if explicit:
                raise error from inner
            raise error  # noqa: B904  (the implicit context is what is tested)
    except BaseException as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OSError(errno.EIO, "Input/output error"), True),
        (OSError(errno.ESTALE, "Stale file handle"), True),
        (OSError(errno.EBUSY, "Device or resource busy"), True),
        (OSError(errno.ENOENT, "No such file"), False),
        (OSError(errno.EACCES, "Permission denied"), False),
        (OSError("no errno"), False),
        (FileNotFoundError("x.wav"), False),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (ValueError("corrupt"), False),
        (None, False),
    ],
)
def test_is_transient(error: BaseException | None, transient: bool) -> None:
    assert is_transient(error) is transient


def test_is_transient_follows_the_cause_chain() -> None:
    assert is_transient(_raised_from(ValueError("decode"), OSError(errno.EIO, "Input/output error"))) is True
    assert is_transient(_raised_from(ValueError("decode"), OSError(errno.EIO, "x"), explicit=False)) is True
    deep = _raised_from(RuntimeError("stage"), _raised_from(ValueError("decode"), TimeoutError()))
    assert is_transient(deep) is True
    assert is_transient(_raised_from(RuntimeError("stage"), ValueError("corrupt"))) is False
    assert is_transient(_raised_from(RuntimeError("stage"), OSError(errno.ENOENT, "gone"))) is False
    looped = ValueError("a")
    looped.__cause__ = ValueError("b")
    looped.__cause__.__cause__ = looped  # a cycle ends, it does not hang
    assert is_transient(looped) is False


def test_plan_workers() -> None:
    cores = os.cpu_count() or 1
    # In the flow's process: one call per core at once, one ASR thread each (benchmarks/throughput.py)
    assert plan_workers() == WorkerPlan("inline", 1, 0 if cores == 1 else 1, calls_at_once=cores)
    assert plan_workers(calls_at_once=1) == WorkerPlan("inline", 1, 0)  # one after another, the libraries' threads
    assert plan_workers(calls_at_once=1).describe() == "in the flow's process"
    assert plan_workers(calls_at_once=3) == WorkerPlan("inline", 1, max(1, cores // 3), calls_at_once=3)
    threads = max(1, cores // 3)
    assert plan_workers(calls_at_once=3).describe() == (
        f"in the flow's process, 3 calls at once, {threads} thread{'s' if threads > 1 else ''} each"
    )
    assert plan_workers(calls_at_once=0, device="cuda").calls_at_once == 2  # GPU_CALLS_AT_ONCE: one device
    assert plan_workers(2) == WorkerPlan("processes", 2, max(1, cores // 2))
    assert plan_workers(2).describe() == f"2 local processes, {max(1, cores // 2)} threads each"
    assert plan_workers(4 * cores) == WorkerPlan("processes", 4 * cores, 1)  # never 0 threads
    assert plan_workers(3, dask=True) == WorkerPlan("dask-local", 3, max(1, cores // 3))
    assert plan_workers(1, dask=True) == WorkerPlan("dask-local", 1, cores)
    assert plan_workers(1, dask=True).describe() == f"1 Dask LocalCluster workers, {cores} threads each"
    remote = plan_workers(4, dask=True, dask_address="tcp://10.0.0.5:8786")
    assert remote == WorkerPlan("dask", 4, 0, "tcp://10.0.0.5:8786")
    assert remote.describe() == "on the Dask cluster at tcp://10.0.0.5:8786"
    for workers in (0, -1):
        with pytest.raises(ValueError, match=f"at least 1, got {workers}"):
            plan_workers(workers)
    with pytest.raises(ValueError, match="0 \\(one per core\\) or more, got -1"):
        plan_workers(calls_at_once=-1)
    for processes in ({"workers": 2}, {"dask": True}, {"dask_address": "tcp://10.0.0.5:8786"}):
        with pytest.raises(ValueError, match="each score one call at a time"):
            plan_workers(**processes, calls_at_once=2)
    assert plan_workers(2, calls_at_once=1).kind == "processes"  # 1 is what worker processes do anyway


def test_task_runner_for_calls_at_once() -> None:
    """Calls at once in the flow's process run on Prefect's thread pool; one at a time needs no runner."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from qa_pipeline.run.workers import task_runner

    assert task_runner(plan_workers(calls_at_once=1)) is None
    runner = task_runner(plan_workers(calls_at_once=3))
    assert isinstance(runner, ThreadPoolTaskRunner)
    assert runner._max_workers == 3


# -- deployment -----------------------------------------------------------------------------------------


def test_deployment_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "community-1").mkdir(parents=True)
    values = {
        "input_dir": "calls",
        "db_path": "data/../qa.duckdb",
        "metadata_csv": None,
        "scorecard_path": str(tmp_path / "center.toml"),
        "report_dir": "",
        "pyannote_pipeline": "pyannote/speaker-diarization-community-1",
        "asr_model": None,
        "device": "auto",
        "agent_channel": 0,
        "date_from": "yesterday",
        "force": False,
        "workers": 2,
        "db_wait_s": 600.0,
    }
    assert deployment_parameters(values) == {
        "input_dir": str(tmp_path / "calls"),
        "db_path": str(tmp_path / "qa.duckdb"),
        "scorecard_path": str(tmp_path / "center.toml"),
        "report_dir": "",  # no report: kept, not made a path
        "pyannote_pipeline": "pyannote/speaker-diarization-community-1",  # a hub name
        "device": "auto",
        "agent_channel": 0,
        "date_from": "yesterday",
        "force": False,
        "workers": 2,
        "db_wait_s": 600.0,
    }
    local = deployment_parameters({"pyannote_pipeline": "models/community-1", "report_dir": "out"})
    assert local == {
        "pyannote_pipeline": str(tmp_path / "models" / "community-1"),
        "report_dir": str(tmp_path / "out"),
    }
    home = deployment_parameters({"input_dir": "~/calls"})["input_dir"]
    assert home == str(Path.home().resolve() / "calls")


def test_nightly_deployment_defaults() -> None:
    deployment = NightlyDeployment({"input_dir": "/calls"})
    assert (deployment.cron, deployment.timezone, deployment.pool, deployment.name) == (
        "0 2 * * *",
        "UTC",
        "qa-pool",
        "nightly",
    )


def test_local_timezone_from_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    assert local_timezone() == "Asia/Shanghai"
    monkeypatch.setenv("TZ", ":Europe/Berlin")  # the glibc form
    assert local_timezone() == "Europe/Berlin"
    monkeypatch.delenv("TZ")
    assert local_timezone()  # the machine's (/etc/timezone, /etc/localtime) or UTC, never empty


def test_local_timezone_with_tz_naming_the_localtime_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TZ", raising=False)
    machine = local_timezone()
    monkeypatch.setenv("TZ", ":/etc/localtime")  # "use the machine's zone", the same zone
    assert local_timezone() == machine


def test_api_url_needs_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(updates={PREFECT_API_URL: None}), pytest.raises(DeployError, match="PREFECT_API_URL"):
        api_url()
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert api_url() == "http://127.0.0.1:4200/api"


# -- the command line --------------------------------------------------------------------------------------


def test_deploy_without_a_server_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("QA_PYANNOTE_PIPELINE", raising=False)
    (tmp_path / "calls").mkdir()
    db = tmp_path / "qa.duckdb"
    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert main(["deploy", str(tmp_path / "calls"), "--db", str(db)]) == 2
    out = capsys.readouterr().out
    assert "no Prefect server configured" in out
    assert "PREFECT_API_URL" in out
    assert not db.exists()


def test_deploy_checks_the_input_directory_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", str(tmp_path / "nope"), "--db", str(tmp_path / "qa.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["run", "deploy"])
def test_a_day_that_is_not_a_date_is_refused_by_argparse(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, str(tmp_path), "--db", str(tmp_path / "qa.duckdb"), "--from", "last week"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--from" in err
    assert "'last week'" in err


def test_run_with_no_workers_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "qa.duckdb"
    assert main(["run", str(tmp_path), "--db", str(db), "--workers", "0"]) == 2
    assert "workers must be at least 1, got 0" in capsys.readouterr().out
    assert not db.exists()


def test_run_with_a_window_that_ends_before_it_starts_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "qa.duckdb"
    assert main(["run", str(tmp_path), "--db", str(db), "--from", "2026-11-20", "--to", "2026-11-19"]) == 2
    assert "date window starts 2026-11-20 after it ends 2026-11-19" in capsys.readouterr().out
    assert not db.exists()
