from __future__ import annotations

from dataclasses import dataclass

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, register


@dataclass(frozen=True, kw_only=True)
class OffTopicPrivacySettings(CheckSettings):
    # Like forbidden_phrase: a match accuses the agent, so it needs more certainty than a greeting.
    min_similarity: float
    phrases: tuple[str, ...]


@register
class OffTopicPrivacy(Check):
    """On a return visit the agent keeps to the point and does not pry into the customer's private life.

    Standard: 001: 5 (回访质量标准 4.j "此过程中不纠缠、不对付、不说无关的话题、不谈业主/住户隐私的话题";
    3.c / 4.c "切入正题,不罗嗦"). Fails on the first agent utterance with one of `phrases` (结婚了吗,
    工资多少, 周末有空); what the customer says never counts.
    """

    id = "off_topic_privacy"
    category = "conduct"
    Settings = OffTopicPrivacySettings
    settings: OffTopicPrivacySettings

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
