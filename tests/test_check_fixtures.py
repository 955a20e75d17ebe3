"""Every case in qa_pipeline/checks/fixtures/*.toml: transcript (and measured timings) in, verdict and evidence out."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from qa_pipeline.asr.transcript import Segment, Transcript, VerifiedPhrase
from qa_pipeline.checks import REGISTRY, CallContext
from qa_pipeline.config.scorecard import _layer, default_scorecard_data, parse_scorecard
from qa_pipeline.measures import Measures

FIXTURES = Path(str(resources.files("qa_pipeline.checks") / "fixtures"))
# The keys a case may have (fixtures/README.md); a misspelt key would otherwise be ignored silently.
CASE_KEYS = {
    "name",
    "direction",
    "call_type",
    "diarization",
    "customer_tags",
    "segments",
    "verified",
    "measures",
    "scorecard",
    "expect",
}


def _cases() -> list[Any]:
    params = []
    for path in sorted(FIXTURES.glob("*.toml")):
        check_id = path.stem
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["case"]:
            params.append(pytest.param(check_id, case, id=f"{check_id}: {case['name']}"))
    return params


def test_cases_use_known_keys() -> None:
    for param in _cases():
        check_id, case = param.values
        assert set(case) <= CASE_KEYS, (check_id, case["name"], sorted(set(case) - CASE_KEYS))


def test_every_check_has_a_fixture_file() -> None:
    files = {path.stem for path in FIXTURES.glob("*.toml")}
    assert sorted(set(REGISTRY) - files) == [], "registered checks without qa_pipeline/checks/fixtures/<id>.toml"
    assert sorted(files - set(REGISTRY)) == [], "fixture files named after no registered check"


def test_every_check_has_positive_and_negative_fixtures() -> None:
    verdicts: dict[str, set[bool]] = {cid: set() for cid in REGISTRY}
    for param in _cases():
        check_id, case = param.values
        if case["expect"].get("applicable", True):
            verdicts[check_id].add(case["expect"]["passed"])
    assert {cid: v for cid, v in verdicts.items() if v != {True, False}} == {}


@pytest.mark.parametrize(("check_id", "case"), _cases())
def test_fixture_case(check_id: str, case: dict[str, Any]) -> None:
    scorecard = parse_scorecard(_layer(default_scorecard_data(), case.get("scorecard", {})), "fixture")
    segments = tuple(Segment(**segment) for segment in case.get("segments", []))
    call = CallContext(
        call_id=case["name"],
        transcript=Transcript(
            segments,
            case.get("diarization", "channel"),
            "fixture",
            verified=tuple(VerifiedPhrase(**heard) for heard in case.get("verified", [])),
        ),
        call_type=case.get("call_type"),
        direction=case.get("direction"),
        organisations=scorecard.organisations,
        min_similarity=scorecard.min_similarity,
        meaning=scorecard.meaning,
        measures=Measures.from_mapping(case.get("measures", {})),
        customer_tags=tuple(case.get("customer_tags", ())),
    )
    result = REGISTRY[check_id](scorecard.checks[check_id]).run(call)
    expect = case["expect"]

    assert result.applicable == expect.get("applicable", True), result.detail
    if not result.applicable:
        assert result.passed is None
        return
    assert result.passed == expect["passed"], result.detail
    if "evidence_text" in expect:
        assert expect["evidence_text"] in (result.evidence_text or "")
    for key in ("evidence_start_s", "evidence_end_s"):
        if key in expect:
            assert getattr(result, key) == pytest.approx(expect[key], abs=0.01)
    for key, value in expect.get("detail", {}).items():
        assert result.detail.get(key) == value, result.detail


def test_restate_confirm_keeps_the_e_of_amount() -> None:
    """额 is a filler the ASR writes and the 额 of 余额/金额: restate_confirm drops the other fillers only."""
    from qa_pipeline.checks.restate_confirm import _content

    assert _content("嗯，您那个余额不足，额，对吗") == "您余额不足额对吗"
