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
    asks for) are not interruptions. Fails when there are more than `max_interruptions`. On mono recordings
    the overlaps are read from the mixed signal (segmentation-3.0) and must last [timing].min_overlap_s +
    mono_overlap_margin_s; the speaker turns tell who came in on whom. Not applicable when overlap cannot be
    measured (no speaker turns with roles) or, with no more than `max_interruptions` found, when an overlap
    long enough to count cannot be told (measures.overlaps_untold): the check cannot say there was none.
    """

    id = "interrupt_customer"
    category = "conduct"
    needs_own_channels = True
    Settings = InterruptCustomerSettings
    settings: InterruptCustomerSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        found = call.measures.interruptions
        if found is None:
            return self.not_applicable("overlap is not measurable: no channel per party, no speaker turns with roles")
        detail: dict[str, object] = {
            "interruptions": len(found),
            "times": [[round(o.start_s, 2), round(o.end_s, 2)] for o in found],
            "max_interruptions": self.settings.max_interruptions,
        }
        untold = call.measures.overlaps_untold
        if untold:
            detail["overlaps_untold"] = [[round(a, 2), round(b, 2)] for a, b in untold]
        if len(found) <= self.settings.max_interruptions and untold:
            return self.not_applicable(
                f"{len(untold)} overlap(s) of two voices on the mono recording could not be told apart "
                "(who came in on whom)",
                **detail,
            )
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
