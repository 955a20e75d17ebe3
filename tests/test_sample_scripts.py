"""The sample calls' scripts (sample_audio/scripts/*.toml) against the committed labels.json and calls.csv.

Every script must parse into the generator's dataclasses, and what the generator's judge derives from the
scripts alone (no TTS, no rendering) must be what sample_audio/labels.json and calls.csv say: the call ids
and their order, the 22 verdicts, the dialogue (who says what) and the metadata. Only sample_audio's
scripts.py, catalogue.py and judge.py are imported (numpy-free; the TTS and rendering packages are not
needed).
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AUDIO = ROOT / "sample_audio"
SCRIPTS = SAMPLE_AUDIO / "scripts"


def sample_module(name: str) -> ModuleType:
    """sample_audio.<name>; registers the sample_audio folder as a package the way generate.py does."""
    if "sample_audio" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "sample_audio", SAMPLE_AUDIO / "__init__.py", submodule_search_locations=[str(SAMPLE_AUDIO)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules["sample_audio"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"sample_audio.{name}")


scripts = sample_module("scripts")
judge = sample_module("judge")

LABELS: dict[str, Any] = json.loads((SAMPLE_AUDIO / "labels.json").read_text(encoding="utf-8"))
LABELLED = {entry["call_id"]: entry for entry in LABELS["calls"]}
with open(SAMPLE_AUDIO / "calls.csv", newline="", encoding="utf-8") as handle:
    CSV_ROWS = {row["call_id"]: row for row in csv.DictReader(handle)}
CALLS = scripts.load_calls()
BY_ID = {call.call_id: call for call in CALLS}

# calls.csv columns that come from the script alone (the others need the rendered times).
SCRIPT_COLUMNS = ("call_id", "audio_file", "agent_id", "direction", "call_type", "started_at", "caller_number")
OPTIONAL_COLUMNS = ("survey_score", "case_id", "acw_s")


def test_one_script_per_labelled_call_in_order() -> None:
    files = scripts.script_files()
    assert [path.stem for path in files] == list(LABELLED)
    assert [call.call_id for call in CALLS] == list(LABELLED)  # the order fixes each call's seed
    assert len(CALLS) == 25


@pytest.mark.parametrize("path", scripts.script_files(), ids=lambda path: path.stem)
def test_script_parses_into_the_dataclasses(path: Path) -> None:
    call = scripts.load_call(path)
    assert isinstance(call, scripts.CallSpec)
    assert call.call_id == path.stem
    assert tuple(call.checks) == scripts.CHECK_NAMES
    assert call.customer_voice in scripts.CUSTOMER_VOICES.values()
    assert call.agent_id in scripts.AGENT_VOICES
    assert call.dialogue and all(isinstance(u, scripts.Utterance) for u in call.dialogue)
    assert call.started_at.utcoffset() == scripts.TZ_CN.utcoffset(None)


@pytest.mark.parametrize("call_id", list(BY_ID))
def test_judge_on_the_script_gives_the_labelled_verdicts(call_id: str) -> None:
    call = BY_ID[call_id]
    findings = judge.validate(call, judge.dialogue_lines(call))  # raises where the script disagrees with itself
    labelled = LABELLED[call_id]
    assert {name: finding.verdict for name, finding in findings.items()} == labelled["checks"]
    assert dict(call.checks) == labelled["checks"]


@pytest.mark.parametrize("call_id", list(BY_ID))
def test_script_dialogue_and_metadata_match_labels(call_id: str) -> None:
    call = BY_ID[call_id]
    labelled = LABELLED[call_id]
    assert [(u.speaker, u.text) for u in call.dialogue] == [(s["speaker"], s["text"]) for s in labelled["segments"]]
    stereo = call.layout == "stereo"
    assert labelled["channels"] == (2 if stereo else 1)
    assert labelled["agent_channel"] == (0 if stereo else None)
    for key in ("audio_file", "codec", "direction", "call_type", "call_type_in_metadata", "direction_in_metadata"):
        assert labelled[key] == getattr(call, key), key
    assert labelled["timing"]["ring_count"] == (call.ringback.rings if call.ringback else 0)


@pytest.mark.parametrize("call_id", list(BY_ID))
def test_script_metadata_matches_calls_csv(call_id: str) -> None:
    call = BY_ID[call_id]
    row = CSV_ROWS[call_id]
    expected = {
        "call_id": call.call_id,
        "audio_file": call.audio_file,
        "agent_id": call.agent_id,
        "direction": call.direction if call.direction_in_metadata else "",
        "call_type": call.call_type if call.call_type_in_metadata else "",
        "started_at": call.started_at.isoformat(),
        "caller_number": call.caller_number,
        **{column: "" if getattr(call, column) is None else str(getattr(call, column)) for column in OPTIONAL_COLUMNS},
    }
    assert {column: row[column] for column in (*SCRIPT_COLUMNS, *OPTIONAL_COLUMNS)} == expected
    assert list(CSV_ROWS) == list(BY_ID)


# --- the checks above can fail: broken scripts are refused -------------------------------------------


def write_script(tmp_path: Path, text: str, name: str = "call_001.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ORIGINAL = (SCRIPTS / "call_001.toml").read_text(encoding="utf-8")


def test_unchanged_copy_loads(tmp_path: Path) -> None:
    assert scripts.load_call(write_script(tmp_path, ORIGINAL)) == BY_ID["call_001"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('layout = "stereo"', 'layout = "stereo"\nlayuot = "mono"', "unknown keys"),
        ('codec = "pcm_s16le"', 'codec = "wav"', "is not one of"),
        ('customer_voice = "male"', 'customer_voice = "child"', "customer_voice"),
        ("started_at = 2026-11-19T09:03:12+08:00", "started_at = 2026-11-19T09:03:12", "UTC offset"),
        ('{ customer = "我姓王。" }', '{ customer = "我姓王。", speaker = "x" }', "unknown utterance keys"),
        ('{ customer = "我姓王。" }', '{ customer = "我姓王。", agent = "x" }', "exactly one"),
        ('    "empathy",', '    "greetings",', "is not one of"),
        ("survey_score = 5", 'survey_score = "5"', "wrong type"),
    ],
)
def test_broken_script_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in ORIGINAL
    with pytest.raises(scripts.ScriptError, match=message):
        scripts.load_call(write_script(tmp_path, ORIGINAL.replace(old, new, 1)))


def test_file_named_after_another_call_is_refused(tmp_path: Path) -> None:
    with pytest.raises(scripts.ScriptError, match="named after its call id"):
        scripts.load_call(write_script(tmp_path, ORIGINAL, "call_002.toml"))


def test_wrong_declared_verdict_is_refused(tmp_path: Path) -> None:
    # call_001 asks whether there is anything else: declaring closing_more_help a fail must not pass the judge.
    text = ORIGINAL.replace("fail = []", 'fail = ["closing_more_help"]', 1)
    call = scripts.load_call(write_script(tmp_path, text))
    with pytest.raises(ValueError, match="closing_more_help: declared fail"):
        judge.validate(call, judge.dialogue_lines(call))


def test_changed_words_no_longer_match_the_labels(tmp_path: Path) -> None:
    text = ORIGINAL.replace("没有了，谢谢。", "没有了。", 1)
    call = scripts.load_call(write_script(tmp_path, text))
    labelled = [(s["speaker"], s["text"]) for s in LABELLED["call_001"]["segments"]]
    assert [(u.speaker, u.text) for u in call.dialogue] != labelled


# The second set (benchmarks/sets/hard_calls): its scripts, read from their own folder, give its committed labels.
HARD = ROOT / "benchmarks" / "sets" / "hard_calls"
HARD_LABELS = {
    entry["call_id"]: entry for entry in json.loads((HARD / "labels.json").read_text(encoding="utf-8"))["calls"]
}
HARD_CALLS = {call.call_id: call for call in scripts.load_calls(HARD / "scripts")}


def test_the_second_set_is_its_own_calls_in_new_voices() -> None:
    assert list(HARD_CALLS) == list(HARD_LABELS)
    assert not set(HARD_CALLS) & set(BY_ID)
    assert {call.layout for call in HARD_CALLS.values()} == {"stereo", "mono"}
    used_before = {call.agent_id for call in CALLS}, {call.customer_voice for call in CALLS}
    assert not {call.agent_id for call in HARD_CALLS.values()} & used_before[0]
    assert not {call.customer_voice for call in HARD_CALLS.values()} & used_before[1]


@pytest.mark.parametrize("call_id", list(HARD_LABELS))
def test_judge_on_a_second_set_script_gives_its_labelled_verdicts(call_id: str) -> None:
    call = HARD_CALLS[call_id]
    findings = judge.validate(call, judge.dialogue_lines(call))
    assert {name: finding.verdict for name, finding in findings.items()} == HARD_LABELS[call_id]["checks"]
    assert [(u.speaker, u.text) for u in call.dialogue] == [
        (s["speaker"], s["text"]) for s in HARD_LABELS[call_id]["segments"]
    ]
