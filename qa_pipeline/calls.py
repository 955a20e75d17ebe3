"""What one call is as it moves through the stages: the job (file + metadata) and the scored result."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.audio import AUDIO_EXTENSIONS, DecodedAudio, readable_path
from qa_pipeline.calltype import CallType, resolve_call_type
from qa_pipeline.checks import Scorecard, run_checks
from qa_pipeline.checks.base import CallContext, CheckResult
from qa_pipeline.metadata import CallMetadata, Metadata, RowProblem
from qa_pipeline.scoring import Attribution, CallScore, score_call
from qa_pipeline.screening import Levels
from qa_pipeline.timing import Measures, measure_call

if TYPE_CHECKING:
    from qa_pipeline.privacy import Redaction


@dataclass(frozen=True)
class CallJob:
    call_id: str
    audio_path: str  # absolute, as the OS gives it: opens the file (audio.readable_path is how it is stored)
    relative_path: str  # relative to the input directory, as in the metadata CSV
    metadata: CallMetadata
    # What the call is scored from (qa_pipeline.incremental); set once the file is hashed, stored in
    # calls.input_fingerprint so that the next run can tell an unchanged call from one to re-score.
    fingerprint: str | None = None


@dataclass(frozen=True)
class AudioFacts:
    """What the decoder says about a recording (absent for calls scored from a transcript file)."""

    sha256: str
    channels: int
    sample_rate: int  # the file's own rate
    codec: str
    duration_s: float
    clipped_fraction: float = 0.0  # samples at full scale (qa_pipeline.screening.Levels)

    @classmethod
    def of(cls, audio: DecodedAudio, levels: Levels) -> AudioFacts:
        return cls(
            audio.sha256,
            audio.channels,
            audio.source_sample_rate,
            audio.codec,
            round(audio.duration_s, 3),
            levels.clipped_fraction,
        )


@dataclass(frozen=True)
class Verdicts:
    """The check stage's output: the call type the checks ran under and their results."""

    call_type: CallType
    results: list[CheckResult]


@dataclass(frozen=True)
class ScoredCall:
    job: CallJob
    audio: AudioFacts | None
    transcript: Transcript
    measures: Measures
    verdicts: Verdicts
    score: CallScore
    scorecard_hash: str
    processed_at: datetime
    # Personal data masked by the privacy stage (qa_pipeline.privacy) before the call may be stored.
    redactions: tuple[Redaction, ...] = ()
    # Wall seconds each stage took for this call (decode, screen, ..., redact): the run's summary adds
    # them up so an operator sees where the night went. Not stored with the call.
    stage_s: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def results(self) -> list[CheckResult]:
        return self.verdicts.results

    @property
    def satisfaction(self) -> tuple[float | None, str | None]:
        """(value, source): the survey score from metadata, else the customer's answer to the
        satisfaction question (seed 000 KPI 1: 客户满意度), else nothing."""
        if self.job.metadata.survey_score is not None:
            return self.job.metadata.survey_score, "survey"
        for result in self.results:
            inferred = result.detail.get("inferred_satisfaction")
            if result.applicable and isinstance(inferred, int | float):
                return float(inferred), "inferred"
        return None, None


_DAYS_AGO = re.compile(r"-(\d+)d")


class DateWindowError(ValueError):
    """A date-window bound that is not a date: the message names the value and what is accepted."""


def parse_day(text: str, today: date | None = None) -> date:
    """A date-window bound: YYYY-MM-DD, `today`, `yesterday` or `-Nd` (N days before today)."""
    today = today or date.today()
    value = text.strip().lower()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if match := _DAYS_AGO.fullmatch(value):
        return today - timedelta(days=int(match.group(1)))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DateWindowError(f"date {text!r}: expected YYYY-MM-DD, today, yesterday or -Nd (N days ago)") from None


