"""Who is speaking: one party per channel on stereo recordings, 'unknown' on mono.

Stereo call recordings put the agent's line on one channel and the customer's on the other, so the
channel *is* the speaker (diarization='channel'). Mono recordings mix both parties; until mono
diarization exists every mono segment is 'unknown' (diarization='none') and checks that need a
speaker report themselves not applicable instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa_pipeline.asr.transcribe import PROMPT, RegionText, Transcriber
from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.asr.vad import VadSettings, speech_regions
from qa_pipeline.audio import DecodedAudio


@dataclass(frozen=True)
class SpeakerStreams:
    """The audio stream of each speaker label, and how they were separated."""

    streams: dict[str, np.ndarray]
    diarization: str


class ChannelError(ValueError):
    pass


def split_speakers(audio: DecodedAudio, agent_channel: int = 0) -> SpeakerStreams:
    if audio.channels == 1:
        return SpeakerStreams({"unknown": audio.channel(0)}, "none")
    if not 0 <= agent_channel < audio.channels:
        raise ChannelError(f"agent channel {agent_channel} does not exist ({audio.channels} channels)")
    others = [audio.channel(i) for i in range(audio.channels) if i != agent_channel]
    # With more than two channels (conference legs), every non-agent channel is the customer side.
    customer = others[0] if len(others) == 1 else np.mean(others, axis=0).astype(np.float32)
    return SpeakerStreams({"agent": audio.channel(agent_channel), "customer": customer}, "channel")


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


def build_transcript(
    audio: DecodedAudio,
    transcriber: Transcriber,
    agent_channel: int = 0,
    vad_settings: VadSettings | None = None,
    prompt: str = PROMPT,
) -> Transcript:
    """VAD each speaker stream, transcribe only its speech, merge the segments in time order."""
    split = split_speakers(audio, agent_channel)
    segments: list[Segment] = []
    regions_by_speaker: dict[str, tuple[tuple[float, float], ...]] = {}
    for speaker, samples in split.streams.items():
        regions = speech_regions(samples, vad_settings)
        regions_by_speaker[speaker] = tuple((r.start_s, r.end_s) for r in regions)
        segments.extend(_segments(speaker, transcriber.transcribe_regions(samples, regions, prompt)))
    segments.sort(key=lambda s: (s.start_s, s.end_s, s.speaker))
    return Transcript(
        segments=tuple(segments),
        diarization=split.diarization,
        asr_model=transcriber.choice.label,
        speech_regions=regions_by_speaker,
    )
