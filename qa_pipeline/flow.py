"""The `qa-batch` Prefect flow: every recording in a directory -> scores and KPIs in DuckDB.

One task per stage per call (decode, diarize, transcribe, measure, check, score, store), so the Prefect UI shows where a
call failed and how long each stage took. A call that fails at any stage is written to `failures` with
the stage and reason and the batch goes on. The flow itself is the single DuckDB writer.

Runs with no Prefect server configured: Prefect then starts an ephemeral local server for the run.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# Settings Prefect reads at import time: give the ephemeral server time to start on a small machine
# and keep it from phoning home (nothing but package registries is reachable here).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.states import Completed, State

from qa_pipeline.asr.diarize import Diarization, DiarizationSettings, get_diarizer
from qa_pipeline.asr.models import ModelChoice, resolve_model
from qa_pipeline.asr.speakers import build_transcript
from qa_pipeline.asr.transcribe import GPU_BATCH_SIZE, AsrSettings, call_prompt, get_transcriber
from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.audio import DecodedAudio, decode_audio, file_sha256, readable_path, readable_text
from qa_pipeline.calls import (
    AudioFacts,
    Batch,
    CallJob,
    DateWindow,
    ScoredCall,
    Verdicts,
    check_call,
    discover_calls,
    measure,
)
from qa_pipeline.checks import Scorecard, load_scorecard
from qa_pipeline.incremental import ID_SUFFIX_HEX, Resolution, ScoringInputs, StoredCall, plan_batch, resolve_recordings
from qa_pipeline.metadata import read_metadata
from qa_pipeline.privacy import caller_salt, protect_call, protect_message, salt_id
from qa_pipeline.scoring import Attribution, CallScore, score_call
from qa_pipeline.screening import Levels, require_speech, screen_audio
from qa_pipeline.storage import QaDatabase, now
from qa_pipeline.timing import Measures
from qa_pipeline.workers import (
    WorkerPlan,
    is_transient,
    plan_workers,
    prefect_api_for_workers,
    task_runner,
    use_threads,
)

T = TypeVar("T")


@dataclass
class RunSummary:
    run_id: str
    db_path: str
    calls_ok: int = 0
    calls_failed: int = 0
    calls_unchanged: int = 0  # already scored from the same inputs: skipped
    outside_window: int = 0  # recordings left out by the date window
    duplicates: int = 0  # files holding audio another file of the batch holds: listed, scored once
    reasons: dict[str, int] = field(default_factory=dict)  # why calls were scored: new, scorecard changed, ...
    audio_s: float = 0.0
    wall_s: float = 0.0
    workers: str = ""
    avg_qa_score: float | None = None  # of the calls scored in this run
    qa_pass_rate: float | None = None
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (path, stage, error)
    report_path: str | None = None  # the HTML report written after the run
    # Wall seconds per stage, summed over the calls of the run (calls scored at once overlap, so the sum
    # can exceed wall_s): where the run's time went.
    stage_s: dict[str, float] = field(default_factory=dict)

    def add_stage_seconds(self, seconds: dict[str, float]) -> None:
        for stage, spent in seconds.items():
            self.stage_s[stage] = self.stage_s.get(stage, 0.0) + spent

    @property
    def throughput(self) -> float:
        """Seconds of audio scored per second of wall time (x real time)."""
        return self.audio_s / self.wall_s if self.wall_s else 0.0

    def describe_stages(self) -> str:
        """'transcribe 120.3 s (88%), measure 3.1 s (2%), ...': the stages by time spent, largest first."""
        total = sum(self.stage_s.values()) or 1.0
        return ", ".join(
            f"{stage} {spent:.1f} s ({spent / total:.0%})"
            for stage, spent in sorted(self.stage_s.items(), key=lambda item: -item[1])
        )


class StageError(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage = stage
        self.error = error


def _retry_if_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Prefect retry condition: retry only errors that may go away (a busy or briefly lost file share);
    a corrupt recording fails the same way every time."""
    try:
        state.result()
    except Exception as error:
        return is_transient(error)
    return False


# Big inputs (audio arrays, a DuckDB connection) must not be hashed for Prefect's cache: NO_CACHE.
@task(
    name="decode",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_if_transient,
)
def decode_task(job: CallJob) -> DecodedAudio:
    audio = decode_audio(job.audio_path)
    get_run_logger().info(
        "%s: decoded %s, %d ch, %d Hz, %.1f s",
        job.call_id,
        audio.codec,
        audio.channels,
        audio.source_sample_rate,
        audio.duration_s,
    )
    if audio.repaired_samples:
        get_run_logger().warning(
            "%s: %d samples were not numbers (NaN or infinite) and were repaired", job.call_id, audio.repaired_samples
        )
    return audio


