from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class DeadAirSettings(CheckSettings):
    max_silence_s: float = field(metadata=bounds(0.0, 3600.0))


@register
class DeadAir(Check):
    """No long dead air: the customer is never left in silence without being told to wait.

    Standards: 004: 15 (一.1 "避免让客户产生等待焦虑"); 004: 61 (三.3 "过程中需与客户保持必要的沟通,避免
    客户产生被遗忘感"); 003: 5 (【静音】 "座席话机保持5秒时间静音": even a deliberate mute lasts 5 s). Judges
    `measures.silences` (nobody speaking, at least [timing].min_silence_s long): fails on the first
    silence longer than `max_silence_s` that is not a hold. A silence right after the agent announces a
    hold (a [timing].hold_phrases phrase such as 请您稍等, within [timing].hold_notice_within_s) is a hold,
    however long. Not applicable when no speech was measured.
    """

    id = "dead_air"
    category = "timing"
    needs_speakers = False
    Settings = DeadAirSettings
    settings: DeadAirSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        m = call.measures
        if m.talk_s is None:
            return self.not_applicable("no speech measured on this call: silences cannot be told from the call")
        limit = self.settings.max_silence_s
        holds = [s for s in m.silences if s.is_hold]
        silences = [s for s in m.silences if not s.is_hold]
        dead_air = [s for s in silences if s.duration_s > limit]
        detail: dict[str, object] = {
            "longest_s": round(max((s.duration_s for s in silences), default=0.0), 2),
            "stretches": len(dead_air),
            "holds": len(holds),
            "max_silence_s": limit,
        }
        if not dead_air:
            return self.result(True, detail=detail)
        first = dead_air[0]
        detail["silence_s"] = round(first.duration_s, 2)
        return self.result(False, evidence_start_s=first.start_s, evidence_end_s=first.end_s, detail=detail)
