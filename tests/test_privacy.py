"""The privacy stage on whole calls: what whisper base really wrote for the synthetic personal-data calls
(tests/reliability/personal_data), masked in every text the call stores, and the caller number hashed.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from qa_pipeline.asr.transcript import Word
from qa_pipeline.checks.base import CheckResult
from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.measures import Hangup, Measures, Overtalk, PaceStretch, Silence
from qa_pipeline.privacy.protect import (
    PrivacyError,
    PrivacySettings,
    caller_salt,
    protect_call,
    protect_message,
    salt_id,
)
from qa_pipeline.privacy.redact import RedactionSettings
from qa_pipeline.privacy.speech_fields import unmarked_fields
from tests.factories import make_call

# pd_001 and pd_002 as whisper wrote them: 贵姓 heard as 跪行 / 贵心, 叫 as 向, 李女士 as 李逆是.
PD_001 = (
    ("agent", 9.802, 11.254, "请问您跪行。"),
    ("customer", 11.69, 13.846, "我希望,向王建国,"),
    ("agent", 14.282, 16.502, "王先生,您住哪里。"),
    ("customer", 16.906, 21.206, "请修录一百二十八红,三斗二单元五零二十,"),
    ("agent", 21.994, 24.502, "请问您的联系电话是多少。"),
    ("customer", 24.778, 27.222, "要三八零零,要三八零零零,"),
)
PD_002 = (
    ("agent", 8.522, 9.91, "请问您贵心,"),
    ("customer", 10.058, 11.99, "我心里叫李秀英,"),
    ("agent", 12.298, 14.87, "李逆是宁珠几东几号。"),
    ("customer", 15.402, 17.43, "八道一单元1030。"),
)


def texts(call: object) -> list[str]:
    return [s.text for s in call.transcript.segments]  # type: ignore[attr-defined]


def test_asr_forms_of_names_numbers_and_addresses_are_masked() -> None:
    protected = protect_call(make_call("pd_001", segments=PD_001), PrivacySettings(), "salt")
    assert texts(protected) == [
        "请问您跪行。",
        "我希望,向***,",
        "*先生,您住哪里。",
        "请修录*****红,*斗*单元****,",
        "请问您的联系电话是多少。",
        "要****,******,",
    ]
    protected = protect_call(make_call("pd_002", segments=PD_002), PrivacySettings(), "salt")
    assert texts(protected) == ["请问您贵心,", "我心里叫***,", "*逆是宁珠几东几号。", "*道*单元****。"]


def test_speech_in_the_answer_is_not_taken_for_a_name() -> None:
    """call_008: the customer answers 贵姓 (heard 贵心) with 我姓赵，你们到底管不管 (heard 我训照): 管不管 is a
    question, whatever 管 is as a surname."""
    segments = (("agent", 8.0, 9.0, "请问您贵心。"), ("customer", 9.5, 12.0, "我训照,你们到底管不管。"))
    protected = protect_call(make_call("call_008", segments=segments), PrivacySettings(), "salt")
    assert texts(protected)[1] == "我训照,你们到底管不管。"


def test_a_name_found_once_is_masked_everywhere_in_the_call() -> None:
    call = make_call("pd_002", segments=(*PD_002, ("customer", 20.0, 22.0, "对，李秀英是我。")))
    evidence = CheckResult("ask_identity_detail", True, False, 0.0, 5.0, False, 12.298, 14.87, "李逆是宁珠几东几号。")
    call = dataclasses.replace(call, verdicts=dataclasses.replace(call.verdicts, results=[evidence]))
    protected = protect_call(call, PrivacySettings(), "salt")
    assert texts(protected)[-1] == "对，***是我。"
    assert protected.verdicts.results[0].evidence_text == "*逆是宁珠几东几号。"


def test_every_stored_text_is_masked_and_times_are_kept() -> None:
    call = make_call(
        "c1",
        segments=[("customer", 2.0, 6.0, "我的电话是13800138000")],
        caller_number="+86 138 0013 8000",
    )
    words = (Word(2.0, 3.0, "我的电话是", 0.9), Word(3.2, 5.8, "13800138000", 0.9))
    segment = dataclasses.replace(call.transcript.segments[0], words=words)
    measures = dataclasses.replace(
        call.measures,
        silences=(Silence(7.0, 20.0, "请稍等，您的卡号6200001234567892我查一下"),),
        interruptions=(Overtalk(3.0, 4.0, "电话13912345678"),),
        topic_text="回访13912345678",
        hangup=Hangup("agent", 10.0, True, 9.0, "我的身份证是11010519850312024X"),
    )
    meta = dataclasses.replace(call.job.metadata, extra={"备注": "回电139-1234-5678", "vip": "是"})
    call = dataclasses.replace(
        call,
        job=dataclasses.replace(call.job, metadata=meta),
        transcript=dataclasses.replace(call.transcript, segments=(segment,)),
        measures=measures,
    )
    protected = protect_call(call, PrivacySettings(), "a salt")
    assert texts(protected) == ["我的电话是1**********"]
    assert protected.transcript.segments[0].words == ()
    assert protected.measures.silences[0].hold_notice == "请稍等，您的卡号6***************我查一下"
    assert protected.measures.interruptions[0].agent_text == "电话1**********"  # type: ignore[index]
    assert protected.measures.topic_text == "回访1**********"
    assert protected.measures.hangup.cut_off_text == "我的身份证是1*****************"  # type: ignore[union-attr]
    assert protected.job.metadata.extra == {"备注": "回电1**-****-****", "vip": "是"}
    assert protected.job.metadata.caller_number is not None and protected.job.metadata.caller_number.startswith("h:")
    # the segment's entity carries the seconds of the words that said it (for muting the report's audio)
    [spoken] = [r for r in protected.redactions if r.location == "segments:0"]
    assert (spoken.kind, spoken.start, spoken.end, spoken.start_s, spoken.end_s) == ("phone", 5, 16, 3.2, 5.8)
    # verdicts, scores and timings are the same
    assert protected.score == call.score and protected.verdicts.results == call.verdicts.results


def test_redaction_off_keeps_the_text_and_no_salt_keeps_the_number() -> None:
    call = make_call("c1", segments=PD_001, caller_number="13800138000")
    off = PrivacySettings(redaction=RedactionSettings(enabled=False), hash_caller_number=False)
    protected = protect_call(call, off, None)
    assert texts(protected) == [text for *_, text in PD_001]
    assert protected.job.metadata.caller_number == "13800138000"
    assert protected.redactions == ()


def test_metadata_messages_are_masked() -> None:
    message = "calls.csv line 2, column 'survey_score': survey score must be between 0 and 10 (value '13912345678')"
    assert protect_message(message).endswith("(value '1**********')")
    assert "line 2" in protect_message(message)


def test_the_salt_comes_from_the_environment_then_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_PIPELINE_SALT", "from the environment")
    assert caller_salt(PrivacySettings(), str(tmp_path / "qa.duckdb")) == "from the environment"
    monkeypatch.delenv("QA_PIPELINE_SALT")
    made = caller_salt(PrivacySettings(), str(tmp_path / "qa.duckdb"))
    salt_file = tmp_path / "qa.salt"
    assert made == salt_file.read_text().strip() and len(made or "") == 64
    assert stat.S_IMODE(os.stat(salt_file).st_mode) == 0o600
    assert caller_salt(PrivacySettings(), str(tmp_path / "qa.duckdb")) == made, "the same salt every run"
    assert caller_salt(PrivacySettings(hash_caller_number=False), str(tmp_path / "qa.duckdb")) is None
    (tmp_path / "empty.salt").write_text("\n")
    with pytest.raises(PrivacyError, match=r"empty\.salt is empty"):
        caller_salt(PrivacySettings(salt_file=str(tmp_path / "empty.salt")), str(tmp_path / "qa.duckdb"))
    assert salt_id("a") != salt_id("b") and salt_id(None) is None


# A customer reading a number in groups, the ASR cutting a segment at each pause, the agent's 嗯 between.
SPLIT = (
    ("agent", 0.5, 2.0, "请问您的联系电话是多少？"),
    ("customer", 2.5, 4.0, "幺五八，"),
    ("agent", 4.1, 4.4, "嗯"),
    ("customer", 4.6, 5.6, "两零四六，"),
    ("customer", 6.0, 7.0, "三九七幺。"),
    ("customer", 40.0, 41.0, "两零四六，"),  # the same words much later, alone: no number
)


def test_a_number_read_over_segments_is_masked_in_each_with_its_own_row() -> None:
    protected = protect_call(make_call("split", segments=SPLIT), PrivacySettings(), "salt")
    assert texts(protected) == ["请问您的联系电话是多少？", "幺**，", "嗯", "****，", "****。", "两零四六，"]
    rows = [(r.location, r.kind, r.start, r.end, r.start_s, r.end_s) for r in protected.redactions]
    assert rows == [
        ("segments:1", "phone", 0, 3, 2.5, 4.0),
        ("segments:3", "phone", 0, 4, 4.6, 5.6),
        ("segments:4", "phone", 0, 4, 6.0, 7.0),
    ]


def test_evidence_quoting_the_segments_of_a_split_number_is_stored_as_they_are() -> None:
    call = make_call("split", segments=SPLIT)
    results = [
        # the customer's words during a stretch (text_during), and a segment said twice, once in the number
        CheckResult("interrupt_customer", True, False, 0.0, 5.0, False, 2.5, 5.6, "幺五八，两零四六，"),
        CheckResult("speech_rate", True, False, 0.0, 5.0, False, 4.6, 5.6, "两零四六，"),
    ]
    call = dataclasses.replace(call, verdicts=dataclasses.replace(call.verdicts, results=results))
    protected = protect_call(call, PrivacySettings(), "salt")
    assert [r.evidence_text for r in protected.verdicts.results] == ["幺**，****，", "****，"]
    evidence_rows = [(r.location, r.kind, r.start, r.end) for r in protected.redactions if r.start_s is None]
    assert evidence_rows == [
        ("check_results:interrupt_customer", "phone", 0, 3),
        ("check_results:interrupt_customer", "phone", 4, 8),
        ("check_results:speech_rate", "phone", 0, 4),
    ]


def test_other_speakers_and_long_pauses_end_a_stretch() -> None:
    segments = (
        ("customer", 0.0, 1.0, "幺五八"),
        ("agent", 1.2, 2.0, "两零四六"),
        ("customer", 2.5, 3.0, "三九七幺"),
        ("customer", 20.0, 21.0, "两零四六"),
    )
    protected = protect_call(make_call("c", segments=segments), PrivacySettings(), "salt")
    assert texts(protected) == ["幺五八", "两零四六", "三九七幺", "两零四六"]


# -- which fields are masked: the "speech" markers (qa_pipeline.privacy.speech_fields) ------------------------


def test_every_text_field_the_call_stores_is_marked_speech_or_not() -> None:
    # A str, str | None or dict field without a "speech" marker would be stored unmasked: mark it
    # field(metadata={"speech": "<redactions.location template>"}), or {"speech": None} when it carries no speech.
    assert unmarked_fields(Measures, CheckResult, CallMetadata) == []


@dataclasses.dataclass(frozen=True)
class _Note:
    at_s: float
    said: str | None = None  # unmarked: would leak
    source: str = dataclasses.field(default="", metadata={"speech": None})


@dataclasses.dataclass(frozen=True)
class _Record:
    notes: tuple[_Note, ...] = ()
    tags: tuple[str, ...] = ()  # unmarked
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)  # unmarked
    text: str = dataclasses.field(default="", metadata={"speech": "notes@{when}"})  # no field `when`
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, metadata={"speech": "x", "as": "json"})
    number: str = dataclasses.field(default="", metadata={"speech": "numbers", "as": "hash"})


def test_an_unmarked_or_malformed_text_field_is_named() -> None:
    assert unmarked_fields(_Record) == [
        '_Record.tags: holds text but has no "speech" marker',
        '_Record.detail: holds text but has no "speech" marker',
        "_Record.text: \"speech\" template 'notes@{when}' names no field of the record: 'when'",
        "_Record.extra: \"as\" is 'json', not one of text, value, hash",
        '_Record.number: "as": "hash" records no location: "speech" must be None',
        '_Note.said: holds text but has no "speech" marker',
    ]


def test_marked_fields_are_masked_with_their_rows_in_field_order() -> None:
    call = make_call("c1", segments=PD_001, caller_number="+86 138 0013 8000")
    measures = dataclasses.replace(
        call.measures,
        silences=(
            Silence(7.0, 20.0, "请稍等，您的卡号6200001234567892我查一下"),
            Silence(21.5, 25.0, None),
            Silence(30.0, 31.0, "稍等王建国"),
        ),
        interruptions=(Overtalk(3.0, 4.0, "电话13912345678"), Overtalk(5.0, 6.0, "")),
        pace=(
            PaceStretch(1.0, 2.0, 300.0, "我姓林，电话幺三九，嗯，幺二三四，五六七八"),
            PaceStretch(3.0, 4.0, 200.0, ""),
        ),
        topic_text="回访13912345678",
        hangup=Hangup("agent", 10.0, True, 9.0, "我的身份证是11010519850312024X"),
    )
    results = [
        *call.verdicts.results,
        CheckResult(
            "ask_phone",
            True,
            True,
            1.0,
            1.0,
            evidence_text=PD_001[-1][3],
            detail={"said": ["13912345678", {"n": "3栋2单元502室"}], "k": 3},
        ),
        CheckResult("x", True, False, 0.0, 1.0, evidence_text=PD_001[-2][3] + PD_001[-1][3]),
        CheckResult("y", False, None, None, 1.0),
    ]
    meta = dataclasses.replace(
        call.job.metadata, extra={"备注": "回电139-1234-5678", "vip": "是", "addr": "锦绣路128号"}
    )
    call = dataclasses.replace(
        call,
        job=dataclasses.replace(call.job, metadata=meta),
        measures=measures,
        verdicts=dataclasses.replace(call.verdicts, results=results),
    )
    protected = protect_call(call, PrivacySettings(), "a salt")
    assert [(r.location, r.kind, r.start, r.end) for r in protected.redactions if "segments" not in r.location] == [
        ("check_results:ask_phone", "phone", 0, 12),
        ("check_results:ask_phone:detail", "json", -1, -1),
        ("check_results:ask_phone:detail", "json", -1, -1),
        ("check_results:ask_phone:detail", "json", -1, -1),
        ("check_results:ask_phone:detail", "json", -1, -1),
        ("check_results:x", "phone", 12, 24),
        ("call_events:hold@7.0", "bank_card", 8, 24),
        ("call_events:hold@30.0", "name", 2, 5),  # the name the customer gave, wherever it is said
        ("call_events:interruption@3.0", "phone", 2, 13),
        ("pace@1.0", "name", 2, 3),
        ("pace@1.0", "phone", 6, 21),
        ("calls.topic_text", "phone", 2, 13),
        ("call_events:cut_off", "id_card", 6, 24),
        ("calls.extra", "json", -1, -1),
        ("calls.extra", "json", -1, -1),
    ]
    assert [r.location for r in protected.redactions][:7] == [
        "segments:1",
        "segments:2",
        "segments:3",
        "segments:3",
        "segments:3",
        "segments:3",
        "segments:5",
    ]
    stored = protected.measures
    assert [s.hold_notice for s in stored.silences] == ["请稍等，您的卡号6***************我查一下", None, "稍等***"]
    assert [o.agent_text for o in stored.interruptions or ()] == ["电话1**********", ""]
    assert [p.text for p in stored.pace] == ["我姓*，电话幺**，嗯，****，****", ""]
    ask_phone, x, y = protected.verdicts.results[-3:]
    assert (ask_phone.evidence_text, x.evidence_text) == ("要****,******,", "请问您的联系电话是多少。要****,******,")
    assert ask_phone.detail == {"said": ["1**********", {"n": "*栋*单元***室"}], "k": 3}
    assert (y.evidence_text, y.detail) == (None, {})
    assert protected.job.metadata.extra == {"备注": "回电1**-****-****", "vip": "是", "addr": "锦绣路***号"}
    assert protected.job.metadata.caller_number is not None and protected.job.metadata.caller_number.startswith("h:")
    # no salt: the caller number is kept
    assert protect_call(call, PrivacySettings(), None).job.metadata.caller_number == "+86 138 0013 8000"
