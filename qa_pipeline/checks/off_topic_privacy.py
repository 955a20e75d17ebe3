from __future__ import annotations

from qa_pipeline.checks.base import PhraseBanCheck, register


@register
class OffTopicPrivacy(PhraseBanCheck):
    """On a return visit the agent keeps to the point and does not pry into the customer's private life.

    Standard: 001: 5 (回访质量标准 4.j "此过程中不纠缠、不对付、不说无关的话题、不谈业主/住户隐私的话题";
    3.c / 4.c "切入正题,不罗嗦"). Fails on the first agent utterance with one of `phrases` (结婚了吗,
    工资多少, 周末有空); what the customer says never counts.
    """

    id = "off_topic_privacy"
