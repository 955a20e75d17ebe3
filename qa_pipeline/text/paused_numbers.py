"""Numbers read with pauses: a mobile, ID or bank number whose groups the ASR wrote apart.

A reader pauses between groups and the ASR writes the pause as a filler (幺三九，嗯，幺二三四，呃，
五六七八), a sentence end (幺三九。幺二三四。), several spaces, a separator that does not join above
(139.1234.5678, 139/1234/5678, 139~1234~5678, 139_1234_5678, 139:1234:5678), or the end of a segment
(我的电话是幺三九 / 幺二三四 / 五六七八). Runs held apart only by such a pause (at most 10 characters of
whitespace, punctuation . : / ~ _ and the like, and the fillers 嗯 呃 额 啊 哦 那个 这个 就是 然后...)
are joined only when together they are a mobile, ID or bank number, never a weak kind, and:
  - no run is such a number on its own (two phone numbers in a row stay two);
  - the groups on both sides of each pause have at least 3 digits, which the fraction of 1500.00, the
    minutes of 10:30, the month and day of 2026/11/22 and the lone digit of 嗯，三天 do not;
  - one or two groups of one or two digits at the very start or end may be left out, as the clause
    before or after (我确认一下，幺三九，… / …五六七八，两天之内): they are runs of their own;
  - no mask character is in the pause or right after the first part (a number masked before).
An X/叉 right after the last run, 17 digits in all, is the ID's check character. Where the runs can
be read more than one way, the reading that puts the most runs into numbers wins, then the one that
masks the most digits: 3+4+4 digits twice are two phones, not an 18-digit number and four digits left
over. Such a number is one entity per text, spanning its groups and the pauses between; only its
digits are masked, the fillers and punctuation stay as said.
Across texts (find_personal_data_in_utterances, redact_utterances: one speaker's consecutive
segments, as qa_pipeline.privacy.protect walks them), a run ending one text joins one starting the next,
with only pause characters around the boundary; the number has an entity in each text, and
`keep_leading` counts its digits from the first text on (Entity.digits_before).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from qa_pipeline.text.numbers import ID_CHECK_X, Entity, Group, run_entities, strong_head, strong_kind

# What a reader puts between the groups of one number besides the separators that join on their own:
# fillers, sentence punctuation (the ASR ends a sentence at each pause), several spaces, and . : / ~ _.
_PAUSE = re.compile(
    r"(?:[\s\u3000。．.，,、；;：:！!？?…~～_＿/／\\\-–—－·]|嗯|呃|额|啊|哦|噢|唔|呀|诶|欸|哎|那个|这个|就是|然后)*"
)
_MAX_PAUSE_CHARS = 10  # 。嗯……那个， is 7
# The groups on both sides of a pause have at least this many digits: the fraction of 1500.00, the minutes
# of 10:30, the month and day of 2026/11/22 and the lone digit of 嗯，三天 have fewer.
_MIN_DIGITS_BESIDE_A_PAUSE = 3
_MAX_STRONG_DIGITS = 19  # a bank card, the longest mobile/ID/bank number
# Each part of a number read with pauses brings at least _MIN_DIGITS_BESIDE_A_PAUSE digits.
_MAX_PARTS = _MAX_STRONG_DIGITS // _MIN_DIGITS_BESIDE_A_PAUSE


@dataclass(frozen=True)
class _Piece:
    """A digit run (groups joined by the separators above) in one of the utterances."""

    utterance: int
    groups: tuple[Group, ...]
    entities: tuple[Entity, ...]  # what the run is on its own
    joinable: bool  # may be one part of a number read with pauses


@dataclass(frozen=True)
class _PausedNumber:
    """A mobile/ID/bank number read as pieces[first..last] with pauses between; the first piece from its
    group `first_group` on, the last up to (not including) its group `last_group_end`."""

    kind: str
    first: int
    last: int
    first_group: int
    last_group_end: int
    check_x: bool  # an ID's X follows the last piece


def _piece_is_joinable(text: str, groups: Sequence[Group], mask: str) -> bool:
    if strong_head(groups) is not None:
        return False  # a whole number already
    end = groups[-1].end
    pause = _PAUSE.match(text, end, end + _MAX_PAUSE_CHARS + 1)
    # The visible head of a number masked before (幺五八，****): joining it to digits before it would make a
    # second redaction mask more than the first.
    return pause is None or mask not in text[end : pause.end() + 1]


def _paused_between(texts: Sequence[str], left: _Piece, right: _Piece, mask: str) -> bool:
    """Whether only a pause stands between the two pieces: in one utterance, or left ending its utterance and
    right starting a later one, with nothing but pauses said in between."""
    if min(len(left.groups[-1].digits), len(right.groups[0].digits)) < _MIN_DIGITS_BESIDE_A_PAUSE:
        return False
    end, start = left.groups[-1].end, right.groups[0].start
    if left.utterance == right.utterance:
        pause = texts[left.utterance][end:start]
    else:
        between = "".join(texts[left.utterance + 1 : right.utterance])
        pause = texts[left.utterance][end:] + between + texts[right.utterance][:start]
    # A digit anywhere in it (another run) fails the match; so does the mask (a number masked before).
    return len(pause) <= _MAX_PAUSE_CHARS and mask not in pause and _PAUSE.fullmatch(pause) is not None


def _leading_cuts(groups: Sequence[Group]) -> Iterator[int]:
    """Where the first part of a paused number may start: at its run's first group, or after one or two
    groups of one or two digits that end the clause before (我确认一下，幺五八，嗯，…)."""
    yield 0
    for cut in (1, 2):
        if cut >= len(groups) or len(groups[cut - 1].digits) > 2:
            return
        yield cut


def _trailing_cuts(groups: Sequence[Group]) -> Iterator[int]:
    """Where the last part of a paused number may end: at its run's end, or before one or two groups of one
    or two digits that start the next clause (…三九七幺，两天之内)."""
    yield len(groups)
    for cut in (len(groups) - 1, len(groups) - 2):
        if cut < 1 or len(groups[cut].digits) > 2:
            return
        yield cut


def _paused_number(texts: Sequence[str], pieces: Sequence[_Piece], first: int, last: int) -> _PausedNumber | None:
    head, tail = pieces[first], pieces[last]
    middle = "".join(g.digits for piece in pieces[first + 1 : last] for g in piece.groups)
    for start in _leading_cuts(head.groups):
        for end in _trailing_cuts(tail.groups):
            digits = (
                "".join(g.digits for g in head.groups[start:]) + middle + "".join(g.digits for g in tail.groups[:end])
            )
            after = tail.groups[-1].end
            text = texts[tail.utterance]
            check_x = end == len(tail.groups) and len(digits) == 17 and text[after : after + 1] in ID_CHECK_X
            if len(digits) + check_x > _MAX_STRONG_DIGITS:
                continue
            kind = strong_kind(digits + "X" if check_x else digits)
            if kind is not None:
                return _PausedNumber(kind, first, last, start, end, check_x)
    return None


def _numbers_read_with_pauses(texts: Sequence[str], pieces: Sequence[_Piece], mask: str) -> list[_PausedNumber]:
    """The mobile/ID/bank numbers made of two or more joinable pieces with only pauses between them. Where
    pieces can be read more than one way, the reading that puts the most pieces into numbers wins, then the
    one that masks the most digits: two mobiles read in a row (3+4+4, 3+4+4) are two phones, not an 18-digit
    bank card and four digits left over."""
    n = len(pieces)
    paused = [_paused_between(texts, a, b, mask) for a, b in itertools.pairwise(pieces)]
    best: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (pieces, digits) in numbers from piece i on
    choice: list[_PausedNumber | None] = [None] * (n + 1)
    for first in range(n - 1, -1, -1):
        best[first] = best[first + 1]
        if not pieces[first].joinable:
            continue
        for last in range(first + 1, min(n, first + _MAX_PARTS)):
            if not (paused[last - 1] and pieces[last].joinable):
                break
            number = _paused_number(texts, pieces, first, last)
            if number is None:
                continue
            digits = len(_parts_digits(pieces, number))
            covered = (last - first + 1 + best[last + 1][0], digits + best[last + 1][1])
            if covered > best[first]:
                best[first], choice[first] = covered, number
    found = []
    index = 0
    while index < n:
        number = choice[index]
        if number is None:
            index += 1
        else:
            found.append(number)
            index = number.last + 1
    return found


def _parts(pieces: Sequence[_Piece], number: _PausedNumber) -> Iterator[tuple[_Piece, tuple[Group, ...]]]:
    """Each piece of a paused number with the groups of it that belong to the number."""
    for index in range(number.first, number.last + 1):
        groups = pieces[index].groups
        start = number.first_group if index == number.first else 0
        end = number.last_group_end if index == number.last else len(groups)
        yield pieces[index], groups[start:end]


def _parts_digits(pieces: Sequence[_Piece], number: _PausedNumber) -> str:
    return "".join(g.digits for _, groups in _parts(pieces, number) for g in groups)


def number_entities(
    texts: Sequence[str], runs: Sequence[list[list[Group]]], min_digits: int, mask: str
) -> list[list[Entity]]:
    """The number entities of each utterance: each digit run on its own, except where runs are the parts of a
    number read with pauses; such a number has one entity in each utterance it was said in."""
    pieces = [
        _Piece(
            utterance,
            tuple(groups),
            tuple(run_entities(text, groups, min_digits)),
            _piece_is_joinable(text, groups, mask),
        )
        for utterance, (text, text_runs) in enumerate(zip(texts, runs, strict=True))
        for groups in text_runs
    ]
    found: list[list[Entity]] = [[] for _ in texts]
    paused = {number.first: number for number in _numbers_read_with_pauses(texts, pieces, mask)}
    index = 0
    while index < len(pieces):
        number = paused.get(index)
        if number is None:
            found[pieces[index].utterance] += pieces[index].entities
            index += 1
            continue
        # Groups of the first and last pieces that are not part of it (the 一 of 确认一下，) are runs of their own.
        head, tail = pieces[number.first], pieces[number.last]
        for piece, left_out in (
            (head, head.groups[: number.first_group]),
            (tail, tail.groups[number.last_group_end :]),
        ):
            if left_out:
                found[piece.utterance] += run_entities(texts[piece.utterance], left_out, min_digits)
        said_before = 0
        for utterance, parts in itertools.groupby(_parts(pieces, number), key=lambda part: part[0].utterance):
            said = [g for _, piece_groups in parts for g in piece_groups]
            end = said[-1].end + 1 if number.check_x and utterance == tail.utterance else said[-1].end
            found[utterance].append(Entity(number.kind, said[0].start, end, said_before))
            said_before += sum(len(g.digits) for g in said)
        index = number.last + 1
    return [sorted(entities, key=lambda e: e.start) for entities in found]
