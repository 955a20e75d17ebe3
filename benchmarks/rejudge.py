"""Re-judging after a scorecard change against scoring from the audio, in one run (issue 23).

    python -m benchmarks.rejudge [--audio sample_audio] [--metadata sample_audio/calls.csv]
                                 [--phrase 管理处不收] [--out benchmarks/results/rejudge.json]

Three `qa-pipeline run`s as an operator runs them (a fresh process, its own temporary Prefect server, the
HTML report written after the run as `make run` writes it), each timed whole, Prefect's start-up included:

1. the first run: every call scored from its audio into a fresh database (the sample calls are SYNTHETIC);
2. the same command with a scorecard that adds one forbidden phrase (`--phrase`; the default is said by
   call_001's agent): only verdicts change, so every call is re-judged from its kept inputs;
3. that scorecard with `--force` on a copy of the first run's database: every call scored again from its
   audio, the rows a re-judge must equal.

Reports the second command's wall time as a share of the first's (goal: <= 15%), the work itself (the stage
seconds each run's summary sums over its calls: decode to store when scoring, check to store when
re-judging) per call and their ratio (goal: >= 50x), and whether the re-judged rows equal the --force rows
(every result table, run ids and times left out). Writes the figures to --out. A ratio in one run on one
machine, never a timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent
QA_PIPELINE = Path(sys.executable).parent / "qa-pipeline"
DEFAULT_SCORECARD = REPO / "qa_pipeline" / "config" / "default_scorecard.toml"
RESULT_TABLES = ("calls", "segments", "check_results", "call_events", "speaker_turns", "redactions")
VOLATILE = {"run_id", "processed_at"}
GOAL_WALL_SHARE = 0.15
GOAL_WORK_RATIO = 50.0


def with_forbidden_phrase(phrase: str) -> str:
    import tomllib

    with open(DEFAULT_SCORECARD, "rb") as handle:
        phrases = [*tomllib.load(handle)["checks"]["forbidden_phrase"]["phrases"], phrase]
    return "[checks.forbidden_phrase]\nphrases = [" + ", ".join(f'"{p}"' for p in phrases) + "]\n"


def run(audio: Path, metadata: Path, db_path: Path, summary: Path, *options: str) -> tuple[float, dict[str, Any]]:
    """One `qa-pipeline run`: (wall seconds of the whole command, its summary)."""
    command = [str(QA_PIPELINE), "run", str(audio), "--db", str(db_path), "--metadata", str(metadata)]
    command += ["--summary-json", str(summary), "--no-progress", *options]
    env = os.environ | {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, json.loads(summary.read_text(encoding="utf-8"))


def rows(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in RESULT_TABLES:
            columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall() if row[0] not in VOLATILE]
            tables[table] = sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", type=Path, default=REPO / "sample_audio")
    parser.add_argument("--metadata", type=Path, default=REPO / "sample_audio" / "calls.csv")
    parser.add_argument("--phrase", default="管理处不收", help="the forbidden phrase the changed scorecard adds")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "rejudge.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rejudge_bench_") as scratch:
        work = Path(scratch)
        card = work / "changed.toml"
        card.write_text(with_forbidden_phrase(args.phrase), encoding="utf-8")
        first_db, forced_db = work / "first" / "qa.duckdb", work / "forced" / "qa.duckdb"
        first_db.parent.mkdir()
        forced_db.parent.mkdir()
        load = [os.getloadavg()[0]]
        first_s, first = run(args.audio, args.metadata, first_db, work / "first.json")
        for suffix in (".duckdb", ".salt", ".key"):
            if first_db.with_suffix(suffix).exists():
                shutil.copy(first_db.with_suffix(suffix), forced_db.with_suffix(suffix))
        load.append(os.getloadavg()[0])
        rejudge_s, rejudged = run(args.audio, args.metadata, first_db, work / "rejudge.json", "--scorecard", str(card))
        load.append(os.getloadavg()[0])
        forced_s, _ = run(
            args.audio, args.metadata, forced_db, work / "forced.json", "--scorecard", str(card), "--force"
        )
        load.append(os.getloadavg()[0])
        equal = rows(first_db) == rows(forced_db)
    calls = first["calls_ok"]
    scoring_work = sum(first["stage_s"].values())
    rejudging_work = sum(rejudged["stage_s"].values())
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in load],
        "calls": calls,
        "rejudged": rejudged["calls_rejudged"],
        "first_run_s": round(first_s, 1),
        "rejudge_run_s": round(rejudge_s, 1),
        "forced_run_s": round(forced_s, 1),
        "wall_share": round(rejudge_s / first_s, 3),
        "scoring_work_per_call_s": round(scoring_work / calls, 3),
        "rejudging_work_per_call_s": round(rejudging_work / max(rejudged["calls_rejudged"], 1), 4),
        "work_ratio": round(scoring_work / rejudging_work, 1) if rejudging_work else None,
        "rejudging_stages_s": {k: round(v, 3) for k, v in rejudged["stage_s"].items()},
        "rows_equal_force": equal,
    }
    print(
        f"{calls} calls (SYNTHETIC): first run {first_s:.1f} s; after one phrase changed {rejudge_s:.1f} s"
        f" ({result['wall_share']:.1%} of the first, goal <= {GOAL_WALL_SHARE:.0%}), {result['rejudged']} re-judged;"
        f" --force {forced_s:.1f} s"
    )
    print(
        f"work per call: scoring {result['scoring_work_per_call_s']} s, re-judging"
        f" {result['rejudging_work_per_call_s']} s: {result['work_ratio']}x (goal >= {GOAL_WORK_RATIO:.0f}x);"
        f" re-judged rows equal --force rows: {equal}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0 if equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
