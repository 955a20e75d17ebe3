"""The transcript: the typed interface between speech recognition and the checks."""

from __future__ import annotations

from dataclasses import dataclass, field

SPEAKERS = ("agent", "customer", "unknown")


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """One stretch of speech by one speaker. `text` is the concatenation of the words' text."""

    speaker: str
    start_s: float
    end_s: float
    text: str
    confidence: float | None = None
    words: tuple[Word, ...] = ()

    def span_times(self, char_start: int, char_end: int) -> tuple[float, float]:
        """Seconds covered by text[char_start:char_end], from word timestamps when there are any."""
        if not self.words:
            return self.start_s, self.end_s
        position = 0
        start = end = None
        for word in self.words:
            word_start, word_end = position, position + len(word.text)
            position = word_end
            if word_end <= char_start or word_start >= char_end:
                continue
            start = word.start_s if start is None else start
            end = word.end_s
        if start is None or end is None:
            return self.start_s, self.end_s
        return start, end


@dataclass(frozen=True)
class Transcript:
    """Everything said on a call, in time order.

    diarization: how speakers were told apart: 'channel' (stereo, one party per channel),
    'pyannote' / 'embedded' (mono diarization) or 'none' (mono, every segment 'unknown').
    """

    segments: tuple[Segment, ...]
    diarization: str
    asr_model: str
    speech_regions: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)

    def by_speaker(self, speaker: str) -> list[Segment]:
        return [segment for segment in self.segments if segment.speaker == speaker]

    def segment_at(self, speaker: str, time_s: float) -> Segment | None:
        """The speaker's segment that is going on at `time_s` (or starts exactly then)."""
        return next((s for s in self.by_speaker(speaker) if s.start_s <= time_s < s.end_s or s.start_s == time_s), None)

    def text_during(self, speaker: str, start_s: float, end_s: float) -> str:
        """What the speaker said in segments overlapping start_s..end_s."""
        return "".join(s.text for s in self.by_speaker(speaker) if s.start_s < end_s and s.end_s > start_s)

    @property
    def has_speakers(self) -> bool:
        return self.diarization != "none"
