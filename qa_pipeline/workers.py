"""Where the calls of a run are scored: in the flow's own process, a local process pool, or Dask.

Every worker process loads the ASR model once (asr.transcribe.get_transcriber caches it per process)
and scores calls one at a time; the flow collects the results and is the only DuckDB writer. A local
pool splits the machine's cores between its workers so that they do not fight over them.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner

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
    threads_per_worker: int  # CPU threads each worker's ASR and torch use; 0 = the libraries' default
    dask_address: str | None = None

    def describe(self) -> str:
        if self.kind == "inline":
            return "in the flow's process"
        if self.kind == "dask":
            return f"on the Dask cluster at {self.dask_address}"
        where = "local processes" if self.kind == "processes" else "Dask LocalCluster workers"
        return f"{self.workers} {where}, {self.threads_per_worker or 'default'} threads each"


def plan_workers(workers: int = 1, dask: bool = False, dask_address: str | None = None) -> WorkerPlan:
    """The worker set-up for the flow's `workers`, `dask` and `dask_address` parameters."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if dask_address:
        # The cluster's machines have their own cores: leave thread counts to them.
        return WorkerPlan("dask", workers, 0, dask_address)
    cores = os.cpu_count() or 1
    if dask:
        return WorkerPlan("dask-local", workers, max(1, cores // workers))
    if workers == 1:
        return WorkerPlan("inline", 1, 0)
    return WorkerPlan("processes", workers, max(1, cores // workers))


def task_runner(plan: WorkerPlan) -> TaskRunner[Any] | None:
    """The Prefect task runner for the plan; None = score in the flow's own process."""
    if plan.kind == "inline":
        return None
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
