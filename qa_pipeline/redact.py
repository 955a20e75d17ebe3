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
    and '/' never join (1500.00, 10:30, 2026/11/22). 十 and 百 are not digits, so 二十四 is three runs of
    one digit.
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
character is never a digit, and no cue is followed by a mask).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
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


def _not_personal(text: str, groups: list[_Group], digits: str) -> bool:
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


def _weak_kind(text: str, groups: list[_Group], min_digits: int) -> str | None:
    digits = "".join(g.digits for g in groups)
    if _not_personal(text, groups, digits):
        return None
    n = len(digits)
    if (digits[0] == "0" and 10 <= n <= 12) or n in (7, 8):
        return "phone"
    return "number" if n >= min_digits else None


def _run_entities(text: str, groups: list[_Group], min_digits: int) -> list[Entity]:
    whole = _strong_kind("".join(g.digits for g in groups))
    if whole is not None:
        return [Entity(whole, groups[0].start, groups[-1].end)]
    # 幺三八零零一三八零零零，两天: one or two trailing groups of one or two digits after a separator may start
    # the next clause. Take the longest head that is a mobile/ID/bank number on its own; the tail is its own run.
    for cut in range(len(groups) - 1, max(len(groups) - 3, 0), -1):
        if len(groups[cut].digits) > 2:
            break
        head = _strong_kind("".join(g.digits for g in groups[:cut]))
        if head is not None:
            return [Entity(head, groups[0].start, groups[cut - 1].end), *_run_entities(text, groups[cut:], min_digits)]
    kind = _weak_kind(text, groups, min_digits)
    return [] if kind is None else [Entity(kind, groups[0].start, groups[-1].end)]


def _digit_runs(text: str) -> list[list[_Group]]:
    runs = []
    for match in _RUN.finditer(text):
        groups = [
            _Group(g.start(), g.end(), "".join(DIGIT_VALUES[c] for c in g.group()))
            for g in _GROUP.finditer(text, match.start(), match.end())
        ]
        end = match.end()
        if sum(len(g.digits) for g in groups) == 17 and end < len(text) and text[end] in ID_CHECK_X:
            last = groups[-1]
            groups[-1] = _Group(last.start, end + 1, last.digits + "X")
        runs.append(groups)
    return runs


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
    order and never overlapping. Only settings.min_digits is used here."""
    text = _with_spoken_ones(text)
    runs = _digit_runs(text)
    taken = [entity for groups in runs for entity in _run_entities(text, groups, settings.min_digits)]
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
    if not settings.enabled:
        return Redacted(text, ())
    entities = tuple(e for e in find_personal_data(text, settings) if e.kind in settings.kinds)
    chars = list(text)
    read_as = _with_spoken_ones(text)
    for entity in entities:
        if entity.kind in NUMBER_KINDS:
            visible = settings.keep_leading
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
