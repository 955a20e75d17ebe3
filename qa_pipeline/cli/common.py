"""What the commands share: the console, Rich tables, JSON and CSV cells, the error exit."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

# Piped output (CI logs, `| tee`) gets a wide console so tables are not squeezed to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)


def make_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        # 4 significant digits: rates keep 0.75 (not 0.8), seconds and scores keep one decimal.
        table.add_row(*["" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row])
    return table


def fail(message: str, soft_wrap: bool | None = None) -> int:
    """Print `error: MESSAGE` (Rich markup: escape what came from outside) and return exit code 2, bad
    invocation or configuration, nothing processed."""
    console.print(f"[red]error:[/red] {message}", soft_wrap=soft_wrap)
    return 2


def json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    return value


# A spreadsheet opening the CSV runs a cell that starts with one of these as a formula (=HYPERLINK(...)
# sends data away): tab and carriage return too, which some strip first. OWASP's remedy: a leading '.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_FORMULA_HELP = (
    "in csv, a text cell starting with = + - @, tab or carriage return gets a leading ' so a spreadsheet shows"
    " it instead of running it as a formula; numbers are written as they are"
)


def csv_value(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading ' (numbers, -3.5 too, are
    written as they are: they are no formula)."""
    value = "" if value is None else json_value(value)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _LineFeedRows:
    """Rows written with CRLF by the csv module, passed on ending in LF. With lineterminator="\\n" the csv
    module leaves a cell holding a bare carriage return unquoted, and a spreadsheet splits the row there;
    with "\\r\\n" it quotes it. csv writes each row, terminator included, in one call."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, row: str) -> int:
        return self.out.write(row.removesuffix("\r\n") + "\n")


def csv_writer(out: TextIO) -> Any:
    return csv.writer(_LineFeedRows(out), lineterminator="\r\n")
