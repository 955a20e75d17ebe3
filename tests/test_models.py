"""The embedded ASR model: assembled from its two PyPI parts, verified, rebuilt when corrupt."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from qa_pipeline.asr.models import EMBEDDED_MODEL_SHA256, ModelError, embedded_model_dir, resolve_model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_assembles_verifies_and_rebuilds_a_corrupt_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_PIPELINE_CACHE", str(tmp_path))
    model_dir = embedded_model_dir()
    assert model_dir == tmp_path / "models" / "whisper-base"
    assert _sha256(model_dir / "model.bin") == EMBEDDED_MODEL_SHA256
    assert {p.name for p in model_dir.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"}

    with open(model_dir / "model.bin", "r+b") as handle:  # flip one byte in the weights
        handle.seek(1_000_000)
        byte = handle.read(1)
        handle.seek(1_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert _sha256(model_dir / "model.bin") != EMBEDDED_MODEL_SHA256
    assert embedded_model_dir() == model_dir
    assert _sha256(model_dir / "model.bin") == EMBEDDED_MODEL_SHA256

    (model_dir / "tokenizer.json").unlink()  # a partial copy is rebuilt too
    embedded_model_dir()
    assert (model_dir / "tokenizer.json").is_file()
    assert not [p for p in tmp_path.joinpath("models").iterdir() if p.name.startswith(".")]  # no staging left


def test_model_choice_records_name_and_compute_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_PIPELINE_CACHE", str(tmp_path))
    choice = resolve_model(None, "cpu")
    assert (choice.label, choice.device, choice.compute_type) == ("whisper-base(embedded)/int8", "cpu", "int8")
    local = resolve_model(choice.location, "cpu")  # a local CTranslate2 directory
    assert local.location == choice.location and local.label == "whisper-base/int8"
    assert resolve_model("large-v3", "cpu").location == "large-v3"  # a size name is passed to faster-whisper
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(ModelError, match=r"no model\.bin"):
        resolve_model(str(tmp_path / "not-a-model"), "cpu")
    with pytest.raises(ModelError, match="device"):
        resolve_model(None, "tpu")
