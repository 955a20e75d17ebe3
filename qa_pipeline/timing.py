"""Stage between the transcript and the checks: the call's timings, measured from the audio and the words.

The standards time things the words alone cannot show: answer within three rings (电话铃响三声内接起),
get to the point within 5 s / 10 s on return visits (5秒/10秒内切入正题), speak at a suitable pace and
calm tone (语速适当、语调平和), don't cut the customer off, don't slam the phone (不可摔电话), and the
call-length warning (超时预警). `measure_call` turns a decoded recording (or none, for a transcript
scored from a file), its transcript and its metadata into one `Measures`; the timing checks judge it,
and storage writes its numbers into `calls` and its stretches into `call_events`.

How each number is measured, and what it needs:

- rings, answer: ringback bursts (acoustics.detect_ringback) before the first speech, on each channel.
  The channel that rings is the one toward the caller: the agent channel on an inbound call, the
  customer channel on an outbound one. A ring the answer cuts short times the answer exactly; else the
  answer is where the line comes alive (its noise floor steps up) after the last ring, else the first
  speech. Without ringback the recording starts at the answer and the metadata (answered_at -
  started_at, or a ring_count column) is the only source of rings; `ring_source` says which was used.
- talk, silence, hold: from the VAD speech regions of every channel (the segments' times for a
  transcript from a file). A silence right after an agent utterance announcing a hold (请您稍等) is a
  hold, not dead air.
- interruptions, tone, hang-up, time to topic: need to know which words are the agent's (stereo
  channels, or mono diarization); interruptions need overlap, which only separate channels show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from qa_pipeline import acoustics
from qa_pipeline.acoustics import RINGBACK_PRESETS, Interruption, Region, RingbackPreset
from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.audio import DecodedAudio
from qa_pipeline.matching import find_any, spoken_chars
from qa_pipeline.metadata import CallMetadata


@dataclass(frozen=True)
class TimingSettings:
    """How the timings are measured: the scorecard's [timing] table (limits live in the checks' tables)."""

    ringback: str = "china"  # a preset of acoustics.RINGBACK_PRESETS
    min_overlap_s: float = 0.5
    backchannels: tuple[str, ...] = ("嗯", "对", "好的", "好", "是", "是的", "哦", "嗯嗯", "对对", "行")
    hold_phrases: tuple[str, ...] = (
        "请您稍等",
        "请稍等",
        "稍等一下",
        "请您稍候",
        "请稍候",
        "我帮您查一下",
        "请不要挂机",
    )
    hold_notice_within_s: float = 5.0
    topic_phrases: tuple[str, ...] = ("回访", "给您打电话", "打扰您", "满意度", "调查")
    min_silence_s: float = 2.0  # shorter gaps are turn-taking; listed silences and holds are at least this long
    cut_off_within_s: float = 0.3
    farewells: tuple[str, ...] = ("再见", "拜拜", "再会")
    raised_rise_db: float = 6.0
    raised_rise_semitones: float = 3.0
    raised_min_s: float = 1.5

    @property
    def preset(self) -> RingbackPreset:
        return RINGBACK_PRESETS[self.ringback]


@dataclass(frozen=True)
class Silence:
    """Nobody speaking from start_s to end_s; `hold_notice` is the hold phrase said just before, if any."""

    start_s: float
    end_s: float
    hold_notice: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def is_hold(self) -> bool:
        return self.hold_notice is not None


@dataclass(frozen=True)
class Overtalk:
    """The agent started speaking while the customer was, and both spoke from start_s to end_s."""

    start_s: float
    end_s: float
    agent_text: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Hangup:
    """How the call ended: whose speech was last and whether the customer was cut off mid-sentence."""

    ended_by: str  # 'agent' | 'customer' | 'unknown'
    last_speech_end_s: float
    customer_cut_off: bool = False
    cut_off_start_s: float | None = None  # the customer's cut-off utterance
    cut_off_text: str | None = None


@dataclass(frozen=True)
class PaceStretch:
    """The agent's rate in one utterance (evidence for speech_rate)."""

    start_s: float
    end_s: float
    chars_per_minute: float
    text: str


