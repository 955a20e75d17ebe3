from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import (
    CALL_TYPE_KEYS,
    CallContext,
    Check,
    CheckResult,
    CheckSettings,
    SegmentMatch,
    register,
)
from qa_pipeline.text.matching import INTERJECTIONS, NEGATING_PREFIXES
from qa_pipeline.text.personal_data import ENTITY_KINDS, find_personal_data_in_utterances

# A clause: what lies between punctuation marks. A fact "given" in a clause the customer ends as a
# question (你们地址在哪？, 是三栋吗) was not given, it was asked about.
_CLAUSE = re.compile(r"[^，,。！？!?；;\s]+[，,。！？!?；;\s]*")
_QUESTION_END = re.compile(r"(?:[？?]|吗[，,。！!；;\s]*)$")


@dataclass(frozen=True, kw_only=True)
class RequiredInfoSettings(CheckSettings):
    # call type -> fact -> phrases that ask for it. A fact with no phrases is not required (how a
    # center drops a default fact: tables merge key by key, so it cannot delete one).
    facts: dict[str, dict[str, tuple[str, ...]]] = field(metadata=CALL_TYPE_KEYS)
    # fact -> kinds of personal data (qa_pipeline.text.personal_data: phone, address, name, number, ...) that give it
    # when the customer says them, or the agent restates them (an utterance with a `restatements` phrase).
    given_kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # fact -> regular expressions a customer utterance that gives the fact matches (昨天, 漏水, 鲁A12345).
    given_patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Agent phrases that restate what the customer said (我跟您确认一下): `given_kinds` count there too.
    restatements: tuple[str, ...] = ()

    def problems(self) -> Iterator[tuple[str, str]]:
        known = {fact for table in self.facts.values() for fact in table}
        for key in ("given_kinds", "given_patterns"):
            for fact in getattr(self, key):
                if fact not in known:
                    yield f"{key}.{fact}", f"is not a fact of any call type (known: {', '.join(sorted(known))})"
        for fact, kinds in self.given_kinds.items():
            for i, kind in enumerate(kinds):
                if kind not in ENTITY_KINDS:
                    yield (
                        f"given_kinds.{fact}[{i}]",
                        f"is not a kind of personal data (known: {', '.join(ENTITY_KINDS)})",
                    )
        for fact, patterns in self.given_patterns.items():
            for i, pattern in enumerate(patterns):
                try:
                    compiled = re.compile(pattern)
                except re.error as error:
                    yield f"given_patterns.{fact}[{i}]", f"is not a regular expression ({error})"
                    continue
                if compiled.search(""):
                    yield f"given_patterns.{fact}[{i}]", "matches an empty text (it would find every fact given)"


