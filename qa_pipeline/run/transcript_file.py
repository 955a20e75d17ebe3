"""Scoring transcripts produced elsewhere (another ASR vendor, a human transcriber): `qa-pipeline score`.

Input is JSON Lines, one call per line, UTF-8 (a byte order mark is allowed):

    {"call_id": "c1",
     "metadata": {"agent_id": "A001", "direction": "inbound", "call_type": "repair", "started_at": "..."},
     "asr_model": "vendor-x",                                   (optional, stored in calls.asr_model)
     "segments": [{"speaker": "agent", "start_s": 0.5, "end_s": 3.1, "text": "您好，…"}, ...]}

`metadata` takes the same columns as the metadata CSV, with the same validation. Speakers are 'agent',
'customer' or 'unknown'; a call whose segments are all 'unknown' has no speaker attribution
(diarization 'none') and agent-side checks are not applicable, exactly as for mono audio. Segment times
are seconds from the start of the call, within 0..MAX_SEGMENT_TIME_S (a day); the optional `confidence`
is within 0..1. The calls go through the same checks, scoring and tables as recordings.

A bad line is recorded in `failures` naming the file, the line and the problem, and the rest of the file
is still scored. Each line is decoded on its own, so a line that is not UTF-8 (named with its byte
position) costs only that line; a lone surrogate (JSON "\\ud800", which no UTF-8 text can hold) is refused
naming its field; an unexpected error while scoring or storing one line is that line's failure. The run
is always closed (`runs.status` partial or failed, never left 'running'). Failure messages quote bad
values cut short and pass through the scorecard's privacy masking: a phone number given as a speaker
label is not stored in `failures`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from qa_pipeline.asr.transcript import SPEAKERS, Segment, Transcript
from qa_pipeline.config.scorecard import Scorecard
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.intake.metadata import CallMetadata, RowProblem, parse_fields
from qa_pipeline.kpis.database import open_writer
from qa_pipeline.privacy.protect import caller_salt
from qa_pipeline.run.call import CallSettings, StageError, TimedStages, judge_call
from qa_pipeline.run.recorder import RunRecorder
from qa_pipeline.run.summary import RunSummary
from qa_pipeline.store.connection import lock_conflict
from qa_pipeline.store.database import QaDatabase
from qa_pipeline.store.sharing import run_lock

_LOG = logging.getLogger(__name__)
EXTERNAL_MODEL = "external"
# Segment times are seconds from the start of the call, and no call lasts a day: a time beyond one is a
# unit mistake (milliseconds, a Unix timestamp) or junk, and stored it would become the call's length and
# swamp every handle-time KPI (end_s 1e308 made the average handle time 1e308).
MAX_SEGMENT_TIME_S = 86_400.0
# Enough of a bad value to recognise it; a message never carries a whole transcript (or all of a number).
QUOTE_CHARS = 40
MESSAGE_CHARS = 300  # an unexpected error's own text, cut to this
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE_KEY = re.compile(r"\w{1,40}", re.ASCII)
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+? \(PID \d+\))")


class TranscriptLineError(ValueError):
    pass


class DatabaseUnavailableError(RuntimeError):
    """The database could not be opened for writing (not a DuckDB file, a directory, ...): nothing was
    scored. The message names the file."""


class DatabaseBusyError(DatabaseUnavailableError):
    """Another process held the database for longer than the wait: nothing was scored."""


@dataclass(frozen=True)
class TranscriptCall:
    job: CallJob
    transcript: Transcript
    problems: list[RowProblem]  # bad metadata values (field left NULL, call still scored)


def _shown(value: Any) -> str:
    """A bad value as a message quotes it: its repr, cut to QUOTE_CHARS."""
    text = repr(value)
    if len(text) <= QUOTE_CHARS:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[:QUOTE_CHARS]}… ({length} characters)"


def _cut(text: str, limit: int = MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _bounded(value: Any, what: str, unit: str, high: float) -> float:
    """A JSON number within 0..high."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranscriptLineError(f"{what} must be {unit}, got {_shown(value)}")
    # Compared as they are, before float(): JSON integers have no size limit, and float() of one beyond
    # 1e308 raises OverflowError. NaN fails every comparison, and the infinities the bounds.
    if not 0 <= value <= high:
        raise TranscriptLineError(f"{what} must be {unit} within 0..{high:g}, got {_shown(value)}")
    return float(value)


