from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from qa_pipeline.checks.base import (
    CALL_TYPE_KEYS,
    CallContext,
    Check,
    CheckResult,
    CheckSettings,
    SegmentMatch,
    register,
)


def alternatives(requirement: str) -> list[str]:
    """The detail names of one requirement: "address|company" is either of the two."""
    return [name.strip() for name in requirement.split("|")]


@dataclass(frozen=True, kw_only=True)
class AskIdentityDetailSettings(CheckSettings):
    details: dict[str, tuple[str, ...]]  # detail name -> phrases that ask for it
    # call type -> detail names the agent must ask for; "a|b" is satisfied by either
    required: dict[str, tuple[str, ...]] = field(metadata=CALL_TYPE_KEYS)

    def problems(self) -> Iterator[tuple[str, str]]:
        known = ", ".join(sorted(self.details))
        for call_type, requirements in self.required.items():
            for index, requirement in enumerate(requirements):
                for name in alternatives(requirement):
                    if name not in self.details:
                        yield f"required.{call_type}[{index}]", f"names detail {name!r}, not in details ({known})"
                    elif not self.details[name]:
                        yield f"required.{call_type}[{index}]", f"names detail {name!r}, which has no phrases"


@register
class AskIdentityDetail(Check):
    """The agent asks who the customer is: their company, address or contact number, per call type.

    Standards: 000: 5 (三、"请问贵单位全称是什么?"; "询问纳税人旳公司名称,姓名,及联系电话"); 001: 5
    (事例A "请问您是多少栋多少号房了?"); 002: 17 (記錄客戶基本信息 … 聯系方式), 54, 58 (客戶公司名稱,
    聯系人及電話). Not applicable when `required` lists nothing for the call's type. Passes when the
    agent asked for every required detail of the call type (a phrase of `details[name]`; "a|b" needs
    either); `detail.missing` lists the requirements not asked.
    """

    id = "ask_identity_detail"
    category = "script"
    fails_without_agent_speech = True
    Settings = AskIdentityDetailSettings
    settings: AskIdentityDetailSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        requirements = s.required.get(call.call_type or "", ())
        if not requirements:
            return self.not_applicable(f"call type {call.call_type!r} has no required details")
        agent = call.agent_segments()
        found: dict[str, SegmentMatch] = {}
        for requirement in requirements:
            matches = [self.find(agent, s.details[name], call.min_similarity) for name in alternatives(requirement)]
            asked = [m for m in matches if m]
            if asked:
                found[requirement] = min(asked, key=lambda m: m.start_s)
        missing = [r for r in requirements if r not in found]
        return self.result(
            not missing,
            score=round(len(found) / len(requirements), 3),
            **self.evidence(list(found.values()), agent[0]),
            detail={"missing": missing, "found": {r: m.matched_text for r, m in found.items()}},
        )
