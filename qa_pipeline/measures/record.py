"""What the measure stage gives: `Measures`, everything timed about one call, and its event records.

Text fields that can carry what someone said have field metadata `speech`: the location template (its
`{field}`s are the same record's fields) under which the privacy stage records what it masked there. The
other text fields have `speech` None: codes, never speech.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from qa_pipeline.measures.acoustics import Region


@dataclass(frozen=True)
class Silence:
    """Nobody speaking from start_s to end_s; `hold_notice` is the hold phrase said just before, if any."""

    start_s: float
    end_s: float
    hold_notice: str | None = field(default=None, metadata={"speech": "call_events:hold@{start_s}"})

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
    agent_text: str = field(default="", metadata={"speech": "call_events:interruption@{start_s}"})

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Hangup:
    """How the call ended: whose speech was last and whether the customer was cut off mid-sentence."""

    ended_by: str = field(metadata={"speech": None})  # 'agent' | 'customer' | 'unknown'
    last_speech_end_s: float
    customer_cut_off: bool = False
    cut_off_start_s: float | None = None  # the customer's cut-off utterance
    cut_off_text: str | None = field(default=None, metadata={"speech": "call_events:cut_off"})


@dataclass(frozen=True)
class PaceStretch:
    """The agent's rate in one utterance (evidence for speech_rate)."""

    start_s: float
    end_s: float
    chars_per_minute: float
    text: str = field(metadata={"speech": "pace@{start_s}"})


@dataclass(frozen=True)
class Measures:
    """Everything timed about one call. None: not measurable on this call (stored as NULL)."""

    answer_s: float = 0.0  # file start -> answer; 0 when the recording starts at the answer
    # 'ringback' | 'line' | 'speech' | 'metadata' | 'start'
    answer_source: str = field(default="start", metadata={"speech": None})
    ring_count: int | None = None  # the value used: audio when ringback was heard, else metadata
    ring_s: float | None = None
    ring_source: str | None = field(default=None, metadata={"speech": None})  # 'audio' | 'metadata'
    ring_count_audio: int | None = None
    ring_s_audio: float | None = None
    ring_count_metadata: int | None = None
    ring_s_metadata: float | None = None
    ringback_channel: str | None = field(default=None, metadata={"speech": None})  # 'agent' | 'customer' | 'mix'
    rings: tuple[Region, ...] = ()
    direction: str | None = field(default=None, metadata={"speech": None})  # 'inbound' | 'outbound'
    # 'metadata' | 'ringback' | 'first_speaker'
    direction_source: str | None = field(default=None, metadata={"speech": None})
    speech_end_s: float | None = None
    talk_s: float | None = None  # answer -> end of the last speech
    silence_s: float | None = None  # nobody speaking, between the answer and the end of the last speech
    silences: tuple[Silence, ...] = ()  # at least TimingSettings.min_silence_s long
    hold_s: float | None = None
    agent_talk_s: float | None = None
    customer_talk_s: float | None = None
    agent_talk_ratio: float | None = None  # agent / (agent + customer)
    interruptions: tuple[Overtalk, ...] | None = None  # None: overlap not measurable (mono, no overlaps read)
    # mono: overlaps long enough to be interruptions where the speaker turns cannot tell who came in on whom
    overlaps_untold: tuple[Region, ...] = ()
    agent_chars_per_minute: float | None = None
    pace: tuple[PaceStretch, ...] = ()
    raised_voice: tuple[Region, ...] | None = None  # None: the agent's own audio is not separable
    # the customer's, by the same measure: distress the words may not say (empathy)
    customer_raised_voice: tuple[Region, ...] | None = None
    customer_first_s: float | None = None
    topic_s: float | None = None  # the first word of the agent's clause stating the call's purpose
    topic_text: str | None = field(default=None, metadata={"speech": "calls.topic_text"})
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
            elif key in ("rings", "raised_voice", "customer_raised_voice", "overlaps_untold") and value is not None:
                values[key] = tuple((float(a), float(b)) for a, b in value)
            else:
                values[key] = value
        return cls(**values)
