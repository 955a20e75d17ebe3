from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.checks.base import CallContext, Check, CheckResult, CheckSettings, SegmentMatch, bounds, register
from qa_pipeline.text.matching import FILLERS, pinyin_key, spoken_chars
from qa_pipeline.text.meaning import encoder

# Ends a sentence: a proposition never reaches back over one.
SENTENCE_ENDS = frozenset("。！？!?；;…")
# Words that carry no content alone (pronouns, particles, 这个, 一下): a shared bigram of two of them (您的,
# 是想, 这个) is how anyone talks, not the customer's words.
FUNCTION_CHARS = frozenset(
    "我你您他她它们咱的地得了着过是在有和就都也还又再很吗吧呢啊呀嘛哈这那哪个些下想要把被给让对说"
)
# Numbers: a read-back of a phone number, a date or a house number verifies a detail, it does not
# restate the need, so a bigram with a numeral never counts as shared.
NUMERALS = frozenset("0123456789零〇一二三四五六七八九十百千万亿两幺")
GREETINGS = ("您好", "你好")
MINE = ("的", "们的")  # after 我: the agent's side (我们的师傅), not the agent acting
# 您是三号楼的王女士，对吧: who the customer is, read back, is an identity check, never the need restated.
IDENTITY = re.compile(r"是[^，,。？?]*(?:先生|女士|小姐|阿姨|叔叔|大爷|大妈|大姐|大哥|老师|师傅)$")


# 额 is a hesitation the ASR writes, and also the 额 of 金额, 余额, 额度: words a restatement repeats.
WORD_FILLERS = tuple(filler for filler in FILLERS if filler != "额")


def _content(text: str) -> str:
    """What was said, less punctuation and filler words (嗯, 那个)."""
    spoken = spoken_chars(text)
    for filler in WORD_FILLERS:
        spoken = spoken.replace(filler, "")
    return spoken


def _substance(text: str) -> str:
    """The content characters of `text` that are neither function words nor numerals."""
    return "".join(char for char in _content(text) if char not in FUNCTION_CHARS and char not in NUMERALS)


def _bigrams(text: str) -> set[tuple[str, str]]:
    """Content bigrams of `text`, each as its characters and as its toneless pinyin (ASR homophones)."""
    chars = _content(text)
    sounds = pinyin_key(chars).split()
    if len(sounds) != len(chars):  # a character pypinyin splits or joins: compare by characters only
        sounds = list(chars)
    grams = set()
    for i in range(len(chars) - 1):
        pair = chars[i : i + 2]
        if set(pair) <= FUNCTION_CHARS or set(pair) & NUMERALS:
            continue
        grams |= {("chars", pair), ("sound", f"{sounds[i]} {sounds[i + 1]}")}
    return grams


def _shared(proposition: str, customer: str) -> int:
    """How many distinct content bigrams of the proposition the customer said (same characters or sound)."""
    theirs = _bigrams(customer)
    chars = _content(proposition)
    return sum(1 for pair in {chars[i : i + 2] for i in range(len(chars) - 1)} if _bigrams(pair) & theirs)


def _agent_speaks_of_itself(proposition: str) -> bool:
    """True when the statement the tag asks about has the agent as its subject (我们派师傅过去，可以吗; 我帮您…;
    我这边查到…): a proposal, an offer or the agent's own finding. A restatement speaks of the customer (您是想…)
    or of the matter. That statement is the last clause with a person word; its first person word decides,
    so a lead-in before it (我捋一捋，您是想…) does not."""
    clauses = "".join(char if spoken_chars(char) else " " for char in proposition).split()
    for clause in reversed(clauses):
        for greeting in GREETINGS:
            clause = clause.replace(greeting, "")
        people = [c for i, c in enumerate(clause) if c in "您你" or (c == "我" and not clause.startswith(MINE, i + 1))]
        if people:
            return people[0] == "我"
    return False


@dataclass(frozen=True, kw_only=True)
class RestateConfirmSettings(CheckSettings):
    restatements: tuple[str, ...]
    confirmations: tuple[str, ...]
    confirm_within_s: float = field(metadata=bounds(0.0, 600.0))
    customer_turns: int = field(metadata=bounds(1, 20))
    min_shared_bigrams: int = field(metadata=bounds(1, 50))
    min_restated_chars: int = field(metadata=bounds(1, 100))
    # meaning-level ([matching] meaning): a proposition sharing too few words restates the customer when its
    # sentence embedding is this near (cosine) one of the customer's last turns (text.meaning)
    min_restated_similarity: float = field(default=0.90, metadata=bounds(0.5, 1.0))


