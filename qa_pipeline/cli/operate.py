"""Operating the pipeline: `deploy` (the nightly Prefect deployment and the on-demand backtest) and `model`
(the embedded ASR model).

Prefect is imported by qa_pipeline.run.deploy only when a deployment is registered, and the ASR model module
inside `cmd_model`, so that `qa-pipeline --help` loads neither."""

from __future__ import annotations

import argparse

from qa_pipeline.cli.common import console, fail, make_table
from qa_pipeline.cli.options import add_run_options, check_run_options, flow_parameters
from qa_pipeline.run.deploy import (
    DEFAULT_CRON,
    DEFAULT_POOL,
    DEPLOYMENT_NAME,
    DeployError,
    NightlyDeployment,
    deploy_backtest,
    deploy_nightly,
    deployment_parameters,
    local_timezone,
)


def cmd_deploy(args: argparse.Namespace) -> int:
    if problem := check_run_options(args):
        return fail(problem)
    parameters = deployment_parameters(flow_parameters(args))
    deployment = NightlyDeployment(parameters, args.cron, args.timezone or local_timezone(), args.pool, args.name)
    try:
        deployment_id = deploy_nightly(deployment)
        backtest_id = deploy_backtest(parameters["db_path"], deployment.pool)
    except (DeployError, ValueError) as error:
        return fail(str(error))
    console.print(
        f"deployment qa-batch/{deployment.name} ({deployment_id}): {deployment.cron!r} {deployment.timezone}, "
        f"work pool {deployment.pool!r}"
    )
    console.print(make_table("Parameters", ["parameter", "value"], sorted(parameters.items())))
    console.print(f"deployment qa-backtest/on-demand ({backtest_id}): no schedule, reads {parameters['db_path']}")
    console.print(
        f"next: prefect worker start --pool {deployment.pool}\n"
        f"extra run: prefect deployment run 'qa-batch/{deployment.name}' --param date_from=YYYY-MM-DD\n"
        "try a scorecard: prefect deployment run 'qa-backtest/on-demand' --param scorecard_path=/path/new.toml"
    )
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from qa_pipeline.asr.models import embedded_model_dir

    path = embedded_model_dir(rebuild=args.rebuild)
    console.print(f"embedded ASR model ready: {path}")
    return 0


def add_deploy_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deploy = sub.add_parser(
        "deploy",
        help="register the nightly deployment qa-batch/nightly with the Prefect server (PREFECT_API_URL)",
        description="Register qa-batch/nightly: a run with these options on a cron schedule, in a process work pool. "
        "Then start a worker (prefect worker start --pool POOL) and trigger extra runs with "
        "prefect deployment run 'qa-batch/nightly' --param date_from=YYYY-MM-DD ...",
    )
    add_run_options(deploy, nightly=True)
    deploy.add_argument(
        "--cron", default=DEFAULT_CRON, metavar="EXPR", help=f"schedule, cron syntax (default: {DEFAULT_CRON!r})"
    )
    deploy.add_argument(
        "--timezone", metavar="TZ", help="time zone of the schedule, e.g. Asia/Shanghai (default: this machine's)"
    )
    deploy.add_argument("--pool", default=DEFAULT_POOL, help=f"process work pool (default: {DEFAULT_POOL})")
    deploy.add_argument("--name", default=DEPLOYMENT_NAME, help=f"deployment name (default: {DEPLOYMENT_NAME})")
    deploy.set_defaults(func=cmd_deploy)


def add_model_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    model = sub.add_parser("model", help="assemble and verify the embedded ASR model in the cache")
    model.add_argument("--rebuild", action="store_true", help="assemble again even if the cache verifies")
    model.set_defaults(func=cmd_model)