@dataclass(frozen=True)
class Measures:
    """Everything timed about one call. None: not measurable on this call (stored as NULL)."""

    answer_s: float = 0.0  # file start -> answer; 0 when the recording starts at the answer
    answer_source: str = "start"  # 'ringback' | 'line' | 'speech' | 'metadata' | 'start'
    ring_count: int | None = None  # the value used: audio when ringback was heard, else metadata
    ring_s: float | None = None
    ring_source: str | None = None  # 'audio' | 'metadata'
    ring_count_audio: int | None = None
    ring_s_audio: float | None = None
    ring_count_metadata: int | None = None
    ring_s_metadata: float | None = None
    ringback_channel: str | None = None  # 'agent' | 'customer' | 'mix'
    rings: tuple[Region, ...] = ()
    direction: str | None = None  # 'inbound' | 'outbound'
    direction_source: str | None = None  # 'metadata' | 'ringback' | 'first_speaker'
    speech_end_s: float | None = None
    talk_s: float | None = None  # answer -> end of the last speech
    silence_s: float | None = None  # nobody speaking, between the answer and the end of the last speech
    silences: tuple[Silence, ...] = ()  # at least TimingSettings.min_silence_s long
    hold_s: float | None = None
    agent_talk_s: float | None = None
    customer_talk_s: float | None = None
    agent_talk_ratio: float | None = None  # agent / (agent + customer)
    interruptions: tuple[Overtalk, ...] | None = None  # None: overlap not measurable (mono)
    agent_chars_per_minute: float | None = None
    pace: tuple[PaceStretch, ...] = ()
    raised_voice: tuple[Region, ...] | None = None  # None: the agent's own audio is not separable
    customer_first_s: float | None = None
    topic_s: float | None = None  # start of the agent's utterance stating the call's purpose
    topic_text: str | None = None
    time_to_topic_s: float | None = None
    hangup: Hangup | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Measures:
        """Measures from plain values (a fixture's TOML table): lists become tuples and nested records."""
        nested: dict[str, type] = {
            "silences": Silence,
            "interruptions": Overtalk,
            "pace": PaceStretch,
        }
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown measures {sorted(unknown)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in nested and value is not None:
                values[key] = tuple(nested[key](**item) for item in value)
            elif key == "hangup" and value is not None:
                values[key] = Hangup(**value)
            elif key in ("rings", "raised_voice") and value is not None:
                values[key] = tuple((float(a), float(b)) for a, b in value)
            else:
                values[key] = value
        return cls(**values)


# ---------------------------------------------------------------------------------------------------------------------
# Rings and the answer

# The line "comes alive" at the answer: the far end's room and line noise replace the network's silence between
# rings. A step this far above the silence between rings, held this long, is the answer.
LINE_STEP_DB = 10.0
LINE_STEP_HOLD_S = 0.3
# The tone's own filter tail after a burst ends is not the line coming alive.
BURST_TAIL_S = 0.1
FRAME_S = acoustics.RING_FRAME_S


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
class _Answer:
    answer_s: float
    source: str
    rings: tuple[Region, ...]
    channel: str | None


def _answer(streams: Mapping[str, np.ndarray], first_speech_s: float | None, preset: RingbackPreset) -> _Answer:
    """The ringing before the first speech on whichever stream rings most, and when it was answered."""
    best: tuple[str, tuple[Region, ...]] | None = None
    for name, samples in streams.items():
        bursts = acoustics.detect_ringback(samples, preset, before_s=first_speech_s).bursts
        if bursts and (best is None or len(bursts) > len(best[1])):
            best = (name, bursts)
    if best is None:
        return _Answer(0.0, "start", (), None)
    name, bursts = best
    channel = "mix" if name == "unknown" else name
    last_start, last_end = bursts[-1]
    if last_end - last_start < preset.on_s * (1 - acoustics.BURST_DURATION_TOLERANCE):
        return _Answer(last_end, "ringback", bursts, channel)  # the answer cut the ring short
    # Otherwise it came in the silence after the last ring, before the next ring would have started.
    until = last_start + preset.period_s
    if first_speech_s is not None:
        until = min(until, first_speech_s)
    alive = [t for samples in streams.values() if (t := _line_alive_at(samples, bursts, until)) is not None]
    if alive:
        return _Answer(min(alive), "line", bursts, channel)
    return _Answer(max(last_end, until), "speech", bursts, channel)


def _metadata_rings(metadata: CallMetadata, preset: RingbackPreset) -> tuple[int | None, float | None]:
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


# ---------------------------------------------------------------------------------------------------------------------
# Helpers over the transcript


def _regions(transcript: Transcript) -> dict[str, tuple[Region, ...]]:
    """Speech regions per speaker: the VAD's, or the segments' own times for a transcript from a file."""
    if transcript.speech_regions:
        return {speaker: tuple(regions) for speaker, regions in transcript.speech_regions.items()}
    regions: dict[str, list[Region]] = {}
    for segment in transcript.segments:
        regions.setdefault(segment.speaker, []).append((segment.start_s, segment.end_s))
    return {speaker: tuple(found) for speaker, found in regions.items()}


def _clipped_total(regions: Sequence[Region], start_s: float, end_s: float) -> float:
    merged = acoustics.merged(regions)
    return sum(max(0.0, min(end, end_s) - max(start, start_s)) for start, end in merged)


def _is_backchannel(text: str, backchannels: Sequence[str]) -> bool:
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


def _hold_notice(
    speaker_segments: Sequence[Segment], silence_start_s: float, settings: TimingSettings, min_similarity: float
) -> str | None:
    """The hold phrase of the utterance that ended at most hold_notice_within_s before the silence, if any."""
    for segment in reversed(speaker_segments):
        if segment.end_s > silence_start_s + FRAME_S:
            continue
        if segment.end_s < silence_start_s - settings.hold_notice_within_s:
            return None
        match = find_any(segment.text, settings.hold_phrases, min_similarity)
        if match is not None:
            return match.phrase
    return None


def _pace(segments: Sequence[Segment]) -> tuple[float | None, tuple[PaceStretch, ...]]:
    """Characters per minute over each utterance's own span (first word to last word), and per utterance."""
    stretches = []
    total_chars = 0
    total_s = 0.0
    for segment in segments:
        start, end = (
            (segment.words[0].start_s, segment.words[-1].end_s)
            if segment.words
            else (
                segment.start_s,
                segment.end_s,
            )
        )
        chars = len(spoken_chars(segment.text))
        if chars == 0 or end <= start:
            continue
        total_chars += chars
        total_s += end - start
        stretches.append(PaceStretch(start, end, round(chars * 60 / (end - start), 1), segment.text))
    if total_s <= 0:
        return None, ()
    return round(total_chars * 60 / total_s, 1), tuple(stretches)


# ---------------------------------------------------------------------------------------------------------------------
# The stage


# Words up to this long before answered_at - started_at still leave the metadata's answer time standing: the
# switch's clock and the transcript's times are not aligned to the millisecond.
ANSWER_SLACK_S = 0.5


def measure_call(
    audio: DecodedAudio | None,
    transcript: Transcript,
    metadata: CallMetadata,
    settings: TimingSettings | None = None,
    agent_channel: int = 0,
    min_similarity: float = 0.85,
) -> Measures:
    """Every timing of one call. `audio` is None for a transcript scored from a file (no rings, no tone)."""
    from qa_pipeline.asr.speakers import split_speakers  # the same channel -> speaker split as the transcript

    settings = settings or TimingSettings()
    preset = settings.preset
    streams = split_speakers(audio, agent_channel).streams if audio is not None else {}
    regions = _regions(transcript)
    all_regions = [region for found in regions.values() for region in found]
    first_speech = min((start for start, _ in all_regions), default=None)
    speakers = transcript.has_speakers
    agent_segments = [s for s in transcript.by_speaker("agent") if s.text] if speakers else []
    customer_segments = [s for s in transcript.by_speaker("customer") if s.text] if speakers else []

    # Rings and the answer.
    answer = _answer(streams, first_speech, preset) if streams else _Answer(0.0, "start", (), None)
    ring_count_metadata, ring_s_metadata = _metadata_rings(metadata, preset)
    if not streams and ring_s_metadata and (first_speech is None or first_speech >= ring_s_metadata - ANSWER_SLACK_S):
        # A transcript from a file has no audio to hear the ringing in. Its times count from the start of
        # the recording; when nobody speaks before answered_at - started_at, the recording began with the
        # ringing (the switch records from the first ring), and the answer is there: the ringing is neither
        # dead air nor time the agent took to greet. Speech earlier than that means it began at the answer.
        answer = _Answer(ring_s_metadata, "metadata", (), None)
    ring_count_audio = len(answer.rings) if streams else None
    ring_s_audio = round(answer.answer_s, 3) if answer.rings else None
    if answer.rings:
        ring_count, ring_s, ring_source = ring_count_audio, ring_s_audio, "audio"
    elif ring_count_metadata is not None:
        ring_count, ring_s, ring_source = ring_count_metadata, ring_s_metadata, "metadata"
    else:
        ring_count, ring_s, ring_source = None, None, None

    # Direction: the switch's word, else the side that heard the ringing, else who spoke first.
    direction, direction_source = metadata.direction, "metadata" if metadata.direction else None
    if direction is None and answer.channel in ("agent", "customer"):
        direction, direction_source = ("inbound" if answer.channel == "agent" else "outbound"), "ringback"
    if direction is None and agent_segments and customer_segments:
        agent_first = agent_segments[0].start_s <= customer_segments[0].start_s
        direction, direction_source = ("inbound" if agent_first else "outbound"), "first_speaker"

    answer_s = answer.answer_s
    speech_end = max((end for _, end in all_regions), default=None)
    talk_s = silence_s = hold_s = None
    listed: list[Silence] = []
    agent_talk = customer_talk = ratio = None
    if speech_end is not None:
        talk_s = round(max(0.0, speech_end - answer_s), 3)
        gaps = acoustics.silences(regions, answer_s, speech_end, 0.0)
        silence_s = round(sum(end - start for start, end in gaps), 3)
        notice_segments = agent_segments if speakers else [s for s in transcript.segments if s.text]
        for start, end in gaps:
            if end - start >= settings.min_silence_s:
                notice = _hold_notice(notice_segments, start, settings, min_similarity)
                listed.append(Silence(round(start, 3), round(end, 3), notice))
        hold_s = round(sum(s.duration_s for s in listed if s.is_hold), 3)
        if speakers:
            agent_talk = round(_clipped_total(regions.get("agent", ()), answer_s, speech_end), 3)
            customer_talk = round(_clipped_total(regions.get("customer", ()), answer_s, speech_end), 3)
            if agent_talk + customer_talk > 0:
                ratio = round(agent_talk / (agent_talk + customer_talk), 3)

    # Overtalk needs each party on its own channel: a mixed channel hides who started while the other spoke.
    interruptions: tuple[Overtalk, ...] | None = None
    if transcript.diarization in ("channel", "external") and "agent" in regions and "customer" in regions:
        found = []
        for overlap in acoustics.overlaps(regions["agent"], regions["customer"], settings.min_overlap_s):
            text = transcript.text_during("agent", *overlap.agent_region)
            if text and not _is_backchannel(text, settings.backchannels):
                found.append(Overtalk(round(overlap.start_s, 3), round(overlap.end_s, 3), text))
        interruptions = tuple(found)

    cpm, pace = _pace(agent_segments) if agent_segments else (None, ())

    raised: tuple[Region, ...] | None = None
    # The agent's pitch and level: its own channel, or the mixed channel during the agent's diarized turns.
    agent_stream = streams.get("agent") if transcript.diarization == "channel" else None
    if transcript.diarization in ("embedded", "pyannote") and speakers:
        agent_stream = streams.get("unknown")
    if audio is not None and agent_stream is not None and regions.get("agent"):
        track = acoustics.voice_track(agent_stream, regions.get("agent", ()))
        raised = tuple(
            (round(start, 3), round(end, 3))
            for start, end in acoustics.raised_voice(
                track, settings.raised_rise_db, settings.raised_rise_semitones, settings.raised_min_s
            )
        )

    customer_first = customer_segments[0].start_s if customer_segments else None
    topic = next((s for s in agent_segments if find_any(s.text, settings.topic_phrases, min_similarity)), None)
    time_to_topic = None
    if topic is not None:
        reference = customer_first if customer_first is not None else answer_s
        time_to_topic = round(max(0.0, topic.start_s - reference), 3)

    hangup = None
    if speech_end is not None and audio is not None:
        if speakers:
            last_by = {speaker: max((end for _, end in found), default=-1.0) for speaker, found in regions.items()}
            ended_by = max(last_by, key=lambda speaker: last_by[speaker])
        else:
            ended_by = "unknown"
        last_customer = customer_segments[-1] if customer_segments else None
        # A customer who said goodbye and hung up ended the call; one still talking when it ended was cut off.
        said_goodbye = last_customer is not None and find_any(last_customer.text, settings.farewells, min_similarity)
        cut_off = (
            ended_by == "customer" and audio.duration_s - speech_end <= settings.cut_off_within_s and not said_goodbye
        )
        last_customer = last_customer if cut_off else None
        hangup = Hangup(
            ended_by,
            round(speech_end, 3),
            cut_off,
            last_customer.start_s if last_customer else None,
            last_customer.text if last_customer else None,
        )

    return Measures(
        answer_s=round(answer_s, 3),
        answer_source=answer.source,
        ring_count=ring_count,
        ring_s=ring_s,
        ring_source=ring_source,
        ring_count_audio=ring_count_audio,
        ring_s_audio=ring_s_audio,
        ring_count_metadata=ring_count_metadata,
        ring_s_metadata=ring_s_metadata,
        ringback_channel=answer.channel,
        rings=tuple((round(a, 3), round(b, 3)) for a, b in answer.rings),
        direction=direction,
        direction_source=direction_source,
        speech_end_s=round(speech_end, 3) if speech_end is not None else None,
        talk_s=talk_s,
        silence_s=silence_s,
        silences=tuple(listed),
        hold_s=hold_s,
        agent_talk_s=agent_talk,
        customer_talk_s=customer_talk,
        agent_talk_ratio=ratio,
        interruptions=interruptions,
        agent_chars_per_minute=cpm,
        pace=pace,
        raised_voice=raised,
        customer_first_s=customer_first,
        topic_s=topic.start_s if topic else None,
        topic_text=topic.text if topic else None,
        time_to_topic_s=time_to_topic,
        hangup=hangup,
    )


__all__ = [
    "Hangup",
    "Interruption",
    "Measures",
    "Overtalk",
    "PaceStretch",
    "Silence",
    "TimingSettings",
    "measure_call",
]
