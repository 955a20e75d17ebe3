"""The page's plotly charts (daily trends, agents' sparklines, failures per check) as HTML fragments; the page
inlines plotly.js once (render.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup

from qa_pipeline.report.period import Period
from qa_pipeline.report.views import CheckFailures, TrendChart

# No mode bar: its zoom icons would clutter small charts (drag still zooms, a double click resets).
BIG_CHART_CONFIG = {"displayModeBar": False, "responsive": True}
SPARKLINE_CONFIG = {"staticPlot": True}


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


def trend_charts(daily: list[dict[str, Any]], window: Period, period: Period) -> tuple[TrendChart, ...]:
    """The TREND_SPECS charts of the `daily` kpi_daily rows over the trend window, the period shaded."""
    rows = [row for row in daily if row["call_date"]]
    days = [str(row["call_date"]) for row in rows]
    charts = []
    for spec in TREND_SPECS:
        values = [None if row[spec.column] is None else round(float(row[spec.column]) * spec.scale, 3) for row in rows]
        if all(v is None for v in values) or (spec.bar and not any(values)):
            charts.append(TrendChart(spec.title, None, f"no {spec.title.lower()} in {window}"))
        else:
            charts.append(TrendChart(spec.title, trend_figure(spec, days, values, period), ""))
    return tuple(charts)


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
