from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, SegmentMatch, bounds, register


@dataclass(frozen=True, kw_only=True)
class RestateConfirmSettings(CheckSettings):
    restatements: tuple[str, ...]
    confirmations: tuple[str, ...]
    confirm_within_s: float = field(metadata=bounds(0.0, 600.0))


@register
class RestateConfirm(Check):
    """The agent restates the customer's request and asks them to confirm it.

    Standard: 004: 37-39 (二.3 复述确认与情绪安抚: "我跟您确认一下,您的问题是[总结问题],对吗?").
    Passes when an agent utterance has a `restatements` phrase followed, in the same utterance or in
    the agent's next utterance starting within `confirm_within_s` of its end, by a `confirmations`
    question (对吗, 是吗). Evidence: the restating utterance(s).
    """

    id = "restate_confirm"
    category = "script"
    fails_without_agent_speech = True
    Settings = RestateConfirmSettings
    settings: RestateConfirmSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        restated: list[SegmentMatch] = []
        for index, segment in enumerate(agent):
            restatement = self.find_in(segment, s.restatements, call.min_similarity)
            if restatement is None:
                continue
            restated.append(restatement)
            question = self.find_in(segment, s.confirmations, call.min_similarity, restatement.char_end)
            following = agent[index + 1] if index + 1 < len(agent) else None
            if question is None and following and following.start_s - segment.end_s <= s.confirm_within_s:
                question = self.find_in(following, s.confirmations, call.min_similarity)
            if question:
                return self.result(
                    True,
                    **self.evidence([restatement, question], segment),
                    detail={"restatement": restatement.matched_text, "confirmation": question.matched_text},
                )
        if restated:
            return self.result(
                False,
                score=0.5,
                **self.evidence(restated[:1], None),
                detail={"missing": ["confirmation"], "restatement": restated[0].matched_text},
            )
        return self.result(False, detail={"missing": ["restatement"]})
