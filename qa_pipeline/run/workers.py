"""Where the calls of a run are scored: in the flow's own process, a local process pool, or Dask.

Every worker process loads the ASR model once (asr.transcribe.get_transcriber caches it per process);
the flow collects the results and is the only DuckDB writer. In the flow's own process (the default),
several calls are scored at once, each on its own thread with one CPU thread for its ASR: a call's few
Whisper windows keep one core busy, not two, so one call per core uses the machine best (2.2x the ASR
throughput of one call at a time with two threads: docs/performance.md, Throughput). A local pool
or Dask splits the machine's cores between its worker processes, each scoring one call at a time.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

# OS errors worth another try: the file system or a device was busy or briefly gone (network shares).
TRANSIENT_ERRNOS = frozenset(
    {errno.EAGAIN, errno.EINTR, errno.EIO, errno.EBUSY, errno.ETIMEDOUT, errno.ESTALE, errno.ECONNRESET}
)


def is_transient(error: BaseException | None) -> bool:
    """True when the error, or one it was raised from, may go away on retry (see TRANSIENT_ERRNOS)."""
    seen = 0
    while error is not None and seen < 10:  # the cause chain, e.g. AudioDecodeError from av's OSError
        if isinstance(error, TimeoutError | ConnectionError):
            return True
        if isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS:
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


@dataclass(frozen=True)
class WorkerPlan:
    """How a run spreads its calls: `kind` inline | processes | dask-local | dask (an existing cluster)."""

    kind: str
    workers: int
    threads_per_worker: int  # CPU threads each call's ASR and torch use; 0 = the libraries' default
    dask_address: str | None = None
    calls_at_once: int = 1  # calls each worker process scores at the same time, one thread each

    def describe(self) -> str:
        if self.kind == "inline":
            if self.calls_at_once == 1:
                return "in the flow's process"
            threads = f"{self.threads_per_worker} thread{'s' if self.threads_per_worker != 1 else ''}"
            return f"in the flow's process, {self.calls_at_once} calls at once, {threads} each"
        if self.kind == "dask":
            return f"on the Dask cluster at {self.dask_address}"
        where = "local processes" if self.kind == "processes" else "Dask LocalCluster workers"
        return f"{self.workers} {where}, {self.threads_per_worker or 'default'} threads each"


# On a GPU the calls at once share one device (and the model's weights: CTranslate2 shares them between
# workers on one device, each on its own CUDA stream): two keep it busy, one decoding while the other's
# audio is decoded, screened and measured on the CPU. A guess, not measured: no GPU on the build machines.
GPU_CALLS_AT_ONCE = 2


def plan_workers(
    workers: int = 1,
    dask: bool = False,
    dask_address: str | None = None,
    calls_at_once: int = 0,
    device: str = "cpu",
) -> WorkerPlan:
    """The worker set-up for the flow's `workers`, `dask`, `dask_address` and `calls_at_once` parameters.

    calls_at_once: calls scored at the same time in the flow's process (workers 1, no Dask); 0 = one per
    core on CPU, GPU_CALLS_AT_ONCE on a GPU (`device` "cuda").
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if calls_at_once < 0:
        raise ValueError(f"calls at once must be 0 (one per core) or more, got {calls_at_once}")
    if calls_at_once > 1 and (workers > 1 or dask or dask_address):
        raise ValueError(
            f"calls at once ({calls_at_once}) applies to a run in the flow's process: "
            "worker processes (workers > 1, Dask) each score one call at a time"
        )
    if dask_address:
        # The cluster's machines have their own cores: leave thread counts to them.
        return WorkerPlan("dask", workers, 0, dask_address)
    cores = os.cpu_count() or 1
    if dask:
        return WorkerPlan("dask-local", workers, max(1, cores // workers))
    if workers == 1:
        at_once = calls_at_once or (GPU_CALLS_AT_ONCE if device == "cuda" else cores)
        return WorkerPlan("inline", 1, 0 if at_once == 1 else max(1, cores // at_once), calls_at_once=at_once)
    return WorkerPlan("processes", workers, max(1, cores // workers))


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """Let glibc keep at most `arenas` malloc arenas in this process (what MALLOC_ARENA_MAX does at start-up).

    By default every thread that allocates gets an arena of its own, up to 8 per core, and memory freed in one
    is not reused by another: with two calls scored at once the peak RSS of the sample run rose from 1.75 GiB
    to 2.14 GiB; with two arenas it was 1.84 GiB, at the same speed (docs/performance.md).
    An operator's own MALLOC_ARENA_MAX wins. Not glibc (macOS, musl): nothing to do."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # another C library
        return


def task_runner(plan: WorkerPlan) -> TaskRunner[Any] | None:
    """The Prefect task runner for the plan; None = score in the flow's own thread, one call at a time."""
    if plan.kind == "inline":
        if plan.calls_at_once == 1:
            return None
        limit_malloc_arenas()
        return ThreadPoolTaskRunner(max_workers=plan.calls_at_once)
    if plan.kind == "processes":
        return ProcessPoolTaskRunner(max_workers=plan.workers)
    from prefect_dask import DaskTaskRunner

    if plan.kind == "dask":
        return DaskTaskRunner(address=plan.dask_address)
    # distributed logs each closed connection at shutdown, with a traceback, at INFO: noise in a run log.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    # One single-threaded Dask worker process per call slot: each loads its own model. No dashboard
    # (it would need bokeh and a free port 8787).
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": plan.workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


@contextlib.contextmanager
def prefect_api_for_workers() -> Iterator[None]:
    """Let worker processes report to this run's Prefect server.

    With no server configured, Prefect runs the flow against a temporary server it started, and a worker
    process would start a temporary server of its own (seconds each, and its task runs invisible). Setting
    PREFECT_API_URL to the flow's server while the workers start makes them inherit it.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        url = str(client.api_url)
    os.environ["PREFECT_API_URL"] = url
    try:
        yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)


def use_threads(threads: int) -> None:
    """Limit this worker process's torch threads (the ASR gets its own count from AsrSettings)."""
    if threads <= 0:
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # read by torch when it is first imported
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