@task(name="screen", cache_policy=NO_CACHE)
def screen_task(job: CallJob, audio: DecodedAudio, scorecard: Scorecard) -> Levels:
    """A recording too short to be a call, or a dead line, is a failure with the reason (qa_pipeline.screening)."""
    levels = screen_audio(audio, scorecard.input)
    if levels.clipped_fraction >= 0.001:
        get_run_logger().warning(
            "%s: %.1f%% of samples clipped at full scale", job.call_id, levels.clipped_fraction * 100
        )
    return levels


@task(name="diarize", cache_policy=NO_CACHE)
def diarize_task(job: CallJob, audio: DecodedAudio, settings: DiarizationSettings) -> Diarization | None:
    """Speaker turns of a mono recording (stereo needs none: one party per channel)."""
    if audio.channels != 1 or settings.resolved_backend() == "none":
        return None
    diarization = get_diarizer(settings)(audio.channel(0))
    log = get_run_logger()
    log.info(
        "%s: %s diarization, %d voices, %d turns, confidence %.2f",
        job.call_id,
        diarization.backend,
        diarization.num_speakers,
        len(diarization.turns),
        diarization.confidence,
    )
    if diarization.low_confidence:
        log.warning("%s: diarization confidence is low: agent-side verdicts need review", job.call_id)
    return diarization


@task(name="transcribe", cache_policy=NO_CACHE)
def transcribe_task(
    job: CallJob,
    audio: DecodedAudio,
    choice: ModelChoice,
    agent_channel: int,
    prompt: str,
    diarization: Diarization | None = None,
    scorecard: Scorecard | None = None,
    asr: AsrSettings | None = None,
) -> Transcript:
    channel = job.metadata.agent_channel if job.metadata.agent_channel is not None else agent_channel
    transcript = build_transcript(
        audio,
        get_transcriber(choice, asr or AsrSettings()),
        agent_channel=channel,
        prompt=prompt,
        diarization=diarization,
        organisations=scorecard.organisations if scorecard else (),
        role_settings=scorecard.roles if scorecard else None,
        direction=job.metadata.direction,
    )
    get_run_logger().info(
        "%s: %d segments, diarization=%s%s",
        job.call_id,
        len(transcript.segments),
        transcript.diarization,
        f", roles: {transcript.role_note}" if transcript.role_note else "",
    )
    return transcript


@task(name="measure", cache_policy=NO_CACHE)
def measure_task(
    job: CallJob, audio: DecodedAudio, transcript: Transcript, scorecard: Scorecard, agent_channel: int
) -> Measures:
    measures = measure(job, audio, transcript, scorecard, agent_channel)
    get_run_logger().info(
        "%s: answered at %.1f s (%s), rings %s (%s), talk %s s, silence %s s, direction %s (%s)",
        job.call_id,
        measures.answer_s,
        measures.answer_source,
        measures.ring_count,
        measures.ring_source,
        measures.talk_s,
        measures.silence_s,
        measures.direction,
        measures.direction_source,
    )
    return measures


@task(name="check", cache_policy=NO_CACHE)
def check_task(job: CallJob, transcript: Transcript, measures: Measures, scorecard: Scorecard) -> Verdicts:
    verdicts = check_call(job, transcript, measures, scorecard)
    failed = [r.check_id for r in verdicts.results if r.applicable and not r.passed]
    get_run_logger().info(
        "%s: call type %s (%s), %d checks, failed: %s",
        job.call_id,
        verdicts.call_type.value,
        verdicts.call_type.source,
        len(verdicts.results),
        failed or "none",
    )
    return verdicts


@task(name="score", cache_policy=NO_CACHE)
def score_task(job: CallJob, verdicts: Verdicts, scorecard: Scorecard, attribution: Attribution) -> CallScore:
    score = score_call(verdicts.results, scorecard.pass_score, attribution, scorecard.min_judged_share)
    get_run_logger().info("%s: qa_score=%s qa_passed=%s", job.call_id, score.qa_score, score.qa_passed)
    return score


@task(name="redact", cache_policy=NO_CACHE)
def redact_task(job: CallJob, scored: ScoredCall, scorecard: Scorecard, salt: str | None) -> ScoredCall:
    """Personal data out of every text the call stores, in the process that scored it (qa_pipeline.privacy)."""
    protected = protect_call(scored, scorecard.privacy, salt)
    kinds = Counter(redaction.kind for redaction in protected.redactions)
    masked = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    get_run_logger().info("%s: masked %s", job.call_id, masked or "nothing")  # counts and kinds, never text
    return protected


