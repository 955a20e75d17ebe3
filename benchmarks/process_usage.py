"""Measuring a benchmark's child process from outside: wall and CPU time, peak memory (the largest process's,
from getrusage, and the whole tree's, sampled). Shared by benchmarks/throughput.py and benchmarks/runners.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil


def tree_rss(process: psutil.Process) -> int:
    """The RSS of `process` and all its descendants, in bytes (those that end while being read count 0)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def measured(command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> dict[str, Any]:
    """Run `command` (in `cwd`, this process's own directory if None); its wall seconds, CPU seconds (its own and
    its children's), the peak RSS of its largest process (getrusage) and of the whole process tree (sampled every
    0.2 s), and its exit status."""
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    watched = psutil.Process(child.pid)
    peak_tree = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak_tree = max(peak_tree, tree_rss(watched))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "exit": child.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 1),
        "cores_busy": round(cpu / wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # the largest process: the worker
        "peak_tree_rss_mib": round(peak_tree / 2**20),
    }
