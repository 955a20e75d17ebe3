from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class CalmToneSettings(CheckSettings):
    max_raised_stretches: int = field(metadata=bounds(0, 1000))


@register
class CalmTone(Check):
    """The agent keeps a calm tone: no raised voice.

    Standards: 001: 5 (咨询 J, 投诉 l, 回访 k "语速适当、语调平和"; 咨询 i "不可态度粗暴"); 002: 26 (管理規定
    (2) "決不允許把個人的情緒帶到工作中來"). Judges `measures.raised_voice`: stretches of at least
    [timing].raised_min_s where the agent's own voice is [timing].raised_rise_db louder and
    [timing].raised_rise_semitones higher than its usual level on the call. Fails when there are more
    than `max_raised_stretches`; evidence the first, with the agent's words in it. Not applicable when
    the agent's audio cannot be separated from the customer's (mono recordings).
    """

    id = "calm_tone"
    category = "conduct"
    Settings = CalmToneSettings
    settings: CalmToneSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        raised = call.measures.raised_voice
        if raised is None:
            return self.not_applicable("the agent's own voice was not measured (no audio, or no channel of its own)")
        detail: dict[str, object] = {
            "raised": [[round(start, 2), round(end, 2)] for start, end in raised],
            "max_raised_stretches": self.settings.max_raised_stretches,
        }
        if len(raised) <= self.settings.max_raised_stretches:
            return self.result(True, detail=detail)
        start, end = raised[0]
        words = call.transcript.text_during("agent", start, end)
        return self.result(
            False, evidence_start_s=start, evidence_end_s=end, evidence_text=words or None, detail=detail
        )
