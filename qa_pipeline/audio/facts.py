"""What the decoder and the screen say about a recording, as stored with its call."""

from __future__ import annotations

from dataclasses import dataclass

from qa_pipeline.audio.decode import DecodedAudio
from qa_pipeline.audio.screening import Levels


@dataclass(frozen=True)
class AudioFacts:
    """What the decoder says about a recording (absent for calls scored from a transcript file)."""

    sha256: str
    channels: int
    sample_rate: int  # the file's own rate
    codec: str
    duration_s: float
    clipped_fraction: float = 0.0  # samples at full scale (qa_pipeline.audio.decode.screening.Levels)

    @classmethod
    def of(cls, audio: DecodedAudio, levels: Levels) -> AudioFacts:
        return cls(
            audio.sha256,
            audio.channels,
            audio.source_sample_rate,
            audio.codec,
            round(audio.duration_s, 3),
            levels.clipped_fraction,
        )
