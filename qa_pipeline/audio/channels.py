"""Which stream is whose on a stereo recording: one party per channel (the agent's line on one, the
customer's on the other, conference legs averaged into the customer side); a mono recording is one
'unknown' stream until diarization splits it (qa_pipeline.asr)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa_pipeline.audio.decode import DecodedAudio, mean_rows


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
    # With more than two channels (conference legs), every non-agent channel is the customer side (their mean:
    # in a spool file, made a block at a time, on a long recording).
    customer = others[0] if len(others) == 1 else mean_rows(others)
    return SpeakerStreams({"agent": audio.channel(agent_channel), "customer": customer}, "channel")
