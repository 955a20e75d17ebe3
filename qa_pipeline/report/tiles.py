"""The KPI tiles: each headline KPI of the period against the previous period, formatted with its change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa_pipeline.report.views import Tile


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
