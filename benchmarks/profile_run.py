"""Where a run's time goes: py-spy samples a real `qa-pipeline run`, then this sums them by stage and function.

    python -m benchmarks.profile_run [--input sample_audio] [--rate 50] [--out benchmarks/results/profile]

py-spy (a sampling profiler that attaches from outside: nothing in the pipeline changes) records every
Python thread, waiting ones included (`--idle`: a thread waiting on CTranslate2's own worker threads is
where the ASR's time is). Only the threads scoring calls are summed: the samples whose stack passes
through `process_call_task`, by stage (the stage functions of qa_pipeline/run/call.py: decode,
transcribe, ...) and by the innermost function of ours or of faster-whisper/CTranslate2. Writes
`<out>.txt` (py-spy's collapsed stacks, for flamegraph tools), `<out>.json` (the sums) and `<out>.log`
(the run's own output), and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The stage functions of the per-call pipeline (qa_pipeline/run/call.py), and the speech check run inside
# the transcribe stage.
STAGES = ("decode", "screen", "diarize", "transcribe", "require_speech", "measure", "check", "score", "redact")
STAGE_FILES = ("qa_pipeline/run/call.py", "qa_pipeline/audio/screening.py")


def _frame(frame: str) -> tuple[str, str]:
    """'encode (faster_whisper/transcribe.py:1400)' -> ('encode', 'faster_whisper/transcribe.py')."""
    name, _, where = frame.partition(" (")
    return name, where.rsplit(":", 1)[0]


def summarise(collapsed: Path) -> dict[str, object]:
    by_stage: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    calls_total = 0
    for line in collapsed.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_frame(f) for f in stack.split(";")]
        if not any(name == "process_call_task" for name, _ in frames):
            continue
        n = int(count)
        calls_total += n
        stage = next(
            (name for name, where in reversed(frames) if name in STAGES and where.endswith(STAGE_FILES)),
            "other (Prefect, logging)",
        )
        by_stage[stage] += n
        ours = [
            f"{name} ({where.split('site-packages/')[-1]})"
            for name, where in frames
            if "qa_pipeline/" in where or "faster_whisper/" in where
        ]
        by_function[ours[-1] if ours else "other"] += n
    return {
        "samples_in_call_threads": calls_total,
        "by_stage": {k: round(v / max(1, calls_total), 4) for k, v in by_stage.most_common()},
        "by_function": {k: round(v / max(1, calls_total), 4) for k, v in by_function.most_common(15)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=REPO / "sample_audio")
    parser.add_argument("--rate", type=int, default=50, help="samples per second per thread (default 50)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "profile")
    args = parser.parse_args()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    collapsed = args.out.with_suffix(".txt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    with tempfile.TemporaryDirectory(prefix="qa-profile-") as work:
        env["PREFECT_HOME"] = str(Path(work) / "prefect-home")
        command = [str(BIN / "qa-pipeline"), "run", str(args.input), "--db", str(Path(work) / "qa.duckdb")]
        command += ["--no-report", "--device", "cpu"]
        if (args.input / "calls.csv").is_file():
            command += ["--metadata", str(args.input / "calls.csv")]
        profiler = [str(BIN / "py-spy"), "record", "--idle", "-r", str(args.rate), "-f", "raw", "-o", str(collapsed)]
        log = args.out.with_suffix(".log")
        with log.open("w", encoding="utf-8") as out:
            finished = subprocess.run([*profiler, "--", *command], env=env, stdout=out, stderr=subprocess.STDOUT)
        if finished.returncode not in (0, 1):  # 1: some recordings failed, the run itself went through
            raise SystemExit(f"the profiled run failed ({finished.returncode}); see {log}")
    result = summarise(collapsed)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"samples in the threads scoring calls: {result['samples_in_call_threads']}")
    for title in ("by_stage", "by_function"):
        print(f"\n{title.replace('_', ' ')}:")
        for name, share in result[title].items():  # type: ignore[attr-defined]
            print(f"  {share:6.1%}  {name}")
    print(f"\ncollapsed stacks: {collapsed} (flamegraph.pl or speedscope.app read them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