def _is_transient_db_error(error: BaseException) -> bool:
    """A write that may succeed if tried again: another transaction in the way, or the file briefly locked."""
    message = str(error).lower()
    return isinstance(error, duckdb.TransactionException | duckdb.IOException) and (
        "conflict" in message or "lock" in message
    )


STORE_ATTEMPTS = 3
STORE_RETRY_S = 1.0


@task(name="store", cache_policy=NO_CACHE)
def store_task(db: QaDatabase, scored: ScoredCall, run_id: str) -> None:
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


def _stage(name: str, fn: Callable[..., T], *args: Any, seconds: dict[str, float] | None = None) -> T:
    """fn(*args) as stage `name`: its error becomes a StageError; its wall time is added to `seconds`."""
    started = time.perf_counter()
    try:
        return fn(*args)
    except Exception as error:  # one bad recording never stops the batch
        raise StageError(name, error) from error
    finally:
        if seconds is not None:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class CallSettings:
    """Everything a worker needs to score a call, sent with each call to whichever process scores it."""

    choice: ModelChoice
    scorecard: Scorecard
    agent_channel: int = 0
    diarization: DiarizationSettings = field(default_factory=DiarizationSettings)
    # cpu_threads: the worker's share of the cores, for its ASR and its torch (0 = the libraries' default)
    asr: AsrSettings = field(default_factory=AsrSettings)
    salt: str | None = None  # the caller-number hash key (qa_pipeline.privacy.caller_salt); None = not hashed

    def speaker_settings(self) -> dict[str, Any]:
        """The settings that change a call's stored rows besides model and scorecard (its fingerprint)."""
        return {
            "agent_channel": self.agent_channel,
            "diarization": self.diarization.resolved_backend(),
            "pyannote_pipeline": self.diarization.pipeline_source(),
            "salt": salt_id(self.salt),
        }


@dataclass(frozen=True)
class CallFailure:
    """A call that could not be scored: the stage it stopped at and why."""

    job: CallJob
    stage: str
    error: str
    stage_s: dict[str, float] = field(default_factory=dict)  # the stages it went through, as ScoredCall's


def process_call(job: CallJob, settings: CallSettings, seconds: dict[str, float] | None = None) -> ScoredCall:
    """One call through every stage; each stage's wall seconds go into `seconds` (and the result's stage_s)."""
    scorecard, choice, agent_channel = settings.scorecard, settings.choice, settings.agent_channel
    seconds = {} if seconds is None else seconds
    audio = _stage("decode", decode_task, job, seconds=seconds)
    levels = _stage("screen", screen_task, job, audio, scorecard, seconds=seconds)
    turns = _stage("diarize", diarize_task, job, audio, settings.diarization, seconds=seconds)
    prompt = call_prompt(scorecard.organisations, scorecard.asr_prompt)
    transcript = _stage(
        "transcribe",
        transcribe_task,
        job,
        audio,
        choice,
        agent_channel,
        prompt,
        turns,
        scorecard,
        settings.asr,
        seconds=seconds,
    )
    # tone, music or noise only: nothing to check
    _stage("transcribe", require_speech, audio, transcript, levels, seconds=seconds)
    measures = _stage("measure", measure_task, job, audio, transcript, scorecard, agent_channel, seconds=seconds)
    verdicts = _stage("check", check_task, job, transcript, measures, scorecard, seconds=seconds)
    score = _stage("score", score_task, job, verdicts, scorecard, Attribution.of(transcript), seconds=seconds)
    scored = ScoredCall(
        job=job,
        audio=AudioFacts.of(audio, levels),
        transcript=transcript,
        measures=measures,
        verdicts=verdicts,
        score=score,
        scorecard_hash=scorecard.sha256,
        processed_at=now(),
        stage_s=seconds,  # the same dict: the redact stage's seconds land in it too
    )
    return _stage("redact", redact_task, job, scored, scorecard, settings.salt, seconds=seconds)


def failure_message(job: CallJob, error: BaseException) -> str:
    """The error as stored in `failures`: our own errors name the file already; anything unexpected
    (a library's bug, an out-of-memory) gets the file and the exception type in front."""
    message = str(error)
    if Path(job.audio_path).name in message:
        return message
    return f"{job.audio_path}: {type(error).__name__}: {message}"


