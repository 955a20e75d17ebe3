"""The nightly deployment `qa-batch/nightly`: the qa-batch flow on a cron schedule, run by a process worker;
and `qa-backtest/on-demand`, the backtest of a scorecard on the nightly's database, run when triggered.

`qa-pipeline deploy` registers it with the Prefect server PREFECT_API_URL names, creating the process
work pool when it does not exist yet. A worker (`prefect worker start --pool qa-pool`) on the machine with
the recordings runs each scheduled or triggered run from this checkout (flows/qa_batch.py). The
deployment allows one run at a time: a run triggered while the nightly is going waits for it, because
DuckDB has a single writer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

DEPLOYMENT_NAME = "nightly"
DEFAULT_POOL = "qa-pool"
DEFAULT_CRON = "0 2 * * *"  # 02:00 every day
ENTRYPOINT = "flows/qa_batch.py:qa_batch"
BACKTEST_ENTRYPOINT = "flows/qa_backtest.py:qa_backtest"
BACKTEST_NAME = "on-demand"  # qa-backtest/on-demand: no schedule, run when a QA lead has a scorecard to try
# Parameters that name files: stored absolute, since the worker runs the flow in the checkout.
PATH_PARAMETERS = ("input_dir", "db_path", "metadata_csv", "scorecard_path", "report_dir", "pyannote_pipeline")


class DeployError(RuntimeError):
    """The deployment cannot be registered: the message says what is missing."""


def project_root() -> Path:
    """The checkout holding flows/qa_batch.py: what the worker loads the flow from."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ENTRYPOINT.split(":")[0]).is_file():
        raise DeployError(f"{root / 'flows' / 'qa_batch.py'} not found: deploy from a checkout of qa_pipeline")
    return root


def local_timezone() -> str:
    """The IANA name of this machine's time zone (TZ, /etc/timezone, /etc/localtime), else UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and not tz.startswith("/"):
        return tz
    etc_timezone = Path("/etc/timezone")
    if not tz and etc_timezone.is_file() and etc_timezone.read_text().strip():
        return etc_timezone.read_text().strip()
    # TZ=:/etc/localtime (or another file): the zone is the zoneinfo file the path links to.
    zone_file = Path(tz or "/etc/localtime").resolve()
    if "zoneinfo/" in str(zone_file):
        return str(zone_file).split("zoneinfo/", 1)[1]
    return "UTC"


def deployment_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """The deployment's default parameters: unset ones left to the flow's defaults, paths absolute (a
    hub name for pyannote_pipeline stays as it is)."""
    parameters: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name in PATH_PARAMETERS and value != "" and (name != "pyannote_pipeline" or Path(value).exists()):
            value = str(Path(value).expanduser().resolve())
        parameters[name] = value
    return parameters


@dataclass(frozen=True)
class NightlyDeployment:
    parameters: dict[str, Any]
    cron: str = DEFAULT_CRON
    timezone: str = "UTC"  # IANA name; `qa-pipeline deploy` defaults to the machine's (local_timezone)
    pool: str = DEFAULT_POOL
    name: str = DEPLOYMENT_NAME


def api_url() -> str:
    """The Prefect server deployments go to; a temporary server would forget them when this exits."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise DeployError(
            "no Prefect server configured: start one (prefect server start --host 127.0.0.1) and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (or `prefect config set PREFECT_API_URL=...`)"
        )
    return str(url)


def ensure_process_pool(name: str) -> bool:
    """Create the process work pool `name` unless it exists; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            return True
    if pool.type != "process":
        raise DeployError(f"work pool {name!r} exists with type {pool.type!r}; the nightly needs a process pool")
    return False


def deploy_nightly(deployment: NightlyDeployment) -> UUID:
    """Register (or update) qa-batch/<name> on the configured server; returns the deployment id."""
    from prefect.schedules import Cron

    return _deploy(
        ENTRYPOINT,
        deployment.name,
        deployment.pool,
        deployment.parameters,
        "Nightly QA scoring of the day's call recordings (qa_pipeline).",
        schedules=[Cron(deployment.cron, timezone=deployment.timezone)],
        concurrency_limit=1,
    )


def deploy_backtest(db_path: str, pool: str = DEFAULT_POOL, name: str = BACKTEST_NAME) -> UUID:
    """Register (or update) qa-backtest/<name>, without a schedule, reading the nightly's database: an
    operator triggers it with the scorecard to try (prefect deployment run 'qa-backtest/on-demand' --param
    scorecard_path=NEW.toml); it writes its CSV/JSON beside the database and never the database."""
    return _deploy(
        BACKTEST_ENTRYPOINT,
        name,
        pool,
        {"db_path": str(Path(db_path).expanduser().resolve())},
        "What a scorecard would change on the stored calls, before it is used (qa_pipeline backtest).",
    )


def _deploy(
    entrypoint: str, name: str, pool: str, parameters: dict[str, Any], description: str, **options: Any
) -> UUID:
    """The flow at `entrypoint` of this checkout registered as a deployment in the process pool `pool`."""
    from prefect import Flow, flow

    api_url()
    ensure_process_pool(pool)
    source = flow.from_source(source=str(project_root()), entrypoint=entrypoint)
    assert isinstance(source, Flow)  # from a synchronous caller: the flow, not a coroutine
    deployment_id = source.deploy(
        name=name,
        work_pool_name=pool,
        parameters=parameters,
        description=description,
        tags=["qa-pipeline"],
        build=False,
        push=False,
        print_next_steps=False,
        **options,
    )
    assert isinstance(deployment_id, UUID)
    return deployment_id
