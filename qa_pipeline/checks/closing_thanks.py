from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class ClosingThanksSettings(CheckSettings):
    closing_span_s: float = field(metadata=bounds(0.0, 600.0))
    thanks: tuple[str, ...]
    goodbyes: tuple[str, ...]


@register
class ClosingThanks(Check):
    """Thanks and goodbye at the end of the call.

    Standard: 004 四.2 "感谢与道别 … 均应以感谢语结束通话" (e.g. 感谢您的来电，再见); 001 八个服务动作
    礼貌接听 … and the return-visit procedure's 规范语. Passes when the agent's closing (its speech within
    `closing_span_s` of its last word) contains a thanks phrase and a goodbye, in the transcript or, where
    the transcript lacks one, heard by the ASR model in the agent's last utterance (asr.verify, [matching]
    audio_verify; detail.audio_verified).
    """

    id = "closing_thanks"
    category = "script"
    fails_without_agent_speech = True
    Settings = ClosingThanksSettings
    settings: ClosingThanksSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        last_end = agent[-1].end_s
        closing = [seg for seg in agent if seg.end_s >= last_end - s.closing_span_s]
        # what the transcript lacks may have been heard in the audio of the last utterance (asr.verify)
        thanks = self.find(closing, s.thanks, call.min_similarity) or self.find_verified(call, closing, s.thanks)
        goodbye = self.find(closing, s.goodbyes, call.min_similarity) or self.find_verified(call, closing, s.goodbyes)
        missing = [name for name, m in (("thanks", thanks), ("goodbye", goodbye)) if m is None]
        hits = [m for m in (thanks, goodbye) if m]
        detail: dict[str, object] = {"missing": missing, "found": {m.phrase: m.matched_text for m in hits}}
        if heard := self.audio_verified({m.phrase: m for m in hits}):
            detail["audio_verified"] = heard
        return self.result(not missing, score=round(len(hits) / 2, 3), **self.evidence(hits, agent[-1]), detail=detail)
