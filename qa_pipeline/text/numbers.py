"""Digit runs in ASR text: the numbers customers read out, and the kind each one is.

Whisper writes a spoken number in many ways: Arabic digits, full-width digits, spoken Chinese digits
(幺三八零零一三八零零零: 幺 = 1, 两 = 2, 〇/零 = 0), mixed, and grouped as it was read (138 0013 8000,
一三八，零零一三，八零零零, 138-0013-8000). The rules below read all of them, and are deliberately narrow
on ordinary words: 一下, 两天, 三天之内, 二十四小时 and 一一解答 contain digit characters too.

Numbers
    Digit characters are 0-9, ０-９ and 零〇一幺二两三四五六七八九; X/x/叉 only as the 18th character
    of an ID number (right after 17 digits). 要/腰/妖/邀/吆 count as 幺 (one) where two digits follow:
    whisper writes the 幺 of a phone number as its homophone (要三八零零…). A number is a run of digit
    characters; groups may be joined by one separator (space, ideographic space, - – — －, `,` `，` `、`,
    optionally with one space on either side, as in "138, 0013") when another digit follows. '.', ':'
    and '/' do not join here (1500.00, 10:30, 2026/11/22), and the one or two digits after a decimal
    point end their amount (13800.00、24500.00: 00 is no group of 24500). 十 and 百 are not digits, so
    二十四 is three runs of one digit.
    The kind comes from the digit sequence:
      - phone: 11 digits 1[3-9]...; the same after a country prefix 86 or 0086 (written or spoken; the
        '+' is not a digit and stays outside the entity); 0 + 9-11 digits (area code + landline);
        bare 7-8 digits (a landline without area code);
      - id_card: 17 digits + X/x/叉, or 18 digits passing the GB 11643 checksum, or 15 digits not
        starting with 0 (first-generation ID);
      - bank_card: 16-19 digits that are not an ID;
      - number: any other run of at least `min_digits` digits (order numbers, account numbers).
    Shorter runs are left alone: hotlines 12345 and 110, years 2026, amounts 1500, 请您拨打一二三四五热线.
    Not personal, left alone when the run is not a mobile/ID/bank number: a date grouped with
    separators (2026-11-22, optionally with an hour: 2026-11-22 14), an amount with thousands commas
    (1,500,000), a 400/800 service hotline (400-820-8820), and an enumeration 1、2、3、4、5、6、7.
    When a grouped run as a whole is not a mobile/ID/bank number but becomes one without its last one or
    two groups of one or two digits, those groups are a separate run: in 幺三八零零一三八零零零，两天 the
    两 starts a new clause, not a twelfth digit.
    Masking (qa_pipeline.privacy.redact) keeps the first `keep_leading` digit characters (phone
    13800138000 -> 1**********) and replaces every later one, the ID's X included, with the mask;
    separators stay as they are.

Numbers read with pauses between their groups are joined in qa_pipeline.text.paused_numbers.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

# Every kind of personal data found (qa_pipeline.text.personal_data): the digit runs here, addresses and names.
ENTITY_KINDS = ("phone", "id_card", "bank_card", "number", "address", "name")
# Kinds that are digit runs: masked after `keep_leading` visible digits. Addresses and names are masked whole.
NUMBER_KINDS = frozenset({"phone", "id_card", "bank_card", "number"})

# Every character a spoken or written digit may appear as, with its value.
DIGIT_VALUES: dict[str, str] = {
    **{str(d): str(d) for d in range(10)},
    **{chr(ord("０") + d): str(d) for d in range(10)},
    "零": "0",
    "〇": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
# The ID check character 'X' (10) as whisper writes it; only ever the 18th character of an ID number.
ID_CHECK_X = frozenset("Xx叉Ｘｘ")

_DIGIT_CLASS = "[" + "".join(DIGIT_VALUES) + "]"
# One separator between digit groups, optionally padded by one space ("138, 0013"), or a lone space.
_GAP = r"(?:[ \u3000]?[-–—－,，、][ \u3000]?|[ \u3000])"
_RUN = re.compile(f"{_DIGIT_CLASS}+(?:{_GAP}{_DIGIT_CLASS}+)*")
_GROUP = re.compile(f"{_DIGIT_CLASS}+")
_YAO_BEFORE_DIGITS = re.compile(f"[要腰妖邀吆](?={_DIGIT_CLASS}{{2}})")

# GB 11643-1999: weights of the first 17 digits; the check character is indexed by the sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


@dataclass(frozen=True)
class Entity:
    """One piece of personal data found in a text: its kind and where it is."""

    kind: str  # one of ENTITY_KINDS
    start: int  # character offsets into the text; the same in the redacted text, as masking keeps length
    end: int
    # Digits of the same number said in earlier utterances (a number read over several segments): they
    # count against `keep_leading`, so only the number's first digits stay visible, not each part's.
    digits_before: int = 0


def digits_of(text: str) -> str:
    """`text` with every spoken or full-width digit written as an ASCII digit, other characters kept
    (幺三八-0０1 -> 138-001): for scanning stored text for numbers that leaked."""
    return "".join(DIGIT_VALUES.get(char, char) for char in text)


def with_spoken_ones(text: str) -> str:
    """`text` with 要/腰/妖/邀/吆 read as 幺 (one) where two digits follow: whisper writes the 幺 of a
    phone number as its homophone 要 (要三八零零…). Same length: offsets stay valid."""
    return _YAO_BEFORE_DIGITS.sub("幺", text)


@dataclass(frozen=True)
class Group:
    """A group of digit characters in a run (text[start:end]), and the digits it reads as."""

    start: int
    end: int
    digits: str  # ASCII digits; an ID's check character as "X"


def _is_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def _id_checksum_ok(digits: str) -> bool:
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits, _ID_WEIGHTS, strict=False))
    return _ID_CHECK_CHARS[total % 11] == digits[17]


def strong_kind(digits: str) -> str | None:
    """The kinds a digit sequence is recognised as by its shape alone: mobile, ID, bank card."""
    n = len(digits)
    if digits.endswith("X"):
        # An X only follows 17 digits (see digit_runs): an ID even when the checksum fails, since
        # whisper may have misheard one digit and no other number ends in X.
        return "id_card" if n == 18 else None
    if (
        _is_mobile(digits)
        or (n == 13 and digits.startswith("86") and _is_mobile(digits[2:]))
        or (n == 15 and digits.startswith("0086") and _is_mobile(digits[4:]))
    ):
        return "phone"
    if (n == 18 and _id_checksum_ok(digits)) or (n == 15 and digits[0] != "0"):
        return "id_card"
    if 16 <= n <= 19:
        return "bank_card"
    return None


def _not_personal(text: str, groups: Sequence[Group], digits: str) -> bool:
    """Runs that look like numbers but carry no personal data (only asked when no mobile/ID/bank shape)."""
    if len(digits) == 10 and digits[:3] in ("400", "800"):
        return True  # a company's service hotline
    values = [int(g.digits) if len(g.digits) <= 4 else -1 for g in groups]  # only short groups are compared
    sizes = [len(g.digits) for g in groups]
    if (
        len(groups) in (3, 4)
        and sizes[0] == 4
        and digits[:2] in ("19", "20")
        and all(size <= 2 for size in sizes[1:])
        and 1 <= values[1] <= 12
        and 1 <= values[2] <= 31
        and (len(groups) == 3 or values[3] <= 23)
    ):
        return True  # a date 2026-11-22 (with an hour)
    if (
        len(groups) >= 2
        and sizes[0] <= 3
        and all(size == 3 for size in sizes[1:])
        and all(text[a.end : b.start] == "," for a, b in itertools.pairwise(groups))
        and all(char not in "零〇一幺二两三四五六七八九" for char in text[groups[0].start : groups[-1].end])
    ):
        return True  # an amount with thousands separators: 1,500,000
    # An enumeration 1、2、3、4、5、6、7.
    return (
        len(groups) >= 3
        and all(size == 1 for size in sizes)
        and values == list(range(values[0], values[0] + len(values)))
    )


def _weak_kind(text: str, groups: Sequence[Group], min_digits: int) -> str | None:
    digits = "".join(g.digits for g in groups)
    if _not_personal(text, groups, digits):
        return None
    n = len(digits)
    if (digits[0] == "0" and 10 <= n <= 12) or n in (7, 8):
        return "phone"
    return "number" if n >= min_digits else None


def strong_head(groups: Sequence[Group]) -> tuple[str, int] | None:
    """The kind and the number of groups of the mobile/ID/bank number that the run is, or starts with."""
    whole = strong_kind("".join(g.digits for g in groups))
    if whole is not None:
        return whole, len(groups)
    # 幺三八零零一三八零零零，两天: one or two trailing groups of one or two digits after a separator may start
    # the next clause. Take the longest head that is a mobile/ID/bank number on its own; the tail is its own run.
    for cut in range(len(groups) - 1, max(len(groups) - 3, 0), -1):
        if len(groups[cut].digits) > 2:
            break
        head = strong_kind("".join(g.digits for g in groups[:cut]))
        if head is not None:
            return head, cut
    return None


def run_entities(text: str, groups: Sequence[Group], min_digits: int) -> list[Entity]:
    strong = strong_head(groups)
    if strong is not None:
        kind, size = strong
        head = Entity(kind, groups[0].start, groups[size - 1].end)
        return [head, *run_entities(text, groups[size:], min_digits)] if size < len(groups) else [head]
    weak = _weak_kind(text, groups, min_digits)
    return [] if weak is None else [Entity(weak, groups[0].start, groups[-1].end)]


def _after_a_decimal_point(text: str, start: int) -> bool:
    return start >= 2 and text[start - 1] in ".．" and text[start - 2] in DIGIT_VALUES


def digit_runs(text: str) -> list[list[Group]]:
    """The runs of digit characters in `text` (read with with_spoken_ones), each as its groups."""
    runs = []
    for match in _RUN.finditer(text):
        groups = [
            Group(g.start(), g.end(), "".join(DIGIT_VALUES[c] for c in g.group()))
            for g in _GROUP.finditer(text, match.start(), match.end())
        ]
        # 13800.00、24500.00: the 00 after a decimal point ends the amount before it, it is no group of the
        # next one (00、24500 would be seven digits, a landline).
        if len(groups) > 1 and len(groups[0].digits) <= 2 and _after_a_decimal_point(text, groups[0].start):
            runs.append(groups[:1])
            groups = groups[1:]
        end = groups[-1].end
        if sum(len(g.digits) for g in groups) == 17 and end < len(text) and text[end] in ID_CHECK_X:
            last = groups[-1]
            groups[-1] = Group(last.start, end + 1, last.digits + "X")
        runs.append(groups)
    return runs
