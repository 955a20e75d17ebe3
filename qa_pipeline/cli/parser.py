"""The `qa-pipeline` argument parser: one subcommand per command module, in the order `--help` lists them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib.metadata import version

from qa_pipeline.cli.backtest import add_backtest_command
from qa_pipeline.cli.evaluate import add_eval_command, add_eval_diarization_command
from qa_pipeline.cli.kpis import add_kpis_command, add_query_command, add_report_command
from qa_pipeline.cli.operate import add_deploy_command, add_model_command
from qa_pipeline.cli.review import add_review_command
from qa_pipeline.cli.run import add_run_command, add_score_command
from qa_pipeline.cli.serve import add_serve_command, add_users_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-pipeline",
        description="Score call-center recordings against service standards; results and KPIs in DuckDB.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('qa_pipeline')}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in (
        add_run_command,
        add_deploy_command,
        add_score_command,
        add_eval_command,
        add_eval_diarization_command,
        add_kpis_command,
        add_query_command,
        add_review_command,
        add_serve_command,
        add_users_command,
        add_backtest_command,
        add_report_command,
        add_model_command,
    ):
        add_command(sub)
    return parser


# Options whose values may begin with '-' (`--from -7d`, as the README shows): argparse takes such a value for
# an option of its own, so it is joined to its option (`--from=-7d`) before parsing.
_DAY_OPTIONS = ("--from", "--to")


def _joined_day_values(argv: Sequence[str]) -> list[str]:
    joined: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        if argument in _DAY_OPTIONS:
            value = next(arguments, None)
            if value is None:
                joined.append(argument)
            elif value.startswith("-") and value[1:2].isdigit():
                joined.append(f"{argument}={value}")
            else:
                joined += [argument, value]
        else:
            joined.append(argument)
    return joined


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line parsed; argparse exits 2 with its usage message on a bad one."""
    return build_parser().parse_args(_joined_day_values(argv))
