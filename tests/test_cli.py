"""The command line: help, and configuration errors refused before any audio is processed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from qa_pipeline.cli import main


def test_help_lists_the_documented_options() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qa_pipeline", "run", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in ("INPUT_DIR", "--db", "--metadata", "--scorecard", "--asr-model", "--device", "--agent-channel"):
        assert option in out


def test_broken_scorecard_is_refused_naming_the_key(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    scorecard = tmp_path / "center.toml"
    scorecard.write_text("[checks.greeting]\nwithin_seconds = 3\n", encoding="utf-8")
    (tmp_path / "calls").mkdir()
    db = tmp_path / "qa.duckdb"
    code = main(["run", str(tmp_path / "calls"), "--db", str(db), "--scorecard", str(scorecard)])
    assert code == 2
    assert "checks.greeting.within_seconds" in capsys.readouterr().out
    assert not db.exists()  # nothing was processed or written


def test_missing_input_directory_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["run", str(tmp_path / "nope"), "--db", str(tmp_path / "qa.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().out


def test_metadata_without_audio_file_column_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "calls.csv").write_text("call_id,agent_id\nc1,A001\n", encoding="utf-8")
    assert (
        main(["run", str(tmp_path), "--db", str(tmp_path / "qa.duckdb"), "--metadata", str(tmp_path / "calls.csv")])
        == 2
    )
    assert "audio_file" in capsys.readouterr().out


def test_unknown_model_name_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["run", str(tmp_path), "--db", str(tmp_path / "qa.duckdb"), "--asr-model", "whisper-gigantic"]) == 2
    assert "whisper-gigantic" in capsys.readouterr().out


def test_pyannote_diarization_without_a_pipeline_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("QA_PYANNOTE_PIPELINE", raising=False)
    db = tmp_path / "qa.duckdb"
    assert main(["run", str(tmp_path), "--db", str(db), "--diarization", "pyannote"]) == 2
    assert "--pyannote-pipeline" in capsys.readouterr().out
    missing = tmp_path / "models" / "community-1"
    assert main(["run", str(tmp_path), "--db", str(db), "--pyannote-pipeline", str(missing)]) == 2
    assert f"{missing} does not exist" in capsys.readouterr().out
    missing.mkdir(parents=True)
    assert main(["run", str(tmp_path), "--db", str(db), "--pyannote-pipeline", str(missing)]) == 2
    assert "has no config.yaml" in capsys.readouterr().out
    assert not db.exists()
