"""Stage 6: the KPIs QA leads are judged on, as DuckDB views over the stored calls (seed 000: 1 customer
satisfaction, 2 call volume and average handle time, 3 use of the standard phrases, 4 case efficiency).

The formulas live in the .sql files next to this module, one view a file with its formula in a comment
(docs/kpis.md collects them). Each view has a `*_between(date_from, date_to)` macro twin that computes
the same over a period. This module only names them, creates them, and reads them for the CLI and the
report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

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


class UnreadableDatabaseError(ValueError):
    """A database file the KPI views cannot read: the message names the file and what is wrong."""


def connect_read_only(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection with this version's views (TEMP objects of the connection): what every
    reader (kpis, query, report, eval, open_read_only) opens. Once the views exist it reaches nothing but
    the database (lock_down). Refuses a missing file, a file that is not a DuckDB database, a file no run
    has written, one written by an older version that lacks tables the views read, and one a writer holds
    (DuckDB allows one writer process or many readers)."""
    if not Path(path).is_file():
        raise UnreadableDatabaseError(f"database {path} does not exist (`qa-pipeline run ... --db {path}` writes it)")
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        problem = database_problem(error, "(is it a DuckDB file, and has every writer closed it?)")
        raise UnreadableDatabaseError(f"cannot open {path} read-only: {problem}") from error
    try:
        tables = {name for (name,) in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "calls" not in tables:
            raise UnreadableDatabaseError(
                f"{path} has no calls table: not a qa-pipeline database, or nothing written yet"
            )
        create_views(connection, temporary=True)
        lock_down(connection, path)
    except duckdb.CatalogException as error:
        connection.close()
        raise UnreadableDatabaseError(
            f"{path} was written by an older qa-pipeline ({error}); any command that writes to it"
            " (run, score, review) brings its tables up to date"
        ) from error
    except duckdb.Error as error:  # a file with a DuckDB header whose insides are damaged
        connection.close()
        raise UnreadableDatabaseError(f"cannot read {path}: {database_problem(error)}") from error
    except UnreadableDatabaseError:
        connection.close()
        raise
    return connection


def lock_down(connection: duckdb.DuckDBPyConnection, path: str | Path) -> None:
    """Leave a read-only connection able to read its database and nothing else, for good: SQL naming a file
    (COPY TO/FROM, EXPORT, ATTACH, read_text/read_csv/read_blob, INSTALL/LOAD) is refused, and so is any SET
    or RESET that would undo this. Settings belong to the database instance, which DuckDB shares among the
    connections one process opens read-only to one file: a second reader finds it locked already, and any
    other such connection of the process is locked with it."""
    [(locked,)] = connection.execute("SELECT current_setting('lock_configuration')").fetchall()
    if not locked:
        # Spilling to disk would be a file this reader writes: a query too big for memory stops with DuckDB's
        # out-of-memory message instead. Set first: it cannot change once external access is off.
        connection.execute("SET temp_directory = ''")
        connection.execute("SET enable_external_access = false")
        # External access off still lets SQL reach the database file, its WAL and temp folder (DuckDB allows
        # them for its own use, and they cannot be taken off that list): COPY ... TO 'qa.duckdb'
        # (USE_TMP_FILE false) overwrote the database. The open database reads through the handle it holds
        # already, so the local file system is closed to SQL altogether.
        connection.execute("SET disabled_filesystems = 'LocalFileSystem'")
        connection.execute("SET lock_configuration = true")
    # The proof rather than the intent (also for an instance something else in this process locked): the
    # database's own file, the one path DuckDB still allows, must be out of reach.
    try:
        connection.execute("SELECT count(*) FROM glob(?)", [str(path)]).fetchall()
    except duckdb.PermissionException:
        return
    raise UnreadableDatabaseError(
        f"cannot open {path} safely read-only: this process already has it open with file access allowed"
        " (a duckdb.connect(..., read_only=True) with its configuration locked); close that connection first"
    )


class UnwritableDatabaseError(ValueError):
    """A database path a writer (run, score, review) cannot use: not a DuckDB file, a directory, read-only.
    The message names the file and what is wrong."""


NOT_DUCKDB = "it is not a DuckDB database file (damaged, or another kind of file under that name)"
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file, after the header's checksum


def database_problem(error: BaseException, hint: str = "") -> str:
    """What an error from opening or reading a database file says about the file, on one line; `hint`
    follows an error this does not recognise."""
    text = str(error).strip()
    if "not a valid DuckDB database file" in text:
        return NOT_DUCKDB
    if isinstance(error, IsADirectoryError) or "Is a directory" in text:
        return "it is a directory, not a DuckDB database file"
    first = text.splitlines()[0] if text else type(error).__name__
    if "Corrupt database file" in text:  # a DuckDB header, and blocks that fail their checksums
        return f"the file is damaged ({first})"
    if isinstance(error, PermissionError) or "Permission denied" in text or "Read-only file system" in text:
        return f"{first} (read-only for this user: a writer must write the file and, for its .wal, its folder)"
    return f"{first} {hint}".strip()


def lock_conflict(error: BaseException) -> bool:
    """Whether DuckDB refused the file because another process holds it (the one case worth waiting for).
    Matched on DuckDB's words: a damaged file's "Could not read block" mentions a lock too, by accident."""
    text = str(error)
    return isinstance(error, duckdb.IOException) and ("Could not set lock" in text or "Conflicting lock" in text)


def unwritable(path: str | Path, error: BaseException) -> UnwritableDatabaseError:
    return UnwritableDatabaseError(f"database {path} cannot be opened for writing: {database_problem(error)}")


def check_writable(path: str | Path) -> None:
    """Refuse, before a run starts, a --db no writer could use: a directory, a file that is not a DuckDB
    database (no DuckDB header), or a file or folder this user may not write. Reads 12 bytes and takes no
    lock: a flow or a notebook holding the file is no problem here (the run waits for it)."""
    file = Path(path)
    refuse = f"database {path} cannot be opened for writing"
    if file.is_dir():
        raise UnwritableDatabaseError(f"{refuse}: it is a directory, not a DuckDB database file")
    if file.exists():
        try:
            with file.open("rb") as handle:
                header = handle.read(12)
        except OSError as error:
            raise unwritable(path, error) from error
        if header[8:12] != DUCKDB_MAGIC:
            raise UnwritableDatabaseError(f"{refuse}: {NOT_DUCKDB}")
        if not os.access(file, os.W_OK):
            raise UnwritableDatabaseError(f"{refuse}: the file is read-only for this user")
    # The writer creates missing folders, and DuckDB the .wal beside the database: the nearest folder that
    # exists must take new files.
    folder = next(p for p in (file.absolute().parent, *file.absolute().parents) if p.exists())
    if not folder.is_dir():
        raise UnwritableDatabaseError(f"{refuse}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UnwritableDatabaseError(
            f"{refuse}: folder {folder} is read-only for this user (DuckDB writes {file.name}.wal beside the database)"
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
