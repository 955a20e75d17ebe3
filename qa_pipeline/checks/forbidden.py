from __future__ import annotations

from dataclasses import dataclass

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, register


@dataclass(frozen=True, kw_only=True)
class ForbiddenPhraseSettings(CheckSettings):
    # Fuzzy matching a forbidden phrase accuses an agent, so it needs more certainty than a greeting.
    min_similarity: float
    phrases: tuple[str, ...]


@register
class ForbiddenPhrase(Check):
    """The agent never talks back, shirks or is rude.

    Standard: 001 咨询 i / 投诉 k / 回访 j "此过程当中不可顶撞业主/住户、不可随意许诺、不可无理辩解、
    不可摔电话、不可态度粗暴"; 002 管理規定 (2) "決不允許把個人的情緒帶到工作中來" and 投訴 2 "切忌與客戶
    正面辯駁". Fails on the first agent utterance containing a phrase from `phrases`; what the customer
    says never counts. Fatal by default: one such phrase fails the call.
    """

    id = "forbidden_phrase"
    category = "conduct"
    Settings = ForbiddenPhraseSettings
    settings: ForbiddenPhraseSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        similarity = max(s.min_similarity, call.min_similarity)
        hit = self.find(call.agent_segments(), s.phrases, similarity)
        if hit is None:
            return self.result(True, detail={"phrases_checked": len(s.phrases)})
        return self.result(
            False,
            **self.evidence([hit], hit.segment),
            detail={
                "phrase": hit.phrase,
                "matched": hit.matched_text,
                "similarity": hit.similarity,
                "method": hit.method,
            },
        )
