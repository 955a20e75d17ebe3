"""Calm tone (语调平和): stretches where the agent is both louder and higher-pitched than their own normal.

Needs the agent's own audio: its channel, or the mixed channel during the agent's diarized turns.
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
    streams: Mapping[str, np.ndarray], transcript: Transcript, speech: Speech, settings: TimingSettings
) -> tuple[Region, ...] | None:
    """The agent's raised-voice stretches; None when the agent's own audio is not separable (or no audio)."""
    agent_stream = streams.get("agent") if transcript.diarization == "channel" else None
    if transcript.diarization in ("embedded", "pyannote") and speech.speakers:
        agent_stream = streams.get("unknown")
    if agent_stream is None or not speech.regions.get("agent"):
        return None
    track = acoustics.voice_track(agent_stream, speech.regions.get("agent", ()))
    return tuple(
        (round(start, 3), round(end, 3))
        for start, end in acoustics.raised_voice(
            track, settings.raised_rise_db, settings.raised_rise_semitones, settings.raised_min_s
        )
    )