def _segment(raw: Any, index: int) -> Segment:
    where = f"segments[{index}]"
    if not isinstance(raw, dict):
        raise TranscriptLineError(f"{where} must be an object")
    speaker = raw.get("speaker", "unknown")
    if speaker not in SPEAKERS:
        raise TranscriptLineError(f"{where}.speaker must be one of {', '.join(SPEAKERS)}, got {_shown(speaker)}")
    start = _bounded(raw.get("start_s"), f"{where}.start_s", "a number of seconds", MAX_SEGMENT_TIME_S)
    end = _bounded(raw.get("end_s"), f"{where}.end_s", "a number of seconds", MAX_SEGMENT_TIME_S)
    if end < start:
        raise TranscriptLineError(f"{where}: end_s {end} is before start_s {start}")
    text = raw.get("text", "")
    if not isinstance(text, str):
        raise TranscriptLineError(f"{where}.text must be a string")
    confidence = raw.get("confidence")
    if confidence is not None:
        confidence = _bounded(confidence, f"{where}.confidence", "a number", 1.0)
    return Segment(speaker, start, end, text, confidence)


def _key(key: str) -> str:
    """A JSON key as a field path names it: as it is when it looks like a name, else quoted and cut short."""
    return key if _SIMPLE_KEY.fullmatch(key) else _shown(key)


