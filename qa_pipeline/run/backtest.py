"""What a scorecard would change before it is used: the stored calls judged with it, nothing written.

`qa-pipeline backtest --scorecard NEW.toml --db qa.duckdb [--from D] [--to D]` takes every call of the
window whose checks' inputs are kept (privacy.seal, table call_inputs), judges it with NEW as a re-judging
run would (run.call.rejudge_call: check -> score -> privacy), and compares with what is stored:

- per check, how many machine verdicts flip pass -> fail and fail -> pass (and to or from not applicable);
- every flipped verdict with its call, agent and evidence (redacted, as stored);
- the KPIs QA leads are judged on (script compliance, pass rate, average score) per agent and overall,
  before and after, computed by the KPI views themselves (kpis/kpi_by.sql) with the verdicts in force
  (a QA lead's review still overrides the machine).

The database is never written: the calls are judged into a copy made in a temporary folder (DuckDB's COPY
FROM DATABASE), where the KPI views read them, and the copy is deleted. Calls scored before inputs were
kept, or whose inputs cannot be opened, are listed as skipped. A scorecard whose settings up to the
measure stage differ from those a call was measured with ([timing], phrase verification's phrases, the ASR
prompt) is judged on the stored transcript and measures: the figures are then an estimate, and say so
(`measured_otherwise`); a real run would re-score those calls from their audio.
"""

from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from qa_pipeline.config.scorecard import Scorecard
from qa_pipeline.intake.discovery import DateWindow
from qa_pipeline.kpis.database import open_writer
from qa_pipeline.privacy.protect import caller_salt
from qa_pipeline.privacy.seal import SealError, inputs_key, unseal
from qa_pipeline.run.call import CallSettings, StageError, TimedStages, rejudge_call

RUN_ID = "backtest"  # the run id the copy's re-judged rows carry (the copy is deleted)
KPIS = ("calls", "avg_qa_score", "qa_pass_rate", "script_compliance_rate")


@dataclass(frozen=True)
class Flip:
    """One machine verdict that the new scorecard changes."""

    call_id: str
    agent_id: str | None
    call_date: date | None
    check_id: str
    before: str  # pass | fail | na | absent (the check was not run)
    after: str
    evidence_start_s: float | None
    evidence_end_s: float | None
    evidence_text: str | None  # redacted, as the database would store it


@dataclass(frozen=True)
class CheckChange:
    check_id: str
    calls: int  # calls the check judged before or after
    pass_to_fail: int
    fail_to_pass: int
    other: int  # to or from not applicable, or a check added or removed


@dataclass(frozen=True)
class KpiChange:
    """One agent's KPIs (agent_id None: every call of the window) before and after."""

    agent_id: str | None
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class Backtest:
    scorecard: str  # its name
    db_path: str
    window: str
    calls_judged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (call_id, why)
    measured_otherwise: int = 0  # calls judged on transcripts and measures made with other settings
    checks: list[CheckChange] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)
    kpis: list[KpiChange] = field(default_factory=list)

    @property
    def flipped(self) -> int:
        return len(self.flips)


def _verdict(applicable: bool | None, passed: bool | None) -> str:
    if not applicable:
        return "na"
    return "pass" if passed else "fail"


def _copy_database(source: str, target: Path) -> None:
    """A consistent copy of `source` at `target` (read through a read-only attachment, so a file another
    reader has open is fine; a running writer holds DuckDB's lock and the copy waits for no one: it fails)."""
    with duckdb.connect(str(target)) as con:
        con.execute("ATTACH ? AS source (READ_ONLY)", [source])
        con.execute(f"COPY FROM DATABASE source TO {_quoted(target.stem)}")
        con.execute("DETACH source")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kpis(con: duckdb.DuckDBPyConnection, window: DateWindow) -> dict[str | None, dict[str, Any]]:
    rows: dict[str | None, dict[str, Any]] = {}
    columns = ", ".join(KPIS)
    for agent_id, *values in con.execute(
        f"SELECT agent_id, {columns} FROM kpi_agent_between(?, ?)", [window.first, window.last]
    ).fetchall():
        rows[agent_id] = dict(zip(KPIS, values, strict=True))
    [overall] = con.execute(
        f"SELECT {columns} FROM kpi_by('all', ['all'], ?, ?)", [window.first, window.last]
    ).fetchall()
    rows[None] = dict(zip(KPIS, overall, strict=True))
    return rows


