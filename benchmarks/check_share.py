"""The check stage's share of the pipeline's time on the sample run, before and after a change, in one run.

    python -m benchmarks.check_share [--audio sample_audio] [--metadata sample_audio/calls.csv]
                                     [--before SCORECARD] [--after SCORECARD] [--device cpu|cuda|auto]
                                     [--calls-at-once N] [--out benchmarks/results/check_share.json]

Scores the recordings once per scorecard, `--before` first, then `--after`, each with `qa-pipeline run` as
an operator runs it (a fresh process, its own temporary Prefect server, a fresh temporary database,
`--force`, no report), and reads the seconds by stage from the run's own summary (`--summary-json`:
RunSummary.stage_s, each stage's wall seconds summed over the calls; the database's `runs` table does not
hold them). Reports for each scorecard the total stage-seconds, the check stage's seconds and its share of
the total, and the after/before ratio of the check seconds. The goal: check <= 10% of the whole.

--after defaults to the default scorecard (qa_pipeline/config/default_scorecard.toml); --before to the
default with meaning-level matching off: a temporary scorecard holding only `[matching] meaning = false`,
layered over the default key by key like any center's scorecard. Both are loaded before any audio is
scored, so a scorecard the pipeline refuses stops the benchmark at once.

Stage seconds are wall seconds: calls scored at once (one per core by default) overlap and slow each other
down, and each stage's time includes running it as a Prefect task. Another job on the machine slows every
stage (the check stage most, in Python beside the ASR threads): each run's record holds the load average
as it started and ended. Writes the figures of both runs to --out (JSON) and prints a table. A ratio
measured in one run on one machine, never a timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.process_usage import measured

REPO = Path(__file__).resolve().parent.parent

QA_PIPELINE = Path(sys.executable).parent / "qa-pipeline"
DEFAULT_SCORECARD = REPO / "qa_pipeline" / "config" / "default_scorecard.toml"
PHRASES_ONLY = "[matching]\nmeaning = false\n"  # the --before default: meaning-level matching off
GOAL_SHARE = 0.10  # the check stage's share of the stage-seconds


def check_scorecard(path: Path, label: str, generated: bool) -> str:
    """The scorecard's name, or the benchmark stops with the pipeline's own error (an unknown key, say)."""
    from qa_pipeline.config.scorecard import ScorecardError, load_scorecard

    try:
        return load_scorecard(path).name
    except ScorecardError as error:
        hint = (
            "\n(no [matching].meaning in this version of the scorecard: pass --before SCORECARD)" if generated else ""
        )
        raise SystemExit(f"--{label} scorecard refused: {error}{hint}") from error


def score_once(
    label: str, scorecard: Path, args: argparse.Namespace, work: Path, env: dict[str, str]
) -> dict[str, Any]:
    """One `qa-pipeline run` over the recordings with `scorecard`: its summary's figures and stage seconds."""
    db_path = work / f"{label}.duckdb"
    summary_path = work / f"{label}.summary.json"
    log = work / f"{label}.log"
    command = [str(QA_PIPELINE), "run", str(args.audio), "--db", str(db_path), "--scorecard", str(scorecard)]
    command += ["--summary-json", str(summary_path), "--force", "--no-report", "--no-progress"]
    command += ["--device", args.device, "--calls-at-once", str(args.calls_at_once)]
    if args.metadata is not None:
        command += ["--metadata", str(args.metadata)]
    load_before = os.getloadavg()[0]
    process = measured(command, env, log)
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    stages: dict[str, float] = summary.get("stage_s", {})
    if process["exit"] not in (0, 1) or not stages:  # 1: some recordings failed, the run went through
        output = log.read_text(encoding="utf-8", errors="replace")
        raise SystemExit(f"{label}: `qa-pipeline run` exited {process['exit']}, no call scored:\n{output[-2000:]}")
    total = sum(stages.values())
    check = stages.get("check", 0.0)
    calls = summary["calls_ok"] + summary["calls_failed"]
    return {
        "scorecard": str(scorecard),
        "calls_scored": summary["calls_ok"],
        "calls_failed": summary["calls_failed"],
        "failures": summary["failures"],
        "audio_s": round(summary["audio_s"], 1),
        "process_wall_s": process["wall_s"],
        "process_cpu_s": process["cpu_s"],
        # The machine's 1-minute load average as the run started (near 0 when idle) and ended (about the cores
        # the run kept busy): more means another job shared the cores and slowed every stage.
        "load_avg_start": round(load_before, 2),
        "load_avg_end": round(os.getloadavg()[0], 2),
        "flow_wall_s": round(summary["wall_s"], 2),
        "workers": summary["workers"],
        "avg_qa_score": summary["avg_qa_score"],
        "qa_pass_rate": summary["qa_pass_rate"],
        "stage_s": {stage: round(spent, 3) for stage, spent in sorted(stages.items(), key=lambda item: -item[1])},
        "total_stage_s": round(total, 2),
        "check_s": round(check, 3),
        "check_s_per_call": round(check / calls, 4) if calls else None,
        "check_share": round(check / total, 4) if total else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=REPO / "sample_audio")
    parser.add_argument("--metadata", type=Path, help="call metadata CSV (default: calls.csv in --audio, if any)")
    parser.add_argument("--before", type=Path, help="default: the default scorecard with [matching] meaning = false")
    parser.add_argument("--after", type=Path, default=DEFAULT_SCORECARD)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu", help="the ASR's (default: cpu)")
    parser.add_argument(
        "--calls-at-once", type=int, default=0, help="as `qa-pipeline run`'s (default: 0 = one per core)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "check_share.json")
    args = parser.parse_args()
    if args.metadata is None and (args.audio / "calls.csv").is_file():
        args.metadata = args.audio / "calls.csv"

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="qa-check-share-") as temporary:
        work = Path(temporary)
        env["PREFECT_HOME"] = str(work / "prefect-home")
        before = args.before
        if before is None:
            before = work / "phrases_only.toml"
            before.write_text(PHRASES_ONLY, encoding="utf-8")
        scorecards = {"before": before, "after": args.after}
        names = {
            label: check_scorecard(path, label, generated=label == "before" and args.before is None)
            for label, path in scorecards.items()
        }
        for label, path in scorecards.items():
            print(f"[{label}] scoring {args.audio} with {path} ({names[label]})", flush=True)
            runs[label] = score_once(label, path, args, work, env)
            if args.before is None and label == "before":
                runs[label]["scorecard"] = f"default + {PHRASES_ONLY.strip()!r}"
            run = runs[label]
            print(
                f"[{label}] {run['calls_scored']} calls scored, {run['calls_failed']} failed in "
                f"{run['process_wall_s']:.0f} s; check {run['check_s']:.2f} s of {run['total_stage_s']:.1f} "
                f"stage-seconds ({run['check_share']:.1%}); load average {run['load_avg_start']} -> "
                f"{run['load_avg_end']} on {os.cpu_count()} cores",
                flush=True,
            )

    check_before, check_after = runs["before"]["check_s"], runs["after"]["check_s"]
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "audio": str(args.audio),
        "metadata": str(args.metadata) if args.metadata else None,
        "device": args.device,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "goal_check_share_at_most": GOAL_SHARE,
        "runs": runs,
        "check_s_after_over_before": round(check_after / check_before, 3) if check_before else None,
        "after_meets_goal": (runs["after"]["check_share"] or 0.0) <= GOAL_SHARE,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print(f"\n{'scorecard':10} {'calls':>5} {'stage-s':>8} {'check s':>8} {'share':>6} {'ms/call':>8}  goal <= 10%")
    for label, run in runs.items():
        per_call = run["check_s_per_call"]
        print(
            f"{label:10} {run['calls_scored']:5} {run['total_stage_s']:8.1f} {run['check_s']:8.2f} "
            f"{run['check_share']:6.1%} {per_call * 1000 if per_call is not None else float('nan'):8.1f}  "
            f"{'met' if run['check_share'] <= GOAL_SHARE else 'NOT met'}"
        )
    print(f"check seconds, after / before: {report['check_s_after_over_before']}")
    for label, run in runs.items():
        print(f"{label} by stage: " + ", ".join(f"{stage} {spent:.1f} s" for stage, spent in run["stage_s"].items()))
    print(f"written: {args.out}")
    same_calls = runs["before"]["calls_scored"] == runs["after"]["calls_scored"]
    return 0 if same_calls and not any(run["calls_failed"] for run in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
