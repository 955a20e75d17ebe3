"""Run the enabled checks on one call: its call type, then every enabled check in display order."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.checks import run_checks
from qa_pipeline.checks.base import CallContext, Check, CheckResult
from qa_pipeline.checks.call_type import CallType, resolve_call_type
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.measures import Measures
from qa_pipeline.text.meaning import MeaningSettings


@dataclass(frozen=True)
class Verdicts:
    """The check stage's output: the call type the checks ran under and their results."""

    call_type: CallType
    results: list[CheckResult]


@dataclass(frozen=True)
class CheckingSettings:
    """What the check stage takes from the scorecard: the enabled checks (with their settings, in display
    order) and the center facts every check may use."""

    checks: tuple[Check, ...]
    organisations: tuple[str, ...] = ()
    min_similarity: float = 0.85
    meaning: MeaningSettings = field(default_factory=MeaningSettings)


def check_call(job: CallJob, transcript: Transcript, measures: Measures, settings: CheckingSettings) -> Verdicts:
    """The call type (metadata, else inferred from the transcript) and every enabled check on it."""
    call_type = resolve_call_type(job.metadata.call_type, transcript, measures.direction)
    context = CallContext(
        call_id=job.call_id,
        transcript=transcript,
        call_type=call_type.value,
        direction=measures.direction,
        organisations=settings.organisations,
        min_similarity=settings.min_similarity,
        meaning=settings.meaning,
        measures=measures,
        customer_tags=job.metadata.customer_tags,
    )
    return Verdicts(call_type, run_checks(context, settings.checks))