def _verdicts(con: duckdb.DuckDBPyConnection, call_ids: list[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = con.execute(
        "SELECT call_id, check_id, applicable, passed, evidence_start_s, evidence_end_s, evidence_text"
        " FROM check_results WHERE call_id IN (SELECT unnest(?::VARCHAR[]))",
        [call_ids],
    ).fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


def backtest(db_path: str, scorecard: Scorecard, window: DateWindow | None = None) -> Backtest:
    """Judge the window's stored calls with `scorecard` in a temporary copy of the database; compare."""
    window = window or DateWindow()
    result = Backtest(scorecard.name, db_path, str(window))
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"database {db_path} does not exist")
    key = inputs_key(db_path, create=False)
    # No inputs_key: what is judged here is thrown away with the copy, so nothing is sealed again.
    settings = CallSettings.of(scorecard, salt=caller_salt(scorecard.privacy, db_path))
    measure_hash = settings.measure_inputs_hash
    with tempfile.TemporaryDirectory(prefix="qa_backtest_") as scratch:
        copy = Path(scratch) / "backtest.duckdb"
        _copy_database(db_path, copy)
        with open_writer(copy) as db:
            con = db.connection
            calls = con.execute(
                "SELECT f.call_id, f.agent_id, f.call_date, c.measure_inputs_hash FROM call_facts f"
                " JOIN calls c USING (call_id)"
                " WHERE (CAST(? AS DATE) IS NULL OR f.call_date >= ?) AND (CAST(? AS DATE) IS NULL OR f.call_date <= ?)"
                " ORDER BY f.call_id",
                [window.first, window.first, window.last, window.last],
            ).fetchall()
            about = {call_id: (agent_id, day) for call_id, agent_id, day, _ in calls}
            ids = list(about)
            before_kpis = _kpis(con, window)
            before = _verdicts(con, ids)
            sealed = db.sealed_inputs(ids)
            judged = []
            for call_id, _, _, stored_hash in calls:
                blob = sealed.get(call_id)
                if blob is None:
                    result.skipped.append((call_id, "no inputs kept (scored before they were)"))
                    continue
                if key is None:
                    result.skipped.append((call_id, "the key the inputs were sealed with is missing"))
                    continue
                try:
                    inputs = unseal(blob, key)
                except SealError as error:
                    result.skipped.append((call_id, f"kept inputs unreadable: {error}"))
                    continue
                if inputs.job is None:
                    result.skipped.append((call_id, "kept inputs lack the call's metadata"))
                    continue
                try:
                    scored = rejudge_call(inputs.job, inputs, settings, TimedStages())
                except StageError as error:
                    result.skipped.append((call_id, f"failed at {error.stage}: {error.error}"))
                    continue
                db.write_call(scored, RUN_ID)
                judged.append(call_id)
                result.measured_otherwise += stored_hash != measure_hash
            result.calls_judged = len(judged)
            after = _verdicts(con, judged)
            after_kpis = _kpis(con, window)
    result.flips, result.checks = _compare(before, after, judged, about)
    result.kpis = [
        KpiChange(agent_id, before_kpis.get(agent_id, {}), after_kpis[agent_id])
        for agent_id in after_kpis
        if agent_id is None or after_kpis[agent_id]["calls"]
    ]
    return result


def _compare(
    before: dict[tuple[str, str], tuple[Any, ...]],
    after: dict[tuple[str, str], tuple[Any, ...]],
    judged: list[str],
    about: dict[str, tuple[str | None, date | None]],
) -> tuple[list[Flip], list[CheckChange]]:
    judged_set = set(judged)
    keys = sorted({key for key in before if key[0] in judged_set} | set(after))
    flips: list[Flip] = []
    counts: dict[str, list[int]] = {}
    for call_id, check_id in keys:
        old, new = before.get((call_id, check_id)), after.get((call_id, check_id))
        was = _verdict(old[0], old[1]) if old else "absent"
        now = _verdict(new[0], new[1]) if new else "absent"
        tally = counts.setdefault(check_id, [0, 0, 0, 0])
        tally[0] += "pass" in (was, now) or "fail" in (was, now)
        if was == now:
            continue
        tally[1 if (was, now) == ("pass", "fail") else 2 if (was, now) == ("fail", "pass") else 3] += 1
        evidence = new if new else old
        assert evidence is not None
        agent_id, day = about[call_id]
        flips.append(Flip(call_id, agent_id, day, check_id, was, now, evidence[2], evidence[3], evidence[4]))
    changes = [CheckChange(check_id, *tally) for check_id, tally in sorted(counts.items())]
    return flips, changes


def default_out_dir(db_path: str) -> Path:
    """qa.duckdb -> qa_backtest/ beside it."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}_backtest")


def write_outputs(result: Backtest, out_dir: Path) -> list[Path]:
    """backtest.json (everything), flips.csv, checks.csv and kpis.csv in `out_dir` (for the report and for
    spreadsheets)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    document = asdict(result)
    paths = [out_dir / "backtest.json"]
    paths[0].write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tables: dict[str, list[dict[str, Any]]] = {
        "flips.csv": [asdict(flip) for flip in result.flips],
        "checks.csv": [asdict(change) for change in result.checks],
        "kpis.csv": [
            {
                "agent_id": change.agent_id if change.agent_id is not None else "(all)",
                "kpi": kpi,
                "before": change.before.get(kpi),
                "after": change.after.get(kpi),
            }
            for change in result.kpis
            for kpi in KPIS
        ],
    }
    for name, rows in tables.items():
        path = out_dir / name
        with open(path, "w", newline="", encoding="utf-8") as handle:
            if rows:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        paths.append(path)
    return paths
