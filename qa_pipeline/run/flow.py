"""The `qa-batch` Prefect flow: every recording in a directory -> scores and KPIs in DuckDB.

One task per stage per call (decode, diarize, transcribe, measure, check, score, store), so the Prefect UI shows where a
call failed and how long each stage took. A call that fails at any stage is written to `failures` with
the stage and reason and the batch goes on. The flow itself is the single DuckDB writer.

Runs with no Prefect server configured: `qa-pipeline run` then starts a temporary local server for the run
before it imports Prefect (run.prefect_server), and Prefect starts its own where the flow is called otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

# Settings Prefect reads at import time: give the ephemeral server time to start on a small machine
# and keep it from phoning home (nothing but package registries is reachable here).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import duckdb
from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.states import Completed, State

from qa_pipeline.asr.diarize import DiarizationSettings
from qa_pipeline.asr.models import resolve_model
from qa_pipeline.asr.transcribe import GPU_BATCH_SIZE, AsrSettings
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.intake.discovery import Batch, CallJob, DateWindow, discover_calls
from qa_pipeline.intake.files import readable_path
from qa_pipeline.intake.metadata import read_metadata
from qa_pipeline.kpis.database import open_writer
from qa_pipeline.model import ScoredCall
from qa_pipeline.privacy.protect import caller_salt
from qa_pipeline.privacy.seal import inputs_key
from qa_pipeline.run.backtest import KPIS as BACKTEST_KPIS
from qa_pipeline.run.backtest import backtest, write_outputs
from qa_pipeline.run.backtest import default_out_dir as default_backtest_dir
from qa_pipeline.run.call import (
    CallFailure,
    CallSettings,
    StageError,
    TimedStages,
    check,
    decode,
    diarize,
    failure_message,
    measure,
    process_call,
    redact,
    score,
    screen,
    transcribe,
)
from qa_pipeline.run.plan import REJUDGE, hash_jobs, plan_batch, resolve_batch
from qa_pipeline.run.recorder import RunRecorder
from qa_pipeline.run.rejudge import Unreadable, rejudged_calls
from qa_pipeline.run.summary import RunSummary
from qa_pipeline.run.workers import (
    WorkerPlan,
    is_transient,
    plan_workers,
    prefect_api_for_workers,
    task_runner,
    use_threads,
)
from qa_pipeline.store.database import QaDatabase
from qa_pipeline.store.sharing import BRIEF_WAIT_S, run_lock

T = TypeVar("T")


def _retry_if_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Prefect retry condition: retry only errors that may go away (a busy or briefly lost file share);
    a corrupt recording fails the same way every time."""
    try:
        state.result()
    except Exception as error:
        return is_transient(error)
    return False


# Each stage of the per-call pipeline (run/call.py) as a Prefect task of its own, so the UI shows and
# times it. Big inputs (audio arrays, a DuckDB connection) must not be hashed for Prefect's cache: NO_CACHE.
_STAGE_TASKS: dict[Callable[..., Any], Task[..., Any]] = {
    fn: task(name=name, cache_policy=NO_CACHE, **options)(fn)  # type: ignore[call-overload]
    for name, fn, options in (
        ("decode", decode, {"retries": 2, "retry_delay_seconds": [2, 10], "retry_condition_fn": _retry_if_transient}),
        ("screen", screen, {}),
        ("diarize", diarize, {}),
        ("transcribe", transcribe, {}),
        ("measure", measure, {}),
        ("check", check, {}),
        ("score", score, {}),
        ("redact", redact, {}),
    )
}


