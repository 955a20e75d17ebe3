"""The nightly QA report: one self-contained HTML page a QA lead reads each morning.

It answers, for a period (by default the latest day with calls): how the center did against the previous
period (KPI tiles), where the last weeks are heading (trends), who needs coaching (per-agent table), what
goes wrong most (failed checks), whether the machine can be trusted (calibration against QA leads'
reviews), and which calls to listen to first (fatal failures, lowest scores, results the machine was
unsure of), each with its transcript, its evidence highlighted and its recording playable at the evidence.

Every figure and list comes from the DuckDB file through the KPI views of qa_pipeline/kpis (opened
read-only; queries.py says what it reads); the page inlines plotly.js, its CSS and the recordings (Ogg/Opus
data URIs, audio.py), so it opens offline from one file. docs/report.md describes what the page shows.

This module assembles the page (views.py: its typed pieces; tiles.py, charts.py, review.py: its sections)
and renders report.html.j2.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import jinja2
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from qa_pipeline.report.audio import embed_audio
from qa_pipeline.report.charts import failed_checks_chart, sparkline, trend_charts
from qa_pipeline.report.period import Period, ReportError, resolve_period
from qa_pipeline.report.queries import (
    calibration,
    failed_checks,
    group_records,
    latest_call_day,
    latest_run,
    open_database,
    period_kpis,
    recent_reviews,
    review_candidates,
    review_thresholds,
)
from qa_pipeline.report.review import review_items
from qa_pipeline.report.tiles import kpi_tiles
from qa_pipeline.report.views import AgentRow, Report

# What other modules import from here (cli, run.flow, tests).
__all__ = ["ReportError", "build_report", "clock", "embed_audio", "open_database", "render", "write_report"]

TEMPLATE = "report.html.j2"


AUDIO_CACHE = ".audio"  # beside index.html: the embedded recordings' encodings, reused by the next report


def write_report(
    db_path: str | Path,
    out_dir: str | Path,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    trend_days: int = 30,
    max_review_items: int = 20,
    wait_s: float = 0.0,
) -> Path:
    """Write out_dir/index.html: the QA report for date_from..date_to (default: the latest call date);
    `wait_s`: how long to wait for another process holding the database (the review application)."""
    if trend_days < 1:
        raise ReportError(f"trend_days must be at least 1, got {trend_days}")
    if max_review_items < 0:
        raise ReportError(f"max_review_items must not be negative, got {max_review_items}")
    connection = open_database(db_path, wait_s)
    try:
        report = build_report(
            connection,
            str(Path(db_path).resolve()),
            date_from,
            date_to,
            trend_days,
            max_review_items,
            audio_cache=Path(out_dir) / AUDIO_CACHE,
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


def build_report(
    connection: duckdb.DuckDBPyConnection,
    db_path: str,
    date_from: date | None,
    date_to: date | None,
    trend_days: int,
    max_review_items: int,
    audio_cache: Path | None = None,
) -> Report:
    """Everything the page shows, read through `connection` (open_database); `audio_cache`: where the
    embedded recordings' encodings are kept between reports (report.audio)."""
    period = resolve_period(latest_call_day(connection), date_from, date_to)
    previous = period.previous()
    trend_window = period.last_days(trend_days)
    current_kpis = period_kpis(connection, period)
    failed = failed_checks(connection, period)
    candidates = review_candidates(connection, period)
    thresholds = review_thresholds(connection)
    return Report(
        period=period,
        previous=previous,
        trend_window=trend_window,
        generated_at=datetime.now().replace(microsecond=0),
        db_path=db_path,
        run=latest_run(connection),
        period_calls=int(current_kpis["calls"]),
        tiles=kpi_tiles(current_kpis, period_kpis(connection, previous)),
        trends=trend_charts(group_records(connection, "day", trend_window), trend_window, period),
        agents=agent_rows(connection, period, trend_window),
        failed_checks=failed,
        failed_checks_chart=failed_checks_chart(failed) if failed else None,
        calibration=calibration(connection),
        recent_reviews=recent_reviews(connection),
        review_items=review_items(connection, candidates[:max_review_items], thresholds, audio_cache),
        review_candidates=len(candidates),
        thresholds=thresholds,
    )


def agent_rows(connection: duckdb.DuckDBPyConnection, period: Period, window: Period) -> tuple[AgentRow, ...]:
    """The per-agent table of the period (kpi_agent), each row with its daily score sparkline (kpi_agent_daily)."""
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
    template = environment.from_string((resources.files("qa_pipeline.report") / TEMPLATE).read_text(encoding="utf-8"))
    return template.render(
        report=report,
        plotly_js=Markup(get_plotlyjs()),
    )
