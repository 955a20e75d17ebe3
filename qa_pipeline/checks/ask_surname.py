from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, SegmentMatch, register

# Characters that follow 姓 without being a surname: 我姓什么, 姓啥, 贵姓吗.
NOT_A_SURNAME = frozenset("什啥吗吧呢啊呀的了是")


@dataclass(frozen=True, kw_only=True)
class AskSurnameSettings(CheckSettings):
    questions: tuple[str, ...]
    require_name_use: bool
    surname_markers: tuple[str, ...]
    honorifics: tuple[str, ...]


@register
class AskSurname(Check):
    """The agent asks the customer's surname (and, if required, then addresses them by it).

    Standards: 000: 5 (接听电话流程 二、"请问您贵姓?" 顾客:"我姓什么…" 三、"好旳,XX先生或者XX小姐");
    001: 5 (事例A "先生/小姐,请问您贵姓了" … "**先生/小姐,请问您是多少栋多少号房了?").
    Passes when an agent utterance has one of `questions`. With `require_name_use`, the agent must
    also, after the customer gave a surname (a `surname_markers` phrase such as 我姓 followed by the
    surname), address them as surname + one of `honorifics` (王先生); a customer who gives no
    surname cannot be addressed by it, so the question alone passes then.
    """

    id = "ask_surname"
    category = "script"
    fails_without_agent_speech = True
    Settings = AskSurnameSettings
    settings: AskSurnameSettings

    def _surname(self, customer: list[Segment], min_similarity: float) -> tuple[Segment, str] | None:
        """The first surname the customer gives: the character right after a marker (我姓王 -> 王)."""
        for segment in customer:
            start = 0
            while (match := self.find_in(segment, self.settings.surname_markers, min_similarity, start)) is not None:
                following = segment.text[match.char_end : match.char_end + 1]
                if following and unicodedata.category(following) == "Lo" and following not in NOT_A_SURNAME:
                    return segment, following
                start = match.char_end
        return None

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        asked = self.find(agent, s.questions, call.min_similarity)
        if asked is None:
            return self.result(False, **self.evidence([], agent[0]), detail={"missing": ["question"]})
        detail: dict[str, object] = {"asked": asked.matched_text}
        if not s.require_name_use:
            return self.result(True, **self.evidence([asked], agent[0]), detail=detail)

        customer = [seg for seg in call.transcript.by_speaker("customer") if seg.text]
        given = self._surname(customer, call.min_similarity)
        if given is None:
            detail.update(surname=None, reason="the customer gave no surname to address them by")
            return self.result(True, **self.evidence([asked], agent[0]), detail=detail)
        said_at, surname = given
        addresses = tuple(surname + honorific for honorific in s.honorifics)
        later = [seg for seg in agent if seg.start_s >= said_at.start_s]
        used: SegmentMatch | None = self.find(later, addresses, call.min_similarity)
        detail.update(surname=surname, name_used=used.matched_text if used else None)
        if used is None:
            detail["missing"] = ["name_use"]
            return self.result(False, score=0.5, **self.evidence([asked], agent[0]), detail=detail)
        return self.result(True, **self.evidence([asked, used], agent[0]), detail=detail)
