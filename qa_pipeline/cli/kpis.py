"""The read-only commands: `kpis`, `query` (SQL on a read-only connection) and `report` (the HTML report).

The pipeline modules are imported inside the functions that use them so that `qa-pipeline --help` does not
load them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, TextIO

import duckdb
from rich.markup import escape

from qa_pipeline.cli.common import CSV_FORMULA_HELP, console, csv_value, csv_writer, fail, json_value, make_table
from qa_pipeline.cli.options import add_period
from qa_pipeline.kpis import GROUPINGS, connect_read_only, query_kpis
from qa_pipeline.store.connection import UnreadableDatabaseError

if TYPE_CHECKING:
    from qa_pipeline.kpis import KpiTable


def print_kpis(db_path: str, by: Sequence[str] = ("day", "agent"), wait_s: float = 0.0) -> None:
    from qa_pipeline.kpis.database import open_reader

    with open_reader(db_path, wait_s) as db:
        for grouping in by:
            _print_kpi_table(query_kpis(db.connection, grouping))


def _print_kpi_table(table: KpiTable) -> None:
    """Headline KPIs per group plus a total row; the per-check pass rates of the whole period below."""
    columns = [c for c in table.columns if c != "check_pass_rates"]
    keys = columns.index("calls") if "calls" in columns else columns.index("cases")  # the grouping columns
    rows = [[row[table.columns.index(c)] for c in columns] for row in table.rows]
    if table.rows:
        rows.append(["total", *[""] * (keys - 1), *[table.total.get(c) for c in columns[keys:]]])
    console.print(make_table(f"KPIs by {table.by}", columns, rows))
    rates = table.total.get("check_pass_rates") or {}
    if rates:
        console.print(make_table("Pass rate per check (whole period)", ["check", "pass rate"], sorted(rates.items())))


def write_kpis(table: KpiTable, fmt: str, out: TextIO, date_from: date | None, date_to: date | None) -> None:
    """`kpis --format csv|json`: every column; CSV flattens check_pass_rates into pass_rate.<check_id>."""
    records = table.records()
    if fmt == "json":
        document = {
            "by": table.by,
            "from": json_value(date_from),
            "to": json_value(date_to),
            "rows": [{k: json_value(v) for k, v in record.items()} for record in records],
            "total": {k: json_value(v) for k, v in table.total.items()},
        }
        json.dump(document, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    check_ids = sorted({check_id for record in records for check_id in (record.get("check_pass_rates") or {})})
    plain = [c for c in table.columns if c != "check_pass_rates"]
    writer = csv_writer(out)
    writer.writerow([csv_value(c) for c in [*plain, *(f"pass_rate.{check_id}" for check_id in check_ids)]])
    for record in records:
        rates = record.get("check_pass_rates") or {}
        writer.writerow(
            [csv_value(record[c]) for c in plain] + [csv_value(rates.get(check_id)) for check_id in check_ids]
        )


def cmd_kpis(args: argparse.Namespace) -> int:
    try:
        # Not through QaDatabase: a reader needs none of the pipeline's stages (a quicker start).
        connection = connect_read_only(args.db)
        try:
            table = query_kpis(connection, args.by, args.date_from, args.date_to)
        finally:
            connection.close()
    except (UnreadableDatabaseError, ValueError) as error:
        return fail(str(error))
    if args.format == "table":
        _print_kpi_table(table)
    else:
        write_kpis(table, args.format, sys.stdout, args.date_from, args.date_to)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Run SQL on a read-only connection: QA leads read the database while only the flow writes to it."""
    try:
        connection = connect_read_only(args.db)
    except UnreadableDatabaseError as error:
        return fail(escape(str(error)))
    try:
        cursor = connection.execute(args.sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.Error as error:
        return fail(escape(_query_problem(error)))
    finally:
        connection.close()
    if args.format == "table":
        console.print(make_table(f"{len(rows)} rows", columns, rows))
    elif args.format == "csv":
        writer = csv_writer(sys.stdout)
        writer.writerow([csv_value(c) for c in columns])
        writer.writerows([csv_value(v) for v in row] for row in rows)
    else:
        records = [{c: json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    return 0


def _query_problem(error: Exception) -> str:
    """A failed `query` statement as one error message; what the read-only connection refuses says so."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    # kpis.lock_down: a file named in SQL meets a PermissionException, a SET or RESET the locked configuration.
    if isinstance(error, duckdb.PermissionException) or "configuration has been locked" in text:
        return f"refused: qa-pipeline query reads this database only, no other file, and changes no setting ({first})"
    if "read-only" in text.lower():
        return f"{first} (qa-pipeline query opens the database read-only: only the flow writes)"
    return text


def cmd_report(args: argparse.Namespace) -> int:
    from qa_pipeline.report.render import ReportError, write_report

    try:
        path = write_report(
            args.db, args.out, date_from=args.date_from, date_to=args.date_to, trend_days=args.trend_days
        )
    except (ReportError, FileNotFoundError) as error:
        return fail(str(error))
    console.print(f"report written: {path}")
    return 0


def add_kpis_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kpis = sub.add_parser(
        "kpis",
        help="KPIs of a DuckDB file by day, agent, call type, agent and day, or case efficiency (docs/kpis.md)",
    )
    kpis.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to read")
    kpis.add_argument(
        "--by",
        choices=list(GROUPINGS),
        default="day",
        help="grouping: day (kpi_daily), agent (kpi_agent), call_type (kpi_call_type), agent_day "
        "(kpi_agent_daily), case (kpi_case: first-contact resolution, repeats, callbacks) (default: day)",
    )
    add_period(kpis)
    kpis.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table (headline KPIs, a total row, pass rate per check), csv (every column; check pass rates "
        f"as pass_rate.<check_id>) or json (rows and total); {CSV_FORMULA_HELP} (default: table)",
    )
    kpis.set_defaults(func=cmd_kpis)


def add_query_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    query = sub.add_parser(
        "query",
        help="run SQL on the database opened read-only (tables and KPI views; writing is refused)",
        description="Run one SQL statement on a read-only connection to the database, with this version's KPI"
        " views. Nothing can be changed through it: only the flow (run, score) and review write. It reaches no"
        " file but the database: COPY, EXPORT, ATTACH, read_csv/read_text/read_blob, INSTALL/LOAD and SET/RESET"
        " are refused (exit 2).",
    )
    query.add_argument("sql", metavar="SQL", help='e.g. "SELECT call_id, qa_score FROM calls ORDER BY qa_score"')
    query.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to read")
    query.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help=f"table, csv or json; {CSV_FORMULA_HELP} (default: table)",
    )
    query.set_defaults(func=cmd_query)


def add_report_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="write the HTML report (KPIs, trends, agents, calls to review)")
    report.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to read")
    report.add_argument("--out", required=True, metavar="DIR", help="directory for index.html (created if missing)")
    add_period(report, "the latest day with calls")
    report.add_argument(
        "--trend-days", type=int, default=30, metavar="N", help="days of the trend charts (default: 30)"
    )
    report.set_defaults(func=cmd_report)
