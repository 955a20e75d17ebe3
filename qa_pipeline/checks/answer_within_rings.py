from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class AnswerWithinRingsSettings(CheckSettings):
    max_rings: int = field(metadata=bounds(0, 20))


@register
class AnswerWithinRings(Check):
    """Inbound calls are answered within three rings.

    Standards: 001: 5 (咨询/投诉/维修 a "电话铃响三声内接起电话"); 004: 15 (一.1 接听时效 "客服人员应在
    电话铃响三声之内接听,避免让客户产生等待焦虑"). Judges `measures.ring_count`: the ringback bursts heard
    before the answer, else the metadata's ring count or answered_at - started_at (`detail.ring_source`).
    Passes when the call was answered after at most `max_rings` rings. Applicable on inbound calls only
    (an outbound call rings the customer, who answers when they like) and only when the rings can be
    counted.
    """

    id = "answer_within_rings"
    category = "timing"
    needs_speakers = False
    Settings = AnswerWithinRingsSettings
    settings: AnswerWithinRingsSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        m = call.measures
        if m.direction != "inbound":
            if m.direction == "outbound":
                return self.not_applicable("outbound call: the customer answers, not the agent")
            return self.not_applicable("call direction unknown: cannot tell who had to answer")
        if m.ring_count is None:
            return self.not_applicable("no ringback heard and no answered_at in metadata: rings cannot be counted")
        start = m.rings[0][0] if m.rings else 0.0
        return self.result(
            m.ring_count <= self.settings.max_rings,
            evidence_start_s=start,
            evidence_end_s=m.answer_s,
            detail={
                "ring_count": m.ring_count,
                "ring_s": None if m.ring_s is None else round(m.ring_s, 2),
                "ring_source": m.ring_source,
                "max_rings": self.settings.max_rings,
            },
        )
