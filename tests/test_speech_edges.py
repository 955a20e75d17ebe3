"""Speech edges from the signal (asr.vad.VoiceActivity): an overlap reads as long as it is, so ordinary
turn-taking is no interruption. Real Silero VAD on utterances cut from the stereo sample calls (synthetic
speech), placed with known overlaps."""

from __future__ import annotations

import pytest

from benchmarks.overlap_edges import measured_overlap, placed_call, sample_pairs
from qa_pipeline.asr.vad import speech_regions, voice_activity
from qa_pipeline.measures import acoustics
from qa_pipeline.measures.settings import TimingSettings

PAIRS = list(sample_pairs(4))


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{p.call_id}-{i}" for i, p in enumerate(PAIRS)])
@pytest.mark.parametrize("placed_s", [0.3, 0.4, 0.8, 1.2])
def test_overlap_reads_as_placed(pair, placed_s: float) -> None:
    channels = placed_call(pair, placed_s)
    agent, customer = voice_activity(channels["agent"]), voice_activity(channels["customer"])
    measured = measured_overlap(agent, customer, padded=False)
    assert measured == pytest.approx(placed_s, abs=0.15)
    interruptions = acoustics.overlaps(
        [(r.start_s, r.end_s) for r in agent.edges],
        [(r.start_s, r.end_s) for r in customer.edges],
        TimingSettings().min_overlap_s,
    )
    assert bool(interruptions) == (placed_s >= 0.8)


def test_padded_regions_read_turn_taking_as_interruption() -> None:
    """Why the edges: on the ASR's padded regions the same 0.4 s overlap reads ~0.25 s longer."""
    channels = placed_call(PAIRS[0], 0.4)
    agent, customer = voice_activity(channels["agent"]), voice_activity(channels["customer"])
    assert measured_overlap(agent, customer, padded=True) - measured_overlap(agent, customer, padded=False) > 0.2


def test_regions_are_faster_whispers() -> None:
    """The padded regions of one VAD pass equal speech_regions' (faster-whisper's get_speech_timestamps)."""
    channels = placed_call(PAIRS[1], 0.3)
    for samples in channels.values():
        activity = voice_activity(samples)
        assert activity.regions == speech_regions(samples)
        assert len(activity.edges) == len(activity.regions)
        for edge, following in zip(activity.edges, activity.edges[1:], strict=False):
            assert edge.start_s < edge.end_s <= following.start_s


def test_every_overlap_of_a_second_or_so_is_an_interruption() -> None:
    """On all 40 placed pairs, 0.8 s of talking over the customer counts, 0.4 s does not; one agent voice
    starts softly enough that Silero stays under its threshold for 0.6 s, which the energy edge recovers."""
    limit = TimingSettings().min_overlap_s
    for pair in sample_pairs(40):
        for placed_s, expected in ((0.4, False), (0.8, True)):
            channels = placed_call(pair, placed_s)
            agent, customer = voice_activity(channels["agent"]), voice_activity(channels["customer"])
            assert (measured_overlap(agent, customer, padded=False) >= limit) == expected, (pair.call_id, placed_s)
