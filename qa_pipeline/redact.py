"""Masking personal data in call transcripts before anything is stored.

Customers read out phone numbers, ID-card numbers (身份证号), bank-card numbers, addresses and their
names. The database keeps transcripts and check evidence for months and is read by many people, so
these are masked first: the kind of entity is kept (a reviewer still sees that the agent asked for and
got a phone number), the characters are not. Masking is length-preserving, one mask character per
masked character, so every character offset computed on the original text (check evidence spans,
segment offsets) stays valid in the stored text.

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
    Masking keeps the first `keep_leading` digit characters (phone 13800138000 -> 1**********) and
    replaces every later one, the ID's X included, with the mask; separators stay as they are.

Numbers read with pauses
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
    segments, as qa_pipeline.privacy walks them), a run ending one text joins one starting the next,
    with only pause characters around the boundary; the number has an entity in each text, and
    `keep_leading` counts its digits from the first text on (Entity.digits_before).

Addresses
    A number (digit characters, 十 and 百 too: 十二栋) directly before an address unit (号楼 栋 幢 单元 楼
    层 室 户), or between a road word (路 街 道 巷 弄 村; not the 道 of 知道) and 号. Only the number is
    masked: 3栋2单元502室 -> *栋*单元***室, 锦绣路128号 -> 锦绣路***号. A plain 五号 or 3号 is a date.
    Whisper often mangles the unit after a number while keeping another unit of the same address
    (三斗二单元五零二十 for 三栋二单元五零二室), so in a sentence (up to 。！？) naming 单元/号楼/栋/幢/室
    every number is the address, except a lone digit starting a word (一下, 两天) and the visible leading
    digit of a number already masked.
    A number that is part of a longer grouped run (2026-11-3栋) is not an address.

Names
    The customer's own name after a self-introduction: 我姓X / 免贵姓X / 姓X的 (one character, or a
    compound surname such as 欧阳), 我叫 + 2-3 Han characters (ends at punctuation or a non-Han
    character; 我叫了/我叫你... are the verb, not a name), and a common surname before 先生/女士/小姐.
    All of the name's characters are masked: 我姓林 -> 我姓*, 林女士 -> *女士, 我叫王建国 -> 我叫***.
    您贵姓 and 姓名 are not names; 我是... and 这里是... are not cues (agents say 我是红树西岸管理处客服).
    A "name" made only of digit characters (我叫幺三八...) is the start of a number, not a name.

Entities never overlap: numbers first, then addresses, then names. An address number that overlaps a
number keeps its characters outside it (十1234567栋: 十 is still masked); a name keeps only its part before
the first entity it runs into, and is dropped when it starts inside one (it no longer follows its cue).
These choices make redaction idempotent: redacting redacted text changes nothing more (the mask
character is never a digit, no cue is followed by a mask, and no pause next to a mask joins).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

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

# Address numbers may be written with 十/百 (十二栋, 一百二十八号), unlike the digit runs above.
_ADDRESS_CHAR = "[" + "".join(DIGIT_VALUES) + "十百]"
# Possessive and anchored at the start of the number: a long digit run not followed by a unit is given up
# at once instead of being retried from each of its characters (quadratic on a 100,000-digit run).
_ADDRESS_NUMBER = f"(?<!{_ADDRESS_CHAR}){_ADDRESS_CHAR}++"
_UNIT_ADDRESS = re.compile(f"{_ADDRESS_NUMBER}(?=号楼|栋|幢|单元|楼|层|室|户)")
_ADDRESS_NUMBER_RE = re.compile(_ADDRESS_NUMBER)
_ADDRESS_UNIT_WORD = re.compile("单元|号楼|栋|幢|室")
_SENTENCE = re.compile("[^。！？!?]+")
_SEPARATORS = " \u3000-–—－,，、"
_NOT_AFTER_A_LONE_DIGIT = frozenset("下个直些点样起共定般切会边次位天年月日号周分秒种块元")
# 知道五号 is "knows the fifth", not 道 (road) 五号.
_ROAD_ADDRESS = re.compile(f"(?<=[路街道巷弄村])(?<!知道){_ADDRESS_NUMBER}(?=号)")

# The ~100 most common surnames (plus a few more): a bare character before 先生/女士/小姐 is only taken
# for a surname when it is one, so 这位先生 and 您好女士 stay.
COMMON_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常康施文"
    "樊葛邢齐易乔伍庞颜倪庄聂章鲁岳翟殷詹耿焦俞柳祝舒阮柯纪梅童凌毕季裴霍涂苗谷盛翁冉骆蓝辛管柴蒙鲍"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯")
_HAN = "[\u4e00-\u9fff]"
_COMPOUND = "|".join(COMPOUND_SURNAMES)
_SURNAME_AFTER_CUE = re.compile(f"(?:我|免贵)姓({_COMPOUND}|{_HAN})")
_SURNAME_BEFORE_DE = re.compile(f"姓({_COMPOUND}|{_HAN})的")
_CALLED = re.compile(f"我叫({_HAN}{{2,3}})")
_HONORIFIC = re.compile(f"({_COMPOUND}|[{''.join(sorted(COMMON_SURNAMES))}])(?=先生|女士|小姐)")
# After 姓: words that make it a question or a noun (姓名, 姓什么, 贵姓), not a surname.
_NOT_A_SURNAME = frozenset("名氏什啥么吗呢啊吧了的是里也都还贵")
# After 我叫: 我叫了/我叫你/我叫车/我叫一个 use 叫 as a verb.
_NOT_A_GIVEN_NAME_START = frozenset("了过着的你您他她它我们人车什啥来去做这那一不没也就都还再个声把被给啊呀嗯呃哦")
# Sentence particles whisper glues to a name (我叫李明啊): not part of it.
_PARTICLES = frozenset("的啊呀吧呢哈嘛哦啦是了")


@dataclass(frozen=True)
class RedactionSettings:
    """What is masked and how (the scorecard's [privacy] table)."""

    enabled: bool = True
    kinds: tuple[str, ...] = ENTITY_KINDS  # which kinds are masked
    min_digits: int = 6  # a run of at least this many digits that is not a phone/ID/bank card is a "number"
    keep_leading: int = 1  # digits left visible at the start of a masked number (phone 1**********)
    mask: str = "*"  # exactly one character, so masking keeps every offset

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))  # a list from a config file is fine too
        for kind in self.kinds:
            if kind not in ENTITY_KINDS:
                raise ValueError(f"RedactionSettings.kinds: unknown kind {kind!r} (known: {', '.join(ENTITY_KINDS)})")
        if self.min_digits < 3:
            raise ValueError(f"RedactionSettings.min_digits must be at least 3, not {self.min_digits}")
        if self.keep_leading < 0:
            raise ValueError(f"RedactionSettings.keep_leading must not be negative, not {self.keep_leading}")
        if len(self.mask) != 1:
            raise ValueError(f"RedactionSettings.mask must be exactly one character, not {self.mask!r}")
        # A digit as the mask would turn masked numbers into new numbers.
        if self.mask in DIGIT_VALUES or self.mask in ID_CHECK_X:
            raise ValueError(f"RedactionSettings.mask must not be a digit character, not {self.mask!r}")


