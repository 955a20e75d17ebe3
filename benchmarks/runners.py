"""Throughput and memory of the qa-batch flow's worker set-ups over the same calls, in one run.

    python -m benchmarks.runners [--input sample_audio] [--workers 2] [--out benchmarks/results/runners.json]

Runs `qa-pipeline run` (a fresh process each, its own temporary Prefect server, a fresh database, no
report) once per set-up: in-process (the baseline: one call per core at once, on threads), in-process one
call at a time, a local process pool, a Dask LocalCluster; then once
more in-process over the now-scored database (the incremental re-run: every call unchanged). Reports wall
time, audio seconds per wall second, the ratio to the baseline, and the peak memory of the whole process
tree (sampled every 0.2 s). The rows of every set-up must equal the baseline's (same calls, same scores).
A ratio measured in one run on one machine, never a timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.process_usage import measured

REPO = Path(__file__).resolve().parent.parent

QA_PIPELINE = Path(sys.executable).parent / "qa-pipeline"


def run_once(arguments: list[str], env: dict[str, str], log: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes of the process tree) of one `qa-pipeline run`; its output goes to `log`."""
    usage = measured(arguments, env, log)
    if usage["exit"] not in (0, 1):
        output = log.read_text(encoding="utf-8", errors="replace")
        raise SystemExit(f"{' '.join(arguments)} exited {usage['exit']}:\n{output[-2000:]}")
    return usage["wall_s"], usage["peak_tree_rss_mib"] * 2**20


def result_rows(db_path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute("SELECT call_id, qa_score, qa_passed, duration_s FROM calls ORDER BY call_id").fetchall()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=REPO / "sample_audio")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "runners.json")
    args = parser.parse_args()

    metadata = args.input / "calls.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    setups = {
        "in-process (baseline)": [],
        "in-process, one call at a time": ["--calls-at-once", "1"],
        f"{args.workers} local processes": ["--workers", str(args.workers)],
        f"Dask LocalCluster, {args.workers} workers": ["--workers", str(args.workers), "--dask"],
    }
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="qa-runners-") as work:
        env["PREFECT_HOME"] = str(Path(work) / "prefect-home")
        baseline_rows: list[tuple[Any, ...]] | None = None
        baseline_wall = 0.0
        audio_s = 0.0
        for label, extra in setups.items():
            db_path = Path(work) / f"{len(rows)}.duckdb"
            command = [str(QA_PIPELINE), "run", str(args.input), "--db", str(db_path), "--no-report", "--device", "cpu"]
            if metadata.is_file():
                command += ["--metadata", str(metadata)]
            wall, peak = run_once(command + extra, env, Path(work) / f"{len(rows)}.log")
            calls = result_rows(db_path)
            audio_s = sum(row[3] for row in calls)
            if baseline_rows is None:
                baseline_rows, baseline_wall = calls, wall
            rows.append(
                {
                    "setup": label,
                    "calls": len(calls),
                    "wall_s": round(wall, 1),
                    "audio_s_per_wall_s": round(audio_s / wall, 2),
                    "speed_vs_baseline": round(baseline_wall / wall, 2),
                    "peak_rss_mib": round(peak / 2**20),
                    "same_rows_as_baseline": calls == baseline_rows,
                }
            )
            print(rows[-1], flush=True)
            if label == "in-process (baseline)":
                wall, peak = run_once(command, env, Path(work) / "rerun.log")  # again: every call unchanged
                rows.append(
                    {
                        "setup": "in-process re-run (all unchanged)",
                        "calls": 0,
                        "wall_s": round(wall, 1),
                        "audio_s_per_wall_s": None,
                        "speed_vs_baseline": round(baseline_wall / wall, 2),
                        "peak_rss_mib": round(peak / 2**20),
                        "same_rows_as_baseline": result_rows(db_path) == baseline_rows,
                    }
                )
                print(rows[-1], flush=True)

    report = {
        "input": str(args.input),
        "audio_s": round(audio_s, 1),
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'setup':40} {'wall s':>7} {'x real time':>11} {'vs base':>8} {'peak MiB':>9}  same rows")
    for row in rows:
        print(
            f"{row['setup']:40} {row['wall_s']:7.1f} {row['audio_s_per_wall_s'] or '':>11} "
            f"{row['speed_vs_baseline']:8.2f} {row['peak_rss_mib']:9}  {row['same_rows_as_baseline']}"
        )
    return 0 if all(row["same_rows_as_baseline"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
