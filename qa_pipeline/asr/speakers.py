"""Who is speaking: one party per channel on stereo recordings, diarized turns on mono.

Stereo call recordings put the agent's line on one channel and the customer's on the other, so the
channel *is* the speaker (diarization='channel'). Mono recordings mix both parties: the mono channel is
transcribed as one stream, a diarizer (qa_pipeline.asr.diarize) finds the speaker turns, every word goes
to the turn it overlaps most (a segment is split where the speaker changes mid-sentence), and role
assignment (qa_pipeline.asr.roles) says which speaker is the agent. Without a diarizer, or when the
roles cannot be told apart, mono segments stay 'unknown' and checks that need a speaker report
themselves not applicable instead of guessing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from qa_pipeline.asr.diarize import Diarization, SpeakerTurn
from qa_pipeline.asr.roles import RoleAssignment, RoleSettings, assign_roles
from qa_pipeline.asr.transcribe import PROMPT, RegionText, Transcriber
from qa_pipeline.asr.transcript import Segment, Transcript, Turn, Word
from qa_pipeline.asr.vad import VadSettings, voice_activity
from qa_pipeline.asr.verify import PhraseVerifier, VerifySettings, verify_expected
from qa_pipeline.audio.channels import split_speakers
from qa_pipeline.audio.decode import DecodedAudio

_log = logging.getLogger(__name__)


def _segments(speaker: str, region_texts: list[RegionText]) -> list[Segment]:
    return [
        Segment(
            speaker=speaker,
            start_s=round(rt.region.start_s, 3),
            end_s=round(rt.region.end_s, 3),
            text=rt.text,
            confidence=rt.confidence,
            words=rt.words,
        )
        for rt in region_texts
    ]


def _overlap(start_a: float, end_a: float, start_b: float, end_b: float) -> float:
    return max(0.0, min(end_a, end_b) - max(start_a, start_b))


def speaker_at(start_s: float, end_s: float, turns: Sequence[SpeakerTurn]) -> str | None:
    """The label whose turns overlap start_s..end_s most; the nearest turn's when none overlaps."""
    if not turns:
        return None
    totals: dict[str, float] = {}
    for turn in turns:
        overlap = _overlap(start_s, end_s, turn.start_s, turn.end_s)
        if overlap > 0:
            totals[turn.speaker] = totals.get(turn.speaker, 0.0) + overlap
    if totals:
        return max(totals, key=lambda label: totals[label])
    middle = (start_s + end_s) / 2
    nearest = min(turns, key=lambda t: min(abs(middle - t.start_s), abs(middle - t.end_s)))
    return nearest.speaker


def attribute_words(segments: Sequence[Segment], turns: Sequence[SpeakerTurn]) -> list[Segment]:
    """Give each word the speaker turn it overlaps most and split segments where the speaker changes.

    A lone short word (< 0.3 s) between two words of the same other speaker keeps their speaker: a
    turn boundary a few frames off must not cut one character out of a sentence.
    """
    result: list[Segment] = []
    for segment in segments:
        if not segment.words:
            label = speaker_at(segment.start_s, segment.end_s, turns) or segment.speaker
            result.append(Segment(label, segment.start_s, segment.end_s, segment.text, segment.confidence, ()))
            continue
        labels = [speaker_at(w.start_s, w.end_s, turns) or segment.speaker for w in segment.words]
        for i in range(1, len(labels) - 1):
            word = segment.words[i]
            if labels[i - 1] == labels[i + 1] != labels[i] and word.end_s - word.start_s < 0.3:
                labels[i] = labels[i - 1]
        runs: list[tuple[str, list[Word]]] = []
        for label, word in zip(labels, segment.words, strict=True):
            if runs and runs[-1][0] == label:
                runs[-1][1].append(word)
            else:
                runs.append((label, [word]))
        for index, (label, words) in enumerate(runs):
            start = segment.start_s if index == 0 else words[0].start_s
            end = segment.end_s if index == len(runs) - 1 else words[-1].end_s
            result.append(Segment(label, start, end, "".join(w.text for w in words), segment.confidence, tuple(words)))
    return result