DEFAULT_SETTINGS = RedactionSettings()


@dataclass(frozen=True)
class Entity:
    kind: str  # one of ENTITY_KINDS
    start: int  # character offsets into the text; the same in the redacted text, as masking keeps length
    end: int
    # Digits of the same number said in earlier utterances (a number read over several segments): they
    # count against `keep_leading`, so only the number's first digits stay visible, not each part's.
    digits_before: int = 0


@dataclass(frozen=True)
class Redacted:
    text: str
    entities: tuple[Entity, ...]  # the entities that were masked, in text order


def digits_of(text: str) -> str:
    """`text` with every spoken or full-width digit written as an ASCII digit, other characters kept
    (幺三八-0０1 -> 138-001): for scanning stored text for numbers that leaked."""
    return "".join(DIGIT_VALUES.get(char, char) for char in text)


# -- numbers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
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


def _strong_kind(digits: str) -> str | None:
    """The kinds a digit sequence is recognised as by its shape alone: mobile, ID, bank card."""
    n = len(digits)
    if digits.endswith("X"):
        # An X only follows 17 digits (see _digit_runs): an ID even when the checksum fails, since
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


def _not_personal(text: str, groups: Sequence[_Group], digits: str) -> bool:
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


def _weak_kind(text: str, groups: Sequence[_Group], min_digits: int) -> str | None:
    digits = "".join(g.digits for g in groups)
    if _not_personal(text, groups, digits):
        return None
    n = len(digits)
    if (digits[0] == "0" and 10 <= n <= 12) or n in (7, 8):
        return "phone"
    return "number" if n >= min_digits else None


