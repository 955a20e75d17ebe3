"""The agent talking over the customer (不打断客户): needs each party on its own channel, since a mixed channel
hides who started while the other spoke. Backchannels (嗯, 对, 好的…) said over the customer are listening.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.measures import acoustics
from qa_pipeline.measures.acoustics import Region
from qa_pipeline.measures.record import Overtalk
from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.text.matching import spoken_chars


def is_backchannel(text: str, backchannels: Sequence[str]) -> bool:
    """Made only of backchannel words (嗯, 对, 好的…): listening, not taking the turn."""
    rest = spoken_chars(text)
    if not rest:
        return False
    words = sorted((spoken_chars(word) for word in backchannels), key=len, reverse=True)
    while rest:
        word = next((w for w in words if w and rest.startswith(w)), None)
        if word is None:
            return False
        rest = rest[len(word) :]
    return True


def measure_overtalk(
    transcript: Transcript, regions: Mapping[str, Sequence[Region]], settings: TimingSettings
) -> tuple[Overtalk, ...] | None:
    """The agent's interruptions in time order; None when overlap cannot be measured (no separate channels)."""
    if transcript.diarization not in ("channel", "external") or "agent" not in regions or "customer" not in regions:
        return None
    found = []
    for overlap in acoustics.overlaps(regions["agent"], regions["customer"], settings.min_overlap_s):
        text = transcript.text_during("agent", *overlap.agent_region)
        if text and not is_backchannel(text, settings.backchannels):
            found.append(Overtalk(round(overlap.start_s, 3), round(overlap.end_s, 3), text))
    return tuple(found)
