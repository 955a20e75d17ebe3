"""`backtest`: what a new scorecard would change on the stored calls, before it is used (nothing is written).

The pipeline's modules are imported inside the function that uses them so that `qa-pipeline --help` does not
load them."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
from rich.markup import escape

from qa_pipeline.cli.common import console, fail, make_table

SHOWN_FLIPS = 50  # flipped verdicts printed; every one is in flips.csv


def _rate(value: object) -> str:
    return "" if value is None else str(value)


def cmd_backtest(args: argparse.Namespace) -> int:
    from qa_pipeline.config.scorecard import ScorecardError, load_scorecard
    from qa_pipeline.intake.discovery import DateWindow, DateWindowError
    from qa_pipeline.run.backtest import KPIS, backtest, default_out_dir, write_outputs

    if not Path(args.db).is_file():
        return fail(f"database {args.db} does not exist")
    try:
        scorecard = load_scorecard(args.scorecard)
        window = DateWindow.parse(args.date_from, args.date_to)
        result = backtest(args.db, scorecard, window)
    except (ScorecardError, DateWindowError) as error:
        return fail(escape(str(error)))
    except duckdb.Error as error:
        return fail(escape(f"cannot read {args.db}: {error}"))
    console.print(
        f"backtest of scorecard {escape(result.scorecard)} on {escape(args.db)} ({result.window}):"
        f" {result.calls_judged} calls judged, {len(result.skipped)} skipped, {result.flipped} verdicts flip;"
        " nothing was written"
    )
    if result.measured_otherwise:
        console.print(
            f"[yellow]{result.measured_otherwise} calls were measured with other settings up to the measure stage"
            " ([timing], the phrases phrase verification listens for, the ASR prompt) than this scorecard's: judged"
            " on their stored transcripts and measures, an estimate; a run would re-score them from the audio[/]"
        )
    console.print(
        make_table(
            "Verdicts that change, per check",
            ["check", "calls", "pass -> fail", "fail -> pass", "to/from n.a."],
            [(c.check_id, c.calls, c.pass_to_fail, c.fail_to_pass, c.other) for c in result.checks if c.calls],
        )
    )
    if result.flips:
        console.print(
            make_table(
                f"Calls whose verdicts flip (first {min(SHOWN_FLIPS, result.flipped)} of {result.flipped})",
                ["call", "agent", "day", "check", "was", "now", "evidence s", "evidence"],
                [
                    (
                        f.call_id,
                        f.agent_id,
                        f.call_date,
                        f.check_id,
                        f.before,
                        f.after,
                        f.evidence_start_s,
                        f.evidence_text,
                    )
                    for f in result.flips[:SHOWN_FLIPS]
                ],
            )
        )
    console.print(
        make_table(
            "KPIs before -> after (verdicts in force: reviews still override)",
            ["agent", *KPIS[1:]],
            [
                (
                    change.agent_id if change.agent_id is not None else "(all calls)",
                    *(f"{_rate(change.before.get(k))} -> {_rate(change.after.get(k))}" for k in KPIS[1:]),
                )
                for change in result.kpis
            ],
        )
    )
    for call_id, why in result.skipped[:SHOWN_FLIPS]:
        console.print(f"skipped {escape(call_id)}: {escape(why)}")
    out_dir = Path(args.out) if args.out else default_out_dir(args.db)
    written = write_outputs(result, out_dir)
    console.print(f"written: {', '.join(str(path) for path in written)}")
    return 0


def add_backtest_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backtest = sub.add_parser(
        "backtest",
        help="judge the stored calls with another scorecard without writing: verdicts that flip, KPIs before/after",
        description="Judge the calls stored in --db with --scorecard, as a run would re-judge them, and show what"
        " changes: per check the verdicts that flip pass->fail and fail->pass, the flipped calls with their"
        " evidence, and script compliance, pass rate and average score per agent before and after. The database"
        " is not written (the calls are judged in a temporary copy). Writes backtest.json, flips.csv, checks.csv"
        " and kpis.csv to --out.",
    )
    backtest.add_argument("--scorecard", required=True, metavar="TOML", help="the scorecard to try")
    backtest.add_argument("--db", required=True, metavar="PATH", help="DuckDB file written by run")
    backtest.add_argument(
        "--from", dest="date_from", metavar="DAY", help="first day (YYYY-MM-DD, today, yesterday, -Nd)"
    )
    backtest.add_argument("--to", dest="date_to", metavar="DAY", help="last day (inclusive)")
    backtest.add_argument(
        "--out", metavar="DIR", help="where the CSV/JSON go (default: <database stem>_backtest/ beside the database)"
    )
    backtest.set_defaults(func=cmd_backtest)
