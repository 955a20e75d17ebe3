from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class ClosingMoreHelpSettings(CheckSettings):
    closing_span_s: float = field(metadata=bounds(0.0, 600.0))
    # agent speech this close to its first word is the opening, never the closing
    opening_span_s: float = field(metadata=bounds(0.0, 600.0))
    phrases: tuple[str, ...]
    # meaning-level matching (text.meaning): other ways of asking, and what must not pass for it
    exemplars: tuple[str, ...] = ()
    counter_exemplars: tuple[str, ...] = ()


@register
class ClosingMoreHelp(Check):
    """Before closing, the agent asks whether there is anything else it can help with.

    Standard: 004: 67-69 (四.1 确认客户满意度与需求闭环: "除了这个问题,还有其他可以帮到您的吗?").
    Passes when agent speech within `closing_span_s` of the agent's last word has one of `phrases`, or
    asks a question that means what a phrase or one of `exemplars` means, nearer them than any of
    `counter_exemplars` ([matching] meaning; detail says the method, the exemplar and the similarity).
    On a short call that window reaches back to the greeting, whose offer (请问有什么可以帮您) sounds
    like 还有什么可以帮您: agent speech starting within `opening_span_s` of its first word never counts.
    """

    id = "closing_more_help"
    category = "script"
    fails_without_agent_speech = True
    Settings = ClosingMoreHelpSettings
    settings: ClosingMoreHelpSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        opening_end = agent[0].start_s + s.opening_span_s
        last_end = agent[-1].end_s
        closing = [seg for seg in agent if seg.end_s >= last_end - s.closing_span_s and seg.start_s > opening_end]
        asked = self.find_said(closing, s.phrases, call, s.exemplars, s.counter_exemplars, question=True)
        if asked is None:
            return self.result(False, **self.evidence([], agent[-1]), detail={"missing": ["more_help"]})
        return self.result(
            True, **self.evidence([asked], agent[-1]), detail={"phrase": asked.matched_text} | asked.describe()
        )
