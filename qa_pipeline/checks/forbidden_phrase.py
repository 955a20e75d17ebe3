from __future__ import annotations

from qa_pipeline.checks.base import PhraseBanCheck, register


@register
class ForbiddenPhrase(PhraseBanCheck):
    """The agent never talks back, shirks or is rude.

    Standard: 001 咨询 i / 投诉 k / 回访 j "此过程当中不可顶撞业主/住户、不可随意许诺、不可无理辩解、
    不可摔电话、不可态度粗暴"; 002 管理規定 (2) "決不允許把個人的情緒帶到工作中來" and 投訴 2 "切忌與客戶
    正面辯駁". Fails on the first agent utterance containing a phrase from `phrases`; what the customer
    says never counts. Fatal by default: one such phrase fails the call.
    """

    id = "forbidden_phrase"
