from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class GreetingSettings(CheckSettings):
    within_s: float = field(metadata=bounds(0.0, 600.0))
    opening_span_s: float = field(metadata=bounds(0.0, 600.0))
    salutations: tuple[str, ...]
    offers: tuple[str, ...]
    introductions: tuple[str, ...]
    require_organisation: bool


@register
class Greeting(Check):
    """Standard greeting at the start of the call.

    Standards: 001 咨询/投诉/维修 a-b "电话铃响三声内接起电话 / 用标准服务用语进行问候" with the example
    "您好，欢迎致电红树西岸管理处前台客服，请问有什么可以帮助您"; 004 一.2 "问候语需…包含企业/部门名称…
    礼貌欢迎语"; 000 一 "您好！请问有什么可以协助您?" and 建议一 "您好，江苏CA为您服务".
    Passes when the agent's opening (its speech within `opening_span_s` of its first word, which must
    start within `within_s` of answer) has a salutation, the organisation name (scorecard
    [center].organisations) and, on inbound calls, an offer of help; on outbound calls an introduction
    (我是…) stands in for the offer.
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
        missing = sorted(name for name, match in found.items() if match is None)
        late_by = round(first.start_s - call.answer_s - s.within_s, 2)
        hits = [m for m in found.values() if m]
        detail = {
            "missing": missing,
            "found": {name: m.matched_text for name, m in found.items() if m},
            "first_agent_speech_s": first.start_s,
        }
        if late_by > 0:
            detail["late_by_s"] = late_by
        passed = not missing and late_by <= 0
        score = (len(elements) - len(missing)) / len(elements) * (1.0 if late_by <= 0 else 0.5)
        return self.result(passed, score=round(score, 3), detail=detail, **self.evidence(hits, first))
