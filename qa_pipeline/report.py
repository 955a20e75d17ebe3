"""The nightly QA report: one self-contained HTML page a QA lead reads each morning.

It answers, for a period (by default the latest day with calls): how the center did against the previous
period (KPI tiles), where the last weeks are heading (trends), who needs coaching (per-agent table), what
goes wrong most (failed checks), whether the machine can be trusted (calibration against QA leads'
reviews), and which calls to listen to first (fatal failures, lowest scores, results the machine was
unsure of), each with its transcript, its evidence highlighted and its recording playable at the evidence.

Everything comes from the DuckDB file through the KPI views of qa_pipeline/kpis (opened read-only); the
page inlines plotly.js, its CSS and the recordings (Ogg/Opus data URIs), so it opens offline from one file.
docs/report.md describes what the page shows.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from qa_pipeline.kpis import UnreadableDatabaseError, connect_read_only, kpi_rows, kpi_total

# Why a call's machine verdicts need a human ear (docs/report.md).
LOW_DIARIZATION_CONFIDENCE = 0.3  # docs/schema.md: below 0.3 the flow already warns the verdicts need review
LOW_ROLE_CONFIDENCE = 0.5  # the [roles] min_confidence default: below it no roles are assigned at all
# Mean word probability over a call's segments. The sample calls' means lie between 0.79 and 0.99 (single
# segments go down to about 0.4), so a whole call averaging below 0.6 means the ASR mostly guessed.
LOW_ASR_CONFIDENCE = 0.6
MONO_DIARIZATIONS = ("embedded", "pyannote", "none")
# calls.not_judged_reason (qa_pipeline/scoring.py) as the report says it
NOT_JUDGED_REASONS = {
    "no_speakers": "no speaker attribution",
    "roles_unclear": "agent and customer not told apart",
    "no_checks": "no check applied",
    "too_few_checks": "too few checks could judge",
}

# Recordings are embedded as Ogg/Opus: 16 kbit/s keeps telephone speech clear (stereo kept, so each party
# stays on its own side) at about 120 KB a minute (160 KB once base64-encoded), 1/16 of 8 kHz stereo PCM.
AUDIO_BITRATE = "16k"
FFMPEG_TIMEOUT_S = 120
AUDIO_WORKERS = 4

SPEAKER_LABELS = {"agent": "坐席", "customer": "客户", "unknown": "未知"}
TEMPLATE = "report.html.j2"

# No mode bar: its zoom icons would clutter small charts (drag still zooms, a double click resets).
BIG_CHART_CONFIG = {"displayModeBar": False, "responsive": True}
SPARKLINE_CONFIG = {"staticPlot": True}


class ReportError(ValueError):
    """The report cannot be written: the message names the database or argument and the problem."""


# -- the period ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Call dates start..end, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The same number of days right before this period."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def last_days(self, days: int) -> Period:
        """`days` days ending at this period's end, and never less than the period (the trend window)."""
        return Period(min(self.start, self.end - timedelta(days=days - 1)), self.end)

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start} – {self.end} ({self.days} days)"


def resolve_period(latest_call_date: date | None, date_from: date | None, date_to: date | None) -> Period:
    """The report's period: both dates given -> that; none -> the latest call date (today in an empty
    database); only date_from -> from it up to the latest call date; only date_to -> that one day."""
    if date_from and date_to and date_from > date_to:
        raise ReportError(f"--from {date_from} is after --to {date_to}")
    if date_from and date_to:
        return Period(date_from, date_to)
    if date_from:
        end = latest_call_date if latest_call_date and latest_call_date >= date_from else date_from
        return Period(date_from, end)
    if date_to:
        return Period(date_to, date_to)
    day = latest_call_date or date.today()
    return Period(day, day)


# -- the typed pieces of the page ----------------------------------------------------------------------
@dataclass(frozen=True)
class RunFailure:
    audio_path: str
    stage: str
    error: str


@dataclass(frozen=True)
class RunSummary:
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


