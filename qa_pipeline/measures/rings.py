"""Rings and the answer (电话铃响三声内接起).

Ringback bursts (acoustics.detect_ringback) before the first speech, on each channel. The channel that rings
is the one toward the caller: the agent channel on an inbound call, the customer channel on an outbound one.
A ring the answer cuts short times the answer exactly; else the answer is where the line comes alive (its
noise floor steps up) after the last ring, else the first speech. Without ringback the recording starts at
the answer and the metadata (answered_at - started_at, or a ring_count column) is the only source of rings;
`ring_source` says which was used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.measures import acoustics
from qa_pipeline.measures.acoustics import Region, RingbackPreset

# The line "comes alive" at the answer: the far end's room and line noise replace the network's silence between
# rings. A step this far above the silence between rings, held this long, is the answer.
LINE_STEP_DB = 10.0
LINE_STEP_HOLD_S = 0.3
# The tone's own filter tail after a burst ends is not the line coming alive.
BURST_TAIL_S = 0.1
FRAME_S = acoustics.RING_FRAME_S
# Words up to this long before answered_at - started_at still leave the metadata's answer time standing: the
# switch's clock and the transcript's times are not aligned to the millisecond.
ANSWER_SLACK_S = 0.5


def _line_alive_at(samples: np.ndarray, rings: Sequence[Region], until_s: float) -> float | None:
    """When the line's noise floor steps up after the last ring, before `until_s`; None when it does not."""
    levels = acoustics.frame_levels_db(samples)
    times = np.arange(len(levels)) * FRAME_S
    in_ring = np.zeros(len(levels), dtype=bool)
    for start, end in rings:
        in_ring |= (times >= start - BURST_TAIL_S) & (times < end + BURST_TAIL_S)
    last_end = rings[-1][1]
    between = ~in_ring & (times < last_end)  # the silence between (and before) the rings
    if not between.any():
        return None
    floor = float(np.median(levels[between]))
    hold = round(LINE_STEP_HOLD_S / FRAME_S)
    # The step may come right before the first speech: the speech after it is louder still, so the hold may
    # run into it.
    candidates = np.flatnonzero((times >= last_end + BURST_TAIL_S) & (times <= until_s))
    for index in candidates:
        if index + hold <= len(levels) and np.all(levels[index : index + hold] >= floor + LINE_STEP_DB):
            return float(times[index])
    return None


@dataclass(frozen=True)
class Answer:
    """When the call was answered (from the file's start), how that was found, and the rings heard before."""

    answer_s: float
    source: str  # 'ringback' | 'line' | 'speech' | 'metadata' | 'start'
    rings: tuple[Region, ...]
    channel: str | None  # the stream the rings were heard on: 'agent' | 'customer' | 'mix'


AT_START = Answer(0.0, "start", (), None)  # no ringing: the recording starts at the answer


def heard_answer(streams: Mapping[str, np.ndarray], first_speech_s: float | None, preset: RingbackPreset) -> Answer:
    """The ringing before the first speech on whichever stream rings most, and when it was answered."""
    best: tuple[str, tuple[Region, ...]] | None = None
    for name, samples in streams.items():
        bursts = acoustics.detect_ringback(samples, preset, before_s=first_speech_s).bursts
        if bursts and (best is None or len(bursts) > len(best[1])):
            best = (name, bursts)
    if best is None:
        return AT_START
    name, bursts = best
    channel = "mix" if name == "unknown" else name
    last_start, last_end = bursts[-1]
    if last_end - last_start < preset.on_s * (1 - acoustics.BURST_DURATION_TOLERANCE):
        return Answer(last_end, "ringback", bursts, channel)  # the answer cut the ring short
    # Otherwise it came in the silence after the last ring, before the next ring would have started.
    until = last_start + preset.period_s
    if first_speech_s is not None:
        until = min(until, first_speech_s)
    alive = [t for samples in streams.values() if (t := _line_alive_at(samples, bursts, until)) is not None]
    if alive:
        return Answer(min(alive), "line", bursts, channel)
    return Answer(max(last_end, until), "speech", bursts, channel)


def metadata_rings(metadata: CallMetadata, preset: RingbackPreset) -> tuple[int | None, float | None]:
    """(ring_count, ring_s) by the switch: its ring_count column, else rings started in answered_at - started_at."""
    ring_s = None
    if metadata.started_at and metadata.answered_at and metadata.answered_at >= metadata.started_at:
        ring_s = (metadata.answered_at - metadata.started_at).total_seconds()
    if metadata.ring_count is not None:
        return metadata.ring_count, ring_s
    if ring_s is None:
        return None, None
    # A ring starts every period from the first; one that would start at the answer is not heard.
    return math.ceil(ring_s / preset.period_s - 1e-9), ring_s


@dataclass(frozen=True)
class Rings:
    """The answer and the rings before it: the audio's count, the metadata's, and the one used."""

    answer: Answer
    ring_count: int | None
    ring_s: float | None
    ring_source: str | None  # 'audio' | 'metadata'
    ring_count_audio: int | None
    ring_s_audio: float | None
    ring_count_metadata: int | None
    ring_s_metadata: float | None


def measure_rings(
    streams: Mapping[str, np.ndarray], first_speech_s: float | None, metadata: CallMetadata, preset: RingbackPreset
) -> Rings:
    """The answer and the rings, from the audio's streams (none for a transcript from a file) and the metadata."""
    answer = heard_answer(streams, first_speech_s, preset) if streams else AT_START
    ring_count_metadata, ring_s_metadata = metadata_rings(metadata, preset)
    if (
        not streams
        and ring_s_metadata
        and (first_speech_s is None or first_speech_s >= ring_s_metadata - ANSWER_SLACK_S)
    ):
        # A transcript from a file has no audio to hear the ringing in. Its times count from the start of
        # the recording; when nobody speaks before answered_at - started_at, the recording began with the
        # ringing (the switch records from the first ring), and the answer is there: the ringing is neither
        # dead air nor time the agent took to greet. Speech earlier than that means it began at the answer.
        answer = Answer(ring_s_metadata, "metadata", (), None)
    ring_count_audio = len(answer.rings) if streams else None
    ring_s_audio = round(answer.answer_s, 3) if answer.rings else None
    if answer.rings:
        ring_count, ring_s, ring_source = ring_count_audio, ring_s_audio, "audio"
    elif ring_count_metadata is not None:
        ring_count, ring_s, ring_source = ring_count_metadata, ring_s_metadata, "metadata"
    else:
        ring_count, ring_s, ring_source = None, None, None
    return Rings(
        answer, ring_count, ring_s, ring_source, ring_count_audio, ring_s_audio, ring_count_metadata, ring_s_metadata
    )