@task(name="score-call", task_run_name="score {job.call_id}", cache_policy=NO_CACHE)
def score_call_task(job: CallJob, settings: CallSettings) -> ScoredCall | CallFailure:
    """One call, decode to score, in whichever process runs it. A failure comes back as a value (not an
    exception): any exception type can then be reported, even one that cannot cross processes."""
    use_threads(settings.asr.cpu_threads)
    seconds: dict[str, float] = {}
    try:
        return process_call(job, settings, seconds)
    except StageError as failure:
        get_run_logger().error("%s: failed at %s: %s", job.call_id, failure.stage, failure.error)
        return CallFailure(job, failure.stage, failure_message(job, failure.error), seconds)


def score_calls(jobs: list[CallJob], settings: CallSettings, plan: WorkerPlan) -> Iterator[ScoredCall | CallFailure]:
    """Every job's result, as each call finishes (in any order with workers)."""
    runner = task_runner(plan)
    if runner is None:
        for job in jobs:
            yield score_call_task(job, settings)
        return
    # Worker processes need the flow's Prefect server; threads of this process have it already.
    api = prefect_api_for_workers() if plan.kind != "inline" else contextlib.nullcontext()
    with api, runner:
        futures = {runner.submit(score_call_task, {"job": job, "settings": settings}): job for job in jobs}
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
    from qa_pipeline.report import write_report

    return str(write_report(db_path, out_dir))


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


def _hash_jobs(
    jobs: list[CallJob], settings: CallSettings
) -> tuple[list[tuple[CallJob, ScoringInputs]], list[tuple[CallJob, str]]]:
    """Each job with what it would be scored from; a file that cannot be read is a failure (stage read)."""
    hashed: list[tuple[CallJob, ScoringInputs]] = []
    unreadable: list[tuple[CallJob, str]] = []
    speaker_settings = settings.speaker_settings()
    for job in jobs:
        try:
            sha256 = file_sha256(job.audio_path)
        except OSError as error:
            unreadable.append((job, f"{job.audio_path}: cannot read: {error.strerror or error}"))
            continue
        inputs = ScoringInputs(sha256, settings.choice.label, settings.scorecard.sha256, speaker_settings)
        hashed.append((job, inputs))
    return hashed, unreadable


def _resolve_recordings(db: QaDatabase, hashed: list[tuple[CallJob, ScoringInputs]]) -> Resolution:
    """Which call each hashed recording is (incremental.resolve_recordings), from what the database holds."""
    own_ids = {job.call_id for job, _ in hashed}
    # Each job's own id and the id a clash would give it, in one query; longer suffixes are looked up one
    # by one (a clash of 8 hex digits is one in four billion).
    suffixed = {f"{job.call_id}-{inputs.audio_sha256[:ID_SUFFIX_HEX]}" for job, inputs in hashed}
    preloaded = db.stored_calls(own_ids | suffixed)

    def stored_call(call_id: str) -> StoredCall | None:
        if call_id in own_ids or call_id in suffixed:
            return preloaded.get(call_id)
        return db.stored_calls([call_id]).get(call_id)

    return resolve_recordings(
        hashed,
        stored_call,
        db.stored_by_audio({inputs.audio_sha256 for _, inputs in hashed}),
        file_holds=_file_holds(hashed),
        shown=readable_path,
    )


