"""The check registry: what a check is, what it sees, what it returns.

A check is a class with a stable `id`, a docstring citing the standard it enforces, a `Settings`
dataclass (its keys in the scorecard's `[checks.<id>]` table) and an `evaluate` method that turns a
`CallContext` into a `CheckResult`. Registering is a decorator, like ruff's or sqlfluff's rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.measures import Measures
from qa_pipeline.text.matching import clause_from, find_any, is_question
from qa_pipeline.text.meaning import MeaningSettings, exemplar_set, find_meaning

# Metadata of a Settings field that is a table keyed by call type (`field(metadata=CALL_TYPE_KEYS)`):
# the scorecard rejects a key that is not a call type, naming it (checks.required_info.facts.sales).
CALL_TYPE_KEYS = {"keys": "call_type"}


def bounds(low: float, high: float, **metadata: Any) -> dict[str, Any]:
    """Metadata of a numeric Settings field: its allowed range, both ends included (`field(metadata=bounds(0.0,
    600.0))`); for a table of numbers (limits_s), the range of each value. Every int or float field, and every
    table of them, must declare one (tests/test_scorecard.py); the scorecard rejects a value outside it, naming the
    key. Other metadata (CALL_TYPE_KEYS) goes alongside: `bounds(0.0, 86400.0, **CALL_TYPE_KEYS)`."""
    return {"bounds": (low, high), **metadata}


@dataclass(frozen=True)
class CheckSettings:
    """Keys every check has in the scorecard."""

    enabled: bool = True
    weight: float = field(default=1.0, metadata=bounds(0.0, 1000.0))
    fatal: bool = False  # a failure caps the call score at 0 and fails the call
    call_types: tuple[str, ...] = ()  # empty: every call type

    def problems(self) -> Iterator[tuple[str, str]]:
        """Rules between a check's keys that their types cannot say: (key path, what is wrong).

        The key path is relative to the check's table (`required.repair[0]`); the scorecard prefixes
        it and names the file.
        """
        return iter(())


@dataclass(frozen=True)
class CallContext:
    """What a check may look at: the transcript, the call's timings, and call facts from metadata and the scorecard."""

    call_id: str
    transcript: Transcript
    call_type: str | None = None
    direction: str | None = None
    organisations: tuple[str, ...] = ()
    min_similarity: float = 0.85
    measures: Measures = field(default_factory=Measures)
    customer_tags: tuple[str, ...] = ()  # from metadata, e.g. ('elderly',): speech_rate's slower band
    meaning: MeaningSettings = field(default_factory=MeaningSettings)  # scorecard [matching]: text.meaning

    @property
    def answer_s(self) -> float:
        """Seconds from the start of the recording to the answer."""
        return self.measures.answer_s

    def agent_segments(self) -> list[Segment]:
        return [s for s in self.transcript.by_speaker("agent") if s.text]

    def demanding(self, min_margin: float) -> CallContext:
        """This call with meaning matches needing at least `min_margin` over the counter-exemplars: what
        accuses the agent, or makes a check apply that can fail them, asks more certainty."""
        return replace(self, meaning=replace(self.meaning, min_margin=max(min_margin, self.meaning.min_margin)))


@dataclass(frozen=True)
class CheckResult:
    # metadata "speech": where the privacy stage records what it masked in the field (None: no speech in it).
    check_id: str = field(metadata={"speech": None})
    applicable: bool
    passed: bool | None
    score: float | None
    weight: float
    fatal: bool = False
    evidence_start_s: float | None = None
    evidence_end_s: float | None = None
    evidence_text: str | None = field(default=None, metadata={"speech": "check_results:{check_id}"})
    detail: dict[str, Any] = field(
        default_factory=dict, metadata={"speech": "check_results:{check_id}:detail", "as": "value"}
    )


@dataclass(frozen=True)
class SegmentMatch:
    """A phrase found in one segment, with the seconds its matched characters cover."""

    segment: Segment
    phrase: str
    matched_text: str
    start_s: float
    end_s: float
    similarity: float
    method: str
    char_start: int = 0  # the match's character offsets into segment.text
    char_end: int = 0
    margin: float | None = None  # method 'meaning': similarity minus the nearest counter-exemplar's

    @classmethod
    def at(
        cls,
        segment: Segment,
        phrase: str,
        start: int,
        end: int,
        similarity: float,
        method: str,
        margin: float | None = None,
    ) -> SegmentMatch:
        """The match of `phrase` at characters start:end of `segment`, with the seconds they cover."""
        start_s, end_s = segment.span_times(start, end)
        return cls(segment, phrase, segment.text[start:end], start_s, end_s, similarity, method, start, end, margin)

    def describe(self) -> dict[str, Any]:
        """What a verdict's detail says of how the words were found: the method ('exact', 'pinyin',
        'fuzzy' or 'meaning'), the phrase or exemplar they matched, the similarity (and the margin)."""
        found: dict[str, Any] = {"method": self.method, "similarity": self.similarity}
        if self.method == "meaning":
            found |= {"exemplar": self.phrase, "margin": self.margin}
        return found


