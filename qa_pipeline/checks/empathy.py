from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register
from qa_pipeline.intake.metadata import CALL_TYPES


@dataclass(frozen=True, kw_only=True)
class EmpathySettings(CheckSettings):
    trigger_call_types: tuple[str, ...]  # calls of these types always need soothing
    upset_markers: tuple[str, ...]  # said by the customer
    # A marker found by mistake makes the check applicable and can fail the agent, so markers need
    # more certainty than a script phrase: 大概什么时候 is 0.91 like 到底什么时候.
    upset_min_similarity: float = field(metadata=bounds(0.5, 1.0))
    soothing: tuple[str, ...]  # said by the agent
    # meaning-level matching (text.meaning): distress and soothing said in other words, whole sentences,
    # and what shares their words without being either (a calm request, a plain answer)
    upset_exemplars: tuple[str, ...] = ()
    calm_exemplars: tuple[str, ...] = ()
    # an upset found by mistake can fail the agent: its margin over calm_exemplars, above [matching]'s
    upset_min_margin: float = field(default=0.03, metadata=bounds(0.0, 0.5))
    # the customer raising their voice ([timing] raised_*: louder and higher than their own normal) is upset too
    upset_by_voice: bool = True
    soothing_exemplars: tuple[str, ...] = ()
    plain_exemplars: tuple[str, ...] = ()

    def problems(self) -> Iterator[tuple[str, str]]:
        unknown = sorted(set(self.trigger_call_types) - set(CALL_TYPES))
        if unknown:
            yield "trigger_call_types", f"has unknown types {unknown}"


@register
class Empathy(Check):
    """The agent soothes an upset customer.

    Standards: 004: 39 (二.3 "若客户带有负面情绪(如抱怨、不满),需首先进行情绪安抚:'非常理解您现在的
    心情,给您带来不便非常抱歉'"); 001: 5 (投诉 c "予以及时的安慰", e "安抚住业主/住户"; 八个服务动作
    和善安慰); 002: 21 (舒緩緊張情緒). Applicable on calls of `trigger_call_types` (complaints) and on
    any call where the customer says an `upset_markers` phrase (太吵, 受不了; matched at
    `upset_min_similarity`) or a sentence that means what an `upset_exemplars` sentence means (nearer
    it than any `calm_exemplars`); passes when the agent says a `soothing` phrase, or a sentence meaning
    what a `soothing_exemplars` sentence means (nearer it than any `plain_exemplars`), anywhere in the
    call. A negated marker (我不着急) is no upset. With `upset_by_voice`, the customer's raised voice
    (measures.customer_raised_voice: louder and higher than their own normal for [timing] raised_min_s,
    the measure calm_tone reads for the agent) makes it applicable too, where their own audio is separable.
    """

    id = "empathy"
    category = "script"
    Settings = EmpathySettings
    settings: EmpathySettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        customer = [seg for seg in call.transcript.by_speaker("customer") if seg.text]
        upset = self.find(customer, s.upset_markers, max(s.upset_min_similarity, call.min_similarity))
        by_type = call.call_type in s.trigger_call_types
        if upset is None and not by_type:
            upset = self.find_said(
                customer, (), call.demanding(s.upset_min_margin), s.upset_exemplars, s.calm_exemplars
            )
        raised = call.measures.customer_raised_voice or ()
        by_voice = upset is None and not by_type and s.upset_by_voice and bool(raised)
        if upset is None and not by_type and not by_voice:
            return self.not_applicable(
                f"call type {call.call_type!r} is not in {list(s.trigger_call_types)} and the customer"
                " said no upset marker" + (", nor raised their voice" if s.upset_by_voice else "")
            )
        detail: dict[str, object] = {"trigger": "customer" if upset else "customer_voice" if by_voice else "call_type"}
        if upset:
            detail["upset_marker"] = upset.matched_text
            if upset.method == "meaning":
                detail["upset_found"] = upset.describe()
        voice: Segment | None = None
        if by_voice:
            start_s, end_s = raised[0]
            detail["raised_voice"] = [start_s, end_s]
            voice = next((seg for seg in customer if seg.start_s < end_s and seg.end_s > start_s), None)
        agent = call.agent_segments()
        soothing = self.find_said(agent, s.soothing, call, s.soothing_exemplars, s.plain_exemplars)
        if soothing is None:
            fallback = upset.segment if upset else voice or next(iter(customer + agent), None)
            return self.result(False, **self.evidence([], fallback), detail=detail)
        detail["soothing"] = soothing.matched_text
        if soothing.method == "meaning":
            detail["soothing_found"] = soothing.describe()
        return self.result(True, **self.evidence([soothing], soothing.segment), detail=detail)
