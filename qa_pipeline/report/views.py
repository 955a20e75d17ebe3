"""The typed pieces of the page: what report.html.j2 renders, one frozen dataclass each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from qa_pipeline.kpis.organisations import organisations_line
from qa_pipeline.report.period import Period

SPEAKER_LABELS = {"agent": "坐席", "customer": "客户", "unknown": "未知"}


@dataclass(frozen=True)
class RunFailure:
    audio_path: str
    stage: str
    error: str


@dataclass(frozen=True)
class LatestRun:
    """The latest pipeline run: did last night's batch process everything?"""

    run_id: str
    started_at: datetime | None
    finished_at: datetime | None
    calls_ok: int | None
    calls_failed: int | None
    scorecard_name: str | None
    asr_model: str | None
    input_dir: str | None
    failures: tuple[RunFailure, ...]
    # No [center].organisations: the names the greetings used (kpis organisations_named), sound-alikes merged
    organisations_named: tuple[tuple[str, int], ...] = ()

    @property
    def organisations_line(self) -> str:
        """The scorecard line that confirms the names heard."""
        return organisations_line(name for name, _ in self.organisations_named)


@dataclass(frozen=True)
class Tile:
    """One KPI of the period against the previous period."""

    label: str
    column: str
    value: str  # formatted; "no calls" for an empty period, "n/a" when not measurable
    change: str  # "▲ +2.0 pts", "= no change", "nothing to compare", or "" when either period has no calls
    previous: str  # the previous period's value, formatted
    tone: str  # good | bad | neutral: whether the change is welcome
    note: str = ""


@dataclass(frozen=True)
class TrendChart:
    title: str
    html: Markup | None  # None: nothing measured in the window
    empty_note: str


@dataclass(frozen=True)
class AgentRow:
    agent_id: str | None
    kpis: dict[str, Any]
    sparkline: Markup | None  # daily avg QA score over the trend window; None when never scored


@dataclass(frozen=True)
class CheckFailures:
    check_id: str
    title: str
    category: str
    fails: int
    applicable: int

    @property
    def fail_rate(self) -> float:
        return self.fails / self.applicable if self.applicable else 0.0


@dataclass(frozen=True)
class CheckCalibration:
    """review_agreement for one check: how often QA leads agreed with the machine."""

    check_id: str
    title: str
    reviewed_calls: int
    agreed: int
    agreement_rate: float
    overrides: int
    machine_false_fail: int
    machine_missed_fail: int
    reviews: int
    last_reviewed_at: datetime | None


@dataclass(frozen=True)
class RecentReview:
    call_id: str
    check_id: str
    machine_verdict: str
    human_verdict: str
    reviewer: str | None
    note: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class ReviewReason:
    kind: str  # fatal | low_score | low_confidence: the tag's colour
    text: str


@dataclass(frozen=True)
class Evidence:
    """A failed check of a review item and the seconds of the recording that show it."""

    check_id: str
    title: str
    fatal: bool
    overridden: bool
    reviewer: str | None
    start_s: float | None
    end_s: float | None
    text: str | None

    def covers(self, start_s: float, end_s: float) -> bool:
        """Whether a segment start_s..end_s overlaps the evidence span (a point span: contains it)."""
        if self.start_s is None:
            return False
        span_end = self.end_s if self.end_s is not None else self.start_s
        if span_end <= self.start_s:
            return start_s <= self.start_s <= end_s
        return start_s < span_end and self.start_s < end_s


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str
    start_s: float
    end_s: float
    text: str
    confidence: float | None
    evidence_for: tuple[str, ...]  # check ids whose evidence span this segment overlaps

    @property
    def speaker_label(self) -> str:
        return SPEAKER_LABELS.get(self.speaker, self.speaker)


@dataclass(frozen=True)
class EmbeddedAudio:
    path: str
    data_uri: str | None  # None: not available, `problem` says why
    problem: str | None = None


@dataclass(frozen=True)
class ReviewItem:
    """A call the QA lead should listen to, with why."""

    dom_id: str  # review-1, review-2 ...: call ids are user data, not safe as HTML ids
    call_id: str
    agent_id: str | None
    started_at: datetime | None
    call_type: str | None
    qa_score: float | None
    machine_qa_score: float | None
    pass_score: float | None
    role_note: str | None
    reasons: tuple[ReviewReason, ...]
    failed_checks: tuple[Evidence, ...]
    transcript: tuple[TranscriptLine, ...]
    audio: EmbeddedAudio

    @property
    def audio_id(self) -> str:
        return f"{self.dom_id}-audio"


@dataclass(frozen=True)
class Report:
    """Everything the template shows."""

    period: Period
    previous: Period
    trend_window: Period
    generated_at: datetime
    db_path: str
    run: LatestRun | None
    period_calls: int
    tiles: tuple[Tile, ...]
    trends: tuple[TrendChart, ...]
    agents: tuple[AgentRow, ...]
    failed_checks: tuple[CheckFailures, ...]
    failed_checks_chart: Markup | None
    calibration: tuple[CheckCalibration, ...]
    recent_reviews: tuple[RecentReview, ...]
    review_items: tuple[ReviewItem, ...]
    review_candidates: int  # calls that matched a review reason, before max_review_items
    thresholds: dict[str, float]
