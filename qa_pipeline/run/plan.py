"""Which call each recording is, and which recordings a run has to score.

Identity (`resolve_recordings`): the same audio is the same call, wherever its file now lies; a
different recording is a different call unless its metadata row names the call. A call's id is its
metadata `call_id`, else its path under the input directory without the extension. With one folder per
day, `day1/rec_0001.wav` and next night's `rec_0001.wav` under `day2/` get the same name-made id; the
second is a different recording, so it gets the id with the first 8 hex digits of its audio's sha256
added (`rec_0001-3fa2b9c0`) and both calls are kept. A file moved after it was scored (into an archive
folder) keeps its call: its stored path is updated, and it is not scored again when nothing else changed.
A second file with audio already stored is a duplicate, listed in `recording_files`, never a second call.

A call is scored from its audio, the ASR model, the scorecard, its metadata row and the run's
speaker settings. The digest of what its transcript and measures depend on (`fingerprint`: the scorecard
only through its settings up to the measure stage) is stored with the call (calls.input_fingerprint),
and the whole scorecard's hash beside it. A later run skips a call when both match; when only the
scorecard's other settings changed (a phrase, a weight, a threshold, the pass mark) it re-judges the call
from the inputs kept sealed when it was scored (REJUDGE, run.rejudge); when anything else changed it
re-scores it from the audio, saying which input. `--force` re-scores everything. Hashing a recording
reads it once (about 1 MB per minute of call audio), a small cost next to transcribing it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.intake.files import file_sha256, readable_path
from qa_pipeline.run.call import CallSettings
from qa_pipeline.store.database import QaDatabase, StoredCall


@dataclass(frozen=True)
class ScoringInputs:
    """What a call's scores depend on, besides the code."""

    audio_sha256: str
    asr_model: str  # calls.asr_model label: model and precision (whisper-base(embedded)/int8)
    scorecard_hash: str
    settings: Mapping[str, Any]  # speaker settings of the run: diarization backend, agent channel
    # the scorecard's settings up to the measure stage (CallSettings.measure_inputs_hash); "" = the whole
    # scorecard counts (then any scorecard change re-scores)
    measure_inputs_hash: str = ""

    def fingerprint(self, job: CallJob) -> str:
        """What the call's transcript and measures depend on. The rest of the scorecard (checks, weights,
        the pass mark) is not in it: a change there re-judges the call (`rescore_reason`: REJUDGE)."""
        # `row` is where the metadata sits in the CSV, not what it says: moving a row changes nothing; nor
        # does moving the file (`audio_file`): the call's scores do not depend on where its file lies.
        return self._digest(job, ("row", "audio_file"), self.measure_inputs_hash or self.scorecard_hash)

    def legacy_fingerprints(self, job: CallJob) -> tuple[str, ...]:
        """The fingerprint as earlier versions made it, with the whole scorecard's hash (and, before moved
        files were recognised, the file's path): a call stored with one is unchanged while the scorecard is,
        so an upgrade does not re-score a whole database."""
        return (
            self._digest(job, ("row", "audio_file"), self.scorecard_hash),
            self._digest(job, ("row",), self.scorecard_hash),
        )

    def _digest(self, job: CallJob, left_out: tuple[str, ...], scorecard_part: str) -> str:
        metadata = {k: v for k, v in dataclasses.asdict(job.metadata).items() if k not in left_out}
        document = {
            "audio_sha256": self.audio_sha256,
            "asr_model": self.asr_model,
            "scorecard_hash": scorecard_part,
            "metadata": metadata,
            "settings": dict(self.settings),
        }
        encoded = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


# The reason given for a call whose transcript and measures still hold and whose verdicts do not.
REJUDGE = "scorecard changed: re-judged"


def rescore_reason(
    inputs: ScoringInputs,
    fingerprint: str,
    stored: StoredCall | None,
    force: bool,
    failed_before: bool = False,
    legacy_fingerprints: Collection[str] = (),
) -> str | None:
    """Why the call must be scored (None: unchanged, skip it; REJUDGE: only its verdicts must be made again,
    from the inputs kept when it was scored). A recording whose last attempt failed is always tried again:
    the failure may have been the file share's, or the file was fixed."""
    if failed_before:  # even a call scored earlier: its open failure is closed only by scoring it again
        return "failed before"
    if stored is None:
        return "new"
    if force:
        return "forced"
    same_scorecard = stored.scorecard_hash == inputs.scorecard_hash
    if stored.input_fingerprint is not None:
        if stored.input_fingerprint == fingerprint:
            if same_scorecard:
                return None
            return REJUDGE if stored.has_inputs else "scorecard changed (no inputs kept to re-judge from)"
        if same_scorecard and stored.input_fingerprint in legacy_fingerprints:
            return None
    if stored.audio_sha256 != inputs.audio_sha256:
        return "audio changed"
    if stored.asr_model != inputs.asr_model:
        return "model changed"
    if not same_scorecard:
        return "scorecard changed"
    if stored.input_fingerprint is None:
        return "scored before fingerprints were kept"
    return "metadata or settings changed"


