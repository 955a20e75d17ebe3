"""qa_pipeline.text.personal_data and qa_pipeline.privacy.redact: personal numbers, addresses and names found
and masked in ASR text, offsets kept."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import time
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qa_pipeline.privacy.redact import (
    Redacted,
    RedactionSettings,
    hash_caller_number,
    normalize_phone_number,
    redact_text,
    redact_utterances,
    redact_value,
)
from qa_pipeline.text.numbers import digits_of
from qa_pipeline.text.personal_data import (
    ENTITY_KINDS,
    Entity,
    find_personal_data,
    find_personal_data_in_utterances,
)

FAST = settings(max_examples=200, deadline=None)


def spans(redacted: Redacted) -> list[tuple[str, int, int]]:
    return [(e.kind, e.start, e.end) for e in redacted.entities]


# -- known answers -------------------------------------------------------------------------------------

KNOWN = [
    # phones: Arabic, full-width, spoken (幺/一, 两/二, 零/〇), mixed, grouped
    ("我的电话是13800138000", "我的电话是1**********", [("phone", 5, 16)]),
    ("１３８００１３８０００", "１**********", [("phone", 0, 11)]),
    ("幺三八零零幺三八零零零", "幺**********", [("phone", 0, 11)]),
    ("一三八〇〇一三八〇〇〇", "一**********", [("phone", 0, 11)]),
    ("幺五两零零幺二三四五六", "幺**********", [("phone", 0, 11)]),
    ("一五二〇〇一两三四五六", "一**********", [("phone", 0, 11)]),
    ("1三8零0１3八0〇0", "1**********", [("phone", 0, 11)]),
    ("138 0013 8000", "1** **** ****", [("phone", 0, 13)]),
    ("一三八，零零一三，八零零零", "一**，****，****", [("phone", 0, 13)]),
    ("138-0013-8000", "1**-****-****", [("phone", 0, 13)]),
    ("138—0013—8000", "1**—****—****", [("phone", 0, 13)]),
    ("138、0013、8000", "1**、****、****", [("phone", 0, 13)]),
    ("138, 0013, 8000", "1**, ****, ****", [("phone", 0, 15)]),
    # country prefix: the '+' is not a digit; the 86 is part of the number and masked after the first digit
    ("+86 138 0013 8000", "+8* *** **** ****", [("phone", 1, 17)]),
    ("加八六幺三八零零一三八零零零", "加八************", [("phone", 1, 14)]),
    ("0086 13800138000", "0*** ***********", [("phone", 0, 16)]),
    # landlines: area code + number, or a bare 7-8 digits
    ("021-12345678", "0**-********", [("phone", 0, 12)]),
    ("座机是零二一，六二三四五六七八", "座机是零**，********", [("phone", 3, 15)]),
    ("电话62345678", "电话6*******", [("phone", 2, 10)]),
    ("021-1234567", "0**-*******", [("phone", 0, 11)]),
    ("1234-11-22", "1***-**-**", [("phone", 0, 10)]),  # not a date (no year 19xx/20xx): 8 digits
    # a trailing one-digit group after a comma starts the next clause
    ("幺三八零零幺三八零零零，两天之内给您回复", "幺**********，两天之内给您回复", [("phone", 0, 11)]),
    # ID cards: 18 with X / x / 叉, 18 digits with a valid checksum, 15 digits, grouped
    ("身份证号11010519491231002X", "身份证号1*****************", [("id_card", 4, 22)]),
    ("11010519491231002x", "1*****************", [("id_card", 0, 18)]),
    ("幺幺零幺零五幺九四九幺二三幺零零二叉", "幺*****************", [("id_card", 0, 18)]),
    ("110101199003074514", "1*****************", [("id_card", 0, 18)]),
    ("320311770706001", "3**************", [("id_card", 0, 15)]),
    ("110101 19900307 4514", "1***** ******** ****", [("id_card", 0, 20)]),
    # bank cards: 16-19 digits that are not an ID
    ("6222 0212 3456 7890", "6*** **** **** ****", [("bank_card", 0, 19)]),
    ("6222021234567890123", "6******************", [("bank_card", 0, 19)]),
    ("6222-0212-3456-7890-123", "6***-****-****-****-***", [("bank_card", 0, 23)]),
    ("110101199003074515", "1*****************", [("bank_card", 0, 18)]),  # checksum fails: not an ID
    # other long numbers
    ("订单号是987654321", "订单号是9********", [("number", 4, 13)]),
    ("工单号一二三四五六", "工单号一*****", [("number", 3, 9)]),
    ("单号123456-789012", "单号1*****-******", [("number", 2, 15)]),
    ("012345678901234", "0**************", [("number", 0, 15)]),  # 15 digits from 0: no ID
    # only a last group of one or two digits may be split off; a longer one is part of the number
    ("13800138000，123", "1**********，***", [("number", 0, 15)]),
    # read with pauses (issue 18): groups held apart by fillers, sentence punctuation, several spaces or
    # separators that do not join on their own are one number when together they are a mobile/ID/bank number
    ("幺五八，嗯，两零四六，呃，三九七幺", "幺**，嗯，****，呃，****", [("phone", 0, 17)]),
    ("幺五八。两零四六。三九七幺。", "幺**。****。****。", [("phone", 0, 13)]),
    ("158  2046  3971", "1**  ****  ****", [("phone", 0, 15)]),
    ("158.2046.3971", "1**.****.****", [("phone", 0, 13)]),
    ("158/2046/3971", "1**/****/****", [("phone", 0, 13)]),
    ("158~2046~3971", "1**~****~****", [("phone", 0, 13)]),
    ("158_2046_3971", "1**_****_****", [("phone", 0, 13)]),
    ("440305，嗯，19910706，嗯，521X", "4*****，嗯，********，嗯，****", [("id_card", 0, 24)]),
    # a short group before or after such a number ends or starts a clause: 确认一下，… / …，两天
    ("我确认一下，幺五八，嗯，两零四六，三九七幺", "我确认一下，幺**，嗯，****，****", [("phone", 6, 21)]),
    ("幺五八。两零四六。三九七幺，两天之内回电", "幺**。****。****，两天之内回电", [("phone", 0, 13)]),
    # two mobiles read in a row are two phones, not an 18-digit bank card and four digits left over
    (
        "幺五八。两零四六。三九七幺。幺三七。五幺零八。六二九四。",
        "幺**。****。****。幺**。****。****。",
        [("phone", 0, 13), ("phone", 14, 27)],
    ),
    # addresses: only the number is masked, the unit stays
    ("3栋2单元502室", "*栋*单元***室", [("address", 0, 1), ("address", 2, 3), ("address", 5, 8)]),
    ("锦绣路128号", "锦绣路***号", [("address", 3, 6)]),
    ("十二栋三单元", "**栋*单元", [("address", 0, 2), ("address", 3, 4)]),
    ("住在5号楼", "住在*号楼", [("address", 2, 3)]),
    ("中山路一百二十八号", "中山路*****号", [("address", 3, 8)]),
    ("南京东街9号", "南京东街*号", [("address", 4, 5)]),
    ("住在十五层", "住在**层", [("address", 2, 4)]),
    # names
    ("我姓林", "我姓*", [("name", 2, 3)]),
    ("免贵姓张", "免贵姓*", [("name", 3, 4)]),
    ("免贵姓欧阳", "免贵姓**", [("name", 3, 5)]),
    ("是一位姓王的先生", "是一位姓*的先生", [("name", 4, 5)]),
    ("林女士您好", "*女士您好", [("name", 0, 1)]),
    ("王先生，李小姐", "*先生，*小姐", [("name", 0, 1), ("name", 4, 5)]),
    ("欧阳先生", "**先生", [("name", 0, 2)]),
    ("我叫王建国", "我叫***", [("name", 2, 5)]),
    ("我叫李明啊", "我叫**啊", [("name", 2, 4)]),
    ("我叫李明，电话13800138000", "我叫**，电话1**********", [("name", 2, 4), ("phone", 7, 18)]),
    # precedence: a number beats an address or a name; a name keeps its part before the number
    ("锦绣路1234567号", "锦绣路1******号", [("phone", 3, 10)]),
    ("我叫张幺三八零零一三八零零零", "我叫*幺**********", [("name", 2, 3), ("phone", 3, 14)]),
    (
        "好的林女士，您的电话是一三八 零零一三 八零零零，住在锦绣路128号3栋",
        "好的*女士，您的电话是一** **** ****，住在锦绣路***号*栋",
        [("name", 2, 3), ("phone", 11, 24), ("address", 30, 33), ("address", 34, 35)],
    ),
]


@pytest.mark.parametrize(("text", "expected", "entities"), KNOWN)
def test_known_answers(text: str, expected: str, entities: list[tuple[str, int, int]]) -> None:
    redacted = redact_text(text)
    assert redacted.text == expected
    assert spans(redacted) == entities
    assert len(redacted.text) == len(text)


UNCHANGED = [
    "一下",
    "我帮您查一下",
    "一个",
    "两天",
    "三天之内",
    "二十四小时",
    "一一解答",
    "我们会在三天之内一一解答，二十四小时有人值班",
    "请您拨打一二三四五热线",
    "拨打12345或者110",
    "2026年11月22日",
    "二〇二六年十一月二十二日",
    "五号下午三点",
    "3号上午",
    "我知道五号要来",
    "退款1500元",
    "1500.00元",
    "1500.00 元",
    "10:30",
    "2026/11/22",
    "2026.11.22",
    "09:30:00。10:45:00。",
    "13800.00、24500.00、35000.00元",  # the 00 after a decimal point is no group of the next amount
    "第一、第二",
    "嗯，三天之内",
    "我们两天，嗯，三天之内给您回复",
    "请拨打12345。嗯，12345热线",
    "2026-11-22",
    "2026-11-22 14:30",
    "2026-11-3栋",  # a grouped date, not a house number
    "1,500,000元",
    "400-820-8820",
    "第1、2、3、4、5、6、7条",
    "您贵姓",
    "请问您贵姓？",
    "姓名",
    "请填写您的姓名的拼音",
    "请问姓什么",
    "我是红树西岸管理处客服",
    "这里是红树西岸管理处",
    "这位先生您好",
    "我叫了外卖",
    "我叫你一声",
    "一一二",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert redact_text(text) == Redacted(text, ())
    assert find_personal_data(text) == []


# -- settings ------------------------------------------------------------------------------------------

MIXED = "我叫王建国，电话13800138000，身份证11010519491231002X，住在3栋"


def test_disabled_returns_the_text_unchanged() -> None:
    assert redact_text(MIXED, RedactionSettings(enabled=False)) == Redacted(MIXED, ())


def test_find_personal_data_ignores_kinds_and_enabled() -> None:
    expected = [Entity("name", 2, 5), Entity("phone", 8, 19), Entity("id_card", 23, 41), Entity("address", 44, 45)]
    assert find_personal_data(MIXED) == expected
    assert find_personal_data(MIXED, RedactionSettings(enabled=False, kinds=("phone",))) == expected


def test_kinds_limit_what_is_masked() -> None:
    only_phones = redact_text(MIXED, RedactionSettings(kinds=("phone",)))
    assert only_phones.text == "我叫王建国，电话1**********，身份证11010519491231002X，住在3栋"
    assert only_phones.entities == (Entity("phone", 8, 19),)
    from_config = RedactionSettings(kinds=["name", "address"])  # type: ignore[arg-type]
    assert from_config.kinds == ("name", "address")
    names_and_addresses = redact_text(MIXED, from_config)
    assert names_and_addresses.text == "我叫***，电话13800138000，身份证11010519491231002X，住在*栋"


@pytest.mark.parametrize(
    ("keep", "expected"),
    [(0, "*** **** ****"), (1, "1** **** ****"), (3, "138 **** ****"), (4, "138 0*** ****"), (11, "138 0013 8000")],
)
def test_keep_leading_counts_digits_not_separators(keep: int, expected: str) -> None:
    redacted = redact_text("138 0013 8000", RedactionSettings(keep_leading=keep))
    assert redacted.text == expected
    assert spans(redacted) == [("phone", 0, 13)]


def test_keep_leading_does_not_apply_to_addresses_and_names() -> None:
    assert redact_text("我叫王建国，住在502室", RedactionSettings(keep_leading=3)).text == "我叫***，住在***室"


def test_min_digits() -> None:
    assert redact_text("单号987654321", RedactionSettings(min_digits=10)).text == "单号987654321"
    assert redact_text("单号9876543210", RedactionSettings(min_digits=10)).text == "单号9*********"
    assert redact_text("请您拨打一二三四五热线", RedactionSettings(min_digits=3)).text == "请您拨打一****热线"
    # phones, IDs and bank cards are found whatever min_digits says
    assert redact_text("13800138000", RedactionSettings(min_digits=20)).text == "1**********"


def test_mask_character() -> None:
    assert redact_text("电话13800138000，我姓林", RedactionSettings(mask="#")).text == "电话1##########，我姓#"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kinds": ("phone", "email")}, "kinds"),
        ({"min_digits": 2}, "min_digits"),
        ({"keep_leading": -1}, "keep_leading"),
        ({"mask": ""}, "mask"),
        ({"mask": "**"}, "mask"),
        ({"mask": "1"}, "mask"),
        ({"mask": "零"}, "mask"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"RedactionSettings\.{field}\b"):
        RedactionSettings(**kwargs)


def test_default_settings() -> None:
    assert RedactionSettings() == RedactionSettings(True, ENTITY_KINDS, 6, 1, "*")


@pytest.mark.parametrize(
    ("text", "expected", "entities"),
    [
        # found by the idempotence property: the address part outside a number is still masked
        ("000百室", "****室", [("number", 0, 3), ("address", 3, 4)]),
        ("00-0十栋", "**-**栋", [("number", 0, 4), ("address", 4, 5)]),
        ("十000百室", "*****室", [("address", 0, 1), ("number", 1, 4), ("address", 4, 5)]),
        ("十1234567栋", "********栋", [("address", 0, 1), ("phone", 1, 8)]),
        # a name that starts inside an address is no name; one that runs into a number is cut there
        ("我叫三栋", "我叫*栋", [("address", 2, 3)]),
        ("我叫张幺三八零零一三八零零零", "我叫************", [("name", 2, 3), ("phone", 3, 14)]),
    ],
)
def test_overlaps_resolve_so_that_redaction_is_idempotent(
    text: str, expected: str, entities: list[tuple[str, int, int]]
) -> None:
    options = RedactionSettings(min_digits=3, keep_leading=0)
    redacted = redact_text(text, options)
    assert (redacted.text, spans(redacted)) == (expected, entities)
    assert redact_text(redacted.text, options) == Redacted(expected, ())


def test_kept_leading_digits_are_no_name() -> None:
    # 幺三 left visible after 我叫 is the head of a masked number, not a two-character name.
    options = RedactionSettings(keep_leading=2)
    redacted = redact_text("我叫幺三八零零一三八零零零", options)
    assert (redacted.text, spans(redacted)) == ("我叫幺三*********", [("phone", 2, 13)])
    assert redact_text(redacted.text, options) == Redacted(redacted.text, ())


def test_long_texts_take_linear_time() -> None:
    # Quadratic matching took over a minute on each of these.
    started = time.perf_counter()
    assert redact_text("1" * 100_000).text == "1" + "*" * 99_999
    assert redact_text("一" * 100_000).text == "一" + "*" * 99_999
    assert redact_text("1 " * 50_000).text == "1 " + "* " * 49_999
    phrase = "我叫王建国，电话138 0013 8000，住在锦绣路128号3栋。"
    redacted = redact_text(phrase * 2_000)
    assert redacted.text == "我叫***，电话1** **** ****，住在锦绣路***号*栋。" * 2_000
    assert len(redacted.entities) == 8_000
    assert time.perf_counter() - started < 10


# -- values, digits, caller numbers ---------------------------------------------------------------------


def test_redact_value_masks_every_string_but_not_keys() -> None:
    value = {
        "evidence": "电话13800138000",
        "score": 13800138000,
        "ratio": 1.5,
        "ok": True,
        "none": None,
        "items": ["我姓林", ("3栋2单元", 7)],
        "13800138000": "好的",
    }
    new, count = redact_value(value)
    assert new == {
        "evidence": "电话1**********",
        "score": 13800138000,
        "ratio": 1.5,
        "ok": True,
        "none": None,
        "items": ["我姓*", ("*栋*单元", 7)],
        "13800138000": "好的",
    }
    assert count == 4
    assert value["evidence"] == "电话13800138000"  # the input is not modified


def test_redact_value_respects_settings() -> None:
    assert redact_value(["13800138000"], RedactionSettings(enabled=False)) == (["13800138000"], 0)
    assert redact_value("我姓林", RedactionSettings(kinds=("phone",))) == ("我姓林", 0)
    assert redact_value(None) == (None, 0)


def test_digits_of() -> None:
    assert digits_of("幺三八-０0一，两〇零叉X好") == "138-001，200叉X好"
    assert digits_of("二十四小时") == "2十4小时"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("(+86) 138-0013-8000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("021-12345678", "02112345678"),
        ("(021) 1234 5678", "02112345678"),
        ("+86 21 1234 5678", "02112345678"),
        ("+86 (0)21 1234 5678", "02112345678"),
        ("0086 755 8765 4321", "075587654321"),
        ("12345", "12345"),
        ("10086", "10086"),
        ("86123", "86123"),
        ("", None),
        ("anonymous", None),
        ("幺三八", None),  # a switch never writes spoken digits
    ],
)
def test_normalize_phone_number(raw: str, normalized: str | None) -> None:
    assert normalize_phone_number(raw) == normalized


def test_hash_caller_number_is_hmac_sha256_of_the_normalized_number() -> None:
    expected = "h:" + hmac.new(b"salt", b"13800138000", hashlib.sha256).hexdigest()[:32]
    assert hash_caller_number("+86 138-0013-8000", "salt") == expected
    assert len(expected) == 34
    assert hash_caller_number("unknown", "salt") is None
    with pytest.raises(ValueError, match="salt"):
        hash_caller_number("13800138000", "")


# -- properties ----------------------------------------------------------------------------------------

SPOKEN = {
    "0": "0０零〇",
    "1": "1１一幺",
    "2": "2２二两",
    "3": "3３三",
    "4": "4４四",
    "5": "5５五",
    "6": "6６六",
    "7": "7７七",
    "8": "8８八",
    "9": "9９九",
}
ALL_DIGIT_CHARS = "".join(SPOKEN.values())
SEPARATORS = [" ", "-", "—", "－", ",", "，", "、", ", ", "， ", " - "]
# Surrounding text: no digit characters, but cue characters, punctuation and spaces.
CONTEXT = st.text(alphabet="的了是我您好请问电话码这个那么吗呢啊和在有姓叫先生女士路号栋单元，。？！ ab", max_size=12)
ASCII_RUN = re.compile(r"[0-9]{2,}")


def id_check(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    return "10X98765432"[total % 11]


@st.composite
def rendered(draw: st.DrawFn, digits: str) -> str:
    """`digits` as whisper might write them: each digit in a random form, random groups and separators."""
    chars = [draw(st.sampled_from(SPOKEN[d])) if d != "X" else draw(st.sampled_from("Xx叉Ｘ")) for d in digits]
    # The ID's X stays glued to the digit before it.
    cuts = draw(st.sets(st.integers(1, len(chars) - (2 if digits.endswith("X") else 1)), max_size=5))
    out = []
    for i, char in enumerate(chars):
        if i in cuts:
            out.append(draw(st.sampled_from(SEPARATORS)))
        out.append(char)
    return "".join(out)


def assert_masked_as(text_before: str, number: str, text_after: str, kind: str) -> None:
    text = text_before + number + text_after
    redacted = redact_text(text)
    numbers = [e for e in redacted.entities if e.kind in ("phone", "id_card", "bank_card", "number")]
    assert numbers == [Entity(kind, len(text_before), len(text_before) + len(number))]
    assert len(redacted.text) == len(text)
    leaked = digits_of(redacted.text)
    assert ASCII_RUN.search(leaked) is None
    assert sum(char.isdigit() for char in leaked) == 1  # the one kept leading digit
    assert redacted.text[len(text_before)] == number[0]


MOBILE = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
)


@FAST
@given(CONTEXT, st.data(), MOBILE, CONTEXT)
def test_any_rendering_of_a_mobile_number_is_masked(before: str, data: st.DataObject, mobile: str, after: str) -> None:
    assert_masked_as(before, data.draw(rendered(mobile)), after, "phone")


@FAST
@given(CONTEXT, st.data(), st.text("0123456789", min_size=16, max_size=19), CONTEXT)
def test_any_rendering_of_a_bank_card_is_masked(before: str, data: st.DataObject, card: str, after: str) -> None:
    kind = "id_card" if len(card) == 18 and id_check(card[:17]) == card[17] else "bank_card"
    assert_masked_as(before, data.draw(rendered(card)), after, kind)


@FAST
@given(CONTEXT, st.data(), st.text("0123456789", min_size=17, max_size=17), CONTEXT)
def test_any_rendering_of_an_id_number_is_masked(before: str, data: st.DataObject, first17: str, after: str) -> None:
    assert_masked_as(before, data.draw(rendered(first17 + id_check(first17))), after, "id_card")


MIXED_ALPHABET = (
    ALL_DIGIT_CHARS + "Xx叉十百姓叫我免贵的先生女士小姐王林欧阳栋号楼单元室层路街道知天下个，、,-—－ .:/~_。嗯"
)
SETTINGS = st.builds(RedactionSettings, min_digits=st.integers(3, 12), keep_leading=st.integers(0, 4))


@FAST
@given(st.text(alphabet=MIXED_ALPHABET, max_size=60), SETTINGS)
def test_redaction_keeps_length_and_is_idempotent(text: str, options: RedactionSettings) -> None:
    once = redact_text(text, options)
    assert len(once.text) == len(text)
    twice = redact_text(once.text, options)
    assert twice.text == once.text
    entities = find_personal_data(text, options)
    assert all(a.end <= b.start for a, b in itertools.pairwise(entities))
    assert all(0 <= e.start < e.end <= len(text) for e in entities)
    # only masked characters change
    changed = {i for i, (a, b) in enumerate(zip(text, once.text, strict=True)) if a != b}
    assert all(any(e.start <= i < e.end for e in once.entities) for i in changed)


PLAIN_ALPHABET = "的了是您好请问电话这个那么吗呢啊和在有王林李张十百万千亿XxＸ叉，。？！、,-— .:abcABC"


@FAST
@given(st.text(alphabet=PLAIN_ALPHABET, max_size=80))
def test_text_without_digits_or_cues_is_unchanged(text: str) -> None:
    assert redact_text(text) == Redacted(text, ())


def caller_formats(mobile: str) -> list[str]:
    a, b, c = mobile[:3], mobile[3:7], mobile[7:]
    return [
        mobile,
        f"+86{mobile}",
        f"+86 {a} {b} {c}",
        f"0086{mobile}",
        f"86-{a}-{b}-{c}",
        f"(+86) {a}-{b}-{c}",
        f"({a}) {b} {c}",
        f"{a}-{b}-{c}",
    ]


SALT = st.text(min_size=1, max_size=20)


@FAST
@given(MOBILE, MOBILE, SALT, SALT)
def test_caller_hash_ignores_format_and_depends_on_number_and_salt(
    number: str, other: str, salt: str, other_salt: str
) -> None:
    hashes = {hash_caller_number(variant, salt) for variant in caller_formats(number)}
    assert len(hashes) == 1
    (hashed,) = hashes
    assert hashed is not None and re.fullmatch(r"h:[0-9a-f]{32}", hashed)
    assume(other != number and other_salt != salt)
    assert hash_caller_number(other, salt) != hashed
    assert hash_caller_number(number, other_salt) != hashed


# -- utterances -----------------------------------------------------------------------------------------


def test_a_number_read_across_utterances_is_found_in_each() -> None:
    texts = ["我的电话是幺五八，", "嗯，两零四六", "三九七幺。好的"]
    assert find_personal_data_in_utterances(texts) == [
        [Entity("phone", 5, 8)],
        [Entity("phone", 2, 6, digits_before=3)],
        [Entity("phone", 0, 4, digits_before=7)],
    ]
    assert [r.text for r in redact_utterances(texts)] == ["我的电话是幺**，", "嗯，****", "****。好的"]
    # keep_leading counts from the number's first digit, whichever utterance it was said in
    kept = redact_utterances(texts, RedactionSettings(keep_leading=4))
    assert [r.text for r in kept] == ["我的电话是幺五八，", "嗯，两***", "****。好的"]
    assert redact_utterances([r.text for r in kept], RedactionSettings(keep_leading=4)) == [
        Redacted(r.text, ()) for r in kept
    ]


@pytest.mark.parametrize(
    "texts",
    [
        ["我的工号是幺二三四", "五六七八"],  # 8 digits: weak kinds stay narrow, not joined across utterances
        ["幺五八", "好的，两零四六", "三九七幺"],  # words between the groups
        ["预约在2026/11/22", "10:30", "1500.00元"],
        ["第一、第二", "两天", "嗯，三天之内"],
    ],
)
def test_only_mobile_id_and_bank_numbers_are_read_across_utterances(texts: list[str]) -> None:
    assert [r.text for r in redact_utterances(texts)] == texts


def test_redact_utterances_respects_settings() -> None:
    texts = ["幺五八", "两零四六", "三九七幺"]
    assert redact_utterances(texts, RedactionSettings(enabled=False)) == [Redacted(t, ()) for t in texts]
    assert redact_utterances(texts, RedactionSettings(kinds=("name",))) == [Redacted(t, ()) for t in texts]
    assert redact_utterances([]) == []


# What whisper base really wrote for the synthetic personal-data calls (tests/reliability/personal_data):
# 幺 heard as 要, 栋 as 斗/道, 号 as 红, 室 as 十, and numbers split or merged across segments.
@pytest.mark.parametrize(
    ("asr_text", "expected"),
    [
        ("要三八零零,要三八零零零,", "要****,******,"),
        ("请修录一百二十八红,三斗二单元五零二十,", "请修录*****红,*斗*单元****,"),
        ("八道一单元1030。", "*道*单元****。"),
        ("11051985031224X。", "1*************X。"),  # 14 digits: the X is no check character here
        ("15011230419。", "1**********。"),
        ("卡号是620000123456789213", "卡号是6*****************"),
        ("912345678对", "9********对"),
        # words around an address that must stay: a lone 一 of 一下, and sentences without an address unit
        ("我确认一下，您住三栋，对吗？", "我确认一下，您住*栋，对吗？"),
        ("我要投诉物业废空了两次。", "我要投诉物业废空了两次。"),
        ("三天内退款，感谢您的来电，再见。", "三天内退款，感谢您的来电，再见。"),
    ],
)
def test_what_the_asr_really_wrote_is_masked(asr_text: str, expected: str) -> None:
    assert redact_text(asr_text).text == expected
