from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa_pipeline.checks.base import CALL_TYPE_KEYS, CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class TimeToTopicSettings(CheckSettings):
    # call type -> seconds within which the agent states the call's purpose; a type not listed, or 0,
    # is not checked
    limits_s: dict[str, float] = field(metadata=bounds(0.0, 86400.0, **CALL_TYPE_KEYS))


@register
class TimeToTopic(Check):
    """On return visits the agent gets to the point quickly.

    Standard: 001: 5 (回访 3.c "5秒中内切入正题,不罗嗦"; 4.c "10秒中内切入正题,不罗嗦"). Judges
    `measures.time_to_topic_s`: from the customer's first words (喂; the answer when the customer never
    spoke) to the first word of the clause in which the agent first states the purpose (a
    [timing].topic_phrases phrase: 回访, 满意度, 打扰您; by word timestamps, so 您好，我是…客服，给您做个回访
    is timed from 给您做个回访, not from 您好). Passes within the call
    type's `limits_s`; fails when later, or when the purpose was never stated. Applicable only to call
    types with a limit (callback, survey by default) and when speech was measured.
    """

    id = "time_to_topic"
    category = "timing"
    Settings = TimeToTopicSettings
    settings: TimeToTopicSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        m = call.measures
        limit = self.settings.limits_s.get(call.call_type or "", 0.0)
        if limit <= 0:
            return self.not_applicable(f"call type {call.call_type!r} has no time-to-topic limit")
        if m.talk_s is None:
            return self.not_applicable("no speech measured on this call")
        detail: dict[str, Any] = {"limit_s": limit}
        if m.topic_s is None:
            detail["reason"] = "the purpose was never stated"
            return self.result(False, **self._customer_first(call), detail=detail)
        if m.time_to_topic_s is None:
            return self.not_applicable("the purpose was stated but there is no start to time it from")
        detail["time_to_topic_s"] = round(m.time_to_topic_s, 2)
        evidence = self._topic(call, m.topic_s)
        on_time = m.time_to_topic_s <= limit
        if not on_time:  # the whole wait, from the customer's first words to the end of the purpose
            evidence["evidence_start_s"] = m.topic_s - m.time_to_topic_s
        return self.result(on_time, **evidence, detail=detail)

    @staticmethod
    def _topic(call: CallContext, topic_s: float) -> dict[str, Any]:
        """The agent utterance stating the purpose, from the clause that states it."""
        segment = call.transcript.segment_at("agent", topic_s)
        end = segment.end_s if segment else topic_s
        return {"evidence_start_s": topic_s, "evidence_end_s": end, "evidence_text": call.measures.topic_text or None}

    @staticmethod
    def _customer_first(call: CallContext) -> dict[str, Any]:
        """The customer's first words: where the purpose was due."""
        first = call.measures.customer_first_s
        if first is None:
            return {}
        segment = call.transcript.segment_at("customer", first)
        if segment is not None:
            return {"evidence_start_s": first, "evidence_end_s": segment.end_s, "evidence_text": segment.text or None}
        return {"evidence_start_s": first, "evidence_end_s": first}