@dataclass(frozen=True)
class KpiSpec:
    """How one KPI tile reads a kpi_by column: its unit decides formatting; better = +1 when higher is
    better, -1 when lower is, 0 when neither (volume)."""

    label: str
    column: str
    unit: str  # count | seconds | score | rate | csat
    better: int


TILE_SPECS = (
    KpiSpec("Calls", "calls", "count", 0),
    KpiSpec("Answered calls", "answered_calls", "count", 0),
    KpiSpec("Average handle time", "aht_s", "seconds", 0),
    KpiSpec("Avg QA score", "avg_qa_score", "score", +1),
    KpiSpec("QA pass rate", "qa_pass_rate", "rate", +1),
    KpiSpec("Not judged", "calls_not_judged", "count", -1),
    KpiSpec("Script compliance", "script_compliance_rate", "rate", +1),
    KpiSpec("CSAT", "csat", "csat", +1),
    KpiSpec("Fatal failures", "fatal_failures", "count", -1),
    KpiSpec("First-contact resolution", "first_contact_resolution_rate", "rate", +1),
    KpiSpec("Overrides", "overrides", "count", 0),
)


# Half of the last digit each unit shows: a change that does not show in the figures is no change.
NO_CHANGE_BELOW = {"count": 0.5, "seconds": 0.05, "score": 0.05, "rate": 0.0005, "csat": 0.005}


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
    run: RunSummary | None
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


# -- the entry point ------------------------------------------------------------------------------------
def write_report(
    db_path: str | Path,
    out_dir: str | Path,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    trend_days: int = 30,
    max_review_items: int = 20,
) -> Path:
    """Write out_dir/index.html: the QA report for date_from..date_to (default: the latest call date)."""
    if trend_days < 1:
        raise ReportError(f"trend_days must be at least 1, got {trend_days}")
    if max_review_items < 0:
        raise ReportError(f"max_review_items must not be negative, got {max_review_items}")
    connection = open_database(db_path)
    try:
        report = build_report(
            connection, str(Path(db_path).resolve()), date_from, date_to, trend_days, max_review_items
        )
    finally:
        connection.close()
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    index = target / "index.html"
    # Written beside and renamed: a browser (or a mail job) never reads half a report.
    partial = target / ".index.html.partial"
    partial.write_text(render(report), encoding="utf-8")
    partial.replace(index)
    return index


