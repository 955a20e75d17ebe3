from __future__ import annotations

from dataclasses import dataclass, field

from qa_pipeline.checks.base import CALL_TYPE_KEYS, CallContext, Check, CheckResult, CheckSettings, register


@dataclass(frozen=True, kw_only=True)
class RequiredInfoSettings(CheckSettings):
    # call type -> fact -> phrases that ask for it. A fact with no phrases is not required (how a
    # center drops a default fact: tables merge key by key, so it cannot delete one).
    facts: dict[str, dict[str, tuple[str, ...]]] = field(metadata=CALL_TYPE_KEYS)


@register
class RequiredInfo(Check):
    """The agent collects the facts the call type needs to be acted on.

    Standards: 003: 5 (第五章救援 "座席员经过询问后输入车型、车牌号、联系人、联系方式、故障地点和故障
    现象"); 001: 5 (5、c "迅速了解问题性质、地点、时间"); 002: 29 (投訴 2.問清楚 "要進一步問清有關情況");
    004: 35 (二.2 有效提问 "确保获取解决问题所需的全部必要信息"). Not applicable when `facts` has none
    for the call's type. Passes when the agent asked every fact (a phrase of `facts[type][fact]`);
    score = share of facts asked, `detail.missing` the facts not asked.
    """

    id = "required_info"
    category = "script"
    Settings = RequiredInfoSettings
    settings: RequiredInfoSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        facts = {f: p for f, p in self.settings.facts.get(call.call_type or "", {}).items() if p}
        if not facts:
            return self.not_applicable(f"call type {call.call_type!r} has no required facts")
        agent = call.agent_segments()
        found = {fact: self.find(agent, phrases, call.min_similarity) for fact, phrases in facts.items()}
        asked = {fact: m for fact, m in found.items() if m}
        missing = [fact for fact in facts if fact not in asked]
        return self.result(
            not missing,
            score=round(len(asked) / len(facts), 3),
            **self.evidence(list(asked.values()), None),
            detail={"missing": missing, "found": {fact: m.matched_text for fact, m in asked.items()}},
        )
