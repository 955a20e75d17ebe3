from __future__ import annotations

from qa_pipeline.checks.base import CallContext, Check, CheckResult, register


@register
class AbruptHangup(Check):
    """The agent does not hang up on the customer mid-sentence.

    Standard: 001: 5 (咨询 i, 投诉 k, 回访 j "不可摔电话"). Judges `measures.hangup`: fails when the call
    ended within [timing].cut_off_within_s of the customer's speech, which was still going (the customer
    was cut off); evidence the customer's cut-off utterance. A call the customer ends, or that ends after
    the goodbyes, passes. Not applicable when the ending could not be measured.
    """

    id = "abrupt_hangup"
    category = "conduct"

    def evaluate(self, call: CallContext) -> CheckResult:
        hangup = call.measures.hangup
        if hangup is None:
            return self.not_applicable("how the call ended was not measured")
        detail = {"ended_by": hangup.ended_by, "customer_cut_off": hangup.customer_cut_off}
        if not hangup.customer_cut_off:
            return self.result(True, detail=detail)
        start = hangup.cut_off_start_s if hangup.cut_off_start_s is not None else hangup.last_speech_end_s
        return self.result(
            False,
            evidence_start_s=start,
            evidence_end_s=hangup.last_speech_end_s,
            evidence_text=hangup.cut_off_text or None,
            detail=detail,
        )