@dataclass(frozen=True)
class DateWindow:
    """The calls a run takes, by day (both ends inclusive; None = open). A call's day is the date of its
    metadata started_at (the switch's local time), else the day the file was last written (local time)."""

    first: date | None = None
    last: date | None = None

    @classmethod
    def parse(cls, first: str | None, last: str | None, today: date | None = None) -> DateWindow:
        window = cls(parse_day(first, today) if first else None, parse_day(last, today) if last else None)
        if window.first and window.last and window.first > window.last:
            raise DateWindowError(f"date window starts {window.first} after it ends {window.last}")
        return window

    def __contains__(self, day: date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

    def __str__(self) -> str:
        if self.first is None and self.last is None:
            return "all dates"
        return f"{self.first or '…'} to {self.last or '…'}"


def call_day(path: Path, meta: CallMetadata) -> date:
    """The day a call belongs to: its metadata start, else the file's modification time."""
    if meta.started_at is not None:
        return meta.started_at.date()
    return datetime.fromtimestamp(path.stat().st_mtime).date()


@dataclass(frozen=True)
class Batch:
    jobs: list[CallJob]
    problems: list[RowProblem]  # metadata rows with bad values (calls still processed)
    skipped: list[tuple[str, str]]  # (audio path, reason): listed but absent, or a duplicate call_id
    outside_window: int = 0  # recordings (and metadata rows) left out by the date window


def discover_calls(input_dir: Path | str, metadata: Metadata | None = None, window: DateWindow = DateWindow()) -> Batch:
    """Every audio file under `input_dir` (recursively, sorted) whose day is in `window`, joined with its
    metadata row."""
    root = Path(input_dir).resolve()
    rows = metadata.by_audio_file if metadata else {}
    problems = list(metadata.problems) if metadata else []
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    jobs: list[CallJob] = []
    seen_ids: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    outside = 0
    for path in files:
        # The name as text (a GBK name from a Windows share read as such); the job opens `path` itself.
        relative = readable_path(path.relative_to(root).as_posix())
        meta = rows.get(relative, CallMetadata(audio_file=relative))
        if call_day(path, meta) not in window:
            outside += 1
            continue
        call_id = meta.call_id or os.path.splitext(relative)[0].replace("/", "_")
        if call_id in seen_ids:
            skipped.append((str(path), f"call_id {call_id!r} already used by {seen_ids[call_id]}; file skipped"))
            continue
        seen_ids[call_id] = relative
        jobs.append(CallJob(call_id, str(path), relative, meta))
    present = {job.relative_path for job in jobs}
    for relative, meta in rows.items():
        if relative not in present and not (root / relative).is_file():
            if meta.started_at is not None and meta.started_at.date() not in window:
                outside += 1
                continue
            skipped.append((str(root / relative), f"listed in metadata line {meta.row} but no such file"))
    return Batch(jobs, problems, skipped, outside)


def check_call(job: CallJob, transcript: Transcript, measures: Measures, scorecard: Scorecard) -> Verdicts:
    """The call type (metadata, else inferred from the transcript) and every enabled check on it."""
    call_type = resolve_call_type(job.metadata.call_type, transcript, measures.direction)
    context = CallContext(
        call_id=job.call_id,
        transcript=transcript,
        call_type=call_type.value,
        direction=measures.direction,
        organisations=scorecard.organisations,
        min_similarity=scorecard.min_similarity,
        measures=measures,
        customer_tags=job.metadata.customer_tags,
    )
    return Verdicts(call_type, run_checks(context, scorecard))


def measure(
    job: CallJob, audio: DecodedAudio | None, transcript: Transcript, scorecard: Scorecard, agent_channel: int = 0
) -> Measures:
    """The call's timings (qa_pipeline.timing) with the scorecard's [timing] settings."""
    channel = job.metadata.agent_channel if job.metadata.agent_channel is not None else agent_channel
    return measure_call(audio, transcript, job.metadata, scorecard.timing, channel, scorecard.min_similarity)


def score_transcript(
    job: CallJob,
    transcript: Transcript,
    scorecard: Scorecard,
    audio: DecodedAudio | None = None,
    facts: AudioFacts | None = None,
    agent_channel: int = 0,
) -> ScoredCall:
    """Measure, check and score a call whose transcript is already made, in one go: for a transcript file
    (qa_pipeline.transcripts) and the benchmarks. The flow runs the same three steps as Prefect tasks of
    their own (flow.process_call), so that each shows and is timed as a stage. Not yet protected: the
    privacy stage (qa_pipeline.privacy.protect_call) comes before any write."""
    from qa_pipeline.storage import now  # storage imports this module (through incremental)

    measures = measure(job, audio, transcript, scorecard, agent_channel)
    verdicts = check_call(job, transcript, measures, scorecard)
    return ScoredCall(
        job=job,
        audio=facts,
        transcript=transcript,
        measures=measures,
        verdicts=verdicts,
        score=score_call(
            verdicts.results, scorecard.pass_score, Attribution.of(transcript), scorecard.min_judged_share
        ),
        scorecard_hash=scorecard.sha256,
        processed_at=now(),
    )
