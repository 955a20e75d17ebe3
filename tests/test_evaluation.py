"""`qa-pipeline eval`: agreement, precision and recall on hand-made calls with known verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_pipeline.cli import main
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.evaluation.checks import CheckAgreement, LabelsError, evaluate, load_labels
from qa_pipeline.run.transcript_file import score_transcript_file

GREETING = "您好，欢迎致电红树西岸管理处，请问有什么可以帮您？"


def _call(call_id: str, opening: str, rude: bool, speaker: str = "agent") -> dict[str, object]:
    segments = [{"speaker": speaker, "start_s": 0.5, "end_s": 3.5, "text": opening}]
    if rude:
        segments.append({"speaker": speaker, "start_s": 5.0, "end_s": 6.0, "text": "你听不懂吗？"})
    return {"call_id": call_id, "metadata": {"call_type": "inquiry", "direction": "inbound"}, "segments": segments}


@pytest.fixture()
def scored_db(tmp_path: Path) -> Path:
    calls = [
        _call("c1", GREETING, rude=False),
        _call("c2", "喂，什么事？", rude=False),
        _call("c3", GREETING, rude=True),
        _call("c4", "喂？", rude=True),
        _call("c5", GREETING, rude=False, speaker="unknown"),  # no speakers: the machine abstains
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in calls), encoding="utf-8")
    db = tmp_path / "qa.duckdb"
    score_transcript_file(path, db, load_scorecard())
    return db


def _labels(tmp_path: Path, verdicts: dict[str, dict[str, str]]) -> Path:
    path = tmp_path / "labels.json"
    calls = [{"call_id": cid, "call_type": "inquiry", "checks": checks} for cid, checks in verdicts.items()]
    path.write_text(json.dumps({"calls": calls}), encoding="utf-8")
    return path


def test_agreement_precision_recall_known_answers(tmp_path: Path, scored_db: Path) -> None:
    # The human says c2's greeting passed (the machine says fail) and c4 was not rude (machine: fail).
    labels = _labels(
        tmp_path,
        {
            "c1": {"greeting": "pass", "forbidden_phrase": "pass"},
            "c2": {"greeting": "pass", "forbidden_phrase": "pass"},
            "c3": {"greeting": "pass", "forbidden_phrase": "fail"},
            "c4": {"greeting": "fail", "forbidden_phrase": "pass"},
            "c5": {"greeting": "pass", "forbidden_phrase": "pass"},
        },
    )
    result = evaluate(labels, scored_db)
    greeting, forbidden = result.checks["greeting"], result.checks["forbidden_phrase"]
    assert (greeting.compared, greeting.agreed, greeting.abstained) == (4, 3, 1)
    assert greeting.agreement == pytest.approx(0.75)
    assert greeting.disagreements == [("c2", "pass", "fail")]
    assert (greeting.precision, greeting.recall) == (pytest.approx(0.5), pytest.approx(1.0))
    assert (forbidden.true_fail, forbidden.false_fail, forbidden.missed_fail) == (1, 1, 0)
    assert forbidden.precision == pytest.approx(0.5)
    assert result.call_type == (0, 0)  # call types came from metadata, nothing inferred
    assert result.below(0.8, 0.0, 0.0) == ["forbidden_phrase: agreement 0.750 < 0.8", "greeting: agreement 0.750 < 0.8"]


def test_label_na_against_a_machine_verdict_is_a_disagreement() -> None:
    check = CheckAgreement("empathy")
    check.add("c1", "na", "na")
    check.add("c2", "na", "fail")
    check.add("c3", "fail", "na")
    assert (check.compared, check.agreed, check.false_fail, check.missed_fail) == (2, 0, 1, 1)


def test_eval_command_exit_code_follows_thresholds(tmp_path: Path, scored_db: Path) -> None:
    labels = _labels(tmp_path, {"c1": {"greeting": "pass"}, "c2": {"greeting": "fail"}, "c3": {"greeting": "pass"}})
    assert main(["eval", str(labels), "--db", str(scored_db), "--min-agreement", "0.95"]) == 0
    labels = _labels(tmp_path, {"c1": {"greeting": "fail"}, "c2": {"greeting": "fail"}})
    assert main(["eval", str(labels), "--db", str(scored_db), "--min-agreement", "0.95"]) == 1
    assert main(["eval", str(labels), "--db", str(scored_db), "--min-agreement", "0.4"]) == 0


def test_eval_fails_when_labelled_calls_are_missing_from_the_database(
    tmp_path: Path, scored_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # c1..c5 are scored; c6..c9 were never run: agreement over the five says nothing of the other four.
    verdicts = {f"c{i}": {"greeting": "pass"} for i in range(1, 10)}
    verdicts["c4"] = {"greeting": "fail"}
    labels = _labels(tmp_path, verdicts)
    result = evaluate(labels, scored_db)
    assert (result.calls_labelled, result.calls_found) == (9, 5)
    assert result.missing_calls == ["c6", "c7", "c8", "c9"]
    assert result.below(0.0, 0.0, 0.0) == [
        "4 of 9 labelled calls are not in the database (c6, c7, c8, c9; at most 0 may be missing)"
    ]
    assert result.below(0.0, 0.0, 0.0, max_missing=4) == []
    capsys.readouterr()
    assert main(["eval", str(labels), "--db", str(scored_db)]) == 1
    assert "4 of 9 labelled calls are not in the database" in capsys.readouterr().out
    assert main(["eval", str(labels), "--db", str(scored_db), "--max-missing", "4"]) == 0


def test_malformed_labels_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "labels.json"
    bad.write_text(json.dumps({"calls": [{"call_id": "c1", "checks": {"greeting": "ok"}}]}), encoding="utf-8")
    with pytest.raises(LabelsError, match="pass/fail/na"):
        load_labels(bad)