def label_roles(
    segments: Sequence[Segment],
    organisations: Sequence[str] = (),
    settings: RoleSettings | None = None,
    direction: str | None = None,
) -> tuple[list[Segment], RoleAssignment]:
    """Diarization labels -> agent/customer by what each speaker says; all 'unknown' when unclear."""
    texts: dict[str, str] = {}
    for segment in sorted(segments, key=lambda s: s.start_s):
        texts[segment.speaker] = texts.get(segment.speaker, "") + segment.text
    first = min(segments, key=lambda s: s.start_s).speaker if segments else None
    assignment = assign_roles(texts, first, organisations, settings, direction)
    roles = assignment.roles
    relabelled = [
        Segment(roles.get(s.speaker, "unknown"), s.start_s, s.end_s, s.text, s.confidence, s.words) for s in segments
    ]
    return relabelled, assignment


def build_transcript(
    audio: DecodedAudio,
    transcriber: Transcriber,
    agent_channel: int = 0,
    vad_settings: VadSettings | None = None,
    prompt: str = PROMPT,
    diarization: Diarization | None = None,
    organisations: Sequence[str] = (),
    role_settings: RoleSettings | None = None,
    direction: str | None = None,
    verify: VerifySettings | None = None,
) -> Transcript:
    """VAD each speaker stream, transcribe only its speech, merge the segments in time order.

    On a mono recording with a `diarization`, the words are attributed to its turns and the turns to roles.
    With `verify`, the agent's opening and closing are checked against the audio for the expected phrases
    the transcript lacks (asr.verify; `Transcript.verified`).
    """
    split = split_speakers(audio, agent_channel)
    segments: list[Segment] = []
    regions_by_speaker: dict[str, tuple[tuple[float, float], ...]] = {}
    for speaker, samples in split.streams.items():
        # The ASR decodes the padded regions; the measures read where speech really starts and stops.
        activity = voice_activity(samples, vad_settings)
        regions_by_speaker[speaker] = tuple((r.start_s, r.end_s) for r in activity.edges)
        segments.extend(_segments(speaker, transcriber.transcribe_regions(samples, activity.regions, prompt)))
    segments.sort(key=lambda s: (s.start_s, s.end_s, s.speaker))
    if split.diarization != "none" or diarization is None:
        transcript = Transcript(
            segments=tuple(segments),
            diarization=split.diarization,
            asr_model=transcriber.choice.label,
            speech_regions=regions_by_speaker,
        )
    else:
        transcript = diarized_transcript(
            segments, diarization, transcriber.choice.label, regions_by_speaker, organisations, role_settings, direction
        )
    if verify is None or not verify.enabled or not verify.expected or not transcript.has_speakers:
        return transcript
    agent = [s for s in transcript.by_speaker("agent") if s.text]
    # Verification is an extra the call can be scored without: its failure must never lose the call.
    try:
        verified = verify_expected(agent, split.streams, PhraseVerifier(transcriber, prompt), verify)
    except Exception as error:
        _log.warning("phrase verification skipped: %s: %s", type(error).__name__, error)
        return transcript
    return replace(transcript, verified=verified) if verified else transcript


def diarized_transcript(
    segments: Sequence[Segment],
    diarization: Diarization,
    asr_model: str,
    regions_by_speaker: dict[str, tuple[tuple[float, float], ...]] | None = None,
    organisations: Sequence[str] = (),
    role_settings: RoleSettings | None = None,
    direction: str | None = None,
) -> Transcript:
    """A mono transcript's segments + speaker turns -> agent/customer segments (or 'unknown' ones)."""
    attributed = attribute_words(segments, diarization.turns)
    labelled, assignment = label_roles(attributed, organisations, role_settings, direction)
    note = assignment.reason
    if diarization.low_confidence:
        note = f"diarization confidence {diarization.confidence:.2f} is low ({diarization.num_speakers} voices); {note}"
    regions = dict(regions_by_speaker or {})
    if assignment.assigned:
        # Speech regions per role, from the turns (the measure stage reads talk time from them).
        for role in ("agent", "customer"):
            labels = {label for label, r in assignment.roles.items() if r == role}
            regions[role] = tuple((t.start_s, t.end_s) for t in diarization.turns if t.speaker in labels)
    return Transcript(
        segments=tuple(sorted(labelled, key=lambda s: (s.start_s, s.end_s, s.speaker))),
        diarization=diarization.backend,
        asr_model=asr_model,
        speech_regions=regions,
        diarization_confidence=round(diarization.confidence, 3),
        role_confidence=assignment.confidence,
        speakers_found=diarization.num_speakers,
        role_note=note,
        turns=tuple(
            Turn(t.start_s, t.end_s, t.speaker, assignment.roles.get(t.speaker, "unknown")) for t in diarization.turns
        ),
        overlaps=diarization.overlaps,
    )