def _strong_head(groups: Sequence[_Group]) -> tuple[str, int] | None:
    """The kind and the number of groups of the mobile/ID/bank number that the run is, or starts with."""
    whole = _strong_kind("".join(g.digits for g in groups))
    if whole is not None:
        return whole, len(groups)
    # 幺三八零零一三八零零零，两天: one or two trailing groups of one or two digits after a separator may start
    # the next clause. Take the longest head that is a mobile/ID/bank number on its own; the tail is its own run.
    for cut in range(len(groups) - 1, max(len(groups) - 3, 0), -1):
        if len(groups[cut].digits) > 2:
            break
        head = _strong_kind("".join(g.digits for g in groups[:cut]))
        if head is not None:
            return head, cut
    return None


def _run_entities(text: str, groups: Sequence[_Group], min_digits: int) -> list[Entity]:
    strong = _strong_head(groups)
    if strong is not None:
        kind, size = strong
        head = Entity(kind, groups[0].start, groups[size - 1].end)
        return [head, *_run_entities(text, groups[size:], min_digits)] if size < len(groups) else [head]
    weak = _weak_kind(text, groups, min_digits)
    return [] if weak is None else [Entity(weak, groups[0].start, groups[-1].end)]


def _after_a_decimal_point(text: str, start: int) -> bool:
    return start >= 2 and text[start - 1] in ".．" and text[start - 2] in DIGIT_VALUES


