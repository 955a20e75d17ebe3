"""The checks' inputs kept for re-judging (privacy.seal): sealed with a key beside the database, opened only
with it, refused when changed or from another format."""

from __future__ import annotations

import pickle
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.measures import Measures
from qa_pipeline.privacy import seal as sealing
from qa_pipeline.privacy.seal import JudgingInputs, SealError, default_key_file, inputs_key, seal, unseal
from tests.factories import make_call


def _inputs() -> JudgingInputs:
    transcript = Transcript(
        segments=(Segment("customer", 1.0, 3.0, "我姓王，电话是一三九一二三四五六七八"),),
        diarization="channel",
        asr_model="test",
    )
    return JudgingInputs(transcript, Measures(talk_s=42.0), None, make_call("c1").job)


def test_sealed_inputs_open_to_what_was_sealed_with_the_same_key_only() -> None:
    key = Fernet.generate_key()
    blob = seal(_inputs(), key)
    assert "王".encode() not in blob and b"139" not in blob
    assert unseal(blob, key) == _inputs()
    with pytest.raises(SealError, match="another key"):
        unseal(blob, Fernet.generate_key())
    changed = bytearray(blob)
    changed[-40] ^= 1
    with pytest.raises(SealError):
        unseal(bytes(changed), key)


def test_a_blob_of_another_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key()
    older = Fernet(key).encrypt(pickle.dumps((sealing.FORMAT - 1, _inputs())))
    with pytest.raises(SealError, match="format"):
        unseal(older, key)
    not_inputs = Fernet(key).encrypt(pickle.dumps((sealing.FORMAT, {"transcript": "x"})))
    with pytest.raises(SealError, match="format"):
        unseal(not_inputs, key)


def test_the_key_file_is_made_beside_the_database_for_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(sealing.KEY_ENV, raising=False)
    db = str(tmp_path / "night" / "qa.duckdb")
    assert inputs_key(db, create=False) is None
    key = inputs_key(db)
    path = default_key_file(db)
    assert path == tmp_path / "night" / "qa.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key == path.read_bytes().strip() and inputs_key(db) == key  # made once, then read
    Fernet(key)  # a valid Fernet key
    monkeypatch.setenv(sealing.KEY_ENV, Fernet.generate_key().decode())
    assert inputs_key(db) != key  # the environment wins
    monkeypatch.delenv(sealing.KEY_ENV)
    path.write_text("")
    with pytest.raises(SealError, match="empty"):
        inputs_key(db)