@dataclass
class Plan:
    """The run's jobs split into those to score (with the reason), those to re-judge and those left as they
    are."""

    to_score: list[tuple[CallJob, str]] = dataclasses.field(default_factory=list)
    to_rejudge: list[CallJob] = dataclasses.field(default_factory=list)
    unchanged: list[CallJob] = dataclasses.field(default_factory=list)

    def reasons(self) -> dict[str, int]:
        """How many calls are scored (or re-judged) for each reason (for the log and the run summary)."""
        counts: dict[str, int] = {REJUDGE: len(self.to_rejudge)} if self.to_rejudge else {}
        for _, reason in self.to_score:
            counts[reason] = counts.get(reason, 0) + 1
        return counts


def plan_batch(
    jobs: Iterable[tuple[CallJob, ScoringInputs]],
    stored: Mapping[str, StoredCall],
    force: bool = False,
    failed_paths: Collection[str] = (),
) -> Plan:
    """Split hashed jobs into to-score, to-re-judge and unchanged; every job to score or re-judge carries its
    fingerprint. failed_paths: audio paths whose latest attempt failed (the open_failures view)."""
    plan = Plan()
    for job, inputs in jobs:
        fingerprint = inputs.fingerprint(job)
        failed_before = job.audio_path in failed_paths
        reason = rescore_reason(
            inputs, fingerprint, stored.get(job.call_id), force, failed_before, inputs.legacy_fingerprints(job)
        )
        if reason is None:
            plan.unchanged.append(job)
        elif reason == REJUDGE:
            plan.to_rejudge.append(dataclasses.replace(job, fingerprint=fingerprint))
        else:
            plan.to_score.append((dataclasses.replace(job, fingerprint=fingerprint), reason))
    return plan


# -- which call a recording is ----------------------------------------------------------------------------

# Hex digits of the audio's sha256 added to a name-made call id already taken by another recording: 8 make
# a clash between two recordings of one name one in four billion; a longer suffix is used if it happens.
ID_SUFFIX_HEX = 8


@dataclass(frozen=True)
class Duplicate:
    """A file whose audio is scored as another file's call: listed in recording_files, not scored again."""

    job: CallJob  # the file as discovered (its call_id is the id it would have had)
    scored_as: str  # the call_id its audio is scored (or stored) as
    scored_path: str  # the file scored for it
    audio_sha256: str


@dataclass
class Resolution:
    """The batch's recordings, one job per call with its id settled, and what the log must say."""

    jobs: list[tuple[CallJob, ScoringInputs]] = dataclasses.field(default_factory=list)
    duplicates: list[Duplicate] = dataclasses.field(default_factory=list)
    moved: list[tuple[CallJob, str]] = dataclasses.field(default_factory=list)  # (job, path it was stored from)
    # Decisions an operator must hear of (an id given a suffix, a call replaced because its metadata
    # call_id now names other audio): logged as warnings, one line each, with the paths.
    notices: list[str] = dataclasses.field(default_factory=list)


StoredLookup = Callable[[str], "StoredCall | None"]


def resolve_recordings(
    hashed: Iterable[tuple[CallJob, ScoringInputs]],
    stored_call: StoredLookup,
    stored_by_audio: Mapping[str, list[tuple[str, str]]],
    file_holds: Callable[[str, str], bool],
    shown: Callable[[str], str] = str,
) -> Resolution:
    """Settle each recording's call (see the module docstring).

    stored_call: what is stored under a call_id (None: nothing); stored_by_audio: sha256 -> [(call_id,
    audio_path)] of the calls stored with that audio; file_holds(path, sha256): whether the file at a
    stored path still holds that audio (a moved recording's old path does not); shown: a path as the
    database stores it."""
    hashed = list(hashed)
    resolution = Resolution()
    by_audio: dict[str, list[tuple[CallJob, ScoringInputs]]] = defaultdict(list)
    for job, inputs in hashed:
        by_audio[inputs.audio_sha256].append((job, inputs))
    kept: dict[int, tuple[CallJob, ScoringInputs]] = {}  # by the discovered job's identity, in batch order
    for sha256, group in by_audio.items():
        if sha256 in stored_by_audio:
            _resolve_stored_audio(group, sha256, stored_by_audio[sha256], file_holds, shown, resolution, kept)
            continue
        first, *others = sorted(group, key=_preferred)
        job, inputs = first
        settled = _unclaimed_id(job, sha256, stored_call, shown, resolution)
        kept[id(job)] = (dataclasses.replace(job, call_id=settled), inputs)
        resolution.duplicates += [Duplicate(copy, settled, job.audio_path, sha256) for copy, _ in others]
    resolution.jobs = [kept[id(job)] for job, _ in hashed if id(job) in kept]
    return resolution


