"""A temporary Prefect server for one command, started as the command begins, before Prefect is imported.

With no PREFECT_API_URL, Prefect starts a temporary server itself when the first flow runs: it imports its
whole server (the FastAPI application and the database models, about 4 s of CPU here) into the command's
process only to launch a subprocess that imports it all again, and then waits for that (about 6 s more),
nothing else happening meanwhile. `start_temporary_server` launches the same subprocess Prefect launches
(uvicorn serving `prefect.server.api.server:create_app`, marked ephemeral, no UI; its database is Prefect's
usual one) on a free local port as soon as `qa-pipeline run` starts, and points PREFECT_API_URL at it. Its
start-up then overlaps the command's own imports and planning on the other core, and the command's process
never imports the server. Worker processes inherit PREFECT_API_URL, as they do with any server.

Nothing changes where an operator named a server (PREFECT_API_URL), or where Prefect is already imported (a
test calling the command in its own process: Prefect read its settings then and would not see the URL).

Measured on this 2-core machine (docs/performance.md "Prefect's start-up"): a flow that does nothing, 19.5 s
with Prefect's temporary server against 11.5 s with this one.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_TIMEOUT_S = 120.0  # as PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS is set for Prefect's own
STOP_TIMEOUT_S = 5.0
# What Prefect sets for its own temporary server (prefect.server.api.server.SubprocessASGIServer): no UI, an
# ephemeral server's services, the application built once.
SERVER_ENVIRONMENT = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}


class PrefectServerError(RuntimeError):
    """The temporary Prefect server did not start."""


@dataclass
class TemporaryServer:
    """A Prefect server subprocess this command started, and the URL of its API."""

    process: subprocess.Popen[bytes]
    api_url: str
    ready: bool = field(default=False)

    def wait_until_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Block until the server answers /health; PrefectServerError when it exits or takes too long."""
        deadline = time.monotonic() + timeout_s
        while not self.ready:
            if (code := self.process.poll()) is not None:
                raise PrefectServerError(
                    f"the temporary Prefect server stopped with exit code {code} before it answered at {self.api_url};"
                    " its errors are above. Set PREFECT_API_URL to a running server (`prefect server start`) instead"
                )
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=1.0) as response:
                    self.ready = response.status == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if not self.ready:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PrefectServerError(
                        f"the temporary Prefect server did not answer at {self.api_url} within {timeout_s:.0f} s"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the server (killed when it does not stop within STOP_TIMEOUT_S)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _stop_with_parent() -> None:
    """In the server's process before it starts (Linux): SIGTERM when the command's process dies, even by
    SIGKILL, when no exit handler runs; a server of a killed command is not left behind."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_temporary_server() -> TemporaryServer | None:
    """Launch a Prefect server for this command and point PREFECT_API_URL at it; None where a server is
    already named or Prefect is already imported (Prefect then does as it always does)."""
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        return None
    spec = importlib.util.find_spec("prefect")  # where it is installed, without importing it
    if spec is None or spec.origin is None:
        return None
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(spec.origin).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env={**os.environ, **SERVER_ENVIRONMENT},
        preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
    )
    server = TemporaryServer(process, f"http://127.0.0.1:{port}/api")
    os.environ["PREFECT_API_URL"] = server.api_url
    # Registered before Prefect is imported, so it runs after Prefect's own exit handlers (last in, first
    # out): the flow's last log lines are sent to the server before it stops.
    atexit.register(server.stop)
    return server
