"""The nightly deployment's schedule, for real (issue 19): a `prefect server start`, `qa-pipeline deploy` with a
cron one minute ahead, a process worker on the pool, and no trigger: the server's scheduler must create the
run, the worker run it, and the database get its `runs` row.

The scheduler silently created nothing with SQLAlchemy 2.1 (prefect 3.8.8's scheduled-run insert fails there:
"Can't evaluate bulk DML statement", once a loop in the server log), while `prefect deployment run` worked;
constraints.txt pins SQLAlchemy 2.0.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_AUDIO
from tests.test_operations import BIN, _kill_group, prefect_server, query

__all__ = ["prefect_server"]  # the server fixture, shared with tests/test_operations.py

pytestmark = pytest.mark.slow
# The server's scheduler failing for good, every loop (with SQLAlchemy 2.1: "ERROR | docket.dependencies - ...
# schedule_deployments()", then this). Other errors there (SQLite "database is locked") are retried by the
# next loop: the wait below is bounded anyway, and its failure message shows the server's log.
SCHEDULER_FAILED = re.compile(r"Can't evaluate bulk DML statement")
CALL = "call_016.wav"  # one short stereo synthetic call: no diarization model to load


def test_nightly_deployment_runs_on_its_schedule_without_a_trigger(
    prefect_server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url, env = prefect_server
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(SAMPLE_AUDIO / CALL, inbox / CALL)  # written now: inside the nightly's yesterday..today window
    db_path = tmp_path / "nightly.duckdb"

    # A daily cron like the nightly's 02:00, at the first whole minute at least 45 s away (deploying takes ~5 s).
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=105)).replace(second=0, microsecond=0)
    deploy = [str(BIN / "qa-pipeline"), "deploy", str(inbox), "--db", str(db_path), "--device", "cpu"]
    deployed = subprocess.run(
        [*deploy, "--cron", f"{due.minute} {due.hour} * * *", "--timezone", "UTC"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    assert dt.datetime.now(dt.UTC) < due - dt.timedelta(seconds=10), "deploying took too long for the cron"

    worker_log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed below)
    worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "qa-pool"],
        env=env | {"PREFECT_WORKER_QUERY_SECONDS": "2"},  # pick the run up as soon as it is due
        cwd=tmp_path,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    flow_run, runs = None, []
    try:
        with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:
            deadline = due + dt.timedelta(seconds=240)  # bounded: the run takes well under a minute
            while dt.datetime.now(dt.UTC) < deadline and worker.poll() is None:
                if SCHEDULER_FAILED.search((tmp_path / "server.log").read_text()):
                    break  # no run will come: the server's scheduler fails every loop
                runs = client.read_flow_runs()
                finished = [run for run in runs if run.state is not None and run.state.is_final()]
                if finished:
                    flow_run = finished[0]
                    break
                time.sleep(3)
            else:
                runs = client.read_flow_runs()
            states = client.read_flow_run_states(flow_run.id) if flow_run is not None else []
    finally:
        _kill_group(worker, signal.SIGTERM)
        worker_log.close()

    server_log = (tmp_path / "server.log").read_text()
    logs = f"runs: {runs}\n" + server_log[-3000:] + (tmp_path / "worker.log").read_text()[-4000:]
    assert not SCHEDULER_FAILED.search(server_log), server_log[-3000:]
    assert flow_run is not None, "no scheduled run finished\n" + logs
    assert flow_run.state is not None and flow_run.state.name == "Completed", logs
    # Created by the schedule, for the cron's minute; nothing was triggered by hand.
    assert flow_run.auto_scheduled and "auto-scheduled" in flow_run.tags, logs
    assert flow_run.expected_start_time == due, logs
    assert states[0].name == "Scheduled", states
    assert all(run.auto_scheduled for run in runs), logs
    assert flow_run.parameters["input_dir"] == str(inbox)

    assert query(db_path, "SELECT status, calls_ok, flow_run_id FROM runs") == [("completed", 1, str(flow_run.id))]
    assert query(db_path, "SELECT call_id FROM calls") == [(Path(CALL).stem,)]