def open_database(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a qa-pipeline database, or a ReportError saying what is wrong with it."""
    try:
        return connect_read_only(db_path)
    except UnreadableDatabaseError as error:
        raise ReportError(str(error)) from error


def build_report(
    connection: duckdb.DuckDBPyConnection,
    db_path: str,
    date_from: date | None,
    date_to: date | None,
    trend_days: int,
    max_review_items: int,
) -> Report:
    # The latest plausible call day (kpis/period_days.sql says which dates are): a placeholder date stored by
    # an older version (9999-12-31, 0001-01-01) must not become the report's day.
    latest = connection.execute("SELECT max(day) FROM period_days(NULL, NULL)").fetchone()
    period = resolve_period(latest[0] if latest else None, date_from, date_to)
    previous = period.previous()
    trend_window = period.last_days(trend_days)
    current_kpis = period_kpis(connection, period)
    failed = failed_checks(connection, period)
    candidates = review_candidates(connection, period)
    return Report(
        period=period,
        previous=previous,
        trend_window=trend_window,
        generated_at=datetime.now().replace(microsecond=0),
        db_path=db_path,
        run=latest_run(connection),
        period_calls=int(current_kpis["calls"]),
        tiles=kpi_tiles(current_kpis, period_kpis(connection, previous)),
        trends=trend_charts(connection, trend_window, period),
        agents=agent_rows(connection, period, trend_window),
        failed_checks=failed,
        failed_checks_chart=failed_checks_chart(failed) if failed else None,
        calibration=calibration(connection),
        recent_reviews=recent_reviews(connection),
        review_items=review_items(connection, candidates[:max_review_items]),
        review_candidates=len(candidates),
        thresholds={
            "diarization": LOW_DIARIZATION_CONFIDENCE,
            "role": LOW_ROLE_CONFIDENCE,
            "asr": LOW_ASR_CONFIDENCE,
        },
    )


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


# -- header ---------------------------------------------------------------------------------------------
def latest_run(connection: duckdb.DuckDBPyConnection) -> RunSummary | None:
    runs = _records(connection.execute("SELECT * FROM runs ORDER BY started_at DESC, run_id LIMIT 1"))
    if not runs:
        return None
    run = runs[0]
    failures = connection.execute(
        'SELECT audio_path, stage, error FROM failures WHERE run_id = ? ORDER BY "at", audio_path', [run["run_id"]]
    ).fetchall()
    return RunSummary(
        run_id=run["run_id"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        calls_ok=run["calls_ok"],
        calls_failed=run["calls_failed"],
        scorecard_name=run["scorecard_name"],
        asr_model=run["asr_model"],
        input_dir=run["input_dir"],
        failures=tuple(RunFailure(*row) for row in failures),
    )


def group_records(connection: duckdb.DuckDBPyConnection, by: str, period: Period) -> list[dict[str, Any]]:
    """The rows of a KPI grouping over the period, as dicts (without the total the CLI shows)."""
    columns, rows = kpi_rows(connection, by, period.start, period.end)
    return [dict(zip(columns, row, strict=True)) for row in rows]


# -- KPI tiles -------------------------------------------------------------------------------------------
def period_kpis(connection: duckdb.DuckDBPyConnection, period: Period) -> dict[str, Any]:
    """kpi_by over the whole period, plus the case figures of kpi_case (first-contact resolution)."""
    kpis = kpi_total(connection, "day", period.start, period.end)
    cases = kpi_total(connection, "case", period.start, period.end)
    kpis["first_contact_resolution_rate"] = cases.get("first_contact_resolution_rate")
    kpis["cases"] = cases.get("cases", 0)
    return kpis


def format_value(unit: str, value: Any) -> str:
    if value is None:
        return "n/a"
    number = float(value)
    if unit == "count":
        return f"{int(number):,}"
    if unit == "seconds":
        return f"{number:.1f} s"
    if unit == "score":
        return f"{number:.1f}"
    if unit == "rate":
        return f"{100 * number:.1f}%"
    if unit == "csat":
        return f"{number:.2f} / 5"
    raise ValueError(f"unknown unit {unit!r}")


def format_delta(unit: str, delta: float) -> str:
    if unit == "count":
        return f"{round(delta):+,}"
    if unit == "seconds":
        return f"{delta:+.1f} s"
    if unit == "score":
        return f"{delta:+.1f} pts"
    if unit == "rate":
        return f"{100 * delta:+.1f} pp"
    return f"{delta:+.2f}"


def kpi_tile(spec: KpiSpec, current: dict[str, Any], previous: dict[str, Any]) -> Tile:
    """One tile: the period's value, and the change against the previous period with an arrow."""
    value, before = current.get(spec.column), previous.get(spec.column)
    shown_previous = "no calls" if not previous["calls"] else format_value(spec.unit, before)
    note = tile_note(spec, current, previous)
    if not current["calls"]:
        return Tile(spec.label, spec.column, "no calls", "", shown_previous, "neutral", "")
    shown = format_value(spec.unit, value)
    if not previous["calls"]:  # the previous line says "no calls": nothing to compare with
        return Tile(spec.label, spec.column, shown, "", shown_previous, "neutral", note)
    if value is None or before is None:
        return Tile(spec.label, spec.column, shown, "nothing to compare", shown_previous, "neutral", note)
    delta = float(value) - float(before)
    if abs(delta) < NO_CHANGE_BELOW[spec.unit]:
        return Tile(spec.label, spec.column, shown, "= no change", shown_previous, "neutral", note)
    arrow = "▲" if delta > 0 else "▼"
    welcome = spec.better * (1 if delta > 0 else -1)
    tone = "good" if welcome > 0 else "bad" if welcome < 0 else "neutral"
    return Tile(spec.label, spec.column, shown, f"{arrow} {format_delta(spec.unit, delta)}", shown_previous, tone, note)


def tile_note(spec: KpiSpec, current: dict[str, Any], previous: dict[str, Any]) -> str:
    """What a tile's figure is made of, where that matters for reading it."""
    if spec.column == "aht_s":
        note = aht_basis_note(current)
        if previous["calls"] and previous.get("aht_basis") != current.get("aht_basis"):
            note += f"; previous period: {previous.get('aht_basis')}, not like for like"
        return note
    if spec.column == "csat":
        return f"{current['csat_survey_calls']} survey, {current['csat_inferred_calls']} inferred"
    if spec.column == "first_contact_resolution_rate":
        return f"{current.get('cases', 0)} cases opened"
    if spec.column == "overrides":
        return "check verdicts QA leads changed"
    if spec.column == "calls_not_judged":
        return "no score: no speakers, or too few checks could judge; not in score or pass rate"
    if spec.column in ("avg_qa_score", "qa_pass_rate") and current.get("calls_not_judged"):
        judged = current["calls"] - current["calls_not_judged"]
        return f"over {judged} judged calls; {current['calls_not_judged']} not judged left out"
    if spec.column == "answered_calls":
        return f"of {current['calls']} calls"
    return ""


def aht_basis_note(kpis: dict[str, Any]) -> str:
    basis = kpis.get("aht_basis")
    if basis == "talk+hold+acw":
        return "basis: talk + hold + after-call work"
    if basis == "talk+hold":
        return "basis: talk + hold (no after-call work in the metadata)"
    if basis == "mixed":
        return f"basis: mixed, after-call work known for {kpis['aht_acw_calls']} of {kpis['calls']} calls"
    return ""


def kpi_tiles(current: dict[str, Any], previous: dict[str, Any]) -> tuple[Tile, ...]:
    return tuple(kpi_tile(spec, current, previous) for spec in TILE_SPECS)


# -- trends ---------------------------------------------------------------------------------------------
def _period_band(figure: go.Figure, period: Period) -> None:
    """Shade the report's period on a daily chart (bars sit on midnight: half a day either side)."""
    figure.add_vrect(
        x0=datetime.combine(period.start, time()) - timedelta(hours=12),
        x1=datetime.combine(period.end, time()) + timedelta(hours=12),
        fillcolor="#f6c344",
        opacity=0.18,
        line_width=0,
        layer="below",
    )


def _figure_html(figure: go.Figure, div_id: str, config: dict[str, Any]) -> Markup:
    # plotly escapes "</" inside its JSON, so agent ids and titles cannot close the script tag.
    return Markup(figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=config))


