from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class SpeechRateSettings(CheckSettings):
    min_cpm: float = field(metadata=bounds(0.0, 1000.0))  # characters per minute of the agent's own speech
    max_cpm: float = field(metadata=bounds(0.0, 1000.0))
    slow_customer_tags: tuple[str, ...]  # customer tags (metadata) that call for a slower pace
    slow_max_cpm: float = field(metadata=bounds(0.0, 1000.0))  # the upper bound instead of max_cpm for such a customer

    def problems(self) -> Iterator[tuple[str, str]]:
        if self.min_cpm >= self.max_cpm:
            yield "min_cpm", f"must be below max_cpm ({self.max_cpm:g})"
        if self.min_cpm >= self.slow_max_cpm:
            yield "min_cpm", f"must be below slow_max_cpm ({self.slow_max_cpm:g})"


@register
class SpeechRate(Check):
    """The agent speaks at a suitable pace: neither rushed nor dragging.

    Standards: 001: 5 (咨询 J, 投诉 l, 回访 k "语速适当、语调平和"); 004: 19 ("语速应适中偏缓,吐字清晰").
    Judges `measures.agent_chars_per_minute` (characters the agent said per minute of its own speech):
    passes within [`min_cpm`, `max_cpm`]; when the call's metadata tags the customer with one of
    `slow_customer_tags` (elderly) the upper bound is `slow_max_cpm`. Evidence is the agent utterance
    furthest outside the band (`measures.pace`), else the agent's whole speech. Not applicable when the
    agent's rate was not measured (the agent never spoke).
    """

    id = "speech_rate"
    category = "conduct"
    Settings = SpeechRateSettings
    settings: SpeechRateSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        rate = call.measures.agent_chars_per_minute
        if rate is None:
            return self.not_applicable("the agent's speech rate was not measured")
        slow_tags = sorted(set(call.customer_tags) & set(s.slow_customer_tags))
        upper = s.slow_max_cpm if slow_tags else s.max_cpm
        detail: dict[str, Any] = {"chars_per_minute": round(rate, 1), "band": [s.min_cpm, upper]}
        if slow_tags:
            detail["customer_tags"] = slow_tags
        if s.min_cpm <= rate <= upper:
            return self.result(True, **self._agent_span(call), detail=detail)
        too_fast = rate > upper
        detail["direction"] = "too fast" if too_fast else "too slow"
        outside = [
            p
            for p in call.measures.pace
            if (p.chars_per_minute > upper if too_fast else p.chars_per_minute < s.min_cpm)
        ]
        if not outside:
            return self.result(False, **self._agent_span(call), detail=detail)
        worst = max(outside, key=lambda p: abs(p.chars_per_minute - (upper if too_fast else s.min_cpm)))
        detail["worst_chars_per_minute"] = round(worst.chars_per_minute, 1)
        return self.result(
            False,
            evidence_start_s=worst.start_s,
            evidence_end_s=worst.end_s,
            evidence_text=worst.text or None,
            detail=detail,
        )

    @staticmethod
    def _agent_span(call: CallContext) -> dict[str, Any]:
        agent = call.agent_segments()
        if not agent:
            return {}
        return {"evidence_start_s": agent[0].start_s, "evidence_end_s": agent[-1].end_s}