@register
class RestateConfirm(Check):
    """The agent restates the customer's request and asks them to confirm it.

    Standard: 004: 37-39 (二.3 复述确认与情绪安抚: "我跟您确认一下,您的问题是[总结问题],对吗?"). Passes by phrase
    when an agent utterance has a `restatements` phrase followed, in the same utterance or in the agent's next
    utterance starting within `confirm_within_s` of its end, by a `confirmations` question (对吗, 是吗). Else passes
    by structure, with no lead-in: an agent utterance has a `confirmations` tag whose proposition (the words before
    it since the sentence's start: 您是想把宽带降到一百兆，对吧) has `min_restated_chars` or more characters besides
    function words (您, 是, 的) and numerals, and shares `min_shared_bigrams` or more two-character sequences with
    what the customer said in their last `customer_turns` turns (customer utterances with no agent speech between
    them count as one), by characters or by sound (ASR homophones). Punctuation, fillers, bigrams of two function
    words (您的, 这个) and bigrams with a numeral (a read-back of a phone number or date) do not count. Where the
    statement the tag asks about (the proposition's last clause with a person word) has 我 first
    (我们明天派师傅过去，可以吗) it is the agent's proposal, offer or finding, not a restatement; a tag written as a
    sound-alike (十八 for 是吧) counts only where a clause ends. With too few shared bigrams, the proposition still
    restates when its sentence embedding is `min_restated_similarity` or nearer one of those turns ([matching]
    meaning: the same need in other words, 账单金额不对 for 被多扣了五十块). So an identity question (您是王女士吧), a
    satisfaction question, an offer, the customer's identity read back (您是三号楼的王女士，对吧) or the agent's own
    news with a tag does not pass. Evidence: the restating utterance(s), for structure the proposition and tag;
    `detail.method` says which route passed (phrase, structure, meaning). Score 0.5 when a lead-in phrase has no
    question.
    """

    id = "restate_confirm"
    category = "script"
    fails_without_agent_speech = True
    Settings = RestateConfirmSettings
    settings: RestateConfirmSettings

    def evaluate(self, call: CallContext) -> CheckResult:
        s = self.settings
        agent = call.agent_segments()
        restated: list[SegmentMatch] = []
        for index, segment in enumerate(agent):
            restatement = self.find_in(segment, s.restatements, call.min_similarity)
            if restatement is None:
                continue
            restated.append(restatement)
            question = self.find_in(segment, s.confirmations, call.min_similarity, restatement.char_end)
            following = agent[index + 1] if index + 1 < len(agent) else None
            if question is None and following and following.start_s - segment.end_s <= s.confirm_within_s:
                question = self.find_in(following, s.confirmations, call.min_similarity)
            if question:
                return self.result(
                    True,
                    **self.evidence([restatement, question], segment),
                    detail={
                        "restatement": restatement.matched_text,
                        "confirmation": question.matched_text,
                        "method": "phrase",
                    },
                )
        for segment in agent:
            passed = self.by_structure(call, segment)
            if passed is not None:
                return passed
        if restated:
            return self.result(
                False,
                score=0.5,
                **self.evidence(restated[:1], None),
                detail={"missing": ["confirmation"], "restatement": restated[0].matched_text},
            )
        return self.result(False, detail={"missing": ["restatement"]})

    def by_structure(self, call: CallContext, segment: Segment) -> CheckResult | None:
        """A passing result when a tag question in `segment` restates the customer's last turns."""
        s = self.settings
        text, floor = segment.text, 0
        customer: str | None = None
        turns: list[str] = []
        while (tag := self.find_in(segment, s.confirmations, call.min_similarity, floor)) is not None:
            start = max([floor] + [i + 1 for i in range(floor, tag.char_start) if text[i] in SENTENCE_ENDS])
            proposition, floor = text[start : tag.char_start], tag.char_end
            after = text[tag.char_end :].lstrip()
            if tag.method != "exact" and after and spoken_chars(after[0]):
                continue  # a sound-alike inside a clause (今天十八号), not a tag
            if len(_substance(proposition)) < s.min_restated_chars or _agent_speaks_of_itself(proposition):
                continue
            if IDENTITY.search(proposition.strip(" ，,、：:")):
                continue
            turns = self.customer_turns(call, segment) if customer is None else turns
            customer = "".join(turns)
            shared = _shared(proposition, customer)
            found: dict[str, object] = {"method": "structure", "shared": shared}
            if shared < s.min_shared_bigrams:
                similarity = self._similarity(proposition, turns) if call.meaning.enabled else 0.0
                if similarity < s.min_restated_similarity:
                    continue
                found = {"method": "meaning", "shared": shared, "similarity": similarity}
            start_s, end_s = segment.span_times(start, tag.char_end)
            return self.result(
                True,
                evidence_start_s=start_s,
                evidence_end_s=end_s,
                evidence_text=segment.text,
                detail={"restatement": proposition.strip(" ，,、：:"), "confirmation": tag.matched_text} | found,
            )
        return None

    @staticmethod
    def _similarity(proposition: str, turns: list[str]) -> float:
        """The cosine of the proposition's sentence embedding to the nearest of the customer's turns."""
        if not turns:
            return 0.0
        # spoken_chars, not _content: dropping fillers would also drop the 额 of 金额
        vectors = encoder().encode([spoken_chars(proposition), *(spoken_chars(turn) for turn in turns)])
        return round(float((vectors[1:] @ vectors[0]).max()), 3)

    def customer_turns(self, call: CallContext, segment: Segment) -> list[str]:
        """What the customer said in their last `customer_turns` turns before `segment` starts, latest first."""
        turns: list[str] = []
        joined = False  # the utterance seen last (going back in time) was the customer's
        earlier = sorted((x for x in call.transcript.segments if x.start_s < segment.start_s), key=lambda x: x.start_s)
        for other in reversed(earlier):
            if other.speaker == "agent" and other.text:
                joined = False
            elif other.speaker == "customer" and other.text:
                if joined:
                    turns[-1] = other.text + turns[-1]
                elif len(turns) == self.settings.customer_turns:
                    break
                else:
                    turns.append(other.text)
                joined = True
        return turns
