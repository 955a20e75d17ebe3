from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, SegmentMatch, bounds, register
from qa_pipeline.text.matching import INTERJECTIONS

# What a name is made of (letters, digits, Chinese characters) and how long one may be before its
# organisation word: 招商银行信用卡中心 is 7 before 中心.
_NAME_CHAR = "[\u4e00-\u9fffA-Za-z0-9]"
_MAX_NAME_CHARS = 12


@dataclass(frozen=True, kw_only=True)
class GreetingSettings(CheckSettings):
    within_s: float = field(metadata=bounds(0.0, 600.0))
    opening_span_s: float = field(metadata=bounds(0.0, 600.0))
    salutations: tuple[str, ...]
    offers: tuple[str, ...]
    introductions: tuple[str, ...]
    require_organisation: bool
    # With no [center].organisations (a center's first night): an organisation is named when the opening
    # has a name ending in one of these words, right after a salutation, a lead-in or a pause.
    organisation_words: tuple[str, ...] = ()
    organisation_lead_ins: tuple[str, ...] = ()
    # Words that begin a phrase that is not a name (我们客服中心 is "our service centre").
    not_a_name: tuple[str, ...] = ()


@register
class Greeting(Check):
    """Standard greeting at the start of the call.

    Standards: 001 咨询/投诉/维修 a-b "电话铃响三声内接起电话 / 用标准服务用语进行问候" with the example
    "您好，欢迎致电红树西岸管理处前台客服，请问有什么可以帮助您"; 004 一.2 "问候语需…包含企业/部门名称…
    礼貌欢迎语"; 000 一 "您好！请问有什么可以协助您?" and 建议一 "您好，江苏CA为您服务".
    Passes when the agent's opening (its speech within `opening_span_s` of its first word, which must
    start within `within_s` of answer) has a salutation, the organisation name (scorecard
    [center].organisations) and, on inbound calls, an offer of help; on outbound calls an introduction
    (我是…) stands in for the offer. With no organisations configured (a center's first night), any name
    ending in an organisation word (`organisation_words`: …公司, …中心, …物业) after a salutation, a
    lead-in or a pause counts, and detail.organisation_named says which, for the operator to confirm.
    An element the transcript lacks counts when the ASR model, asked, heard one of its phrases in the
    agent's first utterance (asr.verify, [matching] audio_verify; detail.audio_verified gives each such
    element's probability).
    """

    id = "greeting"
    category = "script"
    fails_without_agent_speech = True
    Settings = GreetingSettings
    settings: GreetingSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        first = agent[0]
        opening = [seg for seg in agent if seg.start_s <= first.start_s + s.opening_span_s]
        if call.direction == "outbound":
            help_phrases = s.introductions
        elif call.direction == "inbound":
            help_phrases = s.offers
        else:
            help_phrases = s.offers + s.introductions
        elements = {"salutation": s.salutations, "offer_of_help": help_phrases}
        if s.require_organisation:
            elements["organisation"] = call.organisations
        found = {name: self.find(opening, phrases, call.min_similarity) for name, phrases in elements.items()}
        if s.require_organisation and not call.organisations:
            found["organisation"] = self.named_organisation(opening)
        for name, match in found.items():
            if match is None and elements[name]:
                # dropped by the ASR, heard in the audio (asr.verify): only ever adds what the text lacks
                found[name] = self.find_verified(call, opening, elements[name])
        missing = sorted(name for name, match in found.items() if match is None)
        late_by = round(first.start_s - call.answer_s - s.within_s, 2)
        hits = [m for m in found.values() if m]
        detail: dict[str, object] = {
            "missing": missing,
            "found": {name: m.matched_text for name, m in found.items() if m},
            "first_agent_speech_s": first.start_s,
        }
        if heard := self.audio_verified(found):
            detail["audio_verified"] = heard
        if (named := found.get("organisation")) and named.method == "named":
            # No organisations configured: the name the agent used, for the operator to confirm (run summary).
            detail["organisation_named"] = named.matched_text
        if late_by > 0:
            detail["late_by_s"] = late_by
        passed = not missing and late_by <= 0
        score = (len(elements) - len(missing)) / len(elements) * (1.0 if late_by <= 0 else 0.5)
        return self.result(passed, score=round(score, 3), detail=detail, **self.evidence(hits, first))

    def named_organisation(self, segments: list[Segment]) -> SegmentMatch | None:
        """The first name in `segments` that ends in an organisation word (…公司, …中心, …物业) and follows a
        salutation, a lead-in (欢迎致电, 这里是) or a pause: how an agent names its organisation when the
        scorecard does not list it. What is left of the name without its organisation words must be two
        characters or more (客服中心 alone names no one). Method 'named'."""
        s = self.settings
        if not s.organisation_words:
            return None
        words = sorted(s.organisation_words, key=len, reverse=True)
        heads = sorted((*s.salutations, *s.organisation_lead_ins, *INTERJECTIONS), key=len, reverse=True)
        either = "|".join(re.escape(w) for w in words)
        pattern = re.compile(
            f"(?:^|(?<=[\\s，,。.！!？?、：:]))({_NAME_CHAR}{{1,{_MAX_NAME_CHARS * 2}}}?(?:{either})+)"
        )
        for segment in segments:
            for match in pattern.finditer(segment.text):
                start, end = match.span(1)
                start += _prefix_length(segment.text[start:end], heads)
                end = _longest_name_end(segment.text, start, end, words)
                name = segment.text[start:end]
                if name.startswith(s.not_a_name) or len(_without_suffixes(name, words)) < 2:
                    continue
                if end - start > _MAX_NAME_CHARS + max(len(w) for w in words):
                    continue
                start_s, end_s = segment.span_times(start, end)
                return SegmentMatch(segment, "(named organisation)", name, start_s, end_s, 1.0, "named", start, end)
        return None


def _prefix_length(text: str, heads: list[str]) -> int:
    """How many leading characters of `text` are salutations and lead-ins (您好欢迎致电…: 6)."""
    position, moved = 0, True
    while moved:
        moved = False
        for head in heads:
            if head and text.startswith(head, position):
                position += len(head)
                moved = True
                break
    return position


def _longest_name_end(text: str, start: int, end: int, words: list[str]) -> int:
    """The furthest end, up to _MAX_NAME_CHARS past `start`, at which text[start:end] is still one run of
    name characters ending in an organisation word (招商银行 -> 招商银行信用卡中心)."""
    longest = end
    limit = min(len(text), start + _MAX_NAME_CHARS + max(len(w) for w in words))
    for stop in range(end + 1, limit + 1):
        if not re.fullmatch(f"{_NAME_CHAR}+", text[start:stop]):
            break
        if any(text.endswith(word, start, stop) for word in words):
            longest = stop
    return longest


def _without_suffixes(name: str, words: list[str]) -> str:
    """`name` less its trailing organisation words (联通客服热线 -> 联通)."""
    moved = True
    while moved:
        moved = False
        for word in words:
            if word and name.endswith(word):
                name = name[: -len(word)]
                moved = True
                break
    return name
