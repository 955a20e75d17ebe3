"""The temporary Prefect server `qa-pipeline run` starts for itself (qa_pipeline.run.prefect_server): real
subprocesses, a real Prefect flow run against it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa_pipeline.run.prefect_server import PrefectServerError, TemporaryServer, start_temporary_server
from tests.conftest import free_port


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    return env | {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


FLOW_AGAINST_OWN_SERVER = """
import os, sys
from qa_pipeline.run.prefect_server import start_temporary_server
server = start_temporary_server()
server.wait_until_ready()
from prefect import flow
from prefect.client.orchestration import get_client

@flow
def add(a: int, b: int) -> int:
    return a + b

print("result", add(2, 3))
with get_client(sync_client=True) as client:
    print("client", client.api_url, "own", server.api_url)
"""


def test_a_flow_runs_against_the_server_started_before_prefect_and_it_stops_at_exit(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FLOW_AGAINST_OWN_SERVER], env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "result 5" in done.stdout
    client = done.stdout.split("client ")[1].split()
    assert client[0].rstrip("/") == client[2]  # the flow reported to our server ...
    assert "Starting temporary server" not in out  # ... and Prefect started none of its own
    assert "Error logging to API" not in out  # the last log lines reached the server before it stopped
    port = int(client[2].split(":")[2].split("/")[0])
    assert not _answers(port)  # stopped when the command exited


def test_the_server_goes_when_its_command_is_killed(tmp_path: Path) -> None:
    script = (
        "from qa_pipeline.run.prefect_server import start_temporary_server\n"
        "s = start_temporary_server(); s.wait_until_ready(); print(s.api_url, flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    command = subprocess.Popen([sys.executable, "-c", script], env=_env(tmp_path), stdout=subprocess.PIPE, text=True)
    assert command.stdout is not None
    port = int(command.stdout.readline().split(":")[2].split("/")[0])
    assert _answers(port)
    command.send_signal(signal.SIGKILL)  # no exit handler runs
    command.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _answers(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _answers(port)


def test_nothing_is_started_where_a_server_is_named_or_prefect_already_read_its_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert start_temporary_server() is None
    monkeypatch.delenv("PREFECT_API_URL")
    import prefect  # noqa: F401  (as a test calling the command in its own process has)

    assert start_temporary_server() is None
    assert "PREFECT_API_URL" not in os.environ


def test_a_server_that_exits_or_never_answers_is_a_clear_error() -> None:
    exited = TemporaryServer(subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]), "http://127.0.0.1:9/api")
    expected = re.escape("stopped with exit code 3 before it answered at http://127.0.0.1:9/api")
    with pytest.raises(PrefectServerError, match=expected):
        exited.wait_until_ready()
    url = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    silent = TemporaryServer(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]), url)
    with pytest.raises(PrefectServerError, match=re.escape(f"did not answer at {url} within 1 s")):
        silent.wait_until_ready(timeout_s=1.0)
    assert silent.process.poll() is not None  # stopped, not left running