class Check:
    """Base class of every check. Subclasses set `id`, `category`, `Settings` and `evaluate`."""

    id: ClassVar[str]
    # 'script': a mandated phrase (counts toward script compliance); 'conduct': forbidden behaviour;
    # 'timing': a time limit of the standards (rings, dead air, call length, time to topic).
    category: ClassVar[str]
    needs_speakers: ClassVar[bool] = True
    # Judges something one channel per party shows best (overtalk): where it is not applicable on a mono
    # recording (no roles, or an overlap it could not tell), evaluation counts that as abstaining, not as a
    # wrong verdict.
    needs_own_channels: ClassVar[bool] = False
    # A phrase the agent must say is missing when the agent said nothing at all: such checks fail
    # (rather than each testing for it) once they apply to the call.
    fails_without_agent_speech: ClassVar[bool] = False
    Settings: ClassVar[type[CheckSettings]] = CheckSettings

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings

    # -- helpers for subclasses -------------------------------------------------------------------
    def result(self, passed: bool, score: float | None = None, **kwargs: Any) -> CheckResult:
        return CheckResult(
            check_id=self.id,
            applicable=True,
            passed=passed,
            score=(1.0 if passed else 0.0) if score is None else score,
            weight=self.settings.weight,
            fatal=self.settings.fatal,
            **kwargs,
        )

    def not_applicable(self, reason: str, **detail: Any) -> CheckResult:
        return CheckResult(
            check_id=self.id,
            applicable=False,
            passed=None,
            score=None,
            weight=self.settings.weight,
            fatal=self.settings.fatal,
            detail={"reason": reason, **detail},
        )

    @staticmethod
    def find_in(
        segment: Segment, phrases: tuple[str, ...], min_similarity: float, start: int = 0
    ) -> SegmentMatch | None:
        """One of `phrases` in `segment` at character offset `start` or later, with its own times."""
        match = find_any(segment.text, phrases, min_similarity, start)
        if match is None:
            return None
        return SegmentMatch.at(segment, match.phrase, match.start, match.end, match.similarity, match.method)

    @classmethod
    def find_first(
        cls,
        segments: list[Segment],
        phrases: tuple[str, ...],
        min_similarity: float,
        accept: Callable[[Segment, SegmentMatch], bool],
    ) -> SegmentMatch | None:
        """The first occurrence of one of `phrases` (in time order, then in the segment) that `accept`
        takes: a check's own reading of what the phrase means where it stands (done already, our own office)."""
        for segment in segments:
            start = 0
            while (found := cls.find_in(segment, phrases, min_similarity, start)) is not None:
                if accept(segment, found):
                    return found
                start = found.char_end
        return None

    @classmethod
    def find(cls, segments: list[Segment], phrases: tuple[str, ...], min_similarity: float) -> SegmentMatch | None:
        """The first segment (in time order) containing one of `phrases`, with the phrase's own times."""
        for segment in segments:
            match = cls.find_in(segment, phrases, min_similarity)
            if match:
                return match
        return None

    @staticmethod
    def mean_in(
        segment: Segment,
        exemplars: tuple[str, ...],
        counter_exemplars: tuple[str, ...],
        call: CallContext,
        question: bool = False,
    ) -> SegmentMatch | None:
        """A clause of `segment` that means what one of `exemplars` means (text.meaning) and, with
        `question`, asks it (a question, not a statement that shares its words)."""
        match = find_meaning(segment.text, exemplar_set(exemplars, counter_exemplars), call.meaning, question)
        if match is None:
            return None
        return SegmentMatch.at(
            segment, match.exemplar, match.start, match.end, match.similarity, "meaning", match.margin
        )

    @classmethod
    def find_said(
        cls,
        segments: list[Segment],
        phrases: tuple[str, ...],
        call: CallContext,
        exemplars: tuple[str, ...] = (),
        counter_exemplars: tuple[str, ...] = (),
        question: bool = False,
    ) -> SegmentMatch | None:
        """`find` by phrase first (what is written, or sounds alike); failing that, the first segment with a
        clause that means what one of `exemplars` (whole sentences, where phrases are words) means (`mean_in`).
        With `question`, only a phrase or clause that asks counts (还有别的事可以再打过来 is no question)."""
        for segment in segments:
            found = cls.find_in(segment, phrases, call.min_similarity)
            if found is not None and (not question or is_question(clause_from(segment.text, found.char_start))):
                return found
        if not call.meaning.enabled or not exemplars:
            return None
        for segment in segments:
            meant = cls.mean_in(segment, exemplars, counter_exemplars, call, question)
            if meant is not None:
                return meant
        return None

    @staticmethod
    def find_verified(call: CallContext, segments: list[Segment], phrases: tuple[str, ...]) -> SegmentMatch | None:
        """One of `phrases` that the ASR model heard in one of `segments` although the transcript lacks it
        (asr.verify: `Transcript.verified`), method 'audio-verified', its probability as the similarity."""
        by_start = {(s.speaker, s.start_s): s for s in segments}
        for heard in call.transcript.verified:
            segment = by_start.get((heard.speaker, heard.segment_start_s))
            if segment is not None and heard.phrase in phrases:
                return SegmentMatch(
                    segment,
                    heard.phrase,
                    heard.phrase,
                    heard.start_s,
                    heard.end_s,
                    heard.probability,
                    "audio-verified",
                    heard.char_offset,
                    heard.char_offset,
                )
        return None

    @staticmethod
    def audio_verified(found: Mapping[str, SegmentMatch | None]) -> dict[str, float]:
        """Of `found` (by element or phrase), those heard in the audio only ('audio-verified'), with their
        probabilities: what detail.audio_verified shows the QA lead."""
        return {name: m.similarity for name, m in found.items() if m is not None and m.method == "audio-verified"}

    @staticmethod
    def evidence(matches: list[SegmentMatch], fallback: Segment | None) -> dict[str, Any]:
        """Evidence fields: the matched words' seconds and the utterances holding them.

        With no match at all, the utterance where the phrase was due (`fallback`) is the evidence;
        with no such utterance either, there is none.
        """
        if not matches:
            if fallback is None:
                return {}
            return {
                "evidence_start_s": fallback.start_s,
                "evidence_end_s": fallback.end_s,
                "evidence_text": fallback.text,
            }
        segments = sorted({id(m.segment): m.segment for m in matches}.values(), key=lambda s: s.start_s)
        return {
            "evidence_start_s": min(m.start_s for m in matches),
            "evidence_end_s": max(m.end_s for m in matches),
            "evidence_text": "".join(s.text for s in segments),
        }

    def run(self, call: CallContext) -> CheckResult:
        """Applicability rules shared by every check, then the check's own `evaluate`."""
        if self.settings.call_types and call.call_type not in self.settings.call_types:
            return self.not_applicable(f"call type {call.call_type!r} not in {list(self.settings.call_types)}")
        if self.needs_speakers and not call.transcript.has_speakers:
            transcript = call.transcript
            if transcript.role_note:  # diarized, but which voice is the agent's is unclear: not guessed
                return self.not_applicable(f"agent and customer not told apart ({transcript.role_note})")
            return self.not_applicable(f"no speaker attribution on this call (diarization={transcript.diarization!r})")
        if self.fails_without_agent_speech and not call.agent_segments():
            return self.result(False, score=0.0, detail={"reason": "the agent never spoke"})
        return self.evaluate(call)

    def evaluate(self, call: CallContext) -> CheckResult:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class PhraseBanSettings(CheckSettings):
    # A match accuses the agent, so it may ask for more certainty than the scorecard-wide similarity.
    min_similarity: float = field(metadata=bounds(0.5, 1.0))
    phrases: tuple[str, ...]
    # meaning-level matching (text.meaning): whole sentences that do what the phrases name, and the
    # correct conduct that shares their words (a polite refusal, a transfer)
    exemplars: tuple[str, ...] = ()
    counter_exemplars: tuple[str, ...] = ()
    # ... and, for the same reason, a wider margin over the counter-exemplars than [matching]'s
    min_meaning_margin: float = field(default=0.03, metadata=bounds(0.0, 0.5))


