"""`run` (recordings through the qa-batch flow) and `score` (transcripts produced elsewhere).

The pipeline modules are imported inside the functions that use them so that `qa-pipeline --help` does not
load them (the ASR model's and Prefect's imports take seconds)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.markup import escape

from qa_pipeline.cli.common import console, fail, make_table
from qa_pipeline.cli.kpis import print_kpis
from qa_pipeline.cli.options import add_db_wait, add_run_options, check_run_options, flow_parameters
from qa_pipeline.store.sharing import BRIEF_WAIT_S


def _verdict(applicable: bool | None, passed: bool | None) -> str:
    if not applicable:
        return "n/a"
    return "pass" if passed else "FAIL"


def print_run_scores(db_path: str, run_id: str) -> None:
    """The run's calls with the verdicts in force (KPI views call_facts, check_verdicts, run_failures)."""
    from qa_pipeline.kpis.database import open_reader

    # right after its run closed the file, the review application (`serve`) may have it for a moment
    with open_reader(db_path, BRIEF_WAIT_S) as db:
        _, checks = db.query("SELECT check_id FROM checks ORDER BY check_id")
        check_ids = [c for (c,) in checks]
        _, calls = db.query(
            "SELECT call_id, agent_id, call_type, diarization, duration_s, qa_score, qa_passed "
            "FROM call_facts WHERE run_id = ? ORDER BY call_id",
            [run_id],
        )
        _, results = db.query(
            "SELECT v.call_id, v.check_id, v.applicable, v.passed FROM check_verdicts v "
            "JOIN call_facts c USING (call_id) WHERE c.run_id = ?",
            [run_id],
        )
        _, failures = db.query("SELECT audio_path, stage, error FROM run_failures WHERE run_id = ?", [run_id])
    verdicts = {(call_id, check_id): _verdict(a, p) for call_id, check_id, a, p in results}
    rows = [
        (
            call_id,
            agent,
            ctype,
            diar,
            dur,
            *[verdicts.get((call_id, c), "") for c in check_ids],
            score,
            {True: "yes", False: "NO", None: "n/a"}[passed],
        )
        for call_id, agent, ctype, diar, dur, score, passed in calls
    ]
    console.print(
        make_table(
            "Call scores (this run)",
            ["call_id", "agent", "type", "speakers", "dur s", *check_ids, "qa_score", "passed"],
            rows,
        )
    )
    if failures:
        console.print(make_table("Failures (this run)", ["file", "stage", "error"], failures))


@contextlib.contextmanager
def _progress_bar(enabled: bool) -> Iterator[None]:
    """A tqdm bar on stderr fed by the flow as calls finish."""
    if not enabled:
        yield
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from qa_pipeline.run.flow import reporting_progress

    bars: list[tqdm[Any]] = []

    def update(done: int, total: int, call_id: str) -> None:
        if not total:  # nothing to score: no bar
            return
        if not bars:
            bars.append(tqdm(total=total, unit="call", desc="scoring", file=sys.stderr, dynamic_ncols=True))
        bars[0].n = done
        bars[0].set_postfix_str(call_id, refresh=True)

    # Log lines (Prefect's console handler sits on the root logger) are printed above the bar.
    with reporting_progress(update), logging_redirect_tqdm():
        try:
            yield
        finally:
            for bar in bars:
                bar.close()


