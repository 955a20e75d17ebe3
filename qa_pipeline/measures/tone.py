"""Raised voice: stretches where a party is both louder and higher-pitched than their own normal.

The agent's is calm tone (语调平和, calm_tone); the customer's is distress the words may not say (empathy's
trigger by voice). Needs the party's own audio: its channel, or the mixed channel during its diarized turns.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.measures import acoustics
from qa_pipeline.measures.acoustics import Region
from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.measures.speech import Speech


def measure_tone(
    streams: Mapping[str, np.ndarray],
    transcript: Transcript,
    speech: Speech,
    settings: TimingSettings,
    party: str = "agent",
) -> tuple[Region, ...] | None:
    """`party`'s raised-voice stretches; None when its own audio is not separable (or no audio)."""
    stream = streams.get(party) if transcript.diarization == "channel" else None
    if transcript.diarization in ("embedded", "pyannote") and speech.speakers:
        stream = streams.get("unknown")
    if stream is None or not speech.regions.get(party):
        return None
    track = acoustics.voice_track(stream, speech.regions.get(party, ()))
    return tuple(
        (round(start, 3), round(end, 3))
        for start, end in acoustics.raised_voice(
            track, settings.raised_rise_db, settings.raised_rise_semitones, settings.raised_min_s
        )
    )
