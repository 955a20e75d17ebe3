"""Speech regions of one channel, from the Silero VAD model that ships inside faster-whisper."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from qa_pipeline.audio import SAMPLE_RATE


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    # Turns in a phone call are separated by short pauses; 2 s (faster-whisper's default) would glue a
    # question to its answer on a mono channel, 0.5 s keeps utterances apart.
    min_silence_s: float = 0.5
    min_speech_s: float = 0.1  # a backchannel 对 / 嗯 lasts ~0.25 s; Silero sees less of it than that
    speech_pad_s: float = 0.15
    max_region_s: float = 25.0  # keeps every region inside one 30 s Whisper window


@dataclass(frozen=True)
class SpeechRegion:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def speech_regions(samples: np.ndarray, settings: VadSettings | None = None) -> list[SpeechRegion]:
    settings = settings or VadSettings()
    options = VadOptions(
        threshold=settings.threshold,
        min_speech_duration_ms=int(settings.min_speech_s * 1000),
        max_speech_duration_s=settings.max_region_s,
        min_silence_duration_ms=int(settings.min_silence_s * 1000),
        speech_pad_ms=int(settings.speech_pad_s * 1000),
    )
    stamps = get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)
    return [SpeechRegion(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]