DAY_MS = 86_400_000


@dataclass(frozen=True)
class TrendSpec:
    """One daily chart: a kpi_daily column."""

    div_id: str
    title: str
    column: str
    bar: bool = False
    scale: float = 1.0  # rates are drawn as percentages
    suffix: str = ""


TREND_SPECS = (
    TrendSpec("trend-calls", "Calls per day", "calls", bar=True),
    TrendSpec("trend-qa-score", "Avg QA score", "avg_qa_score"),
    TrendSpec("trend-pass-rate", "QA pass rate", "qa_pass_rate", scale=100.0, suffix="%"),
    TrendSpec("trend-aht", "Average handle time", "aht_s", suffix=" s"),
    TrendSpec("trend-csat", "CSAT (1-5)", "csat"),
)


def trend_figure(spec: TrendSpec, days: list[str], values: list[float | None], period: Period) -> Markup:
    color = "#3b6ea5"
    trace = (
        # An explicit width (ms on a date axis): with a single day plotly cannot infer one and draws no bar.
        go.Bar(x=days, y=values, marker_color=color, name=spec.title, width=0.8 * DAY_MS)
        if spec.bar
        else go.Scatter(x=days, y=values, mode="lines+markers", line={"color": color, "width": 2}, name=spec.title)
    )
    figure = go.Figure(trace)
    _period_band(figure, period)
    figure.update_layout(
        template="plotly_white",
        title={"text": spec.title, "font": {"size": 14}, "x": 0.02},
        height=230,
        margin={"l": 48, "r": 12, "t": 36, "b": 32},
        showlegend=False,
        font={"family": "Noto Sans CJK SC, sans-serif", "size": 11},
    )
    figure.update_xaxes(type="date", tickformat="%m-%d")
    figure.update_yaxes(ticksuffix=spec.suffix, rangemode="tozero")
    return _figure_html(figure, spec.div_id, BIG_CHART_CONFIG)