def _preferred(item: tuple[CallJob, ScoringInputs]) -> tuple[bool, str]:
    """Which of several files holding one audio carries its call: one with a metadata row first (it has the
    call's facts), then the first by path."""
    return item[0].metadata.row is None, item[0].relative_path


def _resolve_stored_audio(
    group: list[tuple[CallJob, ScoringInputs]],
    sha256: str,
    stored: list[tuple[str, str]],
    file_holds: Callable[[str, str], bool],
    shown: Callable[[str], str],
    resolution: Resolution,
    kept: dict[int, tuple[CallJob, ScoringInputs]],
) -> None:
    """Files whose audio is stored as a call already: the file at the stored path (or, when that file is
    gone, the one it moved to) stays that call; every other file is a duplicate of it. (A database written
    before copies were recognised across runs may hold the audio twice: the call of a file in this batch
    is the one kept.)"""
    paths = {shown(job.audio_path) for job, _ in group}
    call_id, stored_path = next((entry for entry in stored if entry[1] in paths), stored[0])
    at_stored_path = [item for item in group if shown(item[0].audio_path) == stored_path]
    if at_stored_path:
        chosen: tuple[CallJob, ScoringInputs] | None = at_stored_path[0]
    elif not file_holds(stored_path, sha256):
        chosen = min(group, key=_preferred)
    else:
        chosen = None  # the stored file is still there: these are copies of it
    for job, inputs in group:
        if chosen is not None and job is chosen[0]:
            named = job.metadata.call_id
            if named is not None and named != call_id:
                # The metadata now names this audio differently: the audio is scored once, under the id it
                # was first stored with (its reviews hang on it).
                resolution.notices.append(
                    f"{shown(job.audio_path)}: metadata call_id {named!r} names audio already stored as call"
                    f" {call_id!r}; kept as {call_id!r}"
                )
            settled = dataclasses.replace(job, call_id=call_id)
            kept[id(job)] = (settled, inputs)
            if shown(job.audio_path) != stored_path:
                resolution.moved.append((settled, stored_path))
        else:
            scored_path = chosen[0].audio_path if chosen is not None else stored_path
            resolution.duplicates.append(Duplicate(job, call_id, scored_path, sha256))


def _unclaimed_id(
    job: CallJob, sha256: str, stored_call: StoredLookup, shown: Callable[[str], str], resolution: Resolution
) -> str:
    """The call_id for new audio: its own, unless that id is stored with other audio. A metadata call_id
    is the center's word that this is that call (its audio replaced, said loudly); an id made from the
    file name is only a name, so another recording of that name becomes a call of its own."""
    stored = stored_call(job.call_id)
    if stored is None or stored.audio_sha256 == sha256:
        return job.call_id
    was = stored.audio_path or "another recording"
    if job.metadata.call_id is not None:
        resolution.notices.append(
            f"{shown(job.audio_path)}: metadata call_id {job.call_id!r} names other audio than the call stored"
            f" from {was}; re-scored from this file, replacing it"
        )
        return job.call_id
    for digits in range(ID_SUFFIX_HEX, len(sha256) + 1, 8):
        candidate = f"{job.call_id}-{sha256[:digits]}"
        clash = stored_call(candidate)
        if clash is None or clash.audio_sha256 == sha256:
            break
    resolution.notices.append(
        f"{shown(job.audio_path)}: call id {job.call_id!r} is taken by a different recording ({was});"
        f" scored as {candidate!r}"
    )
    return candidate


def hash_jobs(
    jobs: list[CallJob], settings: CallSettings
) -> tuple[list[tuple[CallJob, ScoringInputs]], list[tuple[CallJob, str]]]:
    """Each job with what it would be scored from; a file that cannot be read is a failure (stage read)."""
    if settings.choice is None:
        raise ValueError("hash_jobs needs the run's ASR model (CallSettings.choice)")
    model = settings.choice.label
    hashed: list[tuple[CallJob, ScoringInputs]] = []
    unreadable: list[tuple[CallJob, str]] = []
    speaker_settings = settings.speaker_settings()
    measure_hash = settings.measure_inputs_hash
    for job in jobs:
        try:
            sha256 = file_sha256(job.audio_path)
        except OSError as error:
            unreadable.append((job, f"{job.audio_path}: cannot read: {error.strerror or error}"))
            continue
        inputs = ScoringInputs(sha256, model, settings.scorecard_hash, speaker_settings, measure_hash)
        hashed.append((job, inputs))
    return hashed, unreadable


def resolve_batch(db: QaDatabase, hashed: list[tuple[CallJob, ScoringInputs]]) -> Resolution:
    """Which call each hashed recording is (resolve_recordings), from what the database holds."""
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
