from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before Prefect is imported anywhere in the test session.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# One caller-number hash key for the session (qa_pipeline.privacy.protect): runs into different database files
# then hash a number alike, as runs into one file do; tests of the salt file itself unset it.
os.environ.setdefault("QA_PIPELINE_SALT", "test-salt-not-a-secret")

REPO = Path(__file__).resolve().parent.parent
SAMPLE_AUDIO = REPO / "sample_audio"
SHARED_DATA = REPO.parent / "shared" / "data"


def free_port() -> int:
    """A local TCP port nothing listens on now (for a server a test starts)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server (SQLite) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