def trend_charts(connection: duckdb.DuckDBPyConnection, window: Period, period: Period) -> tuple[TrendChart, ...]:
    rows = [row for row in group_records(connection, "day", window) if row["call_date"]]
    days = [str(row["call_date"]) for row in rows]
    charts = []
    for spec in TREND_SPECS:
        values = [None if row[spec.column] is None else round(float(row[spec.column]) * spec.scale, 3) for row in rows]
        if all(v is None for v in values) or (spec.bar and not any(values)):
            charts.append(TrendChart(spec.title, None, f"no {spec.title.lower()} in {window}"))
        else:
            charts.append(TrendChart(spec.title, trend_figure(spec, days, values, period), ""))
    return tuple(charts)


# -- agents ---------------------------------------------------------------------------------------------
def sparkline(div_id: str, days: list[str], scores: list[float | None]) -> Markup:
    figure = go.Figure(
        go.Scatter(
            x=days,
            y=scores,
            mode="lines+markers",
            connectgaps=True,  # days without calls are no dip in quality
            line={"color": "#3b6ea5", "width": 1.5},
            marker={"size": 3},
        )
    )
    figure.update_layout(
        template="none",  # the default template alone would add ~7 KB to each of many small figures
        width=160,
        height=36,
        margin={"l": 2, "r": 2, "t": 2, "b": 2},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
    )
    figure.update_xaxes(visible=False, type="date")
    figure.update_yaxes(visible=False, range=[-5, 105])
    return _figure_html(figure, div_id, SPARKLINE_CONFIG)


def agent_rows(connection: duckdb.DuckDBPyConnection, period: Period, window: Period) -> tuple[AgentRow, ...]:
    agents = group_records(connection, "agent", period)
    daily = group_records(connection, "agent_day", window)
    scores: dict[str | None, dict[str, float | None]] = {}
    for row in daily:
        if row["call_date"] is not None:
            scores.setdefault(row["agent_id"], {})[str(row["call_date"])] = row["avg_qa_score"]
    days = [str(window.start + timedelta(days=n)) for n in range(window.days)]
    rows = []
    for number, agent in enumerate(agents, start=1):
        by_day = scores.get(agent["agent_id"], {})
        series = [by_day.get(day) for day in days]
        line = sparkline(f"spark-{number}", days, series) if any(v is not None for v in series) else None
        rows.append(AgentRow(agent["agent_id"], agent, line))
    return tuple(rows)


# -- failed checks --------------------------------------------------------------------------------------
def failed_checks(connection: duckdb.DuckDBPyConnection, period: Period) -> tuple[CheckFailures, ...]:
    """Checks that failed at least once in the period (verdicts in force), most failures first."""
    rows = connection.execute(
        """
        SELECT v.check_id, coalesce(any_value(ch.title), v.check_id), coalesce(any_value(ch.category), ''),
               count(*) FILTER (WHERE v.applicable AND v.passed = false) AS failed_calls,
               count(*) FILTER (WHERE v.applicable) AS applicable_calls
        FROM check_verdicts AS v
        JOIN call_facts AS f USING (call_id)
        LEFT JOIN checks AS ch USING (check_id)
        WHERE f.call_date BETWEEN ? AND ?
        GROUP BY v.check_id
        HAVING failed_calls > 0
        ORDER BY failed_calls DESC, failed_calls / applicable_calls DESC, v.check_id
        """,
        [period.start, period.end],
    ).fetchall()
    return tuple(CheckFailures(*row) for row in rows)


