from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CALL_TYPE_KEYS, CallContext, Check, CheckResult, CheckSettings, bounds, register


@dataclass(frozen=True, kw_only=True)
class TalkTimeLimitSettings(CheckSettings):
    # call type -> longest talk time in seconds; 0 = no limit for that type (how a center drops a
    # default: tables merge key by key, so it cannot delete one)
    limits_s: dict[str, float] = field(metadata=bounds(0.0, 86400.0, **CALL_TYPE_KEYS))


@register
class TalkTimeLimit(Check):
    """The call stays within its call type's talk-time limit (a warning, not scored by default).

    Standard: 003: 5 (座席界面 信息提示栏 "超时预警——通话时长超过限制时,提示栏回出现超时提示"). The
    standard gives no limit; the scorecard's `limits_s` does, per call type. Judges `measures.talk_s`
    (answer to the end of the last speech): fails when it is longer than the call type's limit. The
    standard calls it a warning (预警), so the default weight is 0: the result is shown and stored but does
    not move the call's score. Not applicable when the call type has no limit or no speech was measured.
    """

    id = "talk_time_limit"
    category = "timing"
    needs_speakers = False
    Settings = TalkTimeLimitSettings
    settings: TalkTimeLimitSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        m = call.measures
        limit = self.settings.limits_s.get(call.call_type or "", 0.0)
        if limit <= 0:
            return self.not_applicable(f"call type {call.call_type!r} has no talk-time limit")
        if m.talk_s is None:
            return self.not_applicable("no speech measured on this call: talk time unknown")
        detail: dict[str, object] = {"talk_s": round(m.talk_s, 2), "limit_s": limit}
        if m.talk_s <= limit:
            return self.result(True, detail=detail)
        detail["over_by_s"] = round(m.talk_s - limit, 2)
        return self.result(
            False,
            evidence_start_s=m.answer_s + limit,
            evidence_end_s=m.answer_s + m.talk_s,
            detail=detail,
        )