def _digit_runs(text: str) -> list[list[_Group]]:
    runs = []
    for match in _RUN.finditer(text):
        groups = [
            _Group(g.start(), g.end(), "".join(DIGIT_VALUES[c] for c in g.group()))
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
            groups[-1] = _Group(last.start, end + 1, last.digits + "X")
        runs.append(groups)
    return runs


# -- numbers read with pauses -------------------------------------------------------------------------

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
    groups: tuple[_Group, ...]
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


def _piece_is_joinable(text: str, groups: Sequence[_Group], mask: str) -> bool:
    if _strong_head(groups) is not None:
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


def _leading_cuts(groups: Sequence[_Group]) -> Iterator[int]:
    """Where the first part of a paused number may start: at its run's first group, or after one or two
    groups of one or two digits that end the clause before (我确认一下，幺五八，嗯，…)."""
    yield 0
    for cut in (1, 2):
        if cut >= len(groups) or len(groups[cut - 1].digits) > 2:
            return
        yield cut


def _trailing_cuts(groups: Sequence[_Group]) -> Iterator[int]:
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
            kind = _strong_kind(digits + "X" if check_x else digits)
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


def _parts(pieces: Sequence[_Piece], number: _PausedNumber) -> Iterator[tuple[_Piece, tuple[_Group, ...]]]:
    """Each piece of a paused number with the groups of it that belong to the number."""
    for index in range(number.first, number.last + 1):
        groups = pieces[index].groups
        start = number.first_group if index == number.first else 0
        end = number.last_group_end if index == number.last else len(groups)
        yield pieces[index], groups[start:end]


def _parts_digits(pieces: Sequence[_Piece], number: _PausedNumber) -> str:
    return "".join(g.digits for _, groups in _parts(pieces, number) for g in groups)


def _number_entities(
    texts: Sequence[str], runs: Sequence[list[list[_Group]]], min_digits: int, mask: str
) -> list[list[Entity]]:
    """The number entities of each utterance: each digit run on its own, except where runs are the parts of a
    number read with pauses; such a number has one entity in each utterance it was said in."""
    pieces = [
        _Piece(
            utterance,
            tuple(groups),
            tuple(_run_entities(text, groups, min_digits)),
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
                found[piece.utterance] += _run_entities(texts[piece.utterance], left_out, min_digits)
        said_before = 0
        for utterance, parts in itertools.groupby(_parts(pieces, number), key=lambda part: part[0].utterance):
            said = [g for _, piece_groups in parts for g in piece_groups]
            end = said[-1].end + 1 if number.check_x and utterance == tail.utterance else said[-1].end
            found[utterance].append(Entity(number.kind, said[0].start, end, said_before))
            said_before += sum(len(g.digits) for g in said)
        index = number.last + 1
    return [sorted(entities, key=lambda e: e.start) for entities in found]


# -- addresses and names ------------------------------------------------------------------------------


def _address_candidates(text: str, mask: str) -> list[Entity]:
    found = [Entity("address", m.start(), m.end()) for m in _UNIT_ADDRESS.finditer(text)]
    found += [Entity("address", m.start(), m.end()) for m in _ROAD_ADDRESS.finditer(text)]
    # Whisper often mangles the unit after a number (三栋 -> 三斗, 号 -> 红, 五零二室 -> 五零二十) while
    # keeping one unit of the address: in a sentence naming an address unit, every number is the address.
    for sentence in _SENTENCE.finditer(text):
        if not _ADDRESS_UNIT_WORD.search(sentence.group()):
            continue
        for m in _ADDRESS_NUMBER_RE.finditer(text, sentence.start(), sentence.end()):
            number = m.group()
            if not any(char in DIGIT_VALUES for char in number):
                continue  # 十分 / 百忙: no digit
            if len(number) == 1 and text[m.end() : m.end() + 1] in _NOT_AFTER_A_LONE_DIGIT:
                continue  # 一下, 一个, 两天: words, not house numbers
            if text[m.end() :].lstrip(_SEPARATORS)[:1] == mask:
                continue  # the visible leading digit of a number masked before (0**室, 0-**栋): already redacted
            found.append(Entity("address", m.start(), m.end()))
    return found


def _is_all_digits(chars: str) -> bool:
    return all(char in DIGIT_VALUES for char in chars)


def _name_candidates(text: str) -> list[Entity]:
    found = []
    for pattern in (_SURNAME_AFTER_CUE, _SURNAME_BEFORE_DE):
        for match in pattern.finditer(text):
            surname = match.group(1)
            if surname[0] not in _NOT_A_SURNAME and not _is_all_digits(surname):
                found.append(Entity("name", match.start(1), match.end(1)))
    for match in _CALLED.finditer(text):
        name = match.group(1)
        if name[0] in _NOT_A_GIVEN_NAME_START:
            continue
        while name and name[-1] in _PARTICLES:
            name = name[:-1]
        if len(name) >= 2 and not _is_all_digits(name):
            found.append(Entity("name", match.start(1), match.start(1) + len(name)))
    found += [Entity("name", m.start(1), m.end(1)) for m in _HONORIFIC.finditer(text)]
    return found


def _free_spans(start: int, blocked: bytearray) -> list[tuple[int, int]]:
    """The maximal spans of unblocked characters; `blocked` has one flag per character from `start` on."""
    spans = []
    piece_start = None
    for offset, flag in enumerate([*blocked, 1]):
        if not flag and piece_start is None:
            piece_start = offset
        elif flag and piece_start is not None:
            spans.append((start + piece_start, start + offset))
            piece_start = None
    return spans


# -- public -------------------------------------------------------------------------------------------


def _with_spoken_ones(text: str) -> str:
    """`text` with 要/腰/妖/邀/吆 read as 幺 (one) where two digits follow: whisper writes the 幺 of a
    phone number as its homophone 要 (要三八零零…). Same length: offsets stay valid."""
    return _YAO_BEFORE_DIGITS.sub("幺", text)


def find_personal_data(text: str, settings: RedactionSettings = DEFAULT_SETTINGS) -> list[Entity]:
    """Every entity in `text`, of every kind (whatever settings.kinds and settings.enabled say), in text
    order and never overlapping. Only settings.min_digits and settings.mask are used here."""
    return find_personal_data_in_utterances((text,), settings)[0]


def find_personal_data_in_utterances(
    texts: Sequence[str], settings: RedactionSettings = DEFAULT_SETTINGS
) -> list[list[Entity]]:
    """find_personal_data of each of `texts`, consecutive utterances of one speaker, where a mobile/ID/bank
    number may also run from one utterance into the next (我的电话是幺三九 / 幺二三四 / 五六七八): it has an
    entity in each utterance it was said in, with offsets into that utterance."""
    read = [_with_spoken_ones(text) for text in texts]
    runs = [_digit_runs(text) for text in read]
    numbers = _number_entities(read, runs, settings.min_digits, settings.mask)
    return [
        _with_addresses_and_names(text, text_runs, taken, settings)
        for text, text_runs, taken in zip(read, runs, numbers, strict=True)
    ]


def _with_addresses_and_names(
    text: str, runs: list[list[_Group]], numbers: list[Entity], settings: RedactionSettings
) -> list[Entity]:
    """`numbers` (the number entities of `text`) with the addresses and names outside them, in text order."""
    taken = list(numbers)
    # One flag per character (linear in the text, whatever the number of entities): taken by an entity.
    occupied = bytearray(len(text))
    for entity in taken:
        occupied[entity.start : entity.end] = b"\x01" * (entity.end - entity.start)
    run_spans = [(groups[0].start, groups[-1].end) for groups in runs]
    run_of = [-1] * len(text)  # the digit run a character belongs to
    for index, (start, end) in enumerate(run_spans):
        run_of[start:end] = [index] * (end - start)

    for candidate in sorted(_address_candidates(text, settings.mask), key=lambda e: (e.start, -e.end)):
        blocked = bytearray(occupied[candidate.start : candidate.end])
        for offset, index in enumerate(run_of[candidate.start : candidate.end]):
            # 2026-11-3栋: a digit of a longer grouped run is not a house number.
            if index >= 0 and not (candidate.start <= run_spans[index][0] and run_spans[index][1] <= candidate.end):
                blocked[offset] = 1
        # 000百室 with min_digits=3: 000 is a number and 百 still an address; dropping 百 would leave it for a
        # second redaction to mask.
        for start, end in _free_spans(candidate.start, blocked):
            taken.append(Entity(candidate.kind, start, end))
            occupied[start:end] = b"\x01" * (end - start)

    for candidate in sorted(_name_candidates(text), key=lambda e: (e.start, -e.end)):
        # A name must follow its cue: it is dropped when it starts inside an entity, and ends where it runs
        # into one.
        end = candidate.start
        while end < candidate.end and not occupied[end]:
            end += 1
        if end > candidate.start:
            taken.append(Entity(candidate.kind, candidate.start, end))
            occupied[candidate.start : end] = b"\x01" * (end - candidate.start)
    return sorted(taken, key=lambda e: e.start)


def redact_text(text: str, settings: RedactionSettings = DEFAULT_SETTINGS) -> Redacted:
    """`text` with the entities whose kind is in settings.kinds masked (nothing when not enabled), and
    those entities. The result has the same length as `text`."""
    return redact_utterances((text,), settings)[0]


def redact_utterances(texts: Sequence[str], settings: RedactionSettings = DEFAULT_SETTINGS) -> list[Redacted]:
    """redact_text of each of `texts`, consecutive utterances of one speaker, with the numbers read from one
    utterance into the next masked too (find_personal_data_in_utterances); `keep_leading` counts the digits of
    such a number from its first utterance on."""
    if not settings.enabled:
        return [Redacted(text, ()) for text in texts]
    found = find_personal_data_in_utterances(texts, settings)
    return [
        _masked(text, tuple(e for e in entities if e.kind in settings.kinds), settings)
        for text, entities in zip(texts, found, strict=True)
    ]


def _masked(text: str, entities: tuple[Entity, ...], settings: RedactionSettings) -> Redacted:
    chars = list(text)
    read_as = _with_spoken_ones(text)
    for entity in entities:
        if entity.kind in NUMBER_KINDS:
            visible = max(settings.keep_leading - entity.digits_before, 0)
            for i in range(entity.start, entity.end):
                if read_as[i] in DIGIT_VALUES or (i == entity.end - 1 and chars[i] in ID_CHECK_X):
                    if visible > 0:
                        visible -= 1
                    else:
                        chars[i] = settings.mask
        else:
            chars[entity.start : entity.end] = settings.mask * (entity.end - entity.start)
    return Redacted("".join(chars), entities)


def redact_value(value: Any, settings: RedactionSettings = DEFAULT_SETTINGS) -> tuple[Any, int]:
    """A JSON-like value (dict/list/tuple/str/number/None) with every string in it redacted (dict values
    and list items, not dict keys, which are field names), and the number of entities masked."""
    if isinstance(value, str):
        redacted = redact_text(value, settings)
        return redacted.text, len(redacted.entities)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        total = 0
        for key, item in value.items():
            out[key], count = redact_value(item, settings)
            total += count
        return out, total
    if isinstance(value, list | tuple):
        items = []
        total = 0
        for item in value:
            new, count = redact_value(item, settings)
            items.append(new)
            total += count
        return (tuple(items) if isinstance(value, tuple) else items), total
    return value, 0  # numbers, booleans, None: a bare number field is not a transcript


def normalize_phone_number(number: str) -> str | None:
    """A caller number as the switch exports it -> its digits, without a +86/0086/86 country prefix when
    the rest is a Chinese number (mobile 1 + 10 digits, or a 0-prefixed landline); after a country prefix
    the trunk 0 dropped before an area code is restored (+86 21 1234 5678 -> 02112345678). Spaces,
    dashes, parentheses and any other non-digits are dropped. None when there is no digit at all."""
    # A switch exports ASCII (sometimes full-width) digits, never spoken ones.
    digits = "".join(DIGIT_VALUES[c] for c in number if "0" <= c <= "9" or "０" <= c <= "９")
    if not digits:
        return None
    for prefix in ("0086", "86"):
        if digits.startswith(prefix):
            rest = digits[len(prefix) :]
            if (len(rest) == 11 and rest[0] == "1") or (rest[:1] == "0" and 10 <= len(rest) <= 12):
                return rest
            # No domestic number is 86 + 9-11 digits without a leading 0 or 1: an area code without its 0.
            if 9 <= len(rest) <= 11 and rest[0] in "23456789":
                return "0" + rest
    return digits


def hash_caller_number(number: str, salt: str) -> str | None:
    """A keyed hash of a caller number: HMAC-SHA256 with `salt` as the key over the normalized number,
    "h:" + 32 hex characters. The same number in any format gives the same hash (calls of one customer
    still link); without the salt it can neither be read nor recomputed from a list of all numbers.
    None when the number has no digits."""
    if not salt:
        raise ValueError("hash_caller_number: the salt must not be empty")
    normalized = normalize_phone_number(number)
    if normalized is None:
        return None
    digest = hmac.new(salt.encode(), normalized.encode(), hashlib.sha256).hexdigest()
    return "h:" + digest[:32]
