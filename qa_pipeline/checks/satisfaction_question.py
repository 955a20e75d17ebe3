from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, SegmentMatch, register
from qa_pipeline.text.matching import find_phrase

SCORES = ("1", "2", "3", "4", "5")


@dataclass(frozen=True, kw_only=True)
class SatisfactionQuestionSettings(CheckSettings):
    questions: tuple[str, ...]
    answers: dict[str, tuple[str, ...]]  # "1".."5" -> what a customer with that satisfaction says

    def problems(self) -> Iterator[tuple[str, str]]:
        for score in self.answers:
            if score not in SCORES:
                yield f"answers.{score}", f"is not a satisfaction score (known: {', '.join(SCORES)})"


@register
class SatisfactionQuestion(Check):
    """On a return visit, the agent asks whether the customer is satisfied; the answer is read.

    Standards: 001: 5 (回访质量标准 c "询问使用情况、满意情况并记录"; 投诉 i "24小时内回访,询问对服务的
    满意情况"); 004: 69 (四.1 "请问您对我刚才的解答/处理方案还满意吗?"); 000: 5 (KPI 1、客户满意度);
    002: 32 (回訪內容). Passes when the agent asks one of `questions`. The customer's next utterance
    after the question is read against `answers` (score -> phrases): `detail.inferred_satisfaction`
    (1-5, absent when unreadable) and `detail.customer_answer`.
    """

    id = "satisfaction_question"
    category = "script"
    fails_without_agent_speech = True
    Settings = SatisfactionQuestionSettings
    settings: SatisfactionQuestionSettings

    def read_answer(self, text: str, min_similarity: float) -> int | None:
        """The score whose phrase matches `text`; the longest phrase wins (非常满意 over 满意, 不太满意
        over 满意), then the lowest score. Negated phrases never match (不满意 is not 满意)."""
        best: tuple[int, int] | None = None  # (-phrase length, score)
        for score in sorted(self.settings.answers, key=int):
            for phrase in self.settings.answers[score]:
                if find_phrase(text, phrase, min_similarity):
                    candidate = (-len(phrase), int(score))
                    best = candidate if best is None else min(best, candidate)
        return None if best is None else best[1]

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        customer = [seg for seg in call.transcript.by_speaker("customer") if seg.text]
        asked: list[tuple[SegmentMatch, Segment | None]] = []
        for segment in agent:
            question = self.find_in(segment, s.questions, call.min_similarity)
            if question:
                reply = next((c for c in customer if c.start_s > segment.start_s), None)
                asked.append((question, reply))
        if not asked:
            return self.result(False, detail={"missing": ["question"]})
        # The first question that got a readable answer, else the first question.
        scores = [self.read_answer(reply.text, call.min_similarity) if reply else None for _, reply in asked]
        chosen = next((i for i, score in enumerate(scores) if score is not None), 0)
        (question, reply), score = asked[chosen], scores[chosen]
        detail: dict[str, object] = {"question": question.matched_text}
        if reply:
            detail["customer_answer"] = reply.text
        if score is not None:
            detail["inferred_satisfaction"] = score
        return self.result(True, **self.evidence([question], question.segment), detail=detail)
