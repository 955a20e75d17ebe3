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
class VerifiedPhrase:
    """An expected phrase the transcript lacks that the ASR model, asked, says was said (asr.verify): in the
    utterance of `speaker` starting at `segment_start_s`, at character `char_offset` of its text, in the
    seconds `start_s`..`end_s` between the words around that place."""

    element: str  # the script element it stands for: salutation, organisation, offer_of_help, thanks, goodbye
    phrase: str
    speaker: str
    segment_start_s: float
    char_offset: int
    start_s: float
    end_s: float
    probability: float  # geometric mean of the phrase's token probabilities after the words before it


@dataclass(frozen=True)
class SpeechOverlap:
    """Two voices at once on a mono recording from start_s to end_s (asr.overlap). `together`: both voices
    began within a moment of each other, so neither came in on the other. Who was speaking before the other
    came in, the speaker turns tell (measures.overtalk)."""

    start_s: float
    end_s: float
    together: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Turn:
    """One diarized speaker turn: the diarizer's label and the role it was given."""

    start_s: float
    end_s: float
    label: str
    role: str  # agent | customer | unknown


@dataclass(frozen=True)
class Transcript:
    """Everything said on a call, in time order.

    diarization: how speakers were told apart: 'channel' (stereo, one party per channel),
    'pyannote' / 'embedded' (mono diarization), 'external' (a transcript file's own labels) or
    'none' (mono, every segment 'unknown').
    diarization_confidence / role_confidence: 0..1 for mono diarization (None where speakers are exact
    or absent); speakers_found: how many voices diarization found; role_note says why the roles are
    what they are, or why none were assigned (then every segment is 'unknown').
    speech_regions: where each speaker's speech starts and stops: the VAD's unpadded edges per channel
    (asr.vad.VoiceActivity), or the diarizer's turns per role on a mono call.
    """

    segments: tuple[Segment, ...]
    diarization: str
    asr_model: str
    speech_regions: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    diarization_confidence: float | None = None
    role_confidence: float | None = None
    speakers_found: int | None = None
    role_note: str | None = None
    turns: tuple[Turn, ...] = ()
    verified: tuple[VerifiedPhrase, ...] = ()  # expected phrases heard in the audio, not in the text (asr.verify)
    # mono: where two voices spoke at once (asr.overlap); None where not looked for (stereo, or switched off)
    overlaps: tuple[SpeechOverlap, ...] | None = None

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
        """Whether agent and customer are told apart (a diarized mono call whose roles are unclear is not)."""
        if self.diarization in ("embedded", "pyannote"):
            return any(s.speaker in ("agent", "customer") for s in self.segments)
        return self.diarization != "none"
