from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, SegmentMatch, bounds, register
from qa_pipeline.text.matching import clause_bounds, find_phrase

# A concrete time, said any of the ways a time is said (the standards' 24小时内, 半小时内, X个工作日内):
# - a span: a number (Arabic, or Chinese digits with 两/几/十, or 半) and a unit, then 内/之内/以内, or
#   左右 for an approximation: 30分钟内, 半个小时之内, 一个半小时内, 两个小时以内, 3个工作日内, 一两天内,
#   二十分钟左右;
# - a clock time by which, or a part of a named day: 五点前, 下午3点之前, 今天下午, 明天上午, 今晚;
# - a day as the limit: 今天之内, 明天之前, 本周内.
# Vague words (尽快, 稍后, 马上) are no time. Whisper writes numbers either way. A pattern, not a phrase
# list, so it lives here and not in the scorecard.
NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百几]+)"
UNIT = r"(?:分钟|小时|钟头|天|工作日|周|星期|个月)"
# 半 as whisper also writes it (伴: the same syllable and tone), before a unit only: 伴小时内.
HALF = "[半伴]"
DAY = (
    r"(?:今天|明天|后天|今日|明日|今晚|明早|本周|这周|下周[一二三四五六日天]?"
    r"|周[一二三四五六日天]|星期[一二三四五六日天])"
)
PART_OF_DAY = r"(?:上午|下午|中午|晚上|早上|傍晚|凌晨)"
# 快一点到, 早一点 are "a bit", not one o'clock; 几点 asks the time.
CLOCK_HOUR = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
CLOCK = rf"(?<![快早晚慢多少好大小些差])(?<!一){CLOCK_HOUR}\s*(?:点|时)(?:半|{NUMBER}分?)?"
TIME_LIMIT = re.compile(
    "|".join(
        (
            rf"(?:{NUMBER}\s*(?:个半|个)?|{HALF}个?)\s*{UNIT}半?\s*(?:之内|以内|内|左右)",
            rf"(?:{DAY}\s*)?(?:{PART_OF_DAY}\s*)?{CLOCK}\s*(?:之前|以前|前|左右|到)",
            rf"{DAY}\s*{PART_OF_DAY}",
            rf"{DAY}\s*(?:之内|以内|内|之前|以前|前)",
            rf"{PART_OF_DAY}\s*{CLOCK}",
        )
    )
)


# How far after the time the action may start: the doer and an adverb may stand between (二十分钟内 就
# 上门, 两小时以内 维修师傅就 到), and what says it will not be done (五点前我到不了).
MAX_ACTION_OFFSET = 8
NOT_DONE = ("不了", "不到", "不能", "没法", "不一定", "不确定")


# Said of what is done already: before the phrase in its clause (已经, 前天), or right after it (提交了).
DONE_BEFORE = ("已经", "已", "刚才", "刚刚", "昨天", "前天", "上周", "上次", "之前")
DONE_AFTER = ("了", "过了")  # 过 alone is also 过去 (go over) and 过两天
# What would be done if something happens (如果还是黄的，我们派人去) is no deferral of this matter.
SUPPOSED = ("如果", "要是", "万一", "假如", "假设")


def _done_or_asked(text: str, start: int, end: int) -> bool:
    """Whether the phrase at text[start:end] speaks of what was done already, asks a question, or says what
    would be done if something happened (如果…我们派人去)."""
    clause_start, clause_end = clause_bounds(text, start, end)
    before, after = text[clause_start:start], text[end:clause_end]
    asked = (clause_end < len(text) and text[clause_end] in "？?") or after.rstrip().endswith(("吗", "么"))
    sentence = text[max(text.rfind(mark, 0, start) for mark in "。.！!？?；;") + 1 : start]
    supposed = any(word in sentence for word in SUPPOSED)
    return any(word in before for word in DONE_BEFORE) or after.startswith(DONE_AFTER) or asked or supposed


# A time said of something that will not happen (今晚它不会再叫了: an outcome promised, not a reply) or
# of what happened already (系统里写着师傅上午九点半来的: 是…的 reports the past) is no time for the reply.
WILL_NOT = ("不会", "不再", "没")
FUTURE = ("会", "将", "要")


def _time_for_later(text: str, limit: re.Match[str]) -> bool:
    """Whether the time `limit` in `text` is one by which something is still to be done: not one said of what
    will not happen (a negation right after it, within its clause) and not one reported as past (已经, 昨天
    before it in its clause; its clause ending in 的 with no 会/将/要 in it: 九点半来的)."""
    clause_start, clause_end = clause_bounds(text, limit.start(), limit.end())
    before, after = text[clause_start : limit.start()], text[limit.end() : clause_end]
    negated = any(word in after[: MAX_ACTION_OFFSET + 2] for word in (*NOT_DONE, *WILL_NOT))
    clause = before + after
    reported = any(word in before for word in DONE_BEFORE) or (
        after.rstrip().endswith("的") and not any(word in clause for word in FUTURE)
    )
    return not (negated or reported)


