from __future__ import annotations

from dataclasses import dataclass

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, register


@dataclass(frozen=True, kw_only=True)
class RoutingSettings(CheckSettings):
    triggers: tuple[str, ...]  # the matter is out of scope or needs a hand-off
    destinations: tuple[str, ...]  # where the customer goes / who takes over


@register
class Routing(Check):
    """A matter the agent cannot handle is routed: the customer is told where to go or who takes over.

    Standards: 000: 5 (不能电话解决旳 "请您加下我们客服QQ…工程师会在5分钟之内和您联系"; 不是我们问题
    "请联系本地旳税务部门"); 001: 5 (事例A "由水务集团及供电局直接从住户中收取"); 004: 49-57 (三.2
    需协调或升级处理的问题: 清晰告知原因, 妥善转接或记录). Applicable when the agent says a `triggers`
    phrase (不属于我们, 需要转接); passes when that utterance or a later agent utterance names a
    `destinations` phrase (请拨打, 供电局, 转接到).
    """

    id = "routing"
    category = "script"
    Settings = RoutingSettings
    settings: RoutingSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        trigger = self.find(agent, s.triggers, call.min_similarity)
        if trigger is None:
            return self.not_applicable("the agent routed nothing (no out-of-scope or hand-off phrase)")
        detail: dict[str, object] = {"trigger": trigger.matched_text}
        destination = self.find(agent[agent.index(trigger.segment) :], s.destinations, call.min_similarity)
        if destination is None:
            detail["missing"] = ["destination"]
            return self.result(False, **self.evidence([trigger], trigger.segment), detail=detail)
        detail["destination"] = destination.matched_text
        return self.result(True, **self.evidence([destination], destination.segment), detail=detail)
