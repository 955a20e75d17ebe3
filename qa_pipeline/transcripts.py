"""Scoring transcripts produced elsewhere (another ASR vendor, a human transcriber): `qa-pipeline score`.

Input is JSON Lines, one call per line:

    {"call_id": "c1",
     "metadata": {"agent_id": "A001", "direction": "inbound", "call_type": "repair", "started_at": "..."},
     "asr_model": "vendor-x",                                   (optional, stored in calls.asr_model)
     "segments": [{"speaker": "agent", "start_s": 0.5, "end_s": 3.1, "text": "您好，…"}, ...]}

`metadata` takes the same columns as the metadata CSV, with the same validation. Speakers are 'agent',
'customer' or 'unknown'; a call whose segments are all 'unknown' has no speaker attribution
(diarization 'none') and agent-side checks are not applicable, exactly as for mono audio. The calls go
through the same checks, scoring and tables as recordings; a bad line is recorded in `failures`
naming the line and the problem, and the rest of the file is still scored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_pipeline.asr.transcript import SPEAKERS, Segment, Transcript
from qa_pipeline.calls import CallJob, score_transcript
from qa_pipeline.checks import Scorecard
from qa_pipeline.metadata import CallMetadata, RowProblem, parse_fields
from qa_pipeline.privacy import caller_salt, protect_call, protect_message
from qa_pipeline.storage import QaDatabase

EXTERNAL_MODEL = "external"


class TranscriptLineError(ValueError):
    pass


@dataclass(frozen=True)
class TranscriptCall:
    job: CallJob
    transcript: Transcript
    problems: list[RowProblem]  # bad metadata values (field left NULL, call still scored)


@dataclass
class ScoreSummary:
    run_id: str
    calls_ok: int = 0
    calls_failed: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)  # (line, error)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TranscriptLineError(f"{what} must be a number of seconds, got {value!r}")
    if value < 0:
        raise TranscriptLineError(f"{what} must not be negative, got {value!r}")
    return float(value)


def _segment(raw: Any, index: int) -> Segment:
    where = f"segments[{index}]"
    if not isinstance(raw, dict):
        raise TranscriptLineError(f"{where} must be an object")
    speaker = raw.get("speaker", "unknown")
    if speaker not in SPEAKERS:
        raise TranscriptLineError(f"{where}.speaker must be one of {', '.join(SPEAKERS)}, got {speaker!r}")
    start = _number(raw.get("start_s"), f"{where}.start_s")
    end = _number(raw.get("end_s"), f"{where}.end_s")
    if end < start:
        raise TranscriptLineError(f"{where}: end_s {end} is before start_s {start}")
    text = raw.get("text", "")
    if not isinstance(text, str):
        raise TranscriptLineError(f"{where}.text must be a string")
    confidence = raw.get("confidence")
    if confidence is not None:
        confidence = _number(confidence, f"{where}.confidence")
    return Segment(speaker, start, end, text, confidence)


def parse_line(text: str, line: int, source: str) -> TranscriptCall:
    """One JSONL line as a call; raises TranscriptLineError naming the problem."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise TranscriptLineError(f"not valid JSON: {error.msg} (column {error.colno})") from error
    if not isinstance(record, dict):
        raise TranscriptLineError("each line must be a JSON object")
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


def score_transcript_file(path: Path | str, db_path: Path | str, scorecard: Scorecard) -> ScoreSummary:
    """Score every call of a JSONL transcript file into the DuckDB file, one transaction per call."""
    source = str(path)
    salt = caller_salt(scorecard.privacy, str(db_path))
    with QaDatabase(db_path) as db, open(path, encoding="utf-8-sig") as handle:
        run_id = db.start_run(None, EXTERNAL_MODEL, scorecard.sha256, scorecard.name, source)
        db.write_kpi_settings(scorecard.kpis)
        summary = ScoreSummary(run_id)
        seen: dict[str, int] = {}
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                call = parse_line(text, line, source)
                if call.job.call_id in seen:
                    raise TranscriptLineError(
                        f"duplicate call_id {call.job.call_id!r} (first on line {seen[call.job.call_id]})"
                    )
                seen[call.job.call_id] = line
            except TranscriptLineError as error:
                message = f"{source} line {line}: {error}"
                db.record_failure(run_id, source, "parse", message)
                summary.failures.append((line, message))
                summary.calls_failed += 1
                continue
            for problem in call.problems:
                db.record_failure(run_id, source, "metadata", protect_message(str(problem)))
            scored = score_transcript(call.job, call.transcript, scorecard)
            db.write_call(protect_call(scored, scorecard.privacy, salt), run_id)
            summary.calls_ok += 1
        db.finish_run(run_id, summary.calls_ok, summary.calls_failed)
    return summary