def _file_holds(hashed: list[tuple[CallJob, ScoringInputs]]) -> Callable[[str, str], bool]:
    """Whether the file at a stored path still holds the given audio: for a file of this batch its hash says
    (the recorder may have reused the name for another call); any other file is taken to be unchanged."""
    in_batch = {readable_path(job.audio_path): inputs.audio_sha256 for job, inputs in hashed}

    def holds(path: str, sha256: str) -> bool:
        if path in in_batch:
            return in_batch[path] == sha256
        return Path(path).is_file()

    return holds


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

    report_dir: where the HTML report (qa_pipeline/report.py) is written after the run, linked from the
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
    settings = CallSettings(
        choice,
        scorecard,
        agent_channel,
        diarization_settings,
        AsrSettings(
            cpu_threads=worker_plan.threads_per_worker,
            parallel_calls=worker_plan.calls_at_once,
            batch_size=GPU_BATCH_SIZE if choice.device == "cuda" else AsrSettings.batch_size,
        ),
        salt=caller_salt(scorecard.privacy, db_path),
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

    with QaDatabase.open_writer(db_path, db_wait_s, waiting) as db:
        run_id = db.start_run(
            str(flow_run.id) if flow_run.id else None,
            choice.label,
            scorecard.sha256,
            scorecard.name,
            str(Path(input_dir).resolve()),
        )
        summary = RunSummary(
            run_id=run_id, db_path=db_path, outside_window=batch.outside_window, workers=worker_plan.describe()
        )
        try:
            _run_batch(db, batch, settings, worker_plan, force, summary)
        except BaseException:
            db.finish_run(
                run_id,
                summary.calls_ok,
                summary.calls_failed,
                summary.calls_unchanged,
                summary.audio_s,
                status="failed",
            )
            raise
        summary.wall_s = time.monotonic() - started
        db.finish_run(run_id, summary.calls_ok, summary.calls_failed, summary.calls_unchanged, summary.audio_s)
        _, [(summary.avg_qa_score, summary.qa_pass_rate)] = db.query(
            "SELECT round(avg(qa_score), 1), round(avg(qa_passed::INTEGER), 3) FROM calls WHERE run_id = ?", [run_id]
        )

    if report_dir != "":
        summary.report_path = _write_report(db_path, report_dir)
    _publish_summary(summary)
    logger.info(
        "run %s: %d scored, %d failed, %d unchanged; %.2f h of audio in %.0f s (%.1f x real time)",
        run_id,
        summary.calls_ok,
        summary.calls_failed,
        summary.calls_unchanged,
        summary.audio_s / 3600,
        summary.wall_s,
        summary.throughput,
    )
    if summary.stage_s:
        logger.info("time by stage, summed over calls: %s", summary.describe_stages())
    return _final_state(summary)


def _run_batch(
    db: QaDatabase, batch: Batch, settings: CallSettings, worker_plan: WorkerPlan, force: bool, summary: RunSummary
) -> None:
    """Record the batch's problems, skip unchanged calls, score the rest and store each as it finishes."""
    logger = get_run_logger()
    run_id = summary.run_id
    db.write_kpi_settings(settings.scorecard.kpis)

    def record(audio_path: str, stage: str, error: str) -> None:
        # A failure that cannot be written (the disk is full) is still in the log and the run's summary;
        # the call is not in the database either, so the next run scores it: nothing is lost.
        try:
            db.record_failure(run_id, audio_path, stage, error)
        except duckdb.Error as db_error:
            logger.error("%s: failure (%s) not recorded in the database: %s", audio_path, stage, db_error)

    def fail(audio_path: str, stage: str, error: str) -> None:
        record(audio_path, stage, error)
        summary.failures.append((readable_path(audio_path), stage, readable_text(error, audio_path)))
        summary.calls_failed += 1

    # A metadata problem quotes the bad cell, which may be a phone number: masked like transcripts.
    privacy = settings.scorecard.privacy.redaction
    for problem in batch.problems:
        message = protect_message(str(problem), privacy)
        logger.warning("metadata: %s", message)
        record(problem.source, "metadata", message)
    for path, reason in batch.skipped:
        logger.warning("%s: %s", path, reason)
        fail(path, "discover", reason)

    hashed, unreadable = _hash_jobs(batch.jobs, settings)
    for job, error in unreadable:
        logger.error("%s: %s", job.call_id, error)
        fail(job.audio_path, "read", error)
    resolution = _resolve_recordings(db, hashed)
    for notice in resolution.notices:
        logger.warning("%s", notice)
    for moved, old_path in resolution.moved:
        logger.info("%s: moved from %s; the stored call now points at its new path", moved.call_id, old_path)
        db.move_call(moved.call_id, old_path, moved.audio_path, run_id)
    for duplicate in resolution.duplicates:
        logger.warning(
            "%s: same audio as %s (sha256 %s…): scored once, as %s",
            readable_path(duplicate.job.audio_path),
            readable_path(duplicate.scored_path),
            duplicate.audio_sha256[:12],
            duplicate.scored_as,
        )
        db.record_duplicate(
            run_id,
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
    _progress(0, len(jobs), "")
    for done, result in enumerate(score_calls(jobs, settings, worker_plan), start=1):
        summary.add_stage_seconds(result.stage_s)
        if isinstance(result, CallFailure):
            fail(result.job.audio_path, result.stage, result.error)
        else:
            store_s: dict[str, float] = {}
            try:
                _stage("store", store_task, db, result, run_id, seconds=store_s)
            except StageError as failure:
                logger.error("%s: failed at store: %s", result.job.call_id, failure.error)
                fail(result.job.audio_path, "store", failure_message(result.job, failure.error))
            else:
                summary.calls_ok += 1
                summary.audio_s += result.audio.duration_s if result.audio else 0.0
                logger.info("%s: stored (%s)", result.job.call_id, reasons[result.job.call_id])
            summary.add_stage_seconds(store_s)
        _progress(done, len(jobs), result.job.call_id)
