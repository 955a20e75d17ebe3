"""The `qa-batch` Prefect flow: every recording in a directory -> scores and KPIs in DuckDB.

One task per stage per call (decode, diarize, transcribe, measure, check, score, store), so the Prefect UI shows where a
call failed and how long each stage took. A call that fails at any stage is written to `failures` with
the stage and reason and the batch goes on. The flow itself is the single DuckDB writer.

Runs with no Prefect server configured: Prefect then starts an ephemeral local server for the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# Settings Prefect reads at import time: give the ephemeral server time to start on a small machine
# and keep it from phoning home (nothing but package registries is reachable here).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from qa_pipeline.asr.diarize import Diarization, DiarizationSettings, get_diarizer
from qa_pipeline.asr.models import ModelChoice, resolve_model
from qa_pipeline.asr.speakers import build_transcript
from qa_pipeline.asr.transcribe import call_prompt, get_transcriber
from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.audio import DecodedAudio, decode_audio
from qa_pipeline.calls import AudioFacts, CallJob, ScoredCall, Verdicts, check_call, discover_calls, measure
from qa_pipeline.checks import Scorecard, load_scorecard
from qa_pipeline.metadata import read_metadata
from qa_pipeline.scoring import CallScore, score_call
from qa_pipeline.storage import QaDatabase, now
from qa_pipeline.timing import Measures

T = TypeVar("T")


@dataclass
class RunSummary:
    run_id: str
    db_path: str
    calls_ok: int = 0
    calls_failed: int = 0
    audio_s: float = 0.0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (path, stage, error)
    report_path: str | None = None  # the HTML report written after the run


class StageError(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage = stage
        self.error = error


# Big inputs (audio arrays, a DuckDB connection) must not be hashed for Prefect's cache: NO_CACHE.
@task(name="decode", cache_policy=NO_CACHE)
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
    return audio


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
) -> Transcript:
    channel = job.metadata.agent_channel if job.metadata.agent_channel is not None else agent_channel
    transcript = build_transcript(
        audio,
        get_transcriber(choice),
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
def score_task(job: CallJob, verdicts: Verdicts, scorecard: Scorecard) -> CallScore:
    score = score_call(verdicts.results, scorecard.pass_score)
    get_run_logger().info("%s: qa_score=%s qa_passed=%s", job.call_id, score.qa_score, score.qa_passed)
    return score


@task(name="store", cache_policy=NO_CACHE)
def store_task(db: QaDatabase, scored: ScoredCall, run_id: str) -> None:
    db.write_call(scored, run_id)


def _stage(name: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except Exception as error:  # one bad recording never stops the batch
        raise StageError(name, error) from error


def process_call(
    job: CallJob,
    choice: ModelChoice,
    scorecard: Scorecard,
    agent_channel: int,
    diarization_settings: DiarizationSettings | None = None,
) -> ScoredCall:
    audio = _stage("decode", decode_task, job)
    turns = _stage("diarize", diarize_task, job, audio, diarization_settings or DiarizationSettings())
    prompt = call_prompt(scorecard.organisations, scorecard.asr_prompt)
    transcript = _stage("transcribe", transcribe_task, job, audio, choice, agent_channel, prompt, turns, scorecard)
    measures = _stage("measure", measure_task, job, audio, transcript, scorecard, agent_channel)
    verdicts = _stage("check", check_task, job, transcript, measures, scorecard)
    score = _stage("score", score_task, job, verdicts, scorecard)
    return ScoredCall(
        job=job,
        audio=AudioFacts.of(audio),
        transcript=transcript,
        measures=measures,
        verdicts=verdicts,
        score=score,
        scorecard_hash=scorecard.sha256,
        processed_at=now(),
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
) -> RunSummary:
    """Score every recording under `input_dir` and write the results to the DuckDB file `db_path`.

    report_dir: where the HTML report (qa_pipeline/report.py) is written after the run, linked from the
    run's artifacts; default: next to the database (qa.duckdb -> qa_report/index.html); "" = no report.

    diarization: how mono recordings are split into speakers: auto (pyannote when `pyannote_pipeline`
    or QA_PYANNOTE_PIPELINE names one, else embedded), embedded, pyannote or none.
    """
    logger = get_run_logger()
    # Configuration errors stop the run before any audio is processed.
    scorecard = load_scorecard(scorecard_path)
    metadata = read_metadata(metadata_csv, input_dir) if metadata_csv else None
    if not Path(input_dir).is_dir():
        raise NotADirectoryError(f"input directory {input_dir} does not exist")
    batch = discover_calls(input_dir, metadata)
    choice = resolve_model(asr_model, device)
    diarization_settings = DiarizationSettings(backend=diarization, pyannote_pipeline=pyannote_pipeline, device=device)
    diarization_settings.resolved_backend()  # an unknown backend stops the run before any audio
    logger.info(
        "%d recordings, model %s on %s, scorecard %s", len(batch.jobs), choice.label, choice.device, scorecard.name
    )

    with QaDatabase(db_path) as db:
        run_id = db.start_run(
            str(flow_run.id) if flow_run.id else None,
            choice.label,
            scorecard.sha256,
            scorecard.name,
            str(Path(input_dir).resolve()),
        )
        db.write_kpi_settings(scorecard.kpis)
        summary = RunSummary(run_id=run_id, db_path=db_path)
        for problem in batch.problems:
            logger.warning("metadata: %s", problem)
            db.record_failure(run_id, problem.source, "metadata", str(problem))
        for path, reason in batch.skipped:
            logger.warning("%s: %s", path, reason)
            db.record_failure(run_id, path, "discover", reason)
            summary.failures.append((path, "discover", reason))
            summary.calls_failed += 1
        for job in batch.jobs:
            try:
                scored = process_call(job, choice, scorecard, agent_channel, diarization_settings)
                _stage("store", store_task, db, scored, run_id)
            except StageError as failure:
                logger.error("%s: failed at %s: %s", job.call_id, failure.stage, failure.error)
                db.record_failure(run_id, job.audio_path, failure.stage, str(failure.error))
                summary.failures.append((job.audio_path, failure.stage, str(failure.error)))
                summary.calls_failed += 1
                continue
            summary.calls_ok += 1
            summary.audio_s += scored.audio.duration_s if scored.audio else 0.0
        db.finish_run(run_id, summary.calls_ok, summary.calls_failed)

    if report_dir != "":
        summary.report_path = _write_report(db_path, report_dir)

    summary_rows: list[dict[str, Any]] = [
        {"metric": "calls scored", "value": summary.calls_ok},
        {"metric": "calls failed", "value": summary.calls_failed},
        {"metric": "audio hours", "value": round(summary.audio_s / 3600, 3)},
        {"metric": "run_id", "value": run_id},
        {"metric": "database", "value": str(Path(db_path).resolve())},
        {"metric": "report", "value": summary.report_path or "not written"},
    ]
    create_table_artifact(
        key="qa-batch-summary",
        table=summary_rows,
        description=f"qa-batch run {run_id}: calls scored and failed (no transcript text here).",
    )
    logger.info("run %s: %d scored, %d failed", run_id, summary.calls_ok, summary.calls_failed)
    return summary
