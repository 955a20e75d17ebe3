"""The measure stage on generated recordings and hand-made transcripts with exactly known timings."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np
import pytest

from qa_pipeline.asr.transcript import Segment, Transcript, Word
from qa_pipeline.audio.decode import SAMPLE_RATE, DecodedAudio
from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.measures import Hangup, Measures, Overtalk, PaceStretch, Silence, TimingSettings, measure_call
from qa_pipeline.measures.acoustics import CHINA

DIGITAL_SILENCE = 1e-4  # about -80 dBFS: the network between rings
LINE_NOISE = 3e-3  # about -50 dBFS: a live line


def _seconds(t: float) -> int:
    return round(t * SAMPLE_RATE)


def _stereo(duration_s: float, answer_s: float, rng: np.random.Generator) -> np.ndarray:
    """Two channels of near-digital silence that come alive (line noise) at answer_s."""
    samples = rng.normal(0, DIGITAL_SILENCE, (2, _seconds(duration_s)))
    samples[:, _seconds(answer_s) :] += rng.normal(0, LINE_NOISE, (2, samples.shape[1] - _seconds(answer_s)))
    return samples


def _ring(samples: np.ndarray, starts: list[float], on_s: float = 1.0, last_on_s: float | None = None) -> None:
    for index, start in enumerate(starts):
        length = last_on_s if last_on_s is not None and index == len(starts) - 1 else on_s
        t = np.arange(_seconds(length)) / SAMPLE_RATE
        samples[_seconds(start) : _seconds(start) + len(t)] += 0.1 * np.sin(2 * np.pi * 450 * t)


def _audio(samples: np.ndarray) -> DecodedAudio:
    return DecodedAudio("generated.wav", samples.astype(np.float32), SAMPLE_RATE, "pcm_s16le", "0" * 64)


def _segment(speaker: str, start: float, end: float, text: str, words: tuple[Word, ...] = ()) -> Segment:
    return Segment(speaker, start, end, text, words=words)


def _transcript(segments: list[Segment], diarization: str = "channel") -> Transcript:
    regions: dict[str, tuple[tuple[float, float], ...]] = {}
    for segment in segments:
        regions[segment.speaker] = (*regions.get(segment.speaker, ()), (segment.start_s, segment.end_s))
    return Transcript(tuple(segments), diarization, "test", regions)


NO_METADATA = CallMetadata(audio_file="generated.wav")


# ---------------------------------------------------------------------------------------------------------------------
# Rings and the answer


def test_four_rings_on_the_agent_channel_answered_between_rings() -> None:
    rng = np.random.default_rng(1)
    starts = [0.5, 5.5, 10.5, 15.5]
    samples = _stereo(30.0, answer_s=17.7, rng=rng)
    _ring(samples[0], starts)  # the caller hears the ringing: the stream toward the customer
    transcript = _transcript([_segment("agent", 18.2, 21.0, "您好，客服中心，请问有什么可以帮您？")])

    measures = measure_call(_audio(samples), transcript, NO_METADATA)

    assert measures.ring_count == 4 and measures.ring_source == "audio" and measures.ring_count_audio == 4
    assert [start for start, _ in measures.rings] == pytest.approx(starts, abs=0.06)
    assert measures.answer_s == pytest.approx(17.7, abs=0.06)
    assert measures.answer_source == "line"
    assert measures.ring_s == measures.answer_s
    assert measures.ringback_channel == "agent"
    assert (measures.direction, measures.direction_source) == ("inbound", "ringback")
    assert measures.talk_s == pytest.approx(21.0 - measures.answer_s)


def test_a_ring_cut_short_times_the_answer_and_ringing_on_the_customer_side_is_outbound() -> None:
    rng = np.random.default_rng(2)
    starts = [0.4, 5.4, 10.4]
    samples = _stereo(20.0, answer_s=10.9, rng=rng)
    _ring(samples[1], starts, last_on_s=0.5)  # the far end rings: the agent dialled out
    transcript = _transcript([_segment("customer", 11.3, 12.0, "喂？"), _segment("agent", 12.5, 15.0, "您好。")])

    measures = measure_call(_audio(samples), transcript, NO_METADATA)

    assert measures.ring_count == 3
    assert (measures.answer_source, measures.answer_s) == ("ringback", pytest.approx(10.9, abs=0.06))
    assert (measures.ringback_channel, measures.direction) == ("customer", "outbound")


def test_without_a_live_line_the_answer_is_the_first_speech() -> None:
    rng = np.random.default_rng(3)
    samples = rng.normal(0, LINE_NOISE, (2, _seconds(15.0)))  # the line is as noisy between rings as after
    _ring(samples[0], [0.5, 5.5])
    transcript = _transcript([_segment("agent", 8.0, 10.0, "您好。")])

    measures = measure_call(_audio(samples), transcript, NO_METADATA)

    assert (measures.ring_count, measures.answer_source, measures.answer_s) == (2, "speech", 8.0)


def test_metadata_gives_the_rings_when_the_recording_starts_at_the_answer() -> None:
    rng = np.random.default_rng(4)
    samples = _stereo(10.0, answer_s=0.0, rng=rng)
    started = datetime(2026, 11, 19, 9, 0, 0)
    metadata = CallMetadata(audio_file="a.wav", started_at=started, answered_at=started + timedelta(seconds=12))
    transcript = _transcript([_segment("agent", 0.5, 3.0, "您好。")])

    measures = measure_call(_audio(samples), transcript, metadata)

    # rings start at 0, 5 and 10 s of the 12 s the switch logged before the answer
    assert (measures.ring_count, measures.ring_s, measures.ring_source) == (3, 12.0, "metadata")
    assert (measures.ring_count_audio, measures.answer_s, measures.answer_source) == (0, 0.0, "start")
    with_count = CallMetadata(audio_file="a.wav", started_at=started, answered_at=started, ring_count=2)
    assert measure_call(_audio(samples), transcript, with_count).ring_count == 2
    assert measure_call(_audio(samples), transcript, NO_METADATA).ring_count is None


def test_a_transcript_from_a_file_is_answered_when_the_metadata_says() -> None:
    """No audio to hear the ringing in: answered_at - started_at is the answer when nobody speaks before it;
    the ringing is not dead air and the greeting is timed from the answer."""
    started = datetime(2026, 11, 19, 9, 0, 0)
    metadata = CallMetadata(audio_file="", started_at=started, answered_at=started + timedelta(seconds=20))
    transcript = _transcript(
        [_segment("agent", 21.0, 23.0, "您好，请问有什么可以帮您？"), _segment("customer", 23.5, 26.0, "我家停水了。")]
    )

    measures = measure_call(None, transcript, metadata)

    assert (measures.answer_s, measures.answer_source) == (20.0, "metadata")
    assert (measures.ring_count, measures.ring_s, measures.ring_source) == (4, 20.0, "metadata")
    assert measures.talk_s == 6.0  # answer to the last word, not the ringing before
    assert not [s for s in measures.silences if s.start_s < 20.0]
    # Speech before the logged answer: the recording began at the answer, times count from it.
    early = _transcript([_segment("agent", 0.5, 3.0, "您好。"), _segment("customer", 3.5, 6.0, "你好。")])
    assert (measure_call(None, early, metadata).answer_s, measure_call(None, early, metadata).answer_source) == (
        0.0,
        "start",
    )


def test_other_presets_ring_with_their_own_cadence() -> None:
    rng = np.random.default_rng(5)
    samples = _stereo(20.0, answer_s=14.5, rng=rng)
    for start in (0.5, 6.5):
        t = np.arange(_seconds(2.0)) / SAMPLE_RATE
        tone = 0.05 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t))
        samples[0, _seconds(start) : _seconds(start) + len(t)] += tone
    transcript = _transcript([_segment("agent", 15.0, 17.0, "您好。")])
    american = TimingSettings(ringback="north_america")

    assert measure_call(_audio(samples), transcript, NO_METADATA, american).ring_count == 2
    assert measure_call(_audio(samples), transcript, NO_METADATA).ring_count_audio == 0  # not China's tone


# ---------------------------------------------------------------------------------------------------------------------
# Talk, silence, hold

HOLD_CALL = [
    _segment("agent", 0.5, 3.0, "您好，请问有什么可以帮您？"),
    _segment("customer", 3.5, 6.0, "我想查一下物业费。"),
    _segment("agent", 6.5, 8.0, "请您稍等，我帮您查一下。"),
    _segment("agent", 22.0, 25.0, "查到了，您还欠三个月。"),
    _segment("customer", 37.0, 40.0, "好的，谢谢。"),
]


def test_silences_holds_and_talk_time() -> None:
    measures = measure_call(None, _transcript(HOLD_CALL), NO_METADATA)

    assert measures.silences == (Silence(8.0, 22.0, "请您稍等"), Silence(25.0, 37.0, None))
    assert measures.hold_s == 14.0
    assert measures.silence_s == pytest.approx(0.5 + 0.5 + 0.5 + 14.0 + 12.0)
    assert measures.talk_s == 40.0
    assert (measures.agent_talk_s, measures.customer_talk_s) == (7.0, 5.5)
    assert measures.agent_talk_ratio == pytest.approx(7.0 / 12.5, abs=1e-3)


def test_a_hold_notice_said_long_before_the_silence_does_not_make_it_a_hold() -> None:
    segments = [
        _segment("agent", 0.5, 2.0, "请您稍等。"),
        _segment("customer", 2.5, 9.0, "好的，我的房号是三栋二零一，上个月的水费好像多收了。"),
        _segment("agent", 20.0, 22.0, "您好，查到了。"),
    ]
    measures = measure_call(None, _transcript(segments), NO_METADATA)
    assert measures.silences == (Silence(9.0, 20.0, None),)


# ---------------------------------------------------------------------------------------------------------------------
# Overtalk


def test_interruptions_count_the_agent_cutting_in_but_not_backchannels() -> None:
    segments = [
        _segment("customer", 10.0, 14.0, "我家楼上一直在漏水，已经三天了。"),
        _segment("agent", 13.0, 15.0, "您先别急，我马上安排。"),  # 1.0 s over the customer: an interruption
        _segment("customer", 15.5, 19.0, "上次来修也没修好。"),
        _segment("agent", 16.0, 16.8, "嗯，好的。"),  # 0.8 s over, but only listening
        _segment("customer", 20.0, 23.0, "你们到底什么时候来？"),
        _segment("agent", 22.7, 25.0, "今天下午就到。"),  # 0.3 s: a turn taken a little early
        _segment("agent", 26.0, 27.0, "还有别的吗？"),
    ]
    measures = measure_call(None, _transcript(segments), NO_METADATA)

    assert measures.interruptions is not None
    assert [(o.start_s, o.end_s, o.agent_text) for o in measures.interruptions] == [
        (13.0, 14.0, "您先别急，我马上安排。")
    ]
    stricter = measure_call(None, _transcript(segments), NO_METADATA, TimingSettings(min_overlap_s=0.2))
    assert stricter.interruptions is not None and len(stricter.interruptions) == 2


def test_mono_cannot_show_overtalk_tone_or_who_hung_up() -> None:
    segments = [_segment("unknown", 0.5, 3.0, "您好。"), _segment("unknown", 3.5, 5.0, "你好。")]
    samples = np.random.default_rng(6).normal(0, LINE_NOISE, (1, _seconds(6.0)))
    measures = measure_call(_audio(samples), _transcript(segments, diarization="none"), NO_METADATA)

    assert measures.interruptions is None and measures.raised_voice is None
    assert measures.customer_raised_voice is None
    assert measures.agent_chars_per_minute is None and measures.direction is None
    assert measures.hangup is not None and measures.hangup.ended_by == "unknown"
    assert measures.talk_s == 5.0  # talk and silence need no speakers


# ---------------------------------------------------------------------------------------------------------------------
# Pace, topic, hang-up


def test_pace_is_characters_per_minute_of_each_utterance_span() -> None:
    first = (Word(1.0, 1.5, "您好，", 0.9), Word(1.5, 2.0, "请问", 0.9))  # 4 characters in 1.0 s
    second = (Word(5.0, 6.0, "有什么可以", 0.9), Word(6.2, 7.0, "帮您？", 0.9))  # 7 in 2.0 s, pause included
    segments = [
        _segment("agent", 0.9, 2.1, "您好，请问", first),
        _segment("customer", 2.5, 4.5, "你好。"),
        _segment("agent", 4.9, 7.1, "有什么可以帮您？", second),
    ]
    measures = measure_call(None, _transcript(segments), NO_METADATA)

    assert measures.agent_chars_per_minute == pytest.approx(11 * 60 / 3.0)
    assert [p.chars_per_minute for p in measures.pace] == [240.0, 210.0]


def test_time_to_topic_runs_from_the_customers_first_words_to_the_purpose() -> None:
    segments = [
        _segment("customer", 2.0, 3.0, "喂，你好。"),
        _segment("agent", 3.5, 6.0, "您好，我是红树西岸管理处客服。"),
        _segment("customer", 6.5, 7.0, "嗯。"),
        _segment("agent", 9.5, 13.0, "这次给您打电话是想做个回访。"),
    ]
    measures = measure_call(None, _transcript(segments), NO_METADATA)

    assert (measures.customer_first_s, measures.topic_s, measures.time_to_topic_s) == (2.0, 9.5, 7.5)
    assert measures.topic_text == "这次给您打电话是想做个回访。"
    assert (measures.direction, measures.direction_source) == ("outbound", "first_speaker")
    no_topic = measure_call(None, _transcript(segments[:3]), NO_METADATA)
    assert no_topic.topic_s is None and no_topic.time_to_topic_s is None


@pytest.mark.parametrize(("tail_s", "cut_off"), [(0.0, True), (0.2, True), (1.0, False)])
def test_a_customer_cut_off_mid_sentence(tail_s: float, cut_off: bool) -> None:
    segments = [
        _segment("agent", 0.5, 3.0, "您好，请问有什么可以帮您？"),
        _segment("customer", 3.5, 8.0, "我想问一下那个停车费到底"),
    ]
    samples = np.random.default_rng(7).normal(0, LINE_NOISE, (2, _seconds(8.0 + tail_s)))
    measures = measure_call(_audio(samples), _transcript(segments), NO_METADATA)

    assert measures.hangup is not None
    assert (measures.hangup.ended_by, measures.hangup.customer_cut_off) == ("customer", cut_off)
    if cut_off:
        assert measures.hangup.cut_off_start_s == 3.5 and measures.hangup.cut_off_text == "我想问一下那个停车费到底"


# ---------------------------------------------------------------------------------------------------------------------
# Tone


def _voice(duration_s: float, raised: tuple[float, float]) -> np.ndarray:
    """A steady harmonic voice at 150 Hz; louder by 8 dB and 5 semitones higher inside `raised`."""
    t = np.arange(_seconds(duration_s)) / SAMPLE_RATE
    f0 = np.full(len(t), 150.0)
    level = np.full(len(t), 0.05)
    inside = (t >= raised[0]) & (t < raised[1])
    f0[inside] *= 2 ** (5 / 12)
    level[inside] *= 10 ** (8 / 20)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    return level * sum(np.sin(k * phase) / k for k in range(1, 10))


def test_a_raised_agent_voice_is_found_on_the_agent_channel_only() -> None:
    rng = np.random.default_rng(8)
    samples = rng.normal(0, LINE_NOISE, (2, _seconds(20.0)))
    samples[0, _seconds(1.0) : _seconds(19.0)] += _voice(18.0, raised=(8.0, 11.0))
    samples[1, _seconds(1.0) : _seconds(19.0)] += _voice(18.0, raised=(2.0, 6.0))  # the customer may shout
    segments = [_segment("agent", 1.0, 19.0, "……"), _segment("customer", 1.0, 19.0, "……")]

    measures = measure_call(_audio(samples), _transcript(segments), NO_METADATA)

    assert measures.raised_voice is not None and len(measures.raised_voice) == 1
    assert measures.raised_voice[0] == pytest.approx((9.0, 12.0), abs=0.15)
    # ... and the customer's, on the customer channel, for empathy's trigger by voice
    assert measures.customer_raised_voice is not None and len(measures.customer_raised_voice) == 1
    assert measures.customer_raised_voice[0] == pytest.approx((3.0, 7.0), abs=0.15)


def test_measures_from_a_fixture_table() -> None:
    measures = Measures.from_mapping(
        {"ring_count": 4, "rings": [[0.5, 1.5]], "silences": [{"start_s": 1.0, "end_s": 13.0}], "direction": "inbound"}
    )
    assert measures.rings == ((0.5, 1.5),) and measures.silences == (Silence(1.0, 13.0),)
    with pytest.raises(ValueError, match="unknown measures"):
        Measures.from_mapping({"rings_count": 4})


def test_china_is_the_default_preset() -> None:
    assert TimingSettings().preset is CHINA


def test_a_customer_who_says_goodbye_and_hangs_up_was_not_cut_off() -> None:
    segments = [_segment("agent", 0.5, 3.0, "感谢您的来电，再见。"), _segment("customer", 3.5, 4.5, "好的，再见。")]
    samples = np.random.default_rng(9).normal(0, LINE_NOISE, (2, _seconds(4.6)))
    measures = measure_call(_audio(samples), _transcript(segments), NO_METADATA)
    assert measures.hangup is not None
    assert (measures.hangup.ended_by, measures.hangup.customer_cut_off) == ("customer", False)


def test_the_line_coming_alive_just_before_the_first_words_times_the_answer() -> None:
    rng = np.random.default_rng(10)
    samples = _stereo(15.0, answer_s=6.6, rng=rng)
    _ring(samples[0], [0.5, 5.5])
    transcript = _transcript([_segment("agent", 6.75, 9.0, "您好。")])  # the VAD region starts 0.15 s after
    measures = measure_call(_audio(samples), transcript, NO_METADATA)
    assert (measures.answer_source, measures.answer_s) == ("line", pytest.approx(6.6, abs=0.06))


def test_every_text_field_of_the_records_says_whether_it_carries_speech() -> None:
    speech = {
        (record.__name__, f.name): f.metadata["speech"]
        for record in (Measures, Silence, Overtalk, Hangup, PaceStretch)
        for f in dataclasses.fields(record)
        if "str" in str(f.type)
    }
    assert {key: template for key, template in speech.items() if template is not None} == {
        ("Measures", "topic_text"): "calls.topic_text",
        ("Silence", "hold_notice"): "call_events:hold@{start_s}",
        ("Overtalk", "agent_text"): "call_events:interruption@{start_s}",
        ("Hangup", "cut_off_text"): "call_events:cut_off",
        ("PaceStretch", "text"): "pace@{start_s}",
    }
    assert set(speech) >= {("Measures", "direction"), ("Measures", "answer_source"), ("Hangup", "ended_by")}
    # Each template's placeholders are fields of its own record.
    silence = Silence(1.5, 4.0, "请您稍等")
    template = next(f for f in dataclasses.fields(Silence) if f.name == "hold_notice").metadata["speech"]
    assert template.format(**{f.name: getattr(silence, f.name) for f in dataclasses.fields(silence)}) == (
        "call_events:hold@1.5"
    )


def test_time_to_topic_is_timed_from_the_clause_stating_the_purpose() -> None:
    """Greeting and purpose in one ASR segment: the purpose starts at 给 (word timestamps), not at 您好."""
    from qa_pipeline.measures.speech import Speech
    from qa_pipeline.measures.topic import measure_topic

    pieces = ["您好", "，", "我是", "物业", "客服", "，", "给您", "做个", "回访", "。"]
    starts = [2.0, 2.5, 2.6, 3.1, 3.6, 4.1, 4.9, 5.4, 5.9, 6.4]
    words = tuple(Word(s, s + 0.45, w, 0.9) for s, w in zip(starts, pieces, strict=True))
    agent = Segment("agent", 2.0, 6.5, "".join(pieces), words=words)
    customer = Segment("customer", 0.8, 1.3, "喂？")
    speech = Speech.of(Transcript((customer, agent), "channel", "test"))
    topic = measure_topic(speech, 0.5, TimingSettings(), 0.85)
    assert (topic.topic_s, topic.time_to_topic_s) == (4.9, 4.1)
    # without word timings, the segment's start is all there is
    bare = dataclasses.replace(agent, words=())
    topic = measure_topic(Speech.of(Transcript((customer, bare), "channel", "test")), 0.5, TimingSettings(), 0.85)
    assert (topic.topic_s, topic.time_to_topic_s) == (2.0, 1.2)
