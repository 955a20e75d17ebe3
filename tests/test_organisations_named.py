"""A center's first night: no [center].organisations yet. The greeting counts a named organisation, and the
run tells the operator which names the agents used, sound-alike ASR spellings merged, with the scorecard
line that confirms them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_pipeline.cli import main
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.report import write_report
from qa_pipeline.run.transcript_file import score_transcript_file

OPENINGS = {
    "c1": "您好，欢迎致电滨江燃气公司，请问有什么可以帮您？",
    "c2": "您好，滨江燃起公司，请问有什么可以帮您？",  # the ASR's spelling: 起 for 气, the same sound
    "c3": "您好，欢迎致电滨江燃气公司，请问有什么可以帮您？",
    "c4": "您好，北岭供暖公司，请问有什么可以帮您？",
    "c5": "喂，你好，请讲。",  # names nothing
}


def _transcripts(folder: Path) -> Path:
    path = folder / "calls.jsonl"
    lines = []
    for call_id, opening in OPENINGS.items():
        segments = [
            {"speaker": "agent", "start_s": 0.5, "end_s": 4.0, "text": opening},
            {"speaker": "customer", "start_s": 4.5, "end_s": 7.0, "text": "我想问一下这个月的账单。"},
        ]
        lines.append(json.dumps({"call_id": call_id, "metadata": {"direction": "inbound"}, "segments": segments}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _scorecard(folder: Path, organisations: list[str]) -> Path:
    path = folder / "center.toml"
    path.write_text(f"[center]\norganisations = {json.dumps(organisations, ensure_ascii=False)}\n", encoding="utf-8")
    return path


def test_the_names_agents_used_are_listed_with_their_calls(tmp_path: Path) -> None:
    scorecard = load_scorecard(_scorecard(tmp_path, []))
    summary = score_transcript_file(_transcripts(tmp_path), tmp_path / "qa.duckdb", scorecard)
    assert summary.organisations_named == [("滨江燃气公司", 3), ("北岭供暖公司", 1)]
    notice = summary.organisations_notice()
    assert notice is not None
    assert notice.endswith('[center] organisations = ["滨江燃气公司", "北岭供暖公司"]')


def test_with_organisations_configured_nothing_is_learned(tmp_path: Path) -> None:
    scorecard = load_scorecard(_scorecard(tmp_path, ["滨江燃气公司"]))
    summary = score_transcript_file(_transcripts(tmp_path), tmp_path / "qa.duckdb", scorecard)
    assert summary.organisations_named == []
    assert summary.organisations_notice() is None


def test_score_prints_the_line_to_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "qa.duckdb"
    args = ["score", str(_transcripts(tmp_path)), "--db", str(db), "--scorecard", str(_scorecard(tmp_path, []))]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "滨江燃气公司 (3 calls), 北岭供暖公司 (1 calls)" in out
    assert '[center] organisations = ["滨江燃气公司", "北岭供暖公司"]' in out


def test_the_report_shows_the_names_and_the_line(tmp_path: Path) -> None:
    db = tmp_path / "qa.duckdb"
    score_transcript_file(_transcripts(tmp_path), db, load_scorecard(_scorecard(tmp_path, [])))
    page = Path(write_report(db, tmp_path / "report")).read_text(encoding="utf-8")
    assert "滨江燃气公司 (3 calls), 北岭供暖公司 (1 calls)" in page
    assert "[center] organisations = [&#34;滨江燃气公司&#34;, &#34;北岭供暖公司&#34;]" in page
