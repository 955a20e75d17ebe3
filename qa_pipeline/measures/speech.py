"""Who speaks when: the call's speech regions per speaker and each party's utterances, shared by the measures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.measures.acoustics import Region


def speech_regions(transcript: Transcript) -> dict[str, tuple[Region, ...]]:
    """Speech regions per speaker: the VAD's, or the segments' own times for a transcript from a file."""
    if transcript.speech_regions:
        return {speaker: tuple(regions) for speaker, regions in transcript.speech_regions.items()}
    regions: dict[str, list[Region]] = {}
    for segment in transcript.segments:
        regions.setdefault(segment.speaker, []).append((segment.start_s, segment.end_s))
    return {speaker: tuple(found) for speaker, found in regions.items()}


@dataclass(frozen=True)
class Speech:
    """The call's speech: regions per speaker, the first and last speech over all of them, and, when the
    transcript knows who spoke (`speakers`), the agent's and the customer's utterances that have words."""

    regions: Mapping[str, tuple[Region, ...]]
    first_s: float | None
    end_s: float | None
    speakers: bool
    agent: tuple[Segment, ...]
    customer: tuple[Segment, ...]

    @classmethod
    def of(cls, transcript: Transcript) -> Speech:
        regions = speech_regions(transcript)
        every = [region for found in regions.values() for region in found]
        speakers = transcript.has_speakers
        return cls(
            regions=regions,
            first_s=min((start for start, _ in every), default=None),
            end_s=max((end for _, end in every), default=None),
            speakers=speakers,
            agent=tuple(s for s in transcript.by_speaker("agent") if s.text) if speakers else (),
            customer=tuple(s for s in transcript.by_speaker("customer") if s.text) if speakers else (),
        )
