"""The record of one scored call, as the privacy stage, the store and the report see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.audio.facts import AudioFacts
from qa_pipeline.checks.base import CheckResult
from qa_pipeline.checks.run import Verdicts
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.measures import Measures
from qa_pipeline.scoring import CallScore


@dataclass(frozen=True)
class Redaction:
    """One masked entity (a `redactions` row): where it was and what kind, not what it said."""

    location: str  # segments:<seq> | check_results:<check_id> | call_events:<kind>@<start_s> | calls.extra
    kind: str
    start: int  # character offsets in that text (-1 inside JSON detail or extra)
    end: int
    # Seconds of the recording where it was said (segments only; from word timestamps, else the whole
    # segment): the report mutes these stretches in the audio it embeds.
    start_s: float | None = None
    end_s: float | None = None


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
    # The scorecard's settings up to the measure stage (run.call.CallSettings.measure_inputs_hash): a later
    # scorecard with the same digest only re-judges the call.
    measure_inputs_hash: str | None = None
    # Personal data masked by the privacy stage (qa_pipeline.privacy.protect) before the call may be stored.
    redactions: tuple[Redaction, ...] = ()
    # What the checks read, sealed before redaction for re-judging (privacy.seal; stored in call_inputs).
    sealed_inputs: bytes | None = field(default=None, repr=False)
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
