"""Read-only access for QA leads, and the privacy settings a center can change (fast: transcripts, no ASR).

`qa-pipeline score` goes through the same privacy stage as recordings (qa_pipeline.privacy.protect.protect_call),
so the settings are tested here on transcripts with known text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from qa_pipeline import open_read_only
from qa_pipeline.cli import main
from tests.reliability.conftest import Ledger, db_rows, score_transcripts

CALL = {
    "call_id": "t1",
    "metadata": {"agent_id": "A001", "call_type": "repair", "caller_number": "+86 138-0013-8000"},
    "segments": [
        {"speaker": "agent", "start_s": 0.5, "end_s": 3.0, "text": "您好，请问有什么可以帮您？请问您贵姓？"},
        {"speaker": "customer", "start_s": 3.5, "end_s": 9.0, "text": "我姓王，电话是幺三八零零幺三八零零零。"},
        {"speaker": "customer", "start_s": 9.5, "end_s": 14.0, "text": "我住锦绣路128号3栋2单元502室。"},
        {"speaker": "agent", "start_s": 14.5, "end_s": 17.0, "text": "好的王先生，感谢您的来电，再见。"},
    ],
}


def run_score(tmp_path: Path, scorecard: str | None = None) -> int:
    """`qa-pipeline score` of CALL into tmp_path/qa.duckdb, with `scorecard` as the center's file: its exit code."""
    return score_transcripts(tmp_path, [CALL], scorecard)


def score(tmp_path: Path, scorecard: str | None = None) -> Path:
    assert run_score(tmp_path, scorecard) == 0
    return tmp_path / "qa.duckdb"


rows = db_rows


def test_default_settings_mask_the_text_and_hash_the_number(tmp_path: Path) -> None:
    db_path = score(tmp_path)
    texts = [text for (text,) in rows(db_path, "SELECT text FROM segments ORDER BY seq")]
    assert texts[1] == "我姓*，电话是幺**********。"
    assert texts[2] == "我住锦绣路***号*栋*单元***室。"
    assert texts[3] == "好的*先生，感谢您的来电，再见。"
    [(number,)] = rows(db_path, "SELECT caller_number FROM calls")
    assert re.fullmatch(r"h:[0-9a-f]{32}", str(number))
    kinds = rows(db_path, "SELECT location, kind, start_char, end_char FROM redactions ORDER BY location, start_char")
    assert ("segments:1", "name", 2, 3) in kinds and ("segments:1", "phone", 7, 18) in kinds


def test_a_center_can_turn_redaction_and_hashing_off(tmp_path: Path, ledger: Ledger) -> None:
    ledger.input("scorecard [privacy] redact = false, hash_caller_number = false (configured otherwise)")
    db_path = score(tmp_path, "[privacy]\nredact = false\nhash_caller_number = false\n")
    texts = [text for (text,) in rows(db_path, "SELECT text FROM segments ORDER BY seq")]
    assert texts[1] == CALL["segments"][1]["text"]  # type: ignore[index]
    assert rows(db_path, "SELECT caller_number FROM calls") == [("+86 138-0013-8000",)]
    assert rows(db_path, "SELECT count(*) FROM redactions") == [(0,)]


def test_a_center_can_mask_only_some_kinds(tmp_path: Path) -> None:
    db_path = score(tmp_path, '[privacy]\nredact_kinds = ["phone"]\nkeep_leading = 3\n')
    texts = [text for (text,) in rows(db_path, "SELECT text FROM segments ORDER BY seq")]
    assert texts[1] == "我姓王，电话是幺三八********。"
    assert texts[2] == CALL["segments"][2]["text"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("scorecard", "names"),
    [
        ('[privacy]\nredact_kinds = ["phone", "email"]\n', ["privacy.redact_kinds", "'email'"]),
        ("[privacy]\nmin_digits = 2\n", ["privacy.min_digits"]),
        ('[privacy]\nredact = "yes"\n', ["privacy.redact"]),
        ("[privacy]\nsalt = 'x'\n", ["privacy.salt"]),
        ("[input]\nmin_duration_s = -1\n", ["input.min_duration_s"]),
    ],
)
def test_bad_privacy_and_input_settings_are_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scorecard: str, names: list[str], ledger: Ledger
) -> None:
    ledger.input(f"scorecard with a bad key or value: {scorecard.strip()!r}")
    code = run_score(tmp_path, scorecard)
    out = capsys.readouterr().out
    assert code == 2
    for name in names:
        assert name in out.replace("\n", "")
    assert not (tmp_path / "qa.duckdb").exists(), "nothing was written"


def test_an_unreadable_salt_file_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("QA_PIPELINE_SALT")
    missing = tmp_path / "secrets" / "center.salt"
    assert run_score(tmp_path, f"[privacy]\nsalt_file = '{missing}'\n") == 2
    assert str(missing) in capsys.readouterr().out.replace("\n", "")


def test_the_same_salt_file_gives_the_same_hashes_across_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QA_PIPELINE_SALT")
    (tmp_path / "center.salt").write_text("a long random center secret\n", encoding="utf-8")
    card = f"[privacy]\nsalt_file = '{tmp_path / 'center.salt'}'\n"
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    assert rows(score(first, card), "SELECT caller_number FROM calls") == rows(
        score(second, card), "SELECT caller_number FROM calls"
    )


def test_query_reads_and_refuses_to_write(tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger) -> None:
    ledger.input("a write through the read-only query command and connection helper")
    db_path = score(tmp_path)
    capsys.readouterr()
    assert main(["query", "--db", str(db_path), "--format", "json", "SELECT call_id, qa_score FROM calls"]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["call_id"] == "t1" and isinstance(record["qa_score"], float)
    for statement in ("DELETE FROM calls", "UPDATE calls SET qa_score = 100", "DROP TABLE segments"):
        assert main(["query", "--db", str(db_path), statement]) == 2
        assert "read-only" in capsys.readouterr().out
    assert rows(db_path, "SELECT count(*) FROM calls") == [(1,)]
    assert rows(db_path, "SELECT count(*) FROM segments") == [(4,)]


def test_the_read_only_helper_has_the_views_and_cannot_write(tmp_path: Path) -> None:
    db_path = score(tmp_path)
    connection = open_read_only(str(db_path))
    try:
        assert connection.execute("SELECT count(*) FROM call_facts").fetchall() == [(1,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            connection.execute("INSERT INTO agents VALUES ('A009', 'x', 'y')")
    finally:
        connection.close()
