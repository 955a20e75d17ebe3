"""The reliability suite (issue 8): bad input, injected faults, personal data, read-only access.

Every test records what it tried in the session's `Ledger`; at the end pytest prints the summary the
issue asks for: inputs tried, faults injected, calls lost, duplicates, unredacted numbers found. The
counts are measured by the tests (rows in DuckDB against the recordings given), never written in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest


@dataclass
class Ledger:
    inputs: list[str] = field(default_factory=list)  # bad inputs tried, one line each
    faults: list[str] = field(default_factory=list)  # faults injected, one line each
    calls_checked: int = 0  # recordings whose fate (scored once or failed once) was checked
    calls_lost: int = 0  # recordings neither scored nor in failures
    duplicates: int = 0  # recordings scored twice, or rows written twice
    numbers_scanned: int = 0  # text cells scanned for personal data after a run
    unredacted: int = 0  # personal numbers found in those cells

    def input(self, description: str) -> None:
        self.inputs.append(description)

    def fault(self, description: str) -> None:
        self.faults.append(description)

    def outcome(self, checked: int, lost: int, duplicates: int) -> None:
        self.calls_checked += checked
        self.calls_lost += lost
        self.duplicates += duplicates


LEDGER = Ledger()


def score_transcripts(tmp_path: Path, calls: list[dict[str, Any]], scorecard: str | None = None) -> int:
    """`qa-pipeline score` of `calls` (one JSON line each) into tmp_path/qa.duckdb, with `scorecard` as the
    center's file: its exit code."""
    from qa_pipeline.cli import main

    transcripts = tmp_path / "calls.jsonl"
    transcripts.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in calls), encoding="utf-8")
    argv = ["score", str(transcripts), "--db", str(tmp_path / "qa.duckdb")]
    if scorecard is not None:
        (tmp_path / "card.toml").write_text(scorecard, encoding="utf-8")
        argv += ["--scorecard", str(tmp_path / "card.toml")]
    return main(argv)


def db_rows(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of `sql` on a plain read-only connection to the database file."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture
def ledger() -> Ledger:
    return LEDGER


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not (LEDGER.inputs or LEDGER.faults or LEDGER.calls_checked or LEDGER.numbers_scanned):
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability summary")
    write(f"inputs tried:       {len(LEDGER.inputs)}")
    for line in LEDGER.inputs:
        write(f"  - {line}")
    write(f"faults injected:    {len(LEDGER.faults)}")
    for line in LEDGER.faults:
        write(f"  - {line}")
    write(f"calls checked:      {LEDGER.calls_checked}")
    write(f"calls lost:         {LEDGER.calls_lost} (must be 0)")
    write(f"duplicates:         {LEDGER.duplicates} (must be 0)")
    write(f"text cells scanned: {LEDGER.numbers_scanned}")
    write(f"unredacted numbers: {LEDGER.unredacted} (must be 0)")