def _lone_surrogate_at(record: Any) -> str | None:
    """The field of a parsed line holding a lone surrogate, if any. JSON may escape half of a UTF-16
    pair ("\\ud800"); Python keeps it in the str, and it fails later, where UTF-8 is needed (DuckDB
    refuses it mid-write). Iterative: a line may nest as deep as json allows."""
    pending: list[tuple[str, Any]] = [("", record)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            return path
        if isinstance(value, dict):
            if (key := next((k for k in value if _LONE_SURROGATE.search(k)), None)) is not None:
                return f"{path} key {_shown(key)}" if path else f"key {_shown(key)}"
            children = [(f"{path}.{_key(k)}" if path else _key(k), item) for k, item in value.items()]
            pending.extend(reversed(children))
        elif isinstance(value, list):
            pending.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TranscriptLineError(f"not valid JSON: {error.msg} (column {error.colno})") from error
    except RecursionError as error:
        raise TranscriptLineError("JSON nested too deeply to be a call") from error
    except ValueError as error:  # an integer of more digits than int() reads (sys.get_int_max_str_digits)
        raise TranscriptLineError(f"not valid JSON: {str(error).split(':')[0]}") from error


def parse_line(text: str, line: int, source: str) -> TranscriptCall:
    """One JSONL line as a call; raises TranscriptLineError naming the problem."""
    record = _json(text)
    if not isinstance(record, dict):
        raise TranscriptLineError("each line must be a JSON object")
    if (where := _lone_surrogate_at(record)) is not None:
        raise TranscriptLineError(f"{where} holds a lone surrogate (an unpaired \\ud800-\\udfff escape), not text")
    call_id = record.get("call_id")
    if not isinstance(call_id, str) or not call_id.strip():
        raise TranscriptLineError("call_id is missing or not a non-empty string")
    raw_segments = record.get("segments")
    if not isinstance(raw_segments, list):
        raise TranscriptLineError("segments is missing or not a list")
    segments = sorted((_segment(raw, i) for i, raw in enumerate(raw_segments)), key=lambda s: (s.start_s, s.end_s))
    raw_metadata = record.get("metadata") or {}
    if not isinstance(raw_metadata, dict):
        raise TranscriptLineError("metadata must be an object")
    cells = {str(k): "" if v is None else str(v) for k, v in raw_metadata.items()}
    problems: list[RowProblem] = []
    values, extra = parse_fields(cells, source, line, problems)
    values.pop("call_id", None)
    metadata = CallMetadata(audio_file="", call_id=call_id, extra=extra, row=line, **values)  # type: ignore[arg-type]
    has_speakers = any(s.speaker != "unknown" for s in segments)
    asr_model = record.get("asr_model") or EXTERNAL_MODEL
    transcript = Transcript(tuple(segments), "external" if has_speakers else "none", str(asr_model))
    job = CallJob(call_id, f"{source}#{line}", f"{Path(source).name}#{line}", metadata)
    return TranscriptCall(job, transcript, problems)


def _decode_line(raw: bytes) -> str:
    """One line of the file as text. Lines are decoded one by one, so a bad byte costs its line only."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TranscriptLineError(
            f"not UTF-8: byte 0x{raw[error.start]:02x} at byte {error.start + 1} of the line"
        ) from error
    # A byte order mark: Windows editors put one before line 1, and files joined with cat carry one per part.
    return text.removeprefix("\ufeff")


def _unexpected(error: BaseException, stage: str) -> str:
    """An error no check foresaw, as a failure message: its type, where it was raised, its text cut short."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"unexpected {type(error).__name__} in {stage}{where}: {_cut(str(error))}"


@contextlib.contextmanager
def _run_lock(db_path: Path | str, wait_s: float, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    held = contextlib.ExitStack()
    try:
        held.enter_context(run_lock(db_path, wait_s, on_wait))
    except TimeoutError as error:
        raise DatabaseBusyError(f"database {db_path} is in use by a run: {error}") from error
    with held:
        yield


def _open_database(db_path: Path | str, wait_s: float, on_wait: Callable[[str], None] | None) -> QaDatabase:
    try:
        return open_writer(db_path, wait_s, on_wait)
    except duckdb.Error as error:
        text = str(error)
        if lock_conflict(error):
            holder = _LOCK_HOLDER.search(text)
            by = f"held by {holder.group(1)}" if holder else _cut(text.splitlines()[0], 200)
            raise DatabaseBusyError(
                f"database {db_path} is in use by another process ({by}); gave up after waiting {wait_s:g} s"
            ) from error
        raise DatabaseUnavailableError(f"database {db_path} cannot be opened for writing: {_cut(text)}") from error


@dataclass
class _FileScorer:
    """The lines of one file into one run: each line judged and stored, or recorded as that line's failure."""

    recorder: RunRecorder
    source: str
    settings: CallSettings
    seen: dict[str, int] = field(default_factory=dict)  # call_id -> its line

    def score_lines(self, handle: BinaryIO) -> None:
        line = 0
        try:
            for line, raw in enumerate(handle, start=1):
                self.score_line(raw, line)
        except OSError as error:
            # Only reading the file gets here (score_line keeps each line's errors): the lines after the
            # last one read are not scored, so the run failed.
            self.fail(0, "read", f"{self.source}: reading stopped after line {line}: ", str(error))
            self.recorder.status = "failed"

    def score_line(self, raw: bytes, line: int) -> None:
        recorder, stage = self.recorder, "parse"
        try:
            text = _decode_line(raw)
            if not text.strip():  # blank lines are allowed (after a byte order mark too)
                return
            call = parse_line(text, line, self.source)
            call_id = call.job.call_id
            if call_id in self.seen:
                raise TranscriptLineError(f"duplicate call_id {_shown(call_id)} (first on line {self.seen[call_id]})")
            self.seen[call_id] = line
            for problem in call.problems:
                recorder.problem(self.source, "metadata", str(problem))
            stage = "score"
            scored = judge_call(call.job, call.transcript, self.settings, TimedStages())
            stage = "store"
            recorder.db.write_call(scored, recorder.summary.run_id)
        except TranscriptLineError as error:
            self.fail(line, stage, f"{self.source} line {line}: ", str(error))
        except Exception as error:
            # Whatever one line makes the checks or the database choke on is that line's failure: the lines
            # after it are still scored.
            cause = error.error if isinstance(error, StageError) else error
            self.fail(line, stage, f"{self.source} line {line}: ", _unexpected(cause, stage))
        else:
            recorder.stored(scored)

    def fail(self, line: int, stage: str, where: str, detail: str) -> None:
        """Record a failure: `where` (the file and line: the operator's path, nothing from the line) as it
        is, `detail` (which may quote the line) masked. A line's failure is keyed like its call
        (file#line), so open_failures lists each bad line until it is scored."""
        key = f"{self.source}#{line}" if line else self.source
        self.recorder.fail(key, stage, where + self.recorder.masked(detail))


def score_transcript_file(
    path: Path | str,
    db_path: Path | str,
    scorecard: Scorecard,
    db_wait_s: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
) -> RunSummary:
    """Score every call of a JSONL transcript file into the DuckDB file, one transaction per call.

    Waits up to `db_wait_s` while another process holds the database (`on_wait` is told each time it
    tries again); DatabaseBusyError when it stays held, DatabaseUnavailableError when the database cannot
    be opened for writing at all, OSError when the transcript file cannot be opened."""
    source = str(path)
    settings = CallSettings.of(scorecard, salt=caller_salt(scorecard.privacy, str(db_path)))
    summary = RunSummary(run_id="", db_path=str(db_path))
    # One run of a database at a time (store.sharing.run_lock): a run lending the file to the review
    # application must not find its 'running' row taken for a dead one.
    with (
        open(path, "rb") as handle,
        _run_lock(db_path, db_wait_s, on_wait),
        _open_database(db_path, db_wait_s, on_wait) as db,
    ):
        recorder = RunRecorder.start(
            db,
            summary,
            flow_run_id=None,
            asr_model=EXTERNAL_MODEL,
            scorecard_hash=scorecard.sha256,
            scorecard_name=scorecard.name,
            source=source,
            redaction=scorecard.privacy.redaction,
            log=_LOG,
        )
        with recorder.finishing():
            db.write_kpi_settings(scorecard.kpis.rows())
            _FileScorer(recorder, source, settings).score_lines(handle)
        if not scorecard.organisations:
            summary.organisations_named = recorder.organisations_named()
    return summary
