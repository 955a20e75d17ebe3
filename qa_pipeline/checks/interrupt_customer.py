from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class InterruptCustomerSettings(CheckSettings):
    max_interruptions: int = field(metadata=bounds(0, 1000))


@register
class InterruptCustomer(Check):
    """The agent lets the customer finish: no talking over the customer.

    Standards: 002: 28 (投訴 1.聽清楚 "應耐心聽客戶講完,聽清客戶投訴的內容,不得打斷客戶"); 000: 5 ("耐心
    听取客户描述所遇到旳问题"); 001: 5 (投诉 c "心平气和的倾听业主/住户的问题叙述"). Judges
    `measures.interruptions`: the agent starting to speak while the customer is speaking, both for at
    least [timing].min_overlap_s; short acknowledgements (嗯, 对, 好的: [timing].backchannels, which 004: 31
    asks for) are not interruptions. Fails when there are more than `max_interruptions`. Not applicable
    when overlap cannot be measured (mono recordings: only one channel per party shows it).
    """

    id = "interrupt_customer"
    category = "conduct"
    needs_own_channels = True
    Settings = InterruptCustomerSettings
    settings: InterruptCustomerSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        found = call.measures.interruptions
        if found is None:
            return self.not_applicable("overlap is only measurable with one channel per party")
        detail: dict[str, object] = {
            "interruptions": len(found),
            "times": [[round(o.start_s, 2), round(o.end_s, 2)] for o in found],
            "max_interruptions": self.settings.max_interruptions,
        }
        if len(found) <= self.settings.max_interruptions:
            return self.result(True, detail=detail)
        first = found[0]
        return self.result(
            False,
            evidence_start_s=first.start_s,
            evidence_end_s=first.end_s,
            evidence_text=first.agent_text or None,
            detail=detail,
        )
