"""One call through the stages: decode → screen → diarize → transcribe → measure → check → score → redact.

This is the one per-call pipeline. The Prefect flow runs it with each stage as a task of its own, so the
UI shows and times every stage (run/flow.py); the transcript-file scorer runs its second half,
`judge_call`, on transcripts made elsewhere (run/transcript_file.py); the benchmarks call the same
functions. Each stage function takes only its own settings, which CallSettings gathers from the
scorecard once per run and sends with each call to whichever process scores it.

How a stage is run is the caller's: `run_stage(name, fn, *args)` runs fn(*args) as stage `name`. The
default (`TimedStages`) times it and turns any error into a StageError naming the stage.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from qa_pipeline.asr.diarize import Diarization, DiarizationSettings, get_diarizer
from qa_pipeline.asr.models import ModelChoice
from qa_pipeline.asr.overlap import speech_overlaps
from qa_pipeline.asr.roles import RoleSettings
from qa_pipeline.asr.speakers import build_transcript
from qa_pipeline.asr.transcribe import AsrSettings, call_prompt, get_transcriber
from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.asr.verify import VerifySettings
from qa_pipeline.audio.decode import DecodedAudio, decode_audio
from qa_pipeline.audio.facts import AudioFacts
from qa_pipeline.audio.screening import InputSettings, Levels, require_speech, screen_audio
from qa_pipeline.checks.run import CheckingSettings, Verdicts, check_call
from qa_pipeline.config.scorecard import Scorecard
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.measures import Measures, TimingSettings, measure_call
from qa_pipeline.model import ScoredCall
from qa_pipeline.privacy.protect import PrivacySettings, protect_call, salt_id
from qa_pipeline.privacy.seal import JudgingInputs, seal
from qa_pipeline.scoring import Attribution, CallScore, score_call
from qa_pipeline.store.database import now

T = TypeVar("T")


class RunStage(Protocol):
    """Runs fn(*args) as stage `name`; `seconds` collects each stage's wall time for the call."""

    seconds: dict[str, float]

    def __call__(self, name: str, fn: Callable[..., T], *args: Any) -> T: ...


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run's logger inside a flow or task run (the UI shows its lines), else the package's."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("qa_pipeline.run")


@dataclass(frozen=True)
class CallSettings:
    """Every stage's own settings, taken from the scorecard and the run's options once per run."""

    scorecard_hash: str  # stored with each call: which scorecard judged it
    choice: ModelChoice | None = None  # the ASR model; None for transcripts made elsewhere
    input: InputSettings = field(default_factory=InputSettings)
    diarization: DiarizationSettings = field(default_factory=DiarizationSettings)
    # cpu_threads: the worker's share of the cores, for its ASR and its torch (0 = the libraries' default)
    asr: AsrSettings = field(default_factory=AsrSettings)
    prompt: str = ""  # the ASR prompt (asr.transcribe.call_prompt)
    verify: VerifySettings = field(default_factory=VerifySettings)  # phrase verification (asr.verify)
    organisations: tuple[str, ...] = ()
    roles: RoleSettings | None = None
    agent_channel: int = 0
    timing: TimingSettings = field(default_factory=TimingSettings)
    min_similarity: float = 0.85
    checking: CheckingSettings = field(default_factory=lambda: CheckingSettings(()))
    pass_score: float = 80.0
    min_judged_share: float = 0.0
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    salt: str | None = None  # the caller-number hash key (privacy.protect.caller_salt); None = not hashed
    # the key the checks' inputs are sealed with for re-judging (privacy.seal); None = not kept
    inputs_key: bytes | None = None

    @classmethod
    def of(
        cls,
        scorecard: Scorecard,
        choice: ModelChoice | None = None,
        agent_channel: int = 0,
        diarization: DiarizationSettings | None = None,
        asr: AsrSettings | None = None,
        salt: str | None = None,
        inputs_key: bytes | None = None,
    ) -> CallSettings:
        return cls(
            scorecard_hash=scorecard.sha256,
            choice=choice,
            input=scorecard.input,
            diarization=diarization or DiarizationSettings(),
            asr=asr or AsrSettings(),
            prompt=call_prompt(scorecard.organisations, scorecard.asr_prompt),
            verify=scorecard.verification(),
            organisations=scorecard.organisations,
            roles=scorecard.roles,
            agent_channel=agent_channel,
            timing=scorecard.timing,
            min_similarity=scorecard.min_similarity,
            checking=scorecard.checking(),
            pass_score=scorecard.pass_score,
            min_judged_share=scorecard.min_judged_share,
            privacy=scorecard.privacy,
            salt=salt,
            inputs_key=inputs_key,
        )

    def speaker_settings(self) -> dict[str, Any]:
        """The settings that change a call's stored rows besides model and scorecard (its fingerprint)."""
        return {
            "agent_channel": self.agent_channel,
            "diarization": self.diarization.resolved_backend(),
            "pyannote_pipeline": self.diarization.pipeline_source(),
            "salt": salt_id(self.salt),
        }

    @functools.cached_property
    def measure_inputs_hash(self) -> str:
        """A digest of the scorecard's settings that the stages up to measure read (input screening, the ASR
        prompt, phrase verification with the phrases it listens for, organisations, roles, [timing],
        min_similarity). A scorecard change that leaves it equal changes only verdicts: the call is re-judged
        from its kept inputs; one that changes it re-scores the call from its audio. Computed once per run's
        settings, not once per call."""
        document = {
            "input": dataclasses.asdict(self.input),
            "prompt": self.prompt,
            "verify": dataclasses.asdict(self.verify),
            "organisations": list(self.organisations),
            "roles": dataclasses.asdict(self.roles) if self.roles is not None else None,
            "timing": dataclasses.asdict(self.timing),
            "min_similarity": self.min_similarity,
        }
        encoded = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()

    def channel_of(self, job: CallJob) -> int:
        """The agent's channel: the call's metadata, else the run's --agent-channel."""
        return job.metadata.agent_channel if job.metadata.agent_channel is not None else self.agent_channel


