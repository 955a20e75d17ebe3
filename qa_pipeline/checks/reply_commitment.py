from __future__ import annotations

import re
from dataclasses import dataclass

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, register

# A concrete time limit: a number (Arabic, or Chinese digits with 两/几/十, or 半) and a unit, then
# 内/之内/以内: 30分钟内, 半小时内, 半个小时之内, 一个半小时内, 两个小时以内, 3个工作日内,
# 二十四小时之内, 一两天内, 一天半内, 一个星期内. Whisper writes numbers either way. A pattern, not a
# phrase list, so it lives here and not in the scorecard.
NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百几]+)"
UNIT = r"(?:分钟|小时|钟头|天|工作日|周|星期)"
TIME_LIMIT = re.compile(rf"(?:{NUMBER}\s*(?:个半|个)?|半个?)\s*{UNIT}半?\s*(?:之内|以内|内)")


@dataclass(frozen=True, kw_only=True)
class ReplyCommitmentSettings(CheckSettings):
    deferrals: tuple[str, ...]  # the agent hands the matter on instead of solving it on the call


@register
class ReplyCommitment(Check):
    """When the matter is not solved on the call, the agent commits to a concrete reply time.

    Standards: 001: 5 (咨询 e "不能解答的问题记录下来,约定回复时间。(24小时内)"; 投诉 e "不能当时解答的,
    安抚住业主/住户,确定回复时间"; 5、e "确定回复时间。(半小时内)"); 002: 29 (3.跟清楚 "確定下次回復的
    時間"); 004: 55 ("我会…在[具体时间,如X个工作日]内给您回电告知进展"). Applicable when the agent
    defers (a `deferrals` phrase: 转交, 反馈给, 给您回电); passes when an agent utterance from the first
    deferral on has a time limit (`TIME_LIMIT`: 30分钟内, 半小时之内, 3个工作日以内).
    """

    id = "reply_commitment"
    category = "script"
    Settings = ReplyCommitmentSettings
    settings: ReplyCommitmentSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        agent = call.agent_segments()
        deferral = self.find(agent, self.settings.deferrals, call.min_similarity)
        if deferral is None:
            return self.not_applicable("the agent did not defer the matter (no deferral phrase)")
        detail: dict[str, object] = {"deferral": deferral.matched_text}
        for segment in agent[agent.index(deferral.segment) :]:
            limit = TIME_LIMIT.search(segment.text)
            if limit:
                start_s, end_s = segment.span_times(limit.start(), limit.end())
                detail["time_limit"] = limit.group()
                return self.result(
                    True,
                    evidence_start_s=start_s,
                    evidence_end_s=end_s,
                    evidence_text=segment.text,
                    detail=detail,
                )
        detail["missing"] = ["time_limit"]
        return self.result(False, **self.evidence([deferral], deferral.segment), detail=detail)