class PhraseBanCheck(Check):
    """A conduct check: fails on the first agent utterance with one of `phrases` that is not excused.
    With none, on the first agent utterance that means what one of `exemplars` means ([matching] meaning).

    What the customer says never counts. Subclasses set the id, the docstring citing the standard and,
    where a phrase can be taken back in context, `excused`.
    """

    category = "conduct"
    Settings: ClassVar[type[CheckSettings]] = PhraseBanSettings
    settings: PhraseBanSettings

    def excused(self, hit: SegmentMatch) -> bool:
        return False

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        similarity = max(s.min_similarity, call.min_similarity)
        agent = call.agent_segments()
        hit = self.find_first(agent, s.phrases, similarity, lambda _segment, found: not self.excused(found))
        if hit is not None:
            return self.result(
                False,
                **self.evidence([hit], hit.segment),
                detail={"phrase": hit.phrase, "matched": hit.matched_text} | hit.describe(),
            )
        if call.meaning.enabled and s.exemplars:
            strict = call.demanding(s.min_meaning_margin)
            for segment in agent:
                meant = self.mean_in(segment, s.exemplars, s.counter_exemplars, strict)
                if meant is not None and not self.excused(meant):
                    return self.result(
                        False,
                        **self.evidence([meant], meant.segment),
                        detail={"phrase": meant.phrase, "matched": meant.matched_text} | meant.describe(),
                    )
        return self.result(True, detail={"phrases_checked": len(s.phrases), "exemplars_checked": len(s.exemplars)})


REGISTRY: dict[str, type[Check]] = {}


def register(check: type[Check]) -> type[Check]:
    if not getattr(check, "id", None) or not check.__doc__:
        raise TypeError(f"{check.__name__} needs an id and a docstring citing its standard")
    if check.id in REGISTRY:
        raise ValueError(f"check id {check.id!r} registered twice")
    REGISTRY[check.id] = check
    return check