class StageError(Exception):
    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage = stage
        self.error = error


@dataclass(frozen=True)
class CallFailure:
    """A call that could not be scored: the stage it stopped at and why."""

    job: CallJob
    stage: str
    error: str
    stage_s: dict[str, float] = field(default_factory=dict)  # the stages it went through, as ScoredCall's


class TimedStages:
    """Runs each stage as itself: its error becomes a StageError; its wall time is added to `seconds`.
    The flow's runner (run/flow.py) runs each as a Prefect task instead, by overriding `invoke`."""

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds: dict[str, float] = {} if seconds is None else seconds

    def invoke(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def __call__(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        try:
            return self.invoke(name, fn, *args)
        except Exception as error:  # one bad recording never stops the batch
            raise StageError(name, error) from error
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def failure_message(job: CallJob, error: BaseException) -> str:
    """The error as stored in `failures`: our own errors name the file already; anything unexpected
    (a library's bug, an out-of-memory) gets the file and the exception type in front."""
    message = str(error)
    if Path(job.audio_path).name in message:
        return message
    return f"{job.audio_path}: {type(error).__name__}: {message}"


# The stages, each a function of the call and its own settings.


def decode(job: CallJob) -> DecodedAudio:
    audio = decode_audio(job.audio_path)
    log = _log()
    log.info(
        "%s: decoded %s, %d ch, %d Hz, %.1f s",
        job.call_id,
        audio.codec,
        audio.channels,
        audio.source_sample_rate,
        audio.duration_s,
    )
    if audio.repaired_samples:
        log.warning(
            "%s: %d samples were not numbers (NaN or infinite) and were repaired", job.call_id, audio.repaired_samples
        )
    return audio


def screen(job: CallJob, audio: DecodedAudio, settings: InputSettings) -> Levels:
    """A recording too short to be a call, or a dead line, is a failure with the reason (audio.screening)."""
    levels = screen_audio(audio, settings)
    if levels.clipped_fraction >= 0.001:
        _log().warning("%s: %.1f%% of samples clipped at full scale", job.call_id, levels.clipped_fraction * 100)
    return levels


def diarize(job: CallJob, audio: DecodedAudio, settings: DiarizationSettings) -> Diarization | None:
    """Speaker turns of a mono recording (stereo needs none: one party per channel)."""
    if audio.channels != 1 or settings.resolved_backend() == "none":
        return None
    diarization = get_diarizer(settings)(audio.channel(0))
    log = _log()
    if settings.overlap.enabled:
        try:
            diarization = replace(diarization, overlaps=speech_overlaps(audio.channel(0), settings.overlap))
        except Exception as error:  # overtalk then abstains: the call is never lost for it
            log.warning("%s: overlapping speech not read (%s): interrupt_customer will abstain", job.call_id, error)
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


def transcribe(job: CallJob, audio: DecodedAudio, settings: CallSettings, turns: Diarization | None) -> Transcript:
    if settings.choice is None:
        raise ValueError("no ASR model chosen (CallSettings.choice)")
    transcript = build_transcript(
        audio,
        get_transcriber(settings.choice, settings.asr),
        agent_channel=settings.channel_of(job),
        prompt=settings.prompt,
        diarization=turns,
        organisations=settings.organisations,
        role_settings=settings.roles,
        direction=job.metadata.direction,
        verify=settings.verify,
    )
    _log().info(
        "%s: %d segments, diarization=%s%s",
        job.call_id,
        len(transcript.segments),
        transcript.diarization,
        f", roles: {transcript.role_note}" if transcript.role_note else "",
    )
    if transcript.verified:
        heard = ", ".join(f"{v.element} {v.phrase} ({v.probability:.2f})" for v in transcript.verified)
        _log().info("%s: heard in the audio, not in the transcript: %s", job.call_id, heard)
    return transcript


def measure(
    job: CallJob,
    audio: DecodedAudio | None,
    transcript: Transcript,
    settings: TimingSettings,
    agent_channel: int,
    min_similarity: float,
) -> Measures:
    """The call's timings (qa_pipeline.measures) with the scorecard's [timing] settings."""
    measures = measure_call(audio, transcript, job.metadata, settings, agent_channel, min_similarity)
    _log().info(
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


def check(job: CallJob, transcript: Transcript, measures: Measures, settings: CheckingSettings) -> Verdicts:
    verdicts = check_call(job, transcript, measures, settings)
    failed = [r.check_id for r in verdicts.results if r.applicable and not r.passed]
    _log().info(
        "%s: call type %s (%s), %d checks, failed: %s",
        job.call_id,
        verdicts.call_type.value,
        verdicts.call_type.source,
        len(verdicts.results),
        failed or "none",
    )
    return verdicts


def score(
    job: CallJob, verdicts: Verdicts, attribution: Attribution, pass_score: float, min_judged_share: float
) -> CallScore:
    result = score_call(verdicts.results, pass_score, attribution, min_judged_share)
    _log().info("%s: qa_score=%s qa_passed=%s", job.call_id, result.qa_score, result.qa_passed)
    return result


def redact(
    job: CallJob, scored: ScoredCall, settings: PrivacySettings, salt: str | None, inputs_key: bytes | None = None
) -> ScoredCall:
    """Personal data out of every text the call stores, in the process that scored it (privacy.protect);
    with a key, what the checks read is first sealed for re-judging (privacy.seal)."""
    if inputs_key is not None:
        inputs = JudgingInputs(scored.transcript, scored.measures, scored.audio, job)
        scored = replace(scored, sealed_inputs=seal(inputs, inputs_key))
    protected = protect_call(scored, settings, salt)
    kinds = Counter(redaction.kind for redaction in protected.redactions)
    masked = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    _log().info("%s: masked %s", job.call_id, masked or "nothing")  # counts and kinds, never text
    return protected


# The pipeline.


def process_call(job: CallJob, settings: CallSettings, run_stage: RunStage) -> ScoredCall:
    """One recording through every stage, each run by `run_stage`."""
    audio = run_stage("decode", decode, job)
    levels = run_stage("screen", screen, job, audio, settings.input)
    turns = run_stage("diarize", diarize, job, audio, settings.diarization)
    transcript = run_stage("transcribe", transcribe, job, audio, settings, turns)
    # tone, music or noise only: nothing to check
    run_stage("transcribe", require_speech, audio, [s.text for s in transcript.segments], levels)
    return judge_call(job, transcript, settings, run_stage, audio, AudioFacts.of(audio, levels))


def judge_call(
    job: CallJob,
    transcript: Transcript,
    settings: CallSettings,
    run_stage: RunStage,
    audio: DecodedAudio | None = None,
    facts: AudioFacts | None = None,
) -> ScoredCall:
    """A call whose transcript is made: measure, check, score and protect it (ready to store)."""
    channel = settings.channel_of(job)
    measures = run_stage("measure", measure, job, audio, transcript, settings.timing, channel, settings.min_similarity)
    return rejudge_call(job, JudgingInputs(transcript, measures, facts), settings, run_stage)


def rejudge_call(job: CallJob, inputs: JudgingInputs, settings: CallSettings, run_stage: RunStage) -> ScoredCall:
    """A measured call checked, scored and protected (ready to store): the second half of judge_call, and
    all of re-judging a call from the inputs kept when it was scored (run.rejudge)."""
    transcript, measures = inputs.transcript, inputs.measures
    verdicts = run_stage("check", check, job, transcript, measures, settings.checking)
    attribution = Attribution.of(transcript)
    call_score = run_stage("score", score, job, verdicts, attribution, settings.pass_score, settings.min_judged_share)
    scored = ScoredCall(
        job=job,
        audio=inputs.audio,
        transcript=transcript,
        measures=measures,
        verdicts=verdicts,
        score=call_score,
        scorecard_hash=settings.scorecard_hash,
        processed_at=now(),
        measure_inputs_hash=settings.measure_inputs_hash,
        stage_s=run_stage.seconds,  # the same dict: the redact stage's seconds land in it too
    )
    return run_stage("redact", redact, job, scored, settings.privacy, settings.salt, settings.inputs_key)


def score_transcript(
    job: CallJob,
    transcript: Transcript,
    scorecard: Scorecard,
    audio: DecodedAudio | None = None,
    facts: AudioFacts | None = None,
    agent_channel: int = 0,
    salt: str | None = None,
) -> ScoredCall:
    """`judge_call` with the scorecard's settings and plain stages: a transcript made elsewhere, and the
    benchmarks."""
    settings = CallSettings.of(scorecard, agent_channel=agent_channel, salt=salt)
    return judge_call(job, transcript, settings, TimedStages(), audio, facts)
