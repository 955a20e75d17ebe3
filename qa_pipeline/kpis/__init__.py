"""The KPIs QA leads are judged on, as DuckDB views over the stored calls (seed 000: 1 customer
satisfaction, 2 call volume and average handle time, 3 use of the standard phrases, 4 case efficiency).

The formulas live in the .sql files next to this module, one view a file with its formula in a comment
(docs/kpis.md collects them). Each view has a `*_between(date_from, date_to)` macro twin that computes
the same over a period. This module only names them, creates them, and reads them for the CLI and the
report; kpis.database opens the store with them (open_writer, open_reader).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from qa_pipeline.store.connection import connect_read_only as connect_store_read_only

# Created in this order: later files use earlier ones.
SQL_FILES = (
    "check_verdicts.sql",
    "call_facts.sql",
    "period_days.sql",
    "kpi_by.sql",
    "kpi_daily.sql",
    "kpi_agent.sql",
    "kpi_call_type.sql",
    "kpi_agent_daily.sql",
    "call_cases.sql",
    "kpi_case.sql",
    "review_agreement.sql",
    "open_failures.sql",
    "review_thresholds.sql",
    "review_queue.sql",
    "check_failures.sql",
    "run_failures.sql",
    "run_scores.sql",
    "organisations_named.sql",
)

# `qa-pipeline kpis --by X`: the view and the macro that computes it over a period.
GROUPINGS: dict[str, tuple[str, str]] = {
    "day": ("kpi_daily", "kpi_daily_between"),
    "agent": ("kpi_agent", "kpi_agent_between"),
    "call_type": ("kpi_call_type", "kpi_call_type_between"),
    "agent_day": ("kpi_agent_daily", "kpi_agent_daily_between"),
    "case": ("kpi_case", "kpi_case_between"),
}


@dataclass(frozen=True)
class KpiSettings:
    """The scorecard's [kpis] table: windows of the case-efficiency KPIs (kpis/call_cases.sql)."""

    case_window_hours: float = 72.0  # calls from one number without a case id, each within this of the last
    repeat_window_days: float = 7.0  # an inbound call this soon after the caller's previous one is a repeat
    callback_window_hours: float = 24.0  # complaints should be called back within this (001 投诉 24小时内回访)
    quick_solve_s: float = 60.0  # seed 000 triage: can the problem be solved on the phone within 1 minute

    def rows(self) -> list[tuple[str, float]]:
        return [(f.name, float(getattr(self, f.name))) for f in fields(self)]


def create_views(connection: duckdb.DuckDBPyConnection, temporary: bool = False) -> None:
    """(Re)create every view and macro. `temporary`: as TEMP objects of this connection only, which a
    read-only connection may create: readers always get this version's formulas, even on a file an
    older version wrote, and never need the write lock a running flow holds."""
    for name in SQL_FILES:
        sql = (resources.files("qa_pipeline") / "kpis" / name).read_text(encoding="utf-8")
        if temporary:
            sql = sql.replace("CREATE OR REPLACE VIEW ", "CREATE OR REPLACE TEMP VIEW ")
            sql = sql.replace("CREATE OR REPLACE MACRO ", "CREATE OR REPLACE TEMP MACRO ")
        connection.execute(sql)


def connect_read_only(path: str | Path, wait_s: float = 0.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection with this version's views (TEMP objects of the connection): what every
    reader (kpis, query, report, eval, open_read_only) opens; store.connection.connect_read_only says what
    it refuses and how it is locked down once the views exist."""
    return connect_store_read_only(
        path, prepare=lambda connection: create_views(connection, temporary=True), wait_s=wait_s
    )


@dataclass(frozen=True)
class KpiTable:
    """One `qa-pipeline kpis` answer: a row per group, and the same KPIs over the whole period."""

    by: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: dict[str, Any]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def query_kpis(
    connection: duckdb.DuckDBPyConnection,
    by: str,
    date_from: date | None = None,
    date_to: date | None = None,
) -> KpiTable:
    """The KPIs grouped `by` (a GROUPINGS key) over calls dated date_from..date_to (None: open), with the
    total over the period."""
    columns, rows = kpi_rows(connection, by, date_from, date_to)
    return KpiTable(by, columns, rows, kpi_total(connection, by, date_from, date_to))


# The per-check map crosses as JSON text: turning 20-odd-entry DuckDB maps into dicts row by row is most of
# the time of a big agent_day answer.
_MAP_AS_JSON = "REPLACE (CAST(to_json(check_pass_rates) AS VARCHAR) AS check_pass_rates)"


def kpi_rows(
    connection: duckdb.DuckDBPyConnection, by: str, date_from: date | None = None, date_to: date | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(columns, rows): one row per group of `by` over the period."""
    _view, macro = _grouping(by, date_from, date_to)
    sql = f"SELECT * FROM {macro}(?, ?, true)" if by == "case" else f"SELECT * {_MAP_AS_JSON} FROM {macro}(?, ?)"
    return _fetch(connection, sql, [date_from, date_to])


def kpi_total(
    connection: duckdb.DuckDBPyConnection, by: str, date_from: date | None = None, date_to: date | None = None
) -> dict[str, Any]:
    """The KPIs of `by`'s view over the whole period, computed from the calls (not averaged from rows)."""
    _grouping(by, date_from, date_to)
    if by == "case":
        sql = "SELECT * EXCLUDE (case_date) FROM kpi_case_between(?, ?, false)"
    else:
        sql = f"SELECT * EXCLUDE (dimension_value) {_MAP_AS_JSON} FROM kpi_by('total', ['total'], ?, ?)"
    columns, [row] = _fetch(connection, sql, [date_from, date_to])
    return dict(zip(columns, row, strict=True))


def _grouping(by: str, date_from: date | None, date_to: date | None) -> tuple[str, str]:
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}: choose one of {', '.join(GROUPINGS)}")
    if date_from and date_to and date_from > date_to:
        raise ValueError(f"--from {date_from} is after --to {date_to}")
    return GROUPINGS[by]


def _fetch(connection: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> tuple[list[str], list[tuple]]:
    cursor = connection.execute(sql, params)
    columns = [d[0] for d in cursor.description or []]
    rows = cursor.fetchall()
    if "check_pass_rates" in columns:
        at = columns.index("check_pass_rates")
        rows = [(*row[:at], None if row[at] is None else json.loads(row[at]), *row[at + 1 :]) for row in rows]
    return columns, rows