def _action_after(clause: str, actions: list[str]) -> str | None:
    """The first of `actions` (longest first) said within MAX_ACTION_OFFSET characters of the clause's start;
    an action of two or more characters also as it sounds (恢复 written 回复 by the ASR), one character only as
    written (到 would sound like 道 in 知道)."""
    for action in actions:
        window = clause[: MAX_ACTION_OFFSET + len(action)]
        if action in window or (len(action) > 1 and find_phrase(window, action, 1.0) is not None):
            return action
    return None


@dataclass(frozen=True, kw_only=True)
class ReplyCommitmentSettings(CheckSettings):
    deferrals: tuple[str, ...]  # the agent hands the matter on instead of solving it on the call
    # What is done later, said right after a concrete time (二十分钟内上门, 明天上午给您回电): a timed
    # commitment is a deferral kept, even without a deferral phrase.
    timed_actions: tuple[str, ...] = ()
    # meaning-level matching (text.meaning): handing the matter on, said in other words (whole sentences),
    # and what settles it on the call; a deferral found by mistake can fail the agent, hence its own margin
    deferral_exemplars: tuple[str, ...] = ()
    settled_exemplars: tuple[str, ...] = ()
    deferral_min_margin: float = field(default=0.03, metadata=bounds(0.0, 0.5))


@register
class ReplyCommitment(Check):
    """When the matter is not solved on the call, the agent commits to a concrete reply time.

    Standards: 001: 5 (咨询 e "不能解答的问题记录下来,约定回复时间。(24小时内)"; 投诉 e "不能当时解答的,
    安抚住业主/住户,确定回复时间"; 5、e "确定回复时间。(半小时内)"); 002: 29 (3.跟清楚 "確定下次回復的時間"); 004:
    55 ("我会…在[具体时间,如X个工作日]内给您回电告知进展"). Applicable when the agent defers (a `deferrals` phrase:
    转交, 反馈给, 给您回电, 派师傅, 尽快 — not one said of what is done already, 已经提交了, asked about,
    师傅上门前跟您约过时间吗, or supposed, 如果还不行我们派人去 — or a sentence meaning what a `deferral_exemplars`
    sentence means, by `deferral_min_margin` nearer it than any `settled_exemplars`), or gives a concrete time for
    what it will do (`timed_actions` after the time: 二十分钟内上门, 明天上午给您回电); passes when an agent
    utterance from the first deferral on says a concrete time (`TIME_LIMIT`: 30分钟内, 半小时之内, 3个工作日以内,
    二十分钟左右, 下午五点前, 明天上午, 今天之内) by which something is still to be done: not one said of what
    will not happen (今晚不会再叫了) or reported as past (九点半来的); 尽快 or 稍后 is none.
    """

    id = "reply_commitment"
    category = "script"
    Settings = ReplyCommitmentSettings
    settings: ReplyCommitmentSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        agent = call.agent_segments()
        s = self.settings
        deferral = self._deferral(agent, call)
        if deferral is None and (kept := self._timed_commitment(agent)) is not None:
            return kept
        if deferral is None:
            demanding = call.demanding(s.deferral_min_margin)
            deferral = self.find_said(agent, (), demanding, s.deferral_exemplars, s.settled_exemplars)
        if deferral is None:
            return self.not_applicable("the agent did not defer the matter (no deferral phrase)")
        for segment in agent[agent.index(deferral.segment) :]:
            for limit in TIME_LIMIT.finditer(segment.text):
                if _time_for_later(segment.text, limit):
                    return self._committed(segment, limit, deferral.matched_text)
        detail = {"deferral": deferral.matched_text, "missing": ["time_limit"]}
        return self.result(False, **self.evidence([deferral], deferral.segment), detail=detail)

    def _deferral(self, agent: list[Segment], call: CallContext) -> SegmentMatch | None:
        """The first `deferrals` phrase that hands the matter on to later: not one done already (已经提交了,
        师傅已经上门看过了, 您上周约好的), asked about (师傅上门前跟您约过时间吗) or supposed (如果…我们派人去)."""
        return self.find_first(
            agent,
            self.settings.deferrals,
            call.min_similarity,
            lambda segment, found: not _done_or_asked(segment.text, found.char_start, found.char_end),
        )

    def _committed(self, segment: Segment, limit: re.Match[str], deferral: str) -> CheckResult:
        """A pass whose evidence is the time said (`limit` in `segment`), for what was deferred."""
        start_s, end_s = segment.span_times(limit.start(), limit.end())
        return self.result(
            True,
            evidence_start_s=start_s,
            evidence_end_s=end_s,
            evidence_text=segment.text,
            detail={"deferral": deferral, "time_limit": limit.group()},
        )

    def _timed_commitment(self, agent: list[Segment]) -> CheckResult | None:
        """A concrete time followed, within its clause, by an action done later (`timed_actions`): the
        matter is deferred and its time is given in one breath."""
        actions = sorted(self.settings.timed_actions, key=len, reverse=True)  # 赶到 before 到
        for segment in agent:
            for limit in TIME_LIMIT.finditer(segment.text):
                clause = segment.text[limit.end() : clause_bounds(segment.text, limit.end())[1]]
                action = _action_after(clause, [a for a in actions if a])
                if action is not None and _time_for_later(segment.text, limit):
                    return self._committed(segment, limit, action)
        return None
