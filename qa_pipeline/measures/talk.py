"""Talk, silence and hold: from the VAD speech regions of every channel (the segments' times for a transcript
from a file). A silence right after an agent utterance announcing a hold (请您稍等) is a hold, not dead air.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.measures import acoustics
from qa_pipeline.measures.acoustics import Region
from qa_pipeline.measures.record import Silence
from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.measures.speech import Speech
from qa_pipeline.text.matching import find_any


def clipped_total(regions: Sequence[Region], start_s: float, end_s: float) -> float:
    """Seconds of `regions` (overlaps counted once) between start_s and end_s."""
    merged = acoustics.merged(regions)
    return sum(max(0.0, min(end, end_s) - max(start, start_s)) for start, end in merged)


def hold_notice(
    speaker_segments: Sequence[Segment], silence_start_s: float, settings: TimingSettings, min_similarity: float
) -> str | None:
    """The hold phrase of the utterance that ended at most hold_notice_within_s before the silence, if any."""
    for segment in reversed(speaker_segments):
        # An utterance's times are its padded ASR region's, so it may end a little after the silence
        # (measured on the speech's unpadded edges) begins: what starts before the silence precedes it.
        if segment.start_s >= silence_start_s:
            continue
        if segment.end_s < silence_start_s - settings.hold_notice_within_s:
            return None
        match = find_any(segment.text, settings.hold_phrases, min_similarity)
        if match is not None:
            return match.phrase
    return None


@dataclass(frozen=True)
class Talk:
    """The talk-time measures of Measures; None when nobody spoke (or, per party, when nobody knows who did)."""

    talk_s: float | None = None  # answer -> end of the last speech
    silence_s: float | None = None
    silences: tuple[Silence, ...] = ()  # at least TimingSettings.min_silence_s long
    hold_s: float | None = None
    agent_talk_s: float | None = None
    customer_talk_s: float | None = None
    agent_talk_ratio: float | None = None


def measure_talk(
    speech: Speech, transcript: Transcript, answer_s: float, settings: TimingSettings, min_similarity: float
) -> Talk:
    """Talk, silences and holds between the answer and the end of the last speech."""
    speech_end = speech.end_s
    if speech_end is None:
        return Talk()
    regions = speech.regions
    talk_s = round(max(0.0, speech_end - answer_s), 3)
    gaps = acoustics.silences(regions, answer_s, speech_end, 0.0)
    silence_s = round(sum(end - start for start, end in gaps), 3)
    notice_segments = speech.agent if speech.speakers else [s for s in transcript.segments if s.text]
    listed: list[Silence] = []
    for start, end in gaps:
        if end - start >= settings.min_silence_s:
            notice = hold_notice(notice_segments, start, settings, min_similarity)
            listed.append(Silence(round(start, 3), round(end, 3), notice))
    hold_s = round(sum(s.duration_s for s in listed if s.is_hold), 3)
    agent_talk = customer_talk = ratio = None
    if speech.speakers:
        agent_talk = round(clipped_total(regions.get("agent", ()), answer_s, speech_end), 3)
        customer_talk = round(clipped_total(regions.get("customer", ()), answer_s, speech_end), 3)
        if agent_talk + customer_talk > 0:
            ratio = round(agent_talk / (agent_talk + customer_talk), 3)
    return Talk(talk_s, silence_s, tuple(listed), hold_s, agent_talk, customer_talk, ratio)
