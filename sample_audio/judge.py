"""The consistency guard: every verdict re-derived from the dialogue text (and, once rendered, the times).

`validate` fails loudly when a call's declared verdicts disagree with what the catalogue's literal rules
say about its dialogue, or when a verdict would depend on how a window is read or on a small timing error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from .catalogue import (
    BACKCHANNEL_TEXT,
    CASUAL_PROMISES,
    CHECK_CALL_TYPES,
    CLAUSE,
    CLOSING_SPAN_S,
    CONFIRM_QUESTIONS,
    CPM_BAND,
    CPM_MARGIN,
    CUT_OFF_WITHIN_S,
    DEAD_AIR_S,
    DEFERRALS,
    FORBIDDEN_PHRASES,
    GOODBYES,
    GREETING_MARGIN_S,
    GREETING_WITHIN_S,
    HELP_OFFERS,
    HOLD_NOTICE_WITHIN_S,
    HOLD_PHRASES,
    IDENTITY_DETAILS,
    INTRODUCTIONS,
    MAX_RINGS,
    MIN_OVERLAP_S,
    MIN_TAIL_S,
    MORE_HELP_QUESTIONS,
    MORE_HELP_WITHIN_S,
    NEGATING_PREFIXES,
    NOT_DONE,
    OPENING_SPAN_S,
    OVERLAP_MARGIN_S,
    PRIVATE_QUESTIONS,
    REQUIRED_DETAILS,
    REQUIRED_FACTS,
    REQUIRED_GIVEN,
    RESTATE_CONFIRM_WITHIN_S,
    RESTATE_PHRASES,
    ROUTING_DESTINATIONS,
    ROUTING_TRIGGERS,
    SALUTATIONS,
    SATISFACTION_QUESTIONS,
    SATISFACTION_SCALE,
    SILENCE_MARGIN_S,
    SOOTHING_PHRASES,
    SURNAME_QUESTIONS,
    TALK_TIME_LIMITS_S,
    THANKS_PHRASES,
    TIME_EXPRESSION,
    TIMED_ACTIONS,
    TOPIC_LIMITS_S,
    TOPIC_MARGIN_S,
    TOPIC_PHRASES,
    TOPIC_STRETCH_PAUSE_S,
    UPSET_MARKERS,
)
from .scripts import CHECK_NAMES, CallSpec, CheckName, Speaker, Verdict


@dataclass(frozen=True)
class Line:
    """One utterance as the rules see it; times are known once the call is rendered."""

    speaker: Speaker
    text: str
    start_s: float | None = None
    end_s: float | None = None
    clause_onsets_s: tuple[float, ...] = ()  # where each clause of `text` begins, seconds after start_s

    def onset_of(self, phrases: tuple[str, ...]) -> float:
        """Seconds after start_s at which the clause holding the first of `phrases` said begins (the
        utterance's start when its clause times are not known)."""
        at = min((i for p in phrases if said(self.text, p) and (i := self.text.find(p)) >= 0), default=0)
        clauses = [m.start() for m in CLAUSE.finditer(self.text) if m.group(1).strip()]
        index = max((k for k, start in enumerate(clauses) if start <= at), default=0)
        return self.clause_onsets_s[index] if index < len(self.clause_onsets_s) else 0.0


@dataclass(frozen=True)
class Finding:
    """A check's verdict by the literal rules, the utterances that prove it, and its detail."""

    verdict: Verdict
    evidence: tuple[int, ...] = ()  # indices into the call's lines
    detail: tuple[tuple[str, Any], ...] = ()
    span: tuple[float, float] | None = None  # evidence that is no utterance: the rings, a silence


@dataclass(frozen=True)
class CallClock:
    """What the rendering fixed besides the utterance times: the answer, the rings, the file's end."""

    answer_s: float
    bursts: tuple[tuple[float, float], ...]  # ringback bursts heard before the answer (the last may be cut)
    duration_s: float

    @property
    def ring_count(self) -> int:
        return len(self.bursts)


@dataclass(frozen=True)
class TimingFacts:
    """The call's timings by the timing checks' definitions, from the exact utterance times."""

    answer_s: float
    ring_count: int
    talk_s: float  # answer to the end of the last utterance
    agent_talk_s: float
    customer_talk_s: float
    silences: tuple[tuple[float, float], ...]  # nobody speaks, from the answer to the last utterance's end
    holds: tuple[tuple[float, float, int], ...]  # a silence and the line index of the hold notice before it
    dead_air: tuple[tuple[float, float], ...]
    # (overlap start, overlap end, agent line, customer line) for every agent utterance starting inside a
    # customer utterance with both speaking >= MIN_OVERLAP_S; backchannels separately.
    interruptions: tuple[tuple[float, float, int, int], ...]
    backchannels: tuple[tuple[float, float, int, int], ...]
    overlaps: tuple[float, ...]  # every agent-starts-inside-customer overlap, however short
    chars_per_minute: float
    topic: int | None  # line index of the topic utterance (return visits only)
    topic_s: float | None  # where the clause stating the purpose begins (the topic utterance's clause)
    first_customer: int | None
    time_to_topic_s: float | None
    last: int  # line index of the utterance that ends last
    ended_by: Speaker  # who spoke last
    tail_s: float  # from the end of the last utterance to the end of the file


def is_backchannel(text: str) -> bool:
    """The text, punctuation removed, is nothing but backchannel words (嗯，好的)."""
    bare = "".join(char for char in text if char.isalnum())
    return bool(bare) and BACKCHANNEL_TEXT.fullmatch(bare) is not None


def agent_characters(text: str) -> int:
    """Characters that count for speech_rate: Chinese characters, letters and digits."""
    return sum(1 for char in text if char.isalnum())


def timing_facts(call: CallSpec, lines: tuple[Line, ...], clock: CallClock) -> TimingFacts:
    def start(i: int) -> float:
        return lines[i].start_s or 0.0

    def end(i: int) -> float:
        return lines[i].end_s or 0.0

    agent_ix = tuple(i for i, line in enumerate(lines) if line.speaker == "agent")
    customer_ix = tuple(i for i, line in enumerate(lines) if line.speaker == "customer")
    answer = clock.answer_s
    last = max(range(len(lines)), key=lambda i: (end(i), i))
    silences: list[tuple[float, float]] = []
    cursor = answer
    for i in sorted(range(len(lines)), key=start):
        if start(i) > cursor:
            silences.append((cursor, start(i)))
        cursor = max(cursor, end(i))
    notices = [i for i in agent_ix if says(lines[i].text, HOLD_PHRASES)]
    holds: list[tuple[float, float, int]] = []
    dead_air: list[tuple[float, float]] = []
    for begin, finish in silences:
        notice = next((i for i in notices if 0.0 <= begin - end(i) <= HOLD_NOTICE_WITHIN_S), None)
        if notice is not None:
            holds.append((begin, finish, notice))
        elif finish - begin > DEAD_AIR_S:
            dead_air.append((begin, finish))
    interruptions: list[tuple[float, float, int, int]] = []
    backchannels: list[tuple[float, float, int, int]] = []
    overlaps: list[float] = []
    for a in agent_ix:
        for c in customer_ix:
            if not start(c) < start(a) < end(c):
                continue
            overlap_end = min(end(a), end(c))
            overlaps.append(overlap_end - start(a))
            if overlap_end - start(a) + 1e-9 >= MIN_OVERLAP_S:
                found = (start(a), overlap_end, a, c)
                (backchannels if is_backchannel(lines[a].text) else interruptions).append(found)
    agent_speech_s = sum(end(i) - start(i) for i in agent_ix)
    characters = sum(agent_characters(lines[i].text) for i in agent_ix)
    topic = first_customer = time_to_topic = topic_s = None
    if call.call_type in TOPIC_LIMITS_S:
        topic = next((i for i in agent_ix if says(lines[i].text, TOPIC_PHRASES)), None)
        first_customer = min(customer_ix, key=start) if customer_ix else None
        if topic is not None:
            since = start(first_customer) if first_customer is not None else answer
            topic_s = start(topic) + lines[topic].onset_of(TOPIC_PHRASES)
            time_to_topic = max(0.0, topic_s - since)
    return TimingFacts(
        answer_s=answer,
        ring_count=clock.ring_count,
        talk_s=end(last) - answer,
        agent_talk_s=agent_speech_s,
        customer_talk_s=sum(end(i) - start(i) for i in customer_ix),
        silences=tuple(silences),
        holds=tuple(holds),
        dead_air=tuple(dead_air),
        interruptions=tuple(interruptions),
        backchannels=tuple(backchannels),
        overlaps=tuple(overlaps),
        chars_per_minute=characters * 60.0 / agent_speech_s,
        topic=topic,
        topic_s=topic_s,
        first_customer=first_customer,
        time_to_topic_s=time_to_topic,
        last=last,
        ended_by=lines[last].speaker,
        tail_s=clock.duration_s - end(last),
    )


def said(text: str, phrase: str) -> bool:
    """`phrase` occurs in `text`, and not right after a negation (不满意 does not say 满意)."""
    start = text.find(phrase)
    while start >= 0:
        if not text[:start].rstrip().endswith(NEGATING_PREFIXES):
            return True
        start = text.find(phrase, start + 1)
    return False


def says(text: str, phrases: tuple[str, ...]) -> bool:
    return any(said(text, phrase) for phrase in phrases)


def satisfaction_score(answer: str) -> int | None:
    """The customer's answer on the 1-5 scale of the catalogue, or None when it maps to nothing."""
    return next((score for score, phrases in SATISFACTION_SCALE if says(answer, phrases)), None)


def verdict_of(passed: bool) -> Verdict:
    return "pass" if passed else "fail"


# The conduct checks: the agent never says any of these.
PHRASES_OF: Final[dict[CheckName, tuple[str, ...]]] = {
    "forbidden_phrase": FORBIDDEN_PHRASES,
    "casual_promise": CASUAL_PROMISES,
    "off_topic_privacy": PRIVATE_QUESTIONS,
}


def judge(call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None = None) -> dict[CheckName, Finding]:
    """What each check should say, by the catalogue's literal rules, from the dialogue.

    Phrases are matched as exact substrings with the negation rule. Before the
    call is rendered the times are unknown and the time windows are not applied;
    the timing checks then take their declared verdict where only the times can
    tell (and their call type / direction / construction rules where those can).
    With the rendering's `clock` every timing check is derived from the exact times.
    """
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    customer_ix = [i for i, line in enumerate(lines) if line.speaker == "customer"]
    timed = all(line.start_s is not None for line in lines)

    def start(i: int) -> float:
        return lines[i].start_s or 0.0

    def end(i: int) -> float:
        return lines[i].end_s or 0.0

    def first(indices: list[int], phrases: tuple[str, ...], after: int = -1) -> int | None:
        return next((i for i in indices if i >= after and says(lines[i].text, phrases)), None)

    def applies(check: CheckName) -> bool:
        return call.call_type in CHECK_CALL_TYPES[check]

    na = Finding("na")
    out: dict[CheckName, Finding] = {}
    opening, last = agent_ix[0], agent_ix[-1]

    offers = HELP_OFFERS if call.direction == "inbound" else INTRODUCTIONS
    text = lines[opening].text
    greeted = says(text, SALUTATIONS) and call.organisation in text and says(text, offers)
    answer_s = clock.answer_s if clock is not None else 0.0
    on_time = start(opening) - answer_s <= GREETING_WITHIN_S
    out["greeting"] = Finding(verdict_of(greeted and on_time), (opening,))

    if applies("ask_surname"):
        asked = first(agent_ix, SURNAME_QUESTIONS)
        out["ask_surname"] = Finding("pass", (asked,)) if asked is not None else Finding("fail", (opening,))
    else:
        out["ask_surname"] = na

    groups = REQUIRED_DETAILS.get(call.call_type, ())
    if applies("ask_identity_detail") and groups:
        asking: list[int] = []
        missing = []
        for group in groups:
            hit = first(agent_ix, tuple(p for detail in group for p in IDENTITY_DETAILS[detail]))
            if hit is None:
                missing.append("|".join(group))
            else:
                asking.append(hit)
        out["ask_identity_detail"] = Finding(
            verdict_of(not missing),
            tuple(sorted(set(asking))) or (opening,),
            (("missing", missing),) if missing else (),
        )
    else:
        out["ask_identity_detail"] = na

    if applies("restate_confirm"):
        restating = [i for i in agent_ix if says(lines[i].text, RESTATE_PHRASES)]
        confirmed: tuple[int, ...] = ()
        for i in restating:
            if says(lines[i].text, CONFIRM_QUESTIONS):
                confirmed = (i,)
                break
            later = [j for j in agent_ix if j > i]
            if (
                later
                and says(lines[later[0]].text, CONFIRM_QUESTIONS)
                and (not timed or start(later[0]) - end(i) <= RESTATE_CONFIRM_WITHIN_S)
            ):
                confirmed = (i, later[0])
                break
        out["restate_confirm"] = Finding("pass", confirmed) if confirmed else Finding("fail", tuple(restating[:1]))
    else:
        out["restate_confirm"] = na

    upset = [i for i in customer_ix if says(lines[i].text, UPSET_MARKERS)]
    # Complaints, rescue calls (emergencies: 003 第五章 紧急救援) and repair reports (001 5.e 安抚住业主/住户)
    # always need soothing.
    if applies("empathy") and (call.call_type in ("complaint", "rescue", "repair") or upset):
        soothing = first(agent_ix, SOOTHING_PHRASES)
        out["empathy"] = Finding("pass", (soothing,)) if soothing is not None else Finding("fail", tuple(upset[:1]))
    else:
        out["empathy"] = na

    deferral = first(agent_ix, DEFERRALS)
    timed_commitment = next((i for i in agent_ix if _timed_action(lines[i].text)), None)
    if applies("reply_commitment") and deferral is not None:
        when = next((i for i in agent_ix if i >= deferral and TIME_EXPRESSION.search(lines[i].text)), None)
        out["reply_commitment"] = Finding("pass", (when,)) if when is not None else Finding("fail", (deferral,))
    elif applies("reply_commitment") and timed_commitment is not None:
        out["reply_commitment"] = Finding(
            "pass", (timed_commitment,)
        )  # a time and what will be done then, in one breath
    else:
        out["reply_commitment"] = na

    if applies("satisfaction_question"):
        question = first(agent_ix, SATISFACTION_QUESTIONS)
        if question is None:
            out["satisfaction_question"] = Finding("fail")
        else:
            answer = next((lines[i].text for i in customer_ix if i > question), "")
            detail = (("inferred_satisfaction", satisfaction_score(answer)), ("customer_answer", answer))
            out["satisfaction_question"] = Finding("pass", (question,), detail)
    else:
        out["satisfaction_question"] = na

    if applies("closing_more_help"):
        window = [i for i in agent_ix if not timed or end(i) >= end(last) - MORE_HELP_WITHIN_S]
        asked = first(window, MORE_HELP_QUESTIONS)
        out["closing_more_help"] = Finding("pass", (asked,)) if asked is not None else Finding("fail", (last,))
    else:
        out["closing_more_help"] = na

    closing = [i for i in agent_ix if end(i) >= end(last) - CLOSING_SPAN_S] if timed else [last]
    thanked = any(says(lines[i].text, THANKS_PHRASES) for i in closing)
    bye = any(says(lines[i].text, GOODBYES) for i in closing)
    out["closing_thanks"] = Finding(verdict_of(thanked and bye), (last,))

    for check, phrases in PHRASES_OF.items():
        if applies(check):
            hit = first(agent_ix, phrases)
            out[check] = Finding("pass") if hit is None else Finding("fail", (hit,))
        else:
            out[check] = na

    facts = REQUIRED_FACTS.get(call.call_type)
    if applies("required_info") and facts:
        given = REQUIRED_GIVEN.get(call.call_type, {})
        asked_at = {name: first(agent_ix, phrases) for name, phrases in facts.items()}
        # Not asked: given by the customer, in a line that is no question of theirs.
        collected_at = {
            name: i
            if i is not None
            else next(
                (
                    c
                    for c in customer_ix
                    if not lines[c].text.endswith(("？", "?")) and says(lines[c].text, given.get(name, ()))
                ),
                None,
            )
            for name, i in asked_at.items()
        }
        missing = [name for name, i in collected_at.items() if i is None]
        out["required_info"] = Finding(
            verdict_of(not missing),
            tuple(sorted({i for i in collected_at.values() if i is not None})),
            (("missing", missing),) if missing else (),
        )
    else:
        out["required_info"] = na

    trigger = first(agent_ix, ROUTING_TRIGGERS)
    if applies("routing") and trigger is not None:
        destination = first(agent_ix, ROUTING_DESTINATIONS, after=trigger)
        out["routing"] = Finding("pass", (destination,)) if destination is not None else Finding("fail", (trigger,))
    else:
        out["routing"] = na
    out.update(judge_timing(call, lines, clock if timed else None))
    return out


def judge_timing(call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None) -> dict[CheckName, Finding]:
    """The 8 timing checks; without a clock (not rendered yet) the declared verdict where only times tell."""
    out: dict[CheckName, Finding] = {}

    def declared(check: CheckName) -> Finding:
        return Finding(call.checks.get(check, "pass"))

    facts = timing_facts(call, lines, clock) if clock is not None else None
    if call.direction == "outbound":
        out["answer_within_rings"] = Finding("na")
    elif facts is None or clock is None:
        out["answer_within_rings"] = declared("answer_within_rings")
    else:
        rings = (clock.bursts[0][0], clock.answer_s) if clock.bursts else None
        out["answer_within_rings"] = Finding(verdict_of(facts.ring_count <= MAX_RINGS), span=rings)

    if facts is None:
        for check in ("dead_air", "talk_time_limit", "interrupt_customer", "speech_rate"):
            out[check] = declared(check)
    else:
        dead = facts.dead_air[0] if facts.dead_air else None
        out["dead_air"] = Finding(verdict_of(dead is None), span=dead)
        out["talk_time_limit"] = Finding(verdict_of(facts.talk_s <= TALK_TIME_LIMITS_S[call.call_type]))
        interrupting = tuple(sorted({found[2] for found in facts.interruptions}))
        out["interrupt_customer"] = Finding(verdict_of(not interrupting), interrupting[:1])
        low, high = CPM_BAND
        out["speech_rate"] = Finding(verdict_of(low <= facts.chars_per_minute <= high))

    # calm_tone: by construction, a raised utterance is the only raised stretch (checked on the signal
    # separately); abrupt_hangup: the cut utterance, and the guard below that nothing else ends near the rule.
    raised = tuple(i for i, utterance in enumerate(call.dialogue) if utterance.raised)
    out["calm_tone"] = Finding(verdict_of(not raised), raised[:1])
    if facts is None:
        cut = tuple(i for i, utterance in enumerate(call.dialogue) if utterance.cut_at is not None)
        out["abrupt_hangup"] = Finding(verdict_of(not cut), cut)
    else:
        cut_off = facts.ended_by == "customer" and facts.tail_s <= CUT_OFF_WITHIN_S
        out["abrupt_hangup"] = Finding(verdict_of(not cut_off), (facts.last,) if cut_off else ())

    limit = TOPIC_LIMITS_S.get(call.call_type)
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    topic = next((i for i in agent_ix if says(lines[i].text, TOPIC_PHRASES)), None)
    if limit is None:
        out["time_to_topic"] = Finding("na")
    elif facts is None:
        out["time_to_topic"] = Finding("fail") if topic is None else declared("time_to_topic")
    else:
        on_time = facts.time_to_topic_s is not None and facts.time_to_topic_s <= limit
        if on_time and facts.topic is not None:
            out["time_to_topic"] = Finding("pass", (facts.topic,))
        else:
            due = (facts.first_customer,) if facts.first_customer is not None else ()
            out["time_to_topic"] = Finding("fail", due)
    return out


def timing_ambiguities(
    call: CallSpec, lines: tuple[Line, ...], clock: CallClock, overlap_margin_s: float = OVERLAP_MARGIN_S
) -> list[str]:
    """Timed verdicts that a small measurement error would flip, and broken timing constructions."""
    problems = []
    facts = timing_facts(call, lines, clock)
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    first_agent = (lines[agent_ix[0]].start_s or 0.0) - clock.answer_s
    if abs(first_agent - GREETING_WITHIN_S) < GREETING_MARGIN_S:
        problems.append(f"first agent words {first_agent:.2f} s after the answer: too close to the greeting's 3 s")
    held = {(begin, finish) for begin, finish, _ in facts.holds}
    for begin, finish in facts.silences:
        if (begin, finish) not in held and abs(finish - begin - DEAD_AIR_S) < SILENCE_MARGIN_S:
            problems.append(f"a {finish - begin:.2f} s silence at {begin:.2f} s: too close to dead air's 10 s")
    notices = [i for i in agent_ix if says(lines[i].text, HOLD_PHRASES)]
    for begin, _ in facts.silences:
        for notice in notices:
            since = begin - (lines[notice].end_s or 0.0)
            if abs(since - HOLD_NOTICE_WITHIN_S) < 1.0:
                problems.append(f"a silence starts {since:.2f} s after a hold notice: too close to the 5 s rule")
    for overlap in facts.overlaps:
        if abs(overlap - MIN_OVERLAP_S) < overlap_margin_s:
            problems.append(f"an agent overlap of {overlap:.2f} s: too close to the 0.5 s rule")
    low, high = CPM_BAND
    cpm = facts.chars_per_minute
    if abs(cpm - low) < CPM_MARGIN or abs(cpm - high) < CPM_MARGIN:
        problems.append(f"agent speech rate {cpm:.1f} characters per minute: too close to the 150-300 band")
    if facts.talk_s > TALK_TIME_LIMITS_S[call.call_type]:
        problems.append(f"talk time {facts.talk_s:.1f} s over the limit: every sample call must pass")
    cut = any(utterance.cut_at is not None for utterance in call.dialogue)
    if not cut and facts.tail_s < MIN_TAIL_S:
        problems.append(f"the recording ends {facts.tail_s:.2f} s after the last utterance (at least 1 s)")
    limit = TOPIC_LIMITS_S.get(call.call_type)
    if limit is not None and facts.time_to_topic_s is not None and abs(facts.time_to_topic_s - limit) < TOPIC_MARGIN_S:
        problems.append(f"time to topic {facts.time_to_topic_s:.2f} s: too close to the {limit} s limit")
    if facts.topic is not None:
        topic_start = lines[facts.topic].start_s or 0.0
        before = [i for i, line in enumerate(lines) if i != facts.topic and (line.start_s or 0.0) < topic_start]
        if before:
            previous = max(before, key=lambda i: lines[i].end_s or 0.0)
            pause = topic_start - (lines[previous].end_s or 0.0)
            if lines[previous].speaker == "agent" and pause < TOPIC_STRETCH_PAUSE_S:
                problems.append(f"the topic utterance follows the agent's own speech after {pause:.2f} s only")
    for i, utterance in enumerate(call.dialogue):
        duration = (lines[i].end_s or 0.0) - (lines[i].start_s or 0.0)
        if utterance.raised and (call.layout != "stereo" or duration < 2.5):
            problems.append(f"a raised utterance must be >= 2.5 s long on a stereo call: {utterance.text}")
    return problems


def ambiguities(call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None = None) -> list[str]:
    """Places where a reasonable reading of a check's window would change the verdict.

    The labels must not depend on them, so a call that has one is refused.
    """
    problems = []
    agent_ix = [i for i, line in enumerate(lines) if line.speaker == "agent"]
    opening, last = agent_ix[0], agent_ix[-1]
    timed = all(line.start_s is not None for line in lines)
    # greeting: the first utterance alone, or all the agent says in its opening span.
    if timed:
        span = "".join(
            lines[i].text
            for i in agent_ix
            if (lines[i].start_s or 0.0) <= (lines[opening].start_s or 0.0) + OPENING_SPAN_S
        )
        offers = HELP_OFFERS if call.direction == "inbound" else INTRODUCTIONS
        span_greets = says(span, SALUTATIONS) and call.organisation in span and says(span, offers)
        first_greets = judge(call, lines, clock)["greeting"].verdict == "pass"
        if span_greets != first_greets:
            problems.append("greeting differs between the first utterance and the opening span")
    if not call.direction_in_metadata:
        # Without the direction a reader accepts an offer of help or an introduction alike.
        text = lines[opening].text
        either = HELP_OFFERS + INTRODUCTIONS
        lenient = says(text, SALUTATIONS) and call.organisation in text and says(text, either)
        offers = HELP_OFFERS if call.direction == "inbound" else INTRODUCTIONS
        strict = says(text, SALUTATIONS) and call.organisation in text and says(text, offers)
        if lenient != strict:
            problems.append("greeting depends on the direction, which calls.csv leaves out")
    # closing_more_help: anywhere vs the last 30 s; closing_thanks: the last utterance vs the last 15 s.
    anywhere = any(says(lines[i].text, MORE_HELP_QUESTIONS) for i in agent_ix)
    more_help = judge(call, lines, clock)["closing_more_help"].verdict
    if more_help == "fail" and anywhere:
        problems.append("the more-help question is asked, but outside the closing window")
    last_only = says(lines[last].text, THANKS_PHRASES) and says(lines[last].text, GOODBYES)
    if (judge(call, lines, clock)["closing_thanks"].verdict == "pass") != last_only:
        problems.append("thanks/goodbye not both in the last agent utterance")
    # routing: a destination named before the hand-off is announced.
    trigger = next((i for i in agent_ix if says(lines[i].text, ROUTING_TRIGGERS)), None)
    if trigger is not None and any(says(lines[i].text, ROUTING_DESTINATIONS) for i in agent_ix if i < trigger):
        problems.append("a routing destination comes before the routing trigger")
    # restate_confirm: a confirmation question that is only in a later agent utterance.
    for i in agent_ix:
        if says(lines[i].text, RESTATE_PHRASES) and not says(lines[i].text, CONFIRM_QUESTIONS):
            later = [j for j in agent_ix if j > i]
            if not later or not says(lines[later[0]].text, CONFIRM_QUESTIONS):
                problems.append(f"restating without a confirmation question: {lines[i].text}")
    return problems


def dialogue_lines(call: CallSpec) -> tuple[Line, ...]:
    return tuple(Line(u.speaker, u.text) for u in call.dialogue)


def validate(
    call: CallSpec, lines: tuple[Line, ...], clock: CallClock | None = None, overlap_margin_s: float = OVERLAP_MARGIN_S
) -> dict[CheckName, Finding]:
    """Fail loudly if a call's dialogue and its declared labels disagree; return the findings."""
    problems: list[str] = []
    # On an outbound call the customer may pick up with 喂 before the agent speaks.
    if call.dialogue[0].speaker != "agent" and call.direction == "inbound":
        problems.append("the agent must speak first on an inbound call")
    if tuple(call.checks) != CHECK_NAMES:
        problems.append("checks must list the 22 checks in catalogue order")
    for i, utterance in enumerate(call.dialogue):
        if utterance.raised and utterance.speaker != "agent":
            problems.append(f"only the agent's voice is raised: {utterance.text}")
        if utterance.cut_at is not None and (i != len(call.dialogue) - 1 or utterance.speaker != "customer"):
            problems.append(f"only the customer's last utterance can be cut off: {utterance.text}")
        if utterance.overlap_s is not None and (i == 0 or call.dialogue[i - 1].speaker == utterance.speaker):
            problems.append(f"an overlap must be over the other party's utterance: {utterance.text}")
    findings = judge(call, lines, clock)
    derived = {name: finding.verdict for name, finding in findings.items()}
    for name in CHECK_NAMES:
        if call.checks.get(name) != derived[name]:
            problems.append(f"{name}: declared {call.checks.get(name)}, dialogue says {derived[name]}")
    problems.extend(ambiguities(call, lines, clock))
    if clock is not None:
        problems.extend(timing_ambiguities(call, lines, clock, overlap_margin_s))
    for utterance in call.dialogue:
        if utterance.proves and utterance.speaker != "agent":
            problems.append(f"customer line marked as evidence: {utterance.text}")
    # Evidence marks written in the dialogue must be exactly what the rules point at.
    for name in CHECK_NAMES:
        marked = tuple(i for i, u in enumerate(call.dialogue) if name in u.proves)
        if marked and marked != findings[name].evidence:
            problems.append(f"{name}: marked evidence {marked} != rules {findings[name].evidence}")
    for name, phrases in PHRASES_OF.items():
        hits = [u.text for u in call.dialogue if u.speaker == "agent" and says(u.text, phrases)]
        if len(hits) > 1:
            problems.append(f"{name}: said more than once, evidence would be ambiguous: {hits}")
    if problems:
        raise ValueError(f"{call.call_id}: " + "; ".join(problems))
    return findings


def _timed_action(text: str) -> bool:
    """A concrete time followed in its clause (within 4 characters) by something done later: 二十分钟内上门."""
    for time in TIME_EXPRESSION.finditer(text):
        clause = re.split("[，,。.！!？?；;]", text[time.end() :], maxsplit=1)[0]
        if any(action in clause[: 4 + len(action)] for action in TIMED_ACTIONS) and not any(
            w in clause for w in NOT_DONE
        ):
            return True
    return False