def failed_checks_chart(failed: tuple[CheckFailures, ...]) -> Markup:
    shown = list(reversed(failed[:12]))  # horizontal bars draw bottom-up: the most failed on top
    figure = go.Figure(
        go.Bar(
            x=[c.fails for c in shown],
            y=[c.check_id for c in shown],
            orientation="h",
            marker_color="#c0504d",
            text=[f"{c.fails} / {c.applicable}" for c in shown],
            textposition="auto",
            hovertext=[c.title for c in shown],
        )
    )
    figure.update_layout(
        template="plotly_white",
        title={"text": "Failures per check", "font": {"size": 14}, "x": 0.02},
        height=max(180, 60 + 26 * len(shown)),
        margin={"l": 150, "r": 12, "t": 36, "b": 32},
        font={"family": "Noto Sans CJK SC, sans-serif", "size": 11},
    )
    figure.update_xaxes(title_text="failed calls", rangemode="tozero", dtick=1 if shown[-1].fails <= 10 else None)
    return _figure_html(figure, "failed-checks-chart", BIG_CHART_CONFIG)


# -- calibration ----------------------------------------------------------------------------------------
def calibration(connection: duckdb.DuckDBPyConnection) -> tuple[CheckCalibration, ...]:
    rows = connection.execute(
        """
        SELECT a.check_id, coalesce(ch.title, a.check_id), a.reviewed_calls, a.agreed, a.agreement_rate,
               a.overrides, a.machine_false_fail, a.machine_missed_fail, a.reviews, a.last_reviewed_at
        FROM review_agreement AS a
        LEFT JOIN checks AS ch USING (check_id)
        ORDER BY a.agreement_rate, a.check_id
        """
    ).fetchall()
    return tuple(CheckCalibration(*row) for row in rows)


def recent_reviews(connection: duckdb.DuckDBPyConnection, limit: int = 10) -> tuple[RecentReview, ...]:
    rows = connection.execute(
        """
        SELECT call_id, check_id, machine_verdict, human_verdict, reviewer, review_note, reviewed_at
        FROM check_verdicts
        WHERE human_verdict IS NOT NULL
        ORDER BY reviewed_at DESC, call_id, check_id
        LIMIT ?
        """,
        [limit],
    ).fetchall()
    return tuple(RecentReview(*row) for row in rows)


