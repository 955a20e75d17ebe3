"""Finding personal data in Chinese call transcripts: numbers, addresses and names.

Customers read out phone numbers, ID-card numbers (身份证号), bank-card numbers, addresses and their
names. The database keeps transcripts and check evidence for months and is read by many people, so
these are masked before anything is stored (qa_pipeline.privacy.redact); the checks look for them too
(required_info: did the agent get the customer's phone number). This module finds them: each entity's
kind and character span, in text order.

Numbers
    Digit runs and their kinds (phone, id_card, bank_card, number): qa_pipeline.text.numbers; numbers
    read with pauses between their groups, within a text and across a speaker's consecutive texts:
    qa_pipeline.text.paused_numbers.

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

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from qa_pipeline.text.numbers import DIGIT_VALUES, ENTITY_KINDS, Entity, Group, digit_runs, with_spoken_ones
from qa_pipeline.text.paused_numbers import number_entities

__all__ = [
    "COMMON_SURNAMES",
    "COMPOUND_SURNAMES",
    "DEFAULT_FIND_SETTINGS",
    "DEFAULT_MASK",
    "DEFAULT_MIN_DIGITS",
    "ENTITY_KINDS",
    "Entity",
    "FindSettings",
    "Finding",
    "find_personal_data",
    "find_personal_data_in_utterances",
]

DEFAULT_MIN_DIGITS = 6  # a run of at least this many digits that is not a phone/ID/bank card is a "number"
DEFAULT_MASK = "*"  # the mask character: never a digit, and a number masked before is not joined again

# Address numbers may be written with 十/百 (十二栋, 一百二十八号), unlike digit runs.
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


class FindSettings(Protocol):
    """What finding reads of its settings. qa_pipeline.privacy.redact.RedactionSettings has both (so does
    Finding); kinds and enabled are masking's business: every kind is found."""

    @property
    def min_digits(self) -> int: ...  # a run of this many digits that is no phone/ID/bank card is a "number"

    @property
    def mask(self) -> str: ...  # the mask character: text masked before is not read as more of a number


@dataclass(frozen=True)
class Finding:
    """FindSettings as plain values (the defaults RedactionSettings has too)."""

    min_digits: int = DEFAULT_MIN_DIGITS
    mask: str = DEFAULT_MASK


DEFAULT_FIND_SETTINGS = Finding()


def find_personal_data(text: str, settings: FindSettings = DEFAULT_FIND_SETTINGS) -> list[Entity]:
    """Every entity in `text`, of every kind (whatever settings.kinds and settings.enabled say), in text
    order and never overlapping. Only settings.min_digits and settings.mask are used here."""
    return find_personal_data_in_utterances((text,), settings)[0]


def find_personal_data_in_utterances(
    texts: Sequence[str], settings: FindSettings = DEFAULT_FIND_SETTINGS
) -> list[list[Entity]]:
    """find_personal_data of each of `texts`, consecutive utterances of one speaker, where a mobile/ID/bank
    number may also run from one utterance into the next (我的电话是幺三九 / 幺二三四 / 五六七八): it has an
    entity in each utterance it was said in, with offsets into that utterance."""
    read = [with_spoken_ones(text) for text in texts]
    runs = [digit_runs(text) for text in read]
    numbers = number_entities(read, runs, settings.min_digits, settings.mask)
    return [
        _with_addresses_and_names(text, text_runs, taken, settings)
        for text, text_runs, taken in zip(read, runs, numbers, strict=True)
    ]


def _with_addresses_and_names(
    text: str, runs: list[list[Group]], numbers: list[Entity], settings: FindSettings
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