def cmd_run(args: argparse.Namespace) -> int:
    from qa_pipeline.asr.models import ModelError
    from qa_pipeline.config.scorecard import ScorecardError
    from qa_pipeline.intake.metadata import MetadataError
    from qa_pipeline.privacy.protect import PrivacyError
    from qa_pipeline.run.prefect_server import PrefectServerError, start_temporary_server

    # First, so that the server starts while the options are checked and the pipeline imported.
    server = start_temporary_server()
    if problem := check_run_options(args):
        return fail(problem)

    from qa_pipeline.run.flow import RunSummary, qa_batch

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        if server is not None:
            server.wait_until_ready()
        with _progress_bar(progress):
            state = qa_batch(**flow_parameters(args), return_state=True)
        summary = state.result()
    except (ScorecardError, MetadataError, ModelError, NotADirectoryError, PrivacyError, PrefectServerError) as error:
        return fail(str(error))
    assert isinstance(summary, RunSummary)
    print_run_scores(args.db, summary.run_id)
    print_kpis(args.db, wait_s=BRIEF_WAIT_S)
    rejudged = (
        f" ({summary.calls_rejudged} re-judged from their kept inputs: scorecard changed, not transcribed again)"
        if summary.calls_rejudged
        else ""
    )
    console.print(
        f"{summary.calls_ok} calls scored{rejudged}, {summary.calls_failed} failed,"
        f" {summary.calls_unchanged} unchanged (already scored from the same inputs; --force re-scores);"
        f" results in {args.db} (run {summary.run_id})"
    )
    if summary.duplicates:
        console.print(f"{summary.duplicates} files held audio another file holds: scored once (see recording_files)")
    if summary.stage_s:
        console.print(
            f"{summary.audio_s / 3600:.2f} h of audio in {summary.wall_s:.0f} s ({summary.throughput:.1f}x real time,"
            f" {summary.workers}); time by stage, summed over calls: {summary.describe_stages()}"
        )
    if summary.report_path:
        console.print(f"report: {summary.report_path}")
    if notice := summary.organisations_notice():
        console.print(notice, markup=False)
    if args.summary_json:
        document = {**dataclasses.asdict(summary), "throughput": round(summary.throughput, 3)}
        args.summary_json.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 1 if summary.calls_failed else 0


def cmd_score(args: argparse.Namespace) -> int:
    from qa_pipeline.config.scorecard import ScorecardError, load_scorecard
    from qa_pipeline.privacy.protect import PrivacyError
    from qa_pipeline.run.transcript_file import DatabaseBusyError, DatabaseUnavailableError, score_transcript_file

    try:
        scorecard = load_scorecard(args.scorecard)
        if not Path(args.transcripts).is_file():
            raise FileNotFoundError(f"transcript file {args.transcripts} does not exist")
    except (ScorecardError, FileNotFoundError) as error:
        return fail(str(error))
    told_waiting = False

    def waiting(_: str) -> None:
        nonlocal told_waiting
        if not told_waiting:  # the database is tried again every few seconds: say so once
            told_waiting = True
            console.print(
                f"database {escape(args.db)} is busy (another process has it open): waiting up to {args.db_wait:g} s",
                soft_wrap=True,
            )

    try:
        summary = score_transcript_file(args.transcripts, args.db, scorecard, args.db_wait, waiting)
    except DatabaseBusyError as error:
        return fail(f"{escape(str(error))} (--db-wait SECONDS waits longer)", soft_wrap=True)
    except (DatabaseUnavailableError, PrivacyError, OSError) as error:
        return fail(escape(str(error)), soft_wrap=True)
    print_run_scores(args.db, summary.run_id)
    console.print(f"{summary.calls_ok} calls scored, {summary.calls_failed} lines failed; results in {args.db}")
    if notice := summary.organisations_notice():
        console.print(notice, markup=False)
    return 1 if summary.calls_failed else 0


def add_run_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="transcribe, check and score the recordings in INPUT_DIR not scored yet")
    add_run_options(run)
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )
    run.add_argument(
        "--summary-json",
        type=Path,
        metavar="FILE",
        help="also write the run's summary to FILE as JSON: calls scored, failed and skipped, audio and wall "
        "seconds, throughput, workers, seconds by stage, failures (for scripts and benchmarks/throughput.py)",
    )
    run.set_defaults(func=cmd_run)


def add_score_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    score = sub.add_parser("score", help="score transcripts produced elsewhere (JSON Lines, one call per line)")
    score.add_argument("transcripts", metavar="TRANSCRIPTS.jsonl")
    score.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to write (created if missing)")
    score.add_argument("--scorecard", metavar="FILE", help="scorecard TOML layered over the default one")
    add_db_wait(score)
    score.set_defaults(func=cmd_score)
