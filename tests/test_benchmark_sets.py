"""The throughput benchmark's sets (benchmarks/throughput.py): repeated calls are the same audio under other
bytes, so the pipeline scores each copy instead of skipping it as a duplicate, and every copy has its
metadata row and its labels."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import throughput
from tests.conftest import SAMPLE_AUDIO


@pytest.mark.parametrize("name", ["call_001.wav", "call_005.flac", "call_006.mp3", "call_010.ogg"])
def test_a_remuxed_copy_is_the_same_audio_in_other_bytes(name: str, tmp_path: Path) -> None:
    from qa_pipeline.audio.decode import decode_audio
    from qa_pipeline.intake.files import file_sha256

    source = SAMPLE_AUDIO / name
    copy = tmp_path / f"copy{source.suffix}"
    throughput._remux(source, copy, "benchmark copy 2")
    assert file_sha256(copy) != file_sha256(source)
    with decode_audio(source) as original, decode_audio(copy) as copied:
        assert copied.channels == original.channels
        assert np.array_equal(copied.samples, original.samples)


def test_calls_are_repeated_until_the_set_is_long_enough(tmp_path: Path) -> None:
    from qa_pipeline.audio.decode import decode_audio

    labels = json.loads((SAMPLE_AUDIO / "labels.json").read_text(encoding="utf-8"))
    keep = {"call_001", "call_002"}  # about 67 and 68 s
    audio_dir, metadata, labels_path, seconds = throughput.repeat_calls(
        SAMPLE_AUDIO, SAMPLE_AUDIO / "calls.csv", labels, tmp_path / "set", 200.0, keep
    )
    names = sorted(p.name for p in audio_dir.iterdir())
    assert names == ["call_001-r2.wav", "call_001.wav", "call_002.wav"]  # stops once 200 s are reached
    lengths = {}
    for name in ("call_001.wav", "call_002.wav"):
        with decode_audio(SAMPLE_AUDIO / name) as audio:
            lengths[name] = audio.duration_s
    assert seconds == pytest.approx(2 * lengths["call_001.wav"] + lengths["call_002.wav"])
    with metadata.open(encoding="utf-8", newline="") as handle:
        rows = {row["call_id"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == ["call_001", "call_001-r2", "call_002"]
    assert rows["call_001-r2"]["audio_file"] == "call_001-r2.wav"
    assert rows["call_001-r2"]["agent_id"] == rows["call_001"]["agent_id"]
    copies = {c["call_id"]: c for c in json.loads(labels_path.read_text(encoding="utf-8"))["calls"]}
    assert copies["call_001-r2"]["checks"] == copies["call_001"]["checks"]
