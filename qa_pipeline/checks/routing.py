from __future__ import annotations

import re
from dataclasses import dataclass

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, SegmentMatch, register

# A service number to call is a destination whatever body it belongs to: five or more digits, written as
# digits or, as the ASR often does, in Chinese (九五五九八, 幺零零八六, 四零零…). A pattern, not a phrase list.
SERVICE_NUMBER = re.compile(r"[0-9]{5,}|[零〇幺一二三四五六七八九]{5,}")
OWN = ("我们", "咱们", "我们的", "咱们的", "本")  # 我们物业 is the agent's own office, not where to go


@dataclass(frozen=True, kw_only=True)
class RoutingSettings(CheckSettings):
    triggers: tuple[str, ...]  # the matter is out of scope or needs a hand-off
    destinations: tuple[str, ...]  # where the customer goes / who takes over


@register
class Routing(Check):
    """A matter the agent cannot handle is routed: the customer is told where to go or who takes over.

    Standards: 000: 5 (不能电话解决旳 "请您加下我们客服QQ…工程师会在5分钟之内和您联系"; 不是我们问题
    "请联系本地旳税务部门"); 001: 5 (事例A "由水务集团及供电局直接从住户中收取"); 004: 49-57 (三.2
    需协调或升级处理的问题: 清晰告知原因, 妥善转接或记录). Applicable when the agent says a `triggers` phrase
    (不属于我们, 需要转接, 是…负责的; not one that says the matter is ours: 是我们负责的); passes when that
    utterance or a later agent utterance names a `destinations` phrase (请拨打, 供电局, 转接到; not the center
    itself: 我们物业, a phrase inside one of its organisation names or, none configured, inside the agent's
    opening utterance) or a service number (`SERVICE_NUMBER`: 95598,
    九五五九八).
    """

    id = "routing"
    category = "script"
    Settings = RoutingSettings
    settings: RoutingSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        agent = call.agent_segments()
        trigger = self._trigger(agent, call)
        if trigger is None:
            return self.not_applicable("the agent routed nothing (no out-of-scope or hand-off phrase)")
        detail: dict[str, object] = {"trigger": trigger.matched_text}
        later = agent[agent.index(trigger.segment) :]
        destination = self._destination(later, call)
        if destination is None and (number := self._service_number(later)) is not None:
            segment, found = number
            start_s, end_s = segment.span_times(found.start(), found.end())
            detail["destination"] = found.group()
            return self.result(
                True, evidence_start_s=start_s, evidence_end_s=end_s, evidence_text=segment.text, detail=detail
            )
        if destination is None:
            detail["missing"] = ["destination"]
            return self.result(False, **self.evidence([trigger], trigger.segment), detail=detail)
        detail["destination"] = destination.matched_text
        return self.result(True, **self.evidence([destination], destination.segment), detail=detail)

    def _trigger(self, segments: list[Segment], call: CallContext) -> SegmentMatch | None:
        """The first `triggers` phrase that puts the matter outside the agent's hands: one that says it is
        ours (是…负责的 heard as 是我们负责的, 归…管 as 归我们管: 我们 and 负责/管 with no 不/没/只) is the opposite."""

        def not_ours(_segment: Segment, found: SegmentMatch) -> bool:
            text = found.matched_text
            ours = any(own in text for own in ("我们", "咱们")) and any(duty in text for duty in ("负责", "管"))
            return not (ours and not any(c in text for c in "不没只无"))

        return self.find_first(segments, self.settings.triggers, call.min_similarity, not_ours)

    def _destination(self, segments: list[Segment], call: CallContext) -> SegmentMatch | None:
        """The first `destinations` phrase that names someone else: not the center itself (a phrase inside
        one of its organisation names, 物业 at a property office) and not after 我们/咱们/本 (我们物业)."""

        # With no organisations configured (a center's first night), the agent's opening utterance stands in
        # for them: it is where the agent names the center, so a destination word it holds (物业 after
        # 您好，XX物业服务中心) is the center's own name, not somewhere else to go.
        opening = call.agent_segments()[:1]
        own_names = call.organisations or tuple(segment.text for segment in opening)

        def elsewhere(segment: Segment, found: SegmentMatch) -> bool:
            own_name = any(found.matched_text in name for name in own_names)
            return not own_name and not segment.text[: found.char_start].endswith(OWN)

        return self.find_first(segments, self.settings.destinations, call.min_similarity, elsewhere)

    @staticmethod
    def _service_number(segments: list[Segment]) -> tuple[Segment, re.Match[str]] | None:
        for segment in segments:
            if found := SERVICE_NUMBER.search(segment.text):
                return segment, found
        return None
