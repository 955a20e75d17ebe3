"""Spoken numbers that escaped redaction (issue 18, item 5): digit groups of one phone, ID or bank number
held apart by fillers (嗯, 呃, 那个), sentence punctuation, several spaces, separators that never joined
(. / ~ _), or a segment boundary of the same speaker. Each must be masked; the ordinary text that the
narrow joining rules protect (amounts, times, dates, 两天, 第一、第二) must stay as said.

Fast: texts and transcripts with known words, no ASR. Every number here is invented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa_pipeline.privacy.protect import PrivacySettings, protect_call
from qa_pipeline.privacy.redact import RedactionSettings, redact_text
from qa_pipeline.text.numbers import digits_of
from tests.factories import make_call
from tests.reliability.conftest import Ledger, db_rows, score_transcripts


def test_fillers_between_digit_groups_do_not_hide_a_mobile_number(ledger: Ledger) -> None:
    ledger.input("mobile read in groups with fillers between them: 幺五八，嗯，两零四六，呃，三九七幺")
    text = "我的手机是幺五八，嗯，两零四六，呃，三九七幺，您记一下"
    assert redact_text(text).text == "我的手机是幺**，嗯，****，呃，****，您记一下"
    assert [(e.kind, e.start, e.end) for e in redact_text(text).entities] == [("phone", 5, 22)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("幺五八 啊 两零四六 啊 三九七幺", "幺** 啊 **** 啊 ****"),
        ("幺三七，那个，五幺零八，那个，六二九四", "幺**，那个，****，那个，****"),
        ("幺三七……就是……五幺零八……嗯……六二九四", "幺**……就是……****……嗯……****"),
        ("一八六，额，七七两零，哦，三三幺五", "一**，额，****，哦，****"),
        # an ID card and a bank card read with hesitations
        ("五幺零幺零七，嗯，幺九八八零九两三，呃，四六幺八", "五*****，嗯，********，呃，****"),
        ("六二幺七，嗯，零零三幺，嗯，两零四五，嗯，六七八九", "六***，嗯，****，嗯，****，嗯，****"),
    ],
)
def test_other_fillers_and_kinds(text: str, expected: str, ledger: Ledger) -> None:
    ledger.input(f"digit groups of one number held apart by fillers: {text}")
    assert redact_text(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("幺五八。两零四六。三九七幺。", "幺**。****。****。"),
        ("幺五八！两零四六？三九七幺；", "幺**！****？****；"),
        ("幺五八。嗯。两零四六。三九七幺。好的。", "幺**。嗯。****。****。好的。"),
        ("158. 2046. 3971.", "1**. ****. ****."),
    ],
)
def test_sentence_punctuation_between_groups(text: str, expected: str, ledger: Ledger) -> None:
    ledger.input(f"mobile split into sentences by the ASR: {text}")
    assert redact_text(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("137  5108  6294", "1**  ****  ****"),
        ("137    5108    6294", "1**    ****    ****"),
        ("137\u3000\u30005108\u3000\u30006294", "1**\u3000\u3000****\u3000\u3000****"),
        ("137\t5108\t6294", "1**\t****\t****"),
    ],
)
def test_several_spaces_between_groups(text: str, expected: str, ledger: Ledger) -> None:
    ledger.input(f"mobile with several spaces or tabs between groups: {text!r}")
    assert redact_text(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("186.7720.3315", "1**.****.****", "phone"),
        ("186/7720/3315", "1**/****/****", "phone"),
        ("186~7720~3315", "1**~****~****", "phone"),
        ("186_7720_3315", "1**_****_****", "phone"),
        ("186:7720:3315", "1**:****:****", "phone"),
        ("186／7720／3315", "1**／****／****", "phone"),
        ("186～7720～3315", "1**～****～****", "phone"),
        ("186．7720．3315", "1**．****．****", "phone"),
        ("186 / 7720 / 3315", "1** / **** / ****", "phone"),
        ("510107.19880923.4618", "5*****.********.****", "id_card"),
        ("6217/0031/2045/6789", "6***/****/****/****", "bank_card"),
    ],
)
def test_separators_that_never_joined(text: str, expected: str, kind: str, ledger: Ledger) -> None:
    ledger.input(f"number grouped with a separator that never joined groups: {text}")
    redacted = redact_text(text)
    assert redacted.text == expected
    assert [e.kind for e in redacted.entities] == [kind]


# Ordinary text the joining rules must leave alone: the wider joins only make mobile/ID/bank numbers.
ORDINARY = [
    "1500.00 元",
    "退款1500.00元",
    "10:30",
    "上午10:30到11:45之间",
    "2026/11/22",
    "2026.11.22",
    "2026/11/22 10:30",
    "预约在2026/11/22，嗯，10:30，费用1500.00元",
    "第一、第二",
    "第一、第二、第三项",
    "两天",
    "嗯，三天之内",
    "我们两天，嗯，三天之内给您回复",
    "09:30:00。10:45:00。",
    "费用分别是13800.00、24500.00、35000.00元",  # 19 digits if the decimals joined
    "1,380.00。2,450.00。3,500.00",
    "请拨打12345。嗯，12345热线",
    "幺二三四五，嗯，幺二三四五",  # the hotline said twice: 10 digits, not a strong number
    "一一解答。二十四小时。",
    "192.168.100.200",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_amounts_times_dates_and_words_stay(text: str, ledger: Ledger) -> None:
    ledger.input(f"ordinary text near the new joining rules (must stay unmasked): {text}")
    assert redact_text(text).text == text
    assert redact_text(text).entities == ()


# -- across segments ---------------------------------------------------------------------------------


def stored(segments: list[tuple[str, float, float, str]], settings: PrivacySettings | None = None) -> object:
    return protect_call(make_call("split", segments=segments), settings or PrivacySettings(), "salt")


def texts_of(call: object) -> list[str]:
    return [s.text for s in call.transcript.segments]  # type: ignore[attr-defined]


def segment_rows(call: object) -> list[tuple[str, str, int, int]]:
    return [(r.location, r.kind, r.start, r.end) for r in call.redactions if r.location.startswith("segments:")]  # type: ignore[attr-defined]


def test_a_number_split_over_three_segments_of_one_speaker(ledger: Ledger) -> None:
    ledger.input("mobile split over three consecutive segments of the customer: 我的电话是幺五八 / 两零四六 / 三九七幺")
    protected = stored(
        [
            ("agent", 0.5, 3.0, "请问您的联系电话是多少？"),
            ("customer", 3.5, 5.5, "我的电话是幺五八"),
            ("customer", 6.0, 7.0, "两零四六"),
            ("customer", 7.6, 8.6, "三九七幺"),
            ("agent", 9.0, 10.0, "好的。"),
        ]
    )
    assert texts_of(protected) == ["请问您的联系电话是多少？", "我的电话是幺**", "****", "****", "好的。"]
    # one row per segment, offsets in that segment's own text (the text stays length-preserving)
    assert segment_rows(protected) == [
        ("segments:1", "phone", 5, 8),
        ("segments:2", "phone", 0, 4),
        ("segments:3", "phone", 0, 4),
    ]


@pytest.mark.parametrize(
    "segments",
    [
        # fillers and punctuation at the boundaries
        [
            ("customer", 0.0, 2.0, "电话是幺五八，"),
            ("customer", 2.5, 3.5, "嗯，两零四六。"),
            ("customer", 4.0, 5.0, "呃，三九七幺。"),
        ],
        # the agent's backchannel between the customer's groups
        [
            ("customer", 0.0, 2.0, "电话是幺五八"),
            ("agent", 2.1, 2.4, "嗯"),
            ("customer", 2.5, 3.5, "两零四六"),
            ("agent", 3.6, 3.9, "好"),
            ("customer", 4.0, 5.0, "三九七幺"),
        ],
        # two groups in one segment, the last in the next
        [("customer", 0.0, 2.0, "幺五八，嗯，两零四六"), ("customer", 2.5, 3.5, "三九七幺，对。")],
        # Arabic digits with a separator that never joined
        [("customer", 0.0, 2.0, "158."), ("customer", 2.5, 3.5, "2046."), ("customer", 4.0, 5.0, "3971")],
    ],
    ids=["fillers", "backchannel", "two-then-one", "dots"],
)
def test_split_numbers_with_fillers_backchannels_and_separators(
    segments: list[tuple[str, float, float, str]], ledger: Ledger
) -> None:
    ledger.input(f"mobile split over segments of one speaker: {' / '.join(text for *_, text in segments)}")
    protected = stored(segments)
    customer = "".join(s.text for s in protected.transcript.segments if s.speaker == "customer")  # type: ignore[attr-defined]
    assert re.findall(r"\d", digits_of(customer)) == ["1"], customer  # only the kept leading digit
    assert {kind for _, kind, *_ in segment_rows(protected)} == {"phone"}


def test_every_digit_of_a_split_number_is_masked_when_none_is_kept(ledger: Ledger) -> None:
    ledger.input("mobile split over three segments, keep_leading = 0")
    settings = PrivacySettings(redaction=RedactionSettings(keep_leading=0))
    protected = stored(
        [
            ("customer", 0.0, 2.0, "我的电话是幺五八"),
            ("customer", 2.5, 3.5, "两零四六"),
            ("customer", 4.0, 5.0, "三九七幺"),
        ],
        settings,
    )
    assert texts_of(protected) == ["我的电话是***", "****", "****"]


def test_keep_leading_counts_the_digits_of_earlier_segments(ledger: Ledger) -> None:
    ledger.input("mobile split over segments, keep_leading = 4 (more than the first segment's digits)")
    settings = PrivacySettings(redaction=RedactionSettings(keep_leading=4))
    protected = stored(
        [
            ("customer", 0.0, 2.0, "我的电话是幺五八"),
            ("customer", 2.5, 3.5, "两零四六"),
            ("customer", 4.0, 5.0, "三九七幺"),
        ],
        settings,
    )
    assert texts_of(protected) == ["我的电话是幺五八", "两***", "****"]


@pytest.mark.parametrize(
    ("segments", "why"),
    [
        (
            [("customer", 0.0, 2.0, "我的工号是幺二三四"), ("customer", 2.5, 3.5, "五六七八")],
            "8 digits make no mobile/ID/bank number: weak kinds are not joined across segments",
        ),
        (
            [
                ("customer", 0.0, 2.0, "房间是幺五八"),
                ("agent", 2.5, 3.5, "两零四六"),
                ("customer", 4.0, 5.0, "三九七幺"),
            ],
            "different speakers",
        ),
        (
            [
                ("customer", 0.0, 2.0, "幺五八"),
                ("customer", 40.0, 41.0, "两零四六"),
                ("customer", 80.0, 81.0, "三九七幺"),
            ],
            "half a minute apart",
        ),
        (
            [
                ("customer", 0.0, 2.0, "预约在2026/11/22"),
                ("customer", 2.5, 3.5, "10:30到"),
                ("customer", 4.0, 5.0, "1500.00元"),
            ],
            "a date, a time and an amount",
        ),
        (
            [
                ("customer", 0.0, 2.0, "第一、第二"),
                ("customer", 2.5, 3.5, "两天"),
                ("customer", 4.0, 5.0, "嗯，三天之内"),
            ],
            "words with digit characters",
        ),
    ],
    ids=["weak", "speakers", "far-apart", "date-time-amount", "words"],
)
def test_what_is_not_joined_across_segments(
    segments: list[tuple[str, float, float, str]], why: str, ledger: Ledger
) -> None:
    ledger.input(f"digits in consecutive segments that are no number ({why}): must stay")
    protected = stored(segments)
    assert texts_of(protected) == [text for *_, text in segments]
    assert segment_rows(protected) == []


# -- end to end ---------------------------------------------------------------------------------------

# (invented) numbers said in the call below, with what must never be stored: every digit after the first.
NUMBERS = ("15820463971", "13751086294", "18677203315", "15933840627", "17764029153")
ORDINARY_SEGMENTS = {
    1: "我想预约2026/11/22上午10:30上门，费用1500.00元可以吗？",
    8: "好的，我们两天之内安排师傅上门，嗯，三天之内给您回电，第一、第二项费用另计。感谢您的来电，再见。",
}
CALL = {
    "call_id": "hostile_numbers",
    "metadata": {"agent_id": "A001", "call_type": "appointment"},
    "segments": [
        {"speaker": "agent", "start_s": 0.5, "end_s": 3.0, "text": "您好，很高兴为您服务，请问有什么可以帮您？"},
        {"speaker": "customer", "start_s": 3.5, "end_s": 7.0, "text": ORDINARY_SEGMENTS[1]},
        {"speaker": "agent", "start_s": 7.5, "end_s": 9.5, "text": "可以的，请问您的联系电话是多少？"},
        {"speaker": "customer", "start_s": 10.0, "end_s": 11.6, "text": "我的电话是幺五八"},
        {"speaker": "customer", "start_s": 12.2, "end_s": 13.0, "text": "两零四六"},
        {"speaker": "customer", "start_s": 13.6, "end_s": 14.4, "text": "三九七幺"},
        {
            "speaker": "agent",
            "start_s": 15.0,
            "end_s": 19.0,
            "text": "我跟您确认一下，幺五八，嗯，两零四六，呃，三九七幺，对吗？",
        },
        {
            "speaker": "customer",
            "start_s": 19.5,
            "end_s": 26.0,
            "text": "对。备用的是幺三七。五幺零八。六二九四。还有186/7720/3315，或者159~3384~0627，或者177_6402_9153。",
        },
        {"speaker": "agent", "start_s": 26.5, "end_s": 32.0, "text": ORDINARY_SEGMENTS[8]},
    ],
}
STORED_NUMBER_SEGMENTS = {
    3: "我的电话是幺**",
    4: "****",
    5: "****",
    6: "我跟您确认一下，幺**，嗯，****，呃，****，对吗？",
    7: "对。备用的是幺**。****。****。还有1**/****/****，或者1**~****~****，或者1**_****_****。",
}


def score(tmp_path: Path, scorecard: str | None = None) -> Path:
    assert score_transcripts(tmp_path, [CALL], scorecard) == 0
    return tmp_path / "qa.duckdb"


rows = db_rows


def leaked(text: str) -> list[str]:
    """Which of NUMBERS `text` still tells: any 4-digit group after the first digit, spoken or written,
    whatever separates the digits."""
    digits = re.sub(r"\D", "", digits_of(text))
    return [number for number in NUMBERS if any(number[i : i + 4] in digits for i in range(1, len(number) - 3))]


@pytest.mark.parametrize("keep_leading", [1, 0])
def test_split_and_hostile_numbers_are_masked_end_to_end(tmp_path: Path, keep_leading: int, ledger: Ledger) -> None:
    ledger.input(
        f"qa-pipeline score: fillers, punctuation, separators, a 3-segment split (keep_leading={keep_leading})"
    )
    db_path = score(tmp_path, None if keep_leading == 1 else f"[privacy]\nkeep_leading = {keep_leading}\n")
    texts = {seq: str(text) for seq, text in rows(db_path, "SELECT seq, text FROM segments")}
    evidence = [
        str(text)
        for (text,) in rows(db_path, "SELECT evidence_text FROM check_results WHERE evidence_text IS NOT NULL")
    ]
    cells = [*texts.values(), *evidence]
    found = [f"{cell}: {number}" for cell in cells for number in leaked(cell)]
    ledger.numbers_scanned += len(cells)
    ledger.unredacted += len(found)
    assert found == []

    for seq, expected in STORED_NUMBER_SEGMENTS.items():
        if keep_leading == 0:
            expected = re.sub("(?<=[^*])[幺1](?=[*])", "*", expected)  # not even the leading digit
        assert texts[seq] == expected
    for seq, text in ORDINARY_SEGMENTS.items():
        assert texts[seq] == text, "amounts, times, dates, 两天 and 第一、第二 stay as said"
    # The agent's read-back is evidence of restate_confirm: stored as its segment is.
    assert STORED_NUMBER_SEGMENTS[6].replace("幺", "*" if keep_leading == 0 else "幺") in evidence

    phones = rows(db_path, "SELECT location, count(*) FROM redactions WHERE kind = 'phone' GROUP BY location")
    by_location = {str(location): count for location, count in phones}
    assert {f"segments:{seq}" for seq in (3, 4, 5, 6, 7)} <= set(by_location), by_location
    assert by_location["segments:7"] == 4  # 幺三七。五幺零八。六二九四。 and three grouped with / ~ _
    assert by_location["check_results:restate_confirm"] == 1, by_location
