"""The reliability suite (issue 8): bad input, injected faults, personal data, read-only access.

Every test records what it tried in the session's `Ledger`; at the end pytest prints the summary the
issue asks for: inputs tried, faults injected, calls lost, duplicates, unredacted numbers found. The
counts are measured by the tests (rows in DuckDB against the recordings given), never written in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
