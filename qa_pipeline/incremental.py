"""Which recordings a run has to score: the ones not already scored from the same inputs.

A call is scored from its audio, the ASR model, the scorecard, its metadata row and the run's
speaker settings. Their digest (`fingerprint`) is stored with the call (calls.input_fingerprint); a
later run skips a call whose stored fingerprint matches and re-scores it when any input changed, saying
which. `--force` re-scores everything. Hashing a recording reads it once (about 1 MB per minute of
call audio), a small cost next to transcribing it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from qa_pipeline.calls import CallJob


@dataclass(frozen=True)
class ScoringInputs:
    """What a call's scores depend on, besides the code."""

    audio_sha256: str
    asr_model: str  # calls.asr_model label: model and precision (whisper-base(embedded)/int8)
    scorecard_hash: str
    settings: Mapping[str, Any]  # speaker settings of the run: diarization backend, agent channel

    def fingerprint(self, job: CallJob) -> str:
        # `row` is where the metadata sits in the CSV, not what it says: moving a row changes nothing.
        metadata = {k: v for k, v in dataclasses.asdict(job.metadata).items() if k != "row"}
        document = {
            "audio_sha256": self.audio_sha256,
            "asr_model": self.asr_model,
            "scorecard_hash": self.scorecard_hash,
            "metadata": metadata,
            "settings": dict(self.settings),
        }
        encoded = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredCall:
    """What the database holds for a call already scored (storage.QaDatabase.stored_calls)."""

    audio_sha256: str | None
    asr_model: str
    scorecard_hash: str | None
    input_fingerprint: str | None


def rescore_reason(
    inputs: ScoringInputs, fingerprint: str, stored: StoredCall | None, force: bool, failed_before: bool = False
) -> str | None:
    """Why the call must be scored (None: unchanged, skip it). A recording whose last attempt failed is
    always tried again: the failure may have been the file share's, or the file was fixed."""
    if failed_before:  # even a call scored earlier: its open failure is closed only by scoring it again
        return "failed before"
    if stored is None:
        return "new"
    if force:
        return "forced"
    if stored.input_fingerprint == fingerprint:
        return None
    if stored.audio_sha256 != inputs.audio_sha256:
        return "audio changed"
    if stored.asr_model != inputs.asr_model:
        return "model changed"
    if stored.scorecard_hash != inputs.scorecard_hash:
        return "scorecard changed"
    if stored.input_fingerprint is None:
        return "scored before fingerprints were kept"
    return "metadata or settings changed"


@dataclass
class Plan:
    """The run's jobs split into those to score (with the reason) and those left as they are."""

    to_score: list[tuple[CallJob, str]] = dataclasses.field(default_factory=list)
    unchanged: list[CallJob] = dataclasses.field(default_factory=list)

    def reasons(self) -> dict[str, int]:
        """How many calls are scored for each reason (for the log and the run summary)."""
        counts: dict[str, int] = {}
        for _, reason in self.to_score:
            counts[reason] = counts.get(reason, 0) + 1
        return counts


def plan_batch(
    jobs: Iterable[tuple[CallJob, ScoringInputs]],
    stored: Mapping[str, StoredCall],
    force: bool = False,
    failed_paths: Collection[str] = (),
) -> Plan:
    """Split hashed jobs into to-score and unchanged; every job to score carries its fingerprint.
    failed_paths: audio paths whose latest attempt failed (the open_failures view)."""
    plan = Plan()
    for job, inputs in jobs:
        fingerprint = inputs.fingerprint(job)
        failed_before = job.audio_path in failed_paths
        reason = rescore_reason(inputs, fingerprint, stored.get(job.call_id), force, failed_before)
        if reason is None:
            plan.unchanged.append(job)
        else:
            plan.to_score.append((dataclasses.replace(job, fingerprint=fingerprint), reason))
    return plan