class PrefectStages(TimedStages):
    """The pipeline's stages as Prefect tasks (a helper such as require_speech runs inside its stage)."""

    def invoke(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        stage_task = _STAGE_TASKS.get(fn)
        return cast(T, stage_task(*args)) if stage_task is not None else fn(*args)


def _is_transient_db_error(error: BaseException) -> bool:
    """A write that may succeed if tried again: another transaction in the way, or the file briefly locked."""
    message = str(error).lower()
    return isinstance(error, duckdb.TransactionException | duckdb.IOException) and (
        "conflict" in message or "lock" in message
    )


STORE_ATTEMPTS = 3
# How long a run waits to take the database back after lending it to the review application: a page's
# reads or a review take a second; a QA lead's notebook opened meanwhile could take longer.
DB_REOPEN_WAIT_S = 600.0
STORE_RETRY_S = 1.0


def store(db: QaDatabase, scored: ScoredCall, run_id: str) -> None:
    """One transaction per call; tried again on a lock or conflict. Any other write error (disk full) fails
    the call: its transaction rolled back, so nothing of it is stored, and the next run scores it again."""
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            db.write_call(scored, run_id)
            return
        except duckdb.Error as error:
            if attempt == STORE_ATTEMPTS or not _is_transient_db_error(error):
                raise
            get_run_logger().warning("%s: write attempt %d failed, retrying: %s", scored.job.call_id, attempt, error)
            time.sleep(STORE_RETRY_S * attempt)


# Each scored call's store is a Prefect task of its own (the UI shows it beside the call's other stages); a
# re-judged call is stored without one: its task run would take longer than its write.
store_task = task(name="store", cache_policy=NO_CACHE)(store)


@task(name="process-call", task_run_name="process {job.call_id}", cache_policy=NO_CACHE)
def process_call_task(job: CallJob, settings: CallSettings) -> ScoredCall | CallFailure:
    """One call, decode to score, in whichever process runs it. A failure comes back as a value (not an
    exception): any exception type can then be reported, even one that cannot cross processes."""
    use_threads(settings.asr.cpu_threads)
    stages = PrefectStages()
    try:
        return process_call(job, settings, stages)
    except StageError as failure:
        get_run_logger().error("%s: failed at %s: %s", job.call_id, failure.stage, failure.error)
        return CallFailure(job, failure.stage, failure_message(job, failure.error), stages.seconds)


def score_calls(jobs: list[CallJob], settings: CallSettings, plan: WorkerPlan) -> Iterator[ScoredCall | CallFailure]:
    """Every job's result, as each call finishes (in any order with workers)."""
    runner = task_runner(plan)
    if runner is None:
        for job in jobs:
            yield process_call_task(job, settings)
        return
    # Worker processes need the flow's Prefect server; threads of this process have it already.
    api = prefect_api_for_workers() if plan.kind != "inline" else contextlib.nullcontext()
    with api, runner:
        futures = {runner.submit(process_call_task, {"job": job, "settings": settings}): job for job in jobs}
        for future in as_completed(list(futures)):
            try:
                yield future.result()
            except Exception as error:  # the worker itself died (killed, out of memory): only this call is lost
                job = futures[future]
                yield CallFailure(
                    job, "worker", f"{job.audio_path}: the worker process died: {type(error).__name__}: {error}"
                )


def default_report_dir(db_path: str) -> Path:
    """qa.duckdb -> qa_report/ beside it."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}_report")


@task(name="report", cache_policy=NO_CACHE)
def report_task(db_path: str, out_dir: str) -> str:
    from qa_pipeline.report.render import write_report

    # right after the run closed the file, the review application may have it for a moment
    return str(write_report(db_path, out_dir, wait_s=BRIEF_WAIT_S))


def _write_report(db_path: str, report_dir: str | None) -> str | None:
    """The morning report over the whole database, linked from the run. A report that cannot be written
    is logged and the run still succeeds: the scores are in the database already."""
    out_dir = Path(report_dir) if report_dir else default_report_dir(db_path)
    try:
        path = Path(report_task(db_path, str(out_dir))).resolve()
    except Exception as error:  # any report problem: the run's results stand
        get_run_logger().error("report not written to %s: %s", out_dir, error)
        return None
    create_link_artifact(
        key="qa-report",
        link=path.as_uri(),
        link_text=f"QA report ({path})",
        description="The morning report: KPIs, trends, agents, checks failed most, calls to review.",
    )
    get_run_logger().info("report: %s", path)
    return str(path)


ProgressListener = Callable[[int, int, str], None]  # (calls done, calls to score, last call_id or "")
_progress_listeners: list[ProgressListener] = []


@contextlib.contextmanager
def reporting_progress(listener: ProgressListener) -> Iterator[None]:
    """Call `listener` as the flow scores calls in this process (the CLI's progress bar)."""
    _progress_listeners.append(listener)
    try:
        yield
    finally:
        _progress_listeners.remove(listener)


def _progress(done: int, total: int, call_id: str) -> None:
    for listener in _progress_listeners:
        listener(done, total, call_id)


def _final_state(summary: RunSummary) -> State[RunSummary]:
    """Completed, or PartialFailure (a Completed state) naming how many recordings failed: one bad
    recording never fails the run, but the run's state shows it."""
    if summary.calls_failed:
        message = (
            f"{summary.calls_failed} of {summary.calls_ok + summary.calls_failed} recordings failed;"
            " see the failures table"
        )
        return Completed(name="PartialFailure", message=message, data=summary)
    return Completed(message=f"{summary.calls_ok} calls scored, {summary.calls_unchanged} unchanged", data=summary)


def _publish_summary(summary: RunSummary) -> None:
    rows: list[dict[str, Any]] = [
        {"metric": "calls scored", "value": summary.calls_ok},
        {"metric": "calls failed", "value": summary.calls_failed},
        {"metric": "calls unchanged (skipped)", "value": summary.calls_unchanged},
        {"metric": "recordings outside the date window", "value": summary.outside_window},
        {"metric": "duplicate files (same audio, scored once)", "value": summary.duplicates},
        *({"metric": f"scored because: {reason}", "value": n} for reason, n in sorted(summary.reasons.items())),
        {"metric": "audio hours", "value": round(summary.audio_s / 3600, 3)},
        {"metric": "wall time (s)", "value": round(summary.wall_s, 1)},
        {"metric": "throughput (audio s per wall s)", "value": round(summary.throughput, 2)},
        {"metric": "workers", "value": summary.workers},
        *(
            {"metric": f"stage seconds: {stage} (summed over calls)", "value": round(spent, 1)}
            for stage, spent in summary.stage_s.items()
        ),
        {"metric": "avg QA score (calls scored)", "value": summary.avg_qa_score},
        {"metric": "QA pass rate (calls scored)", "value": summary.qa_pass_rate},
        *(
            {"metric": f"organisation named, not configured: {name}", "value": calls}
            for name, calls in summary.organisations_named
        ),
        {"metric": "run_id", "value": summary.run_id},
        {"metric": "database", "value": str(Path(summary.db_path).resolve())},
        {"metric": "report", "value": summary.report_path or "not written"},
    ]
    create_table_artifact(
        key="qa-batch-summary",
        table=rows,
        description=f"qa-batch run {summary.run_id}: calls scored, failed and skipped, throughput, KPI headline"
        " (no transcript text here).",
    )


@flow(name="qa-batch")
def qa_batch(
    input_dir: str,
    db_path: str = "qa.duckdb",
    metadata_csv: str | None = None,
    scorecard_path: str | None = None,
    asr_model: str | None = None,
    device: str = "auto",
    agent_channel: int = 0,
    diarization: str = "auto",
    pyannote_pipeline: str | None = None,
    report_dir: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    force: bool = False,
    workers: int = 1,
    dask: bool = False,
    dask_address: str | None = None,
    db_wait_s: float = 600.0,
    calls_at_once: int = 0,
) -> State[RunSummary]:
    """Score the recordings under `input_dir` not yet scored from the same inputs; write the results to
    the DuckDB file `db_path`. Calling the flow returns the RunSummary; its final state is Completed, or
    PartialFailure (of type Completed) when some recordings failed (see the failures table).

    date_from, date_to: only recordings of these days (inclusive): YYYY-MM-DD, today, yesterday or -Nd
    (N days ago); a call's day is its metadata started_at, else the file's modification time.
    force: re-score calls even when audio, model, scorecard, metadata and settings are unchanged.
    workers: worker processes, each with its own ASR model, each scoring one call at a time (1 = the flow's
    own process).
    calls_at_once: with workers 1, calls scored at the same time in the flow's process, one thread each,
    sharing one ASR model (0 = one per CPU core; 1 = one after another).
    dask: spread the workers over a Dask LocalCluster; dask_address: use the Dask cluster at this address.
    db_wait_s: how long to wait for the database while another process has it open.

    report_dir: where the HTML report (qa_pipeline/report/render.py) is written after the run, linked from the
    run's artifacts; default: next to the database (qa.duckdb -> qa_report/index.html); "" = no report.

    diarization: how mono recordings are split into speakers: auto (pyannote when `pyannote_pipeline`
    or QA_PYANNOTE_PIPELINE names one, else embedded), embedded, pyannote or none.
    """
    logger = get_run_logger()
    started = time.monotonic()
    # Configuration errors stop the run before any audio is processed.
    scorecard = load_scorecard(scorecard_path)
    metadata = read_metadata(metadata_csv, input_dir) if metadata_csv else None
    if not Path(input_dir).is_dir():
        raise NotADirectoryError(f"input directory {input_dir} does not exist")
    window = DateWindow.parse(date_from, date_to)
    choice = resolve_model(asr_model, device)
    worker_plan = plan_workers(workers, dask, dask_address, calls_at_once, choice.device)
    diarization_settings = DiarizationSettings(backend=diarization, pyannote_pipeline=pyannote_pipeline, device=device)
    diarization_settings.resolved_backend()  # an unknown backend stops the run before any audio
    settings = CallSettings.of(
        scorecard,
        choice,
        agent_channel,
        diarization_settings,
        AsrSettings(
            cpu_threads=worker_plan.threads_per_worker,
            parallel_calls=worker_plan.calls_at_once,
            batch_size=GPU_BATCH_SIZE if choice.device == "cuda" else AsrSettings.batch_size,
        ),
        salt=caller_salt(scorecard.privacy, db_path),
        inputs_key=inputs_key(db_path),
    )
    batch = discover_calls(input_dir, metadata, window)
    logger.info(
        "%d recordings (%s; %d outside), model %s on %s, scorecard %s, workers: %s",
        len(batch.jobs),
        window,
        batch.outside_window,
        choice.label,
        choice.device,
        scorecard.name,
        worker_plan.describe(),
    )

    def waiting(error: str) -> None:
        logger.warning("database %s is busy, waiting (up to %.0f s): %s", db_path, db_wait_s, error)

    summary = RunSummary(
        run_id="", db_path=db_path, outside_window=batch.outside_window, workers=worker_plan.describe()
    )
    # One run of a database at a time (store.sharing): this run lends the file to the review application
    # between calls, and no other run may take it then.
    with run_lock(db_path, db_wait_s, waiting), open_writer(db_path, db_wait_s, waiting) as db:
        recorder = RunRecorder.start(
            db,
            summary,
            flow_run_id=str(flow_run.id) if flow_run.id else None,
            asr_model=choice.label,
            scorecard_hash=scorecard.sha256,
            scorecard_name=scorecard.name,
            source=str(Path(input_dir).resolve()),
            redaction=scorecard.privacy.redaction,
            log=logger,
        )
        with recorder.finishing():
            db.write_kpi_settings(scorecard.kpis.rows())
            _run_batch(recorder, batch, settings, worker_plan, force)
            summary.wall_s = time.monotonic() - started
        if not scorecard.organisations:
            summary.organisations_named = recorder.organisations_named()
        _, [(summary.avg_qa_score, summary.qa_pass_rate)] = db.query(
            "SELECT round(avg(qa_score), 1), round(avg(qa_passed::INTEGER), 3) FROM calls WHERE run_id = ?",
            [summary.run_id],
        )

    if report_dir != "":
        summary.report_path = _write_report(db_path, report_dir)
    _publish_summary(summary)
    logger.info(
        "run %s: %d scored, %d failed, %d unchanged; %.2f h of audio in %.0f s (%.1f x real time)",
        summary.run_id,
        summary.calls_ok,
        summary.calls_failed,
        summary.calls_unchanged,
        summary.audio_s / 3600,
        summary.wall_s,
        summary.throughput,
    )
    if summary.stage_s:
        logger.info("time by stage, summed over calls: %s", summary.describe_stages())
    if notice := summary.organisations_notice():
        logger.warning("%s", notice)
    return _final_state(summary)


@flow(name="qa-backtest")
def qa_backtest(
    db_path: str,
    scorecard_path: str,
    date_from: str | None = None,
    date_to: str | None = None,
    out_dir: str | None = None,
) -> dict[str, Any]:
    """What the scorecard at `scorecard_path` would change on the calls stored in `db_path` (run.backtest),
    without writing the database: the verdicts that flip and the KPIs before and after go to `out_dir`
    (default: <database stem>_backtest/ beside it; backtest.json, flips.csv, checks.csv, kpis.csv) and, as
    counts, to the run's artifacts (no transcript text there). date_from, date_to: as for qa-batch."""
    logger = get_run_logger()
    result = backtest(db_path, load_scorecard(scorecard_path), DateWindow.parse(date_from, date_to))
    out = Path(out_dir) if out_dir else default_backtest_dir(db_path)
    write_outputs(result, out)
    create_table_artifact(
        key="qa-backtest-checks",
        table=[dataclasses.asdict(change) for change in result.checks if change.calls],
        description=f"Verdicts that {scorecard_path} flips, per check, on {result.calls_judged} stored calls.",
    )
    create_table_artifact(
        key="qa-backtest-kpis",
        table=[
            {
                "agent_id": change.agent_id or "(all calls)",
                "kpi": kpi,
                "before": change.before.get(kpi),
                "after": change.after.get(kpi),
            }
            for change in result.kpis
            for kpi in BACKTEST_KPIS
        ],
        description="KPIs before and after (verdicts in force: reviews still override).",
    )
    logger.info(
        "backtest of %s: %d calls judged, %d skipped, %d verdicts flip; written to %s (the database was not)",
        scorecard_path,
        result.calls_judged,
        len(result.skipped),
        result.flipped,
        out,
    )
    return {
        "calls_judged": result.calls_judged,
        "skipped": len(result.skipped),
        "flipped": result.flipped,
        "out_dir": str(out),
    }


def _run_batch(
    recorder: RunRecorder, batch: Batch, settings: CallSettings, worker_plan: WorkerPlan, force: bool
) -> None:
    """Record the batch's problems, skip unchanged calls, score the rest and store each as it finishes."""
    logger = get_run_logger()
    db, summary = recorder.db, recorder.summary

    # A metadata problem quotes the bad cell, which may be a phone number: masked like transcripts.
    for problem in batch.problems:
        logger.warning("metadata: %s", recorder.problem(problem.source, "metadata", str(problem)))
    for path, reason in batch.skipped:
        logger.warning("%s: %s", path, reason)
        recorder.fail(path, "discover", reason)

    hashed, unreadable = hash_jobs(batch.jobs, settings)
    for job, error in unreadable:
        logger.error("%s: %s", job.call_id, error)
        recorder.fail(job.audio_path, "read", error)
    resolution = resolve_batch(db, hashed)
    for notice in resolution.notices:
        logger.warning("%s", notice)
    for moved, old_path in resolution.moved:
        logger.info("%s: moved from %s; the stored call now points at its new path", moved.call_id, old_path)
        db.move_call(moved.call_id, old_path, moved.audio_path, summary.run_id)
    for duplicate in resolution.duplicates:
        logger.warning(
            "%s: same audio as %s (sha256 %s…): scored once, as %s",
            readable_path(duplicate.job.audio_path),
            readable_path(duplicate.scored_path),
            duplicate.audio_sha256[:12],
            duplicate.scored_as,
        )
        db.record_duplicate(
            summary.run_id,
            duplicate.job.audio_path,
            duplicate.audio_sha256,
            duplicate.job.call_id,
            duplicate.scored_as,
            duplicate.scored_path,
        )
    summary.duplicates = len(resolution.duplicates)
    hashed = resolution.jobs
    stored = db.stored_calls(job.call_id for job, _ in hashed)
    failed_paths = db.open_failure_paths()
    plan = plan_batch(
        hashed, stored, force, {job.audio_path for job, _ in hashed if readable_path(job.audio_path) in failed_paths}
    )
    summary.calls_unchanged = len(plan.unchanged)
    summary.reasons = plan.reasons()
    logger.info(
        "%d calls to score (%s), %d unchanged since they were scored",
        len(plan.to_score),
        ", ".join(f"{reason}: {n}" for reason, n in sorted(summary.reasons.items())) or "none",
        len(plan.unchanged),
    )

    jobs = [job for job, _ in plan.to_score]
    reasons = {job.call_id: reason for job, reason in plan.to_score}
    total = len(jobs) + len(plan.to_rejudge)
    _progress(0, total, "")
    done = 0
    if plan.to_rejudge:
        # Verdicts only: from the inputs kept sealed (run.rejudge), in this process, before any audio is scored.
        sealed = db.sealed_inputs(job.call_id for job in plan.to_rejudge)
        for outcome in rejudge_task(plan.to_rejudge, sealed, settings):
            if isinstance(outcome, Unreadable):
                logger.warning(
                    "%s: scorecard changed, %s: re-scored from its audio", outcome.job.call_id, outcome.reason
                )
                summary.reasons[REJUDGE] -= 1
                reason = f"scorecard changed ({outcome.reason.split(':')[0]})"
                summary.reasons[reason] = summary.reasons.get(reason, 0) + 1
                jobs.append(outcome.job)
                reasons[outcome.job.call_id] = reason
                continue
            done += 1
            _take(recorder, outcome, REJUDGE)
            _progress(done, total, outcome.job.call_id)
        if not summary.reasons[REJUDGE]:
            del summary.reasons[REJUDGE]
    for result in score_calls(jobs, settings, worker_plan):
        done += 1
        _take(recorder, result, reasons[result.job.call_id])
        _progress(done, total, result.job.call_id)


@task(name="rejudge", cache_policy=NO_CACHE)
def rejudge_task(
    jobs: list[CallJob], sealed: dict[str, bytes], settings: CallSettings
) -> list[ScoredCall | CallFailure | Unreadable]:
    """The calls whose scorecard changed and whose transcript and measures hold: checked, scored and
    protected again from their kept inputs (one task for them all: each takes milliseconds)."""
    return list(rejudged_calls(jobs, sealed, settings))


def _take(recorder: RunRecorder, result: ScoredCall | CallFailure, reason: str) -> None:
    """Store one call's result (or record its failure) and count it."""
    logger = get_run_logger()
    db, summary = recorder.db, recorder.summary
    summary.add_stage_seconds(result.stage_s)
    if isinstance(result, CallFailure):
        recorder.fail(result.job.audio_path, result.stage, result.error)
        return
    store_stage = TimedStages()
    try:
        store_stage("store", store if reason == REJUDGE else store_task, db, result, summary.run_id)
    except StageError as failure:
        logger.error("%s: failed at store: %s", result.job.call_id, failure.error)
        recorder.fail(result.job.audio_path, "store", failure_message(result.job, failure.error))
    else:
        recorder.stored(result, rejudged=reason == REJUDGE)
        logger.info("%s: stored (%s)", result.job.call_id, reason)
    summary.add_stage_seconds(store_stage.seconds)
    # The review application asked for the file (store.sharing): lent between two calls' writes.
    if db.yield_if_asked(DB_REOPEN_WAIT_S):
        logger.info("database lent to the review application after %s", result.job.call_id)