# -- calls to review ------------------------------------------------------------------------------------
def review_candidates(connection: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    """Calls of the period with a reason to listen to them: fatal failures first, then results the machine
    was unsure of (low confidence, and calls it did not judge), then the other failed calls; lowest score
    first within each. One row a call."""
    return _records(
        connection.execute(
            """
            WITH per_call AS (
                SELECT call_id, avg(confidence) AS asr_confidence,
                       count(*) FILTER (WHERE speaker IN ('agent', 'customer')) AS role_segments
                FROM segments
                GROUP BY call_id
            ),
            flagged AS (
                SELECT
                    f.call_id, f.agent_id, f.started_at, f.call_type, f.qa_score, f.machine_qa_score, f.qa_passed,
                    f.pass_score, f.audio_path, f.role_note, f.diarization_confidence, f.role_confidence,
                    s.asr_confidence,
                    f.fatal_failed = 1 AS fatal,
                    coalesce(f.qa_passed = false, false) AS failed_qa,
                    NOT f.judged AS not_judged,
                    f.not_judged_reason,
                    coalesce(f.diarization_confidence < ?, false) AS low_diarization,
                    coalesce(f.role_confidence < ?, false) AS low_role,
                    (coalesce(f.channels = 1, false) OR list_contains(?, f.diarization))
                        AND coalesce(s.role_segments, 0) = 0 AS roles_unknown,
                    coalesce(s.asr_confidence < ?, false) AS low_asr
                FROM call_facts AS f
                LEFT JOIN per_call AS s USING (call_id)
                WHERE f.call_date BETWEEN ? AND ?
            )
            SELECT *, low_diarization OR low_role OR roles_unknown OR low_asr OR not_judged AS low_confidence
            FROM flagged
            WHERE fatal OR failed_qa OR low_diarization OR low_role OR roles_unknown OR low_asr OR not_judged
            ORDER BY fatal DESC, low_confidence DESC, qa_score NULLS FIRST, started_at, call_id
            """,
            [
                LOW_DIARIZATION_CONFIDENCE,
                LOW_ROLE_CONFIDENCE,
                list(MONO_DIARIZATIONS),
                LOW_ASR_CONFIDENCE,
                period.start,
                period.end,
            ],
        )
    )


def review_reasons(call: dict[str, Any], evidence: tuple[Evidence, ...]) -> tuple[ReviewReason, ...]:
    reasons = []
    if call["fatal"]:
        fatal_checks = ", ".join(e.check_id for e in evidence if e.fatal) or "a fatal check"
        reasons.append(ReviewReason("fatal", f"fatal failure: {fatal_checks}"))
    elif call["failed_qa"]:
        score = "no score" if call["qa_score"] is None else f"score {call['qa_score']:.1f}"
        mark = f" < pass mark {call['pass_score']:g}" if call["pass_score"] is not None else ""
        reasons.append(ReviewReason("low_score", f"failed QA: {score}{mark}"))
    if call["not_judged"]:
        why = NOT_JUDGED_REASONS.get(call["not_judged_reason"], call["not_judged_reason"] or "unknown")
        reasons.append(ReviewReason("low_confidence", f"machine unsure: not judged ({why}), no score"))
    if call["low_diarization"]:
        reasons.append(
            ReviewReason(
                "low_confidence",
                f"diarization confidence {call['diarization_confidence']:.2f} < {LOW_DIARIZATION_CONFIDENCE}",
            )
        )
    if call["low_role"]:
        reasons.append(
            ReviewReason("low_confidence", f"role confidence {call['role_confidence']:.2f} < {LOW_ROLE_CONFIDENCE}")
        )
    if call["roles_unknown"]:
        reasons.append(ReviewReason("low_confidence", "roles unknown: no agent/customer segment on a mono call"))
    if call["low_asr"]:
        reasons.append(
            ReviewReason(
                "low_confidence",
                f"ASR confidence {call['asr_confidence']:.2f} < {LOW_ASR_CONFIDENCE} (mean over segments)",
            )
        )
    return tuple(reasons)


def review_items(connection: duckdb.DuckDBPyConnection, calls: list[dict[str, Any]]) -> tuple[ReviewItem, ...]:
    call_ids = [call["call_id"] for call in calls]
    evidence = failed_check_evidence(connection, call_ids)
    segments = call_segments(connection, call_ids)
    muted = redacted_spans(connection, call_ids)
    with ThreadPoolExecutor(max_workers=AUDIO_WORKERS) as pool:
        audio = list(pool.map(lambda call: embed_audio(call["audio_path"], muted.get(call["call_id"], ())), calls))
    items = []
    for number, (call, recording) in enumerate(zip(calls, audio, strict=True), start=1):
        failed = evidence.get(call["call_id"], ())
        items.append(
            ReviewItem(
                dom_id=f"review-{number}",
                call_id=call["call_id"],
                agent_id=call["agent_id"],
                started_at=call["started_at"],
                call_type=call["call_type"],
                qa_score=call["qa_score"],
                machine_qa_score=call["machine_qa_score"],
                pass_score=call["pass_score"],
                role_note=call["role_note"],
                reasons=review_reasons(call, failed),
                failed_checks=failed,
                transcript=transcript_lines(segments.get(call["call_id"], []), failed),
                audio=recording,
            )
        )
    return tuple(items)


def failed_check_evidence(
    connection: duckdb.DuckDBPyConnection, call_ids: list[str]
) -> dict[str, tuple[Evidence, ...]]:
    """The failed checks (verdicts in force) of each call, fatal ones first, in recording order."""
    rows = connection.execute(
        """
        SELECT v.call_id, v.check_id, coalesce(ch.title, v.check_id), v.fatal, v.overridden, v.reviewer,
               v.evidence_start_s, v.evidence_end_s, v.evidence_text
        FROM check_verdicts AS v
        LEFT JOIN checks AS ch USING (check_id)
        WHERE list_contains(?, v.call_id) AND v.applicable AND v.passed = false
        ORDER BY v.call_id, v.fatal DESC, v.evidence_start_s NULLS LAST, v.check_id
        """,
        [call_ids],
    ).fetchall()
    evidence: dict[str, list[Evidence]] = {}
    for call_id, *fields in rows:
        evidence.setdefault(call_id, []).append(Evidence(*fields))
    return {call_id: tuple(items) for call_id, items in evidence.items()}


def call_segments(connection: duckdb.DuckDBPyConnection, call_ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    rows = connection.execute(
        "SELECT call_id, speaker, start_s, end_s, text, confidence FROM segments"
        " WHERE list_contains(?, call_id) ORDER BY call_id, seq",
        [call_ids],
    ).fetchall()
    segments: dict[str, list[tuple[Any, ...]]] = {}
    for call_id, *fields in rows:
        segments.setdefault(call_id, []).append(tuple(fields))
    return segments


def transcript_lines(segments: list[tuple[Any, ...]], evidence: tuple[Evidence, ...]) -> tuple[TranscriptLine, ...]:
    lines = []
    for speaker, start_s, end_s, text, confidence in segments:
        covering = tuple(e.check_id for e in evidence if e.covers(start_s, end_s))
        lines.append(TranscriptLine(speaker, start_s, end_s, text, confidence, covering))
    return tuple(lines)


def redacted_spans(connection: duckdb.DuckDBPyConnection, call_ids: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Where each call's personal data was said (the `redactions` with times): muted in the embedded audio."""
    try:
        rows = connection.execute(
            "SELECT call_id, start_s, end_s FROM redactions WHERE list_contains(?, call_id) AND start_s IS NOT NULL"
            " ORDER BY call_id, start_s",
            [call_ids],
        ).fetchall()
    except duckdb.CatalogException:  # a database no run of this version has written: nothing was redacted
        return {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for call_id, start_s, end_s in rows:
        spans.setdefault(call_id, []).append((start_s, end_s))
    return spans


MUTE_MARGIN_S = 0.3  # word timestamps are approximate: mute a little before and after


def embed_audio(audio_path: str, mute: Sequence[tuple[float, float]] = ()) -> EmbeddedAudio:
    """The recording as an Ogg/Opus data URI with the `mute` stretches (personal data) silenced, or why it
    cannot be played (never raises)."""
    source = Path(audio_path)
    if not source.is_file():
        return EmbeddedAudio(audio_path, None, "file not found")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return EmbeddedAudio(audio_path, None, "ffmpeg is not installed")
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(source), "-vn"]
    if mute:
        spans = "+".join(
            f"between(t,{max(0.0, start - MUTE_MARGIN_S):.2f},{end + MUTE_MARGIN_S:.2f})" for start, end in mute
        )
        command += ["-af", f"volume=enable='{spans}':volume=0"]
    command += ["-map_metadata", "-1", "-c:a", "libopus", "-b:a", AUDIO_BITRATE, "-application", "voip"]
    command += ["-f", "ogg", "pipe:1"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return EmbeddedAudio(audio_path, None, f"ffmpeg failed: {error}")
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        return EmbeddedAudio(audio_path, None, f"ffmpeg failed: {message[-1] if message else result.returncode}")
    return EmbeddedAudio(audio_path, "data:audio/ogg;base64," + base64.b64encode(result.stdout).decode("ascii"))


# -- rendering ------------------------------------------------------------------------------------------
def clock(seconds: float | None) -> str:
    """Seconds into a recording as m:ss.s (what a player shows)."""
    if seconds is None:
        return "–"
    # Rounded to tenths before splitting, so 59.96 s reads 1:00.0, not 0:60.0.
    minutes, tenths = divmod(round(max(0.0, float(seconds)) * 10), 600)
    return f"{minutes}:{tenths / 10:04.1f}"


def when(value: datetime | None) -> str:
    """A timestamp to the second (review times carry microseconds nobody reads)."""
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def percent(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def number(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def render(report: Report) -> str:
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters.update(clock=clock, percent=percent, number=number, when=when)
    template = environment.from_string((resources.files("qa_pipeline") / TEMPLATE).read_text(encoding="utf-8"))
    return template.render(
        report=report,
        plotly_js=Markup(get_plotlyjs()),
    )