@register
class RequiredInfo(Check):
    """The agent collects the facts the call type needs to be acted on.

    Standards: 003: 5 (第五章救援 "座席员经过询问后输入车型、车牌号、联系人、联系方式、故障地点和故障
    现象"); 001: 5 (5、c "迅速了解问题性质、地点、时间"); 002: 29 (投訴 2.問清楚 "要進一步問清有關情況");
    004: 35 (二.2 有效提问 "确保获取解决问题所需的全部必要信息"). The standards ask that the facts be
    collected, not that each be asked for, so a fact counts as collected when the agent asked for it
    (a phrase of `facts[type][fact]`) or when it was given without being asked: the customer said it
    (personal data of a `given_kinds` kind: a phone number, an address, their name; or a match of a
    `given_patterns` expression: 昨天, 漏水, a plate) outside a clause they end as a question, or the
    agent restated such personal data (an utterance with a `restatements` phrase). A fact asked but not
    answered counts: the agent did what 003 asks (经过询问), and the customer may not know (不记得是哪位).
    Not applicable when `facts` has none for the call's type. Passes when every fact was collected;
    score = share collected, `detail.missing` the facts neither asked nor given, `detail.found` what
    asked each fact, `detail.given` where each fact nobody asked for was given (evidence covers both).
    """

    id = "required_info"
    category = "script"
    Settings = RequiredInfoSettings
    settings: RequiredInfoSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        facts = {f: p for f, p in self.settings.facts.get(call.call_type or "", {}).items() if p}
        if not facts:
            return self.not_applicable(f"call type {call.call_type!r} has no required facts")
        agent = call.agent_segments()
        found = {fact: self.find(agent, phrases, call.min_similarity) for fact, phrases in facts.items()}
        asked = {fact: m for fact, m in found.items() if m}
        unasked = [fact for fact in facts if fact not in asked]
        given = self._given(call, agent, unasked)
        missing = [fact for fact in unasked if fact not in given]
        collected = len(facts) - len(missing)
        return self.result(
            not missing,
            score=round(collected / len(facts), 3),
            **self.evidence([*asked.values(), *given.values()], None),
            detail={
                "missing": missing,
                "found": {fact: m.matched_text for fact, m in asked.items()},
                "given": {
                    fact: {
                        "text": m.matched_text,
                        "speaker": m.segment.speaker,
                        "start_s": m.start_s,
                        "end_s": m.end_s,
                    }
                    for fact, m in given.items()
                },
            },
        )

    def _given(self, call: CallContext, agent: list[Segment], facts: list[str]) -> dict[str, SegmentMatch]:
        """The first utterance (in time order) giving each of `facts` without being asked for it."""
        s = self.settings
        if not facts:
            return {}
        customer = [seg for seg in call.transcript.by_speaker("customer") if seg.text]
        restating = [seg for seg in agent if self.find_in(seg, s.restatements, call.min_similarity)]
        # Personal data said by the customer, or restated by the agent (a confirmation is a question: 对吗？).
        entities = [
            (segment, entity)
            for segments in (customer, restating)
            if segments and any(s.given_kinds.get(fact) for fact in facts)
            for segment, found in zip(
                segments, find_personal_data_in_utterances([x.text for x in segments]), strict=True
            )
            for entity in found
            if segment.speaker == "agent" or not _in_question(segment.text, entity.start)
        ]
        candidates: list[tuple[str, SegmentMatch]] = []
        for fact in facts:
            kinds = s.given_kinds.get(fact, ())
            candidates += [
                (fact, _match(segment, f"<{e.kind}>", e.start, e.end)) for segment, e in entities if e.kind in kinds
            ]
            for pattern in s.given_patterns.get(fact, ()):
                candidates += [
                    (fact, _match(segment, pattern, m.start(), m.end()))
                    for segment in customer
                    for m in re.finditer(pattern, segment.text)
                    if m.end() > m.start()
                    and not _negated(segment.text, m.start())
                    and not _in_question(segment.text, m.start())
                ]
        first: dict[str, SegmentMatch] = {}
        for fact, match in sorted(candidates, key=lambda c: (c[1].start_s, c[1].char_start)):
            first.setdefault(fact, match)
        return {fact: first[fact] for fact in facts if fact in first}


def _match(segment: Segment, cue: str, start: int, end: int) -> SegmentMatch:
    """`segment.text[start:end]`, found by `cue` (an expression, or <kind> of personal data), with its seconds."""
    start_s, end_s = segment.span_times(start, end)
    return SegmentMatch(segment, cue, segment.text[start:end], start_s, end_s, 1.0, "given", start, end)


def _in_question(text: str, offset: int) -> bool:
    """Whether the clause of `text` holding character `offset` ends as a question (？, ?, 吗)."""
    for clause in _CLAUSE.finditer(text):
        if clause.start() <= offset < clause.end():
            return bool(_QUESTION_END.search(clause.group()))
    return False


def _negated(text: str, start: int) -> bool:
    """Whether a negating word (不, 没, 没有, 不是 …) comes right before offset `start`: 没漏水 gives no fault."""
    before = text[:start].rstrip()
    while before.endswith(INTERJECTIONS):
        before = before[:-1].rstrip()
    return before.endswith(NEGATING_PREFIXES)
