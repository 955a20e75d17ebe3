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


def test_a_model_directory_that_does_not_exist_is_refused_before_any_audio(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "qa.duckdb"
    for spec in (str(tmp_path / "nonexistent" / "dir"), "./models/large-v3", "~/no/such/model"):
        assert main(["run", str(tmp_path), "--db", str(db), "--asr-model", spec]) == 2
        assert "no such model directory" in capsys.readouterr().out
    assert not db.exists()


def test_cuda_on_a_machine_without_a_gpu_is_refused_before_any_audio(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import ctranslate2
    import pytest

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("this machine has a GPU")
    db = tmp_path / "qa.duckdb"
    assert main(["run", str(tmp_path), "--db", str(db), "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().out
    assert not db.exists()


def test_day_options_take_values_that_begin_with_a_dash() -> None:
    from qa_pipeline.cli.options import flow_parameters
    from qa_pipeline.cli.parser import _joined_day_values, build_parser

    argv = ["run", "in", "--db", "qa.duckdb", "--from", "-7d", "--to", "-1d", "--force"]
    args = build_parser().parse_args(_joined_day_values(argv))
    assert (flow_parameters(args)["date_from"], flow_parameters(args)["date_to"], args.force) == ("-7d", "-1d", True)
    assert _joined_day_values(["--from=-7d", "--to", "yesterday"]) == ["--from=-7d", "--to", "yesterday"]
    assert _joined_day_values(["--to"]) == ["--to"]  # argparse then says it needs a value
    kpis = build_parser().parse_args(_joined_day_values(["kpis", "--db", "qa.duckdb", "--from", "-7d"]))
    assert kpis.date_from is not None
