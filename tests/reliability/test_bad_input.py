"""Messy input, for real: one flow run over a batch holding every kind of bad recording and metadata row a
switch produces, next to good calls. Each bad one must end in `failures` with a specific reason naming
the file (or the CSV line), each good one must be scored exactly once, and the batch must go on.

The good calls are synthetic sample calls (sample_audio/, TTS): copies, resampled, re-channelled,
clipped and renamed. The bad ones are made here, byte by byte.
"""

from __future__ import annotations

import re
import shutil
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from scipy.signal import resample_poly

from qa_pipeline.audio.decode import decode_audio
from qa_pipeline.text.matching import spoken_chars
from tests.conftest import SAMPLE_AUDIO
from tests.reliability.conftest import Ledger

pytestmark = pytest.mark.slow
GOOD = SAMPLE_AUDIO / "call_016.wav"  # 35 s stereo, 8 kHz PCM16
OTHER = SAMPLE_AUDIO / "call_017.wav"  # 33 s stereo


def write_pcm16(path: Path, channels: np.ndarray, rate: int) -> None:
    """float samples (channels, n) in [-1, 1] as a PCM16 WAV."""
    pcm = np.round(np.clip(channels, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(pcm.shape[0])
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.ascontiguousarray(pcm.T).tobytes())


def original(path: Path) -> np.ndarray:
    """The sample call at its own 8 kHz (decode_audio gives 16 kHz: take every other sample)."""
    return decode_audio(path).samples[:, ::2]


def resampled(rate: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        write_pcm16(path, resample_poly(original(GOOD), rate, 8000, axis=1), rate)

    return make


def four_channels(path: Path) -> None:
    """Agent, customer and two silent legs (a conference recorder's spare tracks)."""
    agent, customer = original(GOOD)
    write_pcm16(path, np.stack([agent, customer, np.zeros_like(agent), np.zeros_like(agent)]), 8000)


def clipped(path: Path) -> None:
    """The call 20 dB too hot: most speech peaks flattened at full scale."""
    write_pcm16(path, np.clip(original(OTHER) * 10.0, -1.0, 1.0), 8000)


def truncated(path: Path) -> None:
    """The first 40% of a WAV (a copy cut off): its header still declares the whole call."""
    data = GOOD.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.4)])


def unknown_codec(path: Path) -> None:
    """A WAV whose format tag (0x7777) no decoder knows."""
    data = np.random.default_rng(1).integers(-3000, 3000, 80_000).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 0x7777, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def half_second(path: Path) -> None:
    agent, customer = original(GOOD)
    start = 8000 * 5  # inside the agent's greeting
    write_pcm16(path, np.stack([agent[start : start + 4000], customer[start : start + 4000]]), 8000)


def silence(path: Path) -> None:
    write_pcm16(path, np.zeros((2, 8000 * 30)), 8000)


def tone(path: Path) -> None:
    """A 1 kHz test tone, 30 s, on both channels."""
    t = np.arange(8000 * 30) / 8000
    signal = 0.3 * np.sin(2 * np.pi * 1000 * t)
    write_pcm16(path, np.stack([signal, signal]), 8000)


def music(path: Path) -> None:
    """Hold music: plucked chords with harmonics, two a second, 30 s."""
    t = np.arange(8000 * 30) / 8000
    notes = (261.6, 329.6, 392.0, 523.3, 440.0, 349.2)
    signal = np.zeros_like(t)
    for i in range(60):
        span = (t >= i * 0.5) & (t < (i + 1) * 0.5)
        envelope = np.exp(-3 * (t[span] - i * 0.5))
        for ratio, gain in ((1, 1.0), (2, 0.5), (3, 0.3), (1.25, 0.6), (1.5, 0.5)):
            signal[span] += gain * envelope * np.sin(2 * np.pi * notes[i % 6] * ratio * t[span])
    signal *= 0.25 / np.abs(signal).max()
    write_pcm16(path, np.stack([signal, signal]), 8000)


@dataclass(frozen=True)
class Case:
    """One file of the batch: how it is made, what it stands for, and how it must end."""

    file: str
    make: Callable[[Path], None]
    what: str
    stage: str | None = None  # None: scored; else the failures.stage it must end in
    error: str = ""  # regex the failure's message must match


def copy_of(source: Path) -> Callable[[Path], None]:
    return lambda path: shutil.copy(source, path)


CASES = (
    Case("good/call_016.wav", copy_of(GOOD), "a good call"),
    Case("客户 来电 #017.wav", copy_of(OTHER), "file name with spaces, Chinese characters and #"),
    Case("rates/call_016 11025.wav", resampled(11025), "11.025 kHz"),
    Case("rates/call_016 44100.wav", resampled(44100), "44.1 kHz"),
    Case("rates/call_016 48000.wav", resampled(48000), "48 kHz"),
    Case("four_channels.wav", four_channels, "4 channels (agent, customer, 2 silent legs)"),
    Case("clipped.wav", clipped, "clipping (+20 dB, peaks flattened)"),
    Case("empty.wav", lambda p: p.write_bytes(b""), "zero-byte file", "decode", r"empty file \(0 bytes\)"),
    Case("truncated.wav", truncated, "truncated WAV (40% of the file)", "decode", r"truncated: .*declares 35\.\d s"),
    Case("notes.mp3", lambda p: p.write_text("call notes, not audio\n"), "text file named .mp3", "decode", "not"),
    Case(
        "noise.wav",
        lambda p: p.write_bytes(np.random.default_rng(0).bytes(50_000)),
        "random bytes named .wav",
        "decode",
        "not a readable audio file|no audio",
    ),
    Case("odd_codec.wav", unknown_codec, "WAV in an unknown codec (tag 0x7777)", "decode", r"codec"),
    Case("half_second.wav", half_second, "0.5 s call", "screen", r"0\.5 s long: too short to be a call"),
    Case("silence.wav", silence, "all digital silence, 30 s", "screen", r"silent \(no signal at all"),
    Case("tone.wav", tone, "1 kHz tone only, 30 s", "transcribe", r"no speech found in 30\.0 s"),
    Case("music.wav", music, "hold music only, 30 s", "transcribe", r"no speech found in 30\.0 s"),
)
DUPLICATE = "copies/call_016 (copy).wav"  # the same bytes as good/call_016.wav under another name

# The metadata export: missing columns (only six of the known ones), and bad rows. Line numbers matter.
METADATA = """\
call_id,audio_file,agent_id,started_at,call_type,survey_score
c016,good/call_016.wav,A001,2026-11-20 09:00:00,callback,5
c017,客户 来电 #017.wav,A002,2026-13-40 10:00,billing,五
c016,rates/call_016 11025.wav,A001,2026-11-20 11:00:00,callback,4
gone,missing.wav,A001,2026-11-20 12:00:00,inquiry,
up,../outside.wav,A001,2026-11-20 13:00:00,inquiry,
root,/etc/passwd,A001,2026-11-20 14:00:00,inquiry,
"""
METADATA_PROBLEMS = {  # (line, column) -> what the message must say
    (3, "started_at"): "",
    (3, "call_type"): "unknown call type",
    (3, "survey_score"): "",
    (4, "call_id"): "duplicate call_id",
    (6, "audio_file"): "outside the input directory",
    (7, "audio_file"): "outside the input directory",
}


@dataclass
class MessyRun:
    input_dir: Path
    db_path: Path
    state: Any

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def messy_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> MessyRun:
    from qa_pipeline.run.flow import qa_batch

    root = tmp_path_factory.mktemp("messy")
    input_dir = root / "calls"
    for case in CASES:
        (input_dir / case.file).parent.mkdir(parents=True, exist_ok=True)
        case.make(input_dir / case.file)
    (input_dir / DUPLICATE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(GOOD, input_dir / DUPLICATE)
    shutil.copy(GOOD, root / "outside.wav")  # a real file the traversal row points at: must not be read
    (root / "calls.csv").write_text(METADATA, encoding="utf-8")
    db_path = root / "qa.duckdb"
    state = qa_batch(
        input_dir=str(input_dir),
        db_path=str(db_path),
        metadata_csv=str(root / "calls.csv"),
        device="cpu",
        report_dir="",
        return_state=True,
    )
    return MessyRun(input_dir, db_path, state)


def test_the_batch_goes_on_and_ends_as_partial_failure(messy_run: MessyRun) -> None:
    assert messy_run.state.is_completed()
    assert messy_run.state.name == "PartialFailure"
    failed = sum(1 for case in CASES if case.stage) + 1  # + the metadata row naming a missing file
    assert f"{failed} of " in messy_run.state.message


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_each_recording_is_scored_once_or_fails_once_with_its_reason(
    messy_run: MessyRun, case: Case, ledger: Ledger
) -> None:
    ledger.input(case.what)
    path = str(messy_run.input_dir / case.file)
    scored = messy_run.query("SELECT call_id, qa_score FROM calls WHERE audio_path = ?", [path])
    failures = messy_run.query("SELECT stage, error FROM failures WHERE audio_path = ?", [path])
    ledger.outcome(checked=1, lost=int(not scored and not failures), duplicates=max(0, len(scored) + len(failures) - 1))
    if case.stage is None:
        assert failures == []
        assert len(scored) == 1 and scored[0][1] is not None
        segments = messy_run.query(
            "SELECT count(*) FILTER (speaker = 'agent'), count(*) FILTER (speaker = 'customer') FROM segments"
            " WHERE call_id = ?",
            [scored[0][0]],
        )
        assert segments[0][0] >= 3 and segments[0][1] >= 1, "both parties' words were transcribed"
    else:
        assert scored == []
        assert len(failures) == 1
        stage, error = failures[0]
        assert stage == case.stage
        assert Path(case.file).name in error, "the message names the file"
        assert re.search(case.error, error), error


def test_rates_and_channel_layouts_keep_what_was_said(messy_run: MessyRun) -> None:
    """The resampled and four-channel copies say what the 8 kHz original says."""
    texts = dict(
        messy_run.query(
            "SELECT c.audio_path, string_agg(s.text, '' ORDER BY s.seq) FROM calls c JOIN segments s USING (call_id)"
            " WHERE s.speaker = 'agent' GROUP BY c.audio_path"
        )
    )
    reference = texts[str(messy_run.input_dir / "good/call_016.wav")]
    for name in ("rates/call_016 11025.wav", "rates/call_016 44100.wav", "rates/call_016 48000.wav"):
        from rapidfuzz.distance import Levenshtein

        other = texts[str(messy_run.input_dir / name)]
        assert Levenshtein.normalized_similarity(reference, other) > 0.8, (name, other)
    # The same words: the copy's samples are the original's written again as PCM16 (a rounding step apart),
    # which can tip Whisper between two punctuation marks (再见。 / 再见！) but not between words.
    four = texts[str(messy_run.input_dir / "four_channels.wav")]
    assert spoken_chars(four) == spoken_chars(reference)


def test_rates_and_channels_are_recorded(messy_run: MessyRun) -> None:
    rows = dict(
        (Path(path).name, (rate, channels))
        for path, rate, channels in messy_run.query("SELECT audio_path, sample_rate, channels FROM calls")
    )
    assert rows["call_016 11025.wav"] == (11025, 2)
    assert rows["call_016 44100.wav"] == (44100, 2)
    assert rows["call_016 48000.wav"] == (48000, 2)
    assert rows["four_channels.wav"] == (8000, 4)


def test_clipping_is_measured_and_the_call_still_scored(messy_run: MessyRun) -> None:
    clipped_fraction = dict(
        (Path(path).name, value) for path, value in messy_run.query("SELECT audio_path, clipped_fraction FROM calls")
    )
    assert clipped_fraction["clipped.wav"] > 0.01
    assert clipped_fraction["call_016.wav"] == 0.0


def test_a_duplicate_file_is_scored_once_and_both_names_are_recorded(messy_run: MessyRun, ledger: Ledger) -> None:
    ledger.input("the same recording under two names (same sha256)")
    original_path = str(messy_run.input_dir / "good/call_016.wav")
    copy_path = str(messy_run.input_dir / DUPLICATE)
    files = messy_run.query(
        "SELECT audio_path, call_id, duplicate_of, audio_sha256 FROM recording_files WHERE audio_path IN (?, ?)"
        " ORDER BY audio_path",
        [copy_path, original_path],
    )
    assert [(path, call_id, of) for path, call_id, of, _ in files] == [
        (copy_path, "c016", original_path),
        (original_path, "c016", None),
    ]
    (sha256,) = {sha for *_, sha in files}
    calls = messy_run.query("SELECT call_id FROM calls WHERE audio_sha256 = ?", [sha256])
    ledger.outcome(checked=1, lost=int(not calls), duplicates=max(0, len(calls) - 1))
    assert calls == [("c016",)]
    assert messy_run.query("SELECT count(*) FROM failures WHERE audio_path = ?", [copy_path]) == [(0,)]


def test_metadata_problems_name_the_line_and_column(messy_run: MessyRun, ledger: Ledger) -> None:
    ledger.input("metadata CSV: missing columns, bad date, unknown call type, number as text, duplicate call_id")
    ledger.input("metadata CSV: rows pointing at a missing file, at ../ and at an absolute path outside")
    errors = [error for (error,) in messy_run.query("SELECT error FROM failures WHERE stage = 'metadata'")]
    for (line, column), message in METADATA_PROBLEMS.items():
        found = [e for e in errors if f"line {line}, column {column!r}" in e]
        assert len(found) == 1, (line, column, errors)
        assert message in found[0]
    # c017's bad cells are NULL, the call itself is scored with the rest of its row
    assert messy_run.query("SELECT agent_id, started_at, call_type_source FROM calls WHERE call_id = 'c017'") == [
        ("A002", None, "inferred")
    ]
    missing = messy_run.query("SELECT stage, error FROM failures WHERE audio_path LIKE '%missing.wav'")
    assert missing == [("discover", "listed in metadata line 5 but no such file")]


def test_nothing_outside_the_input_directory_is_read(messy_run: MessyRun) -> None:
    paths = [
        path
        for (path,) in messy_run.query(
            "SELECT audio_path FROM calls UNION ALL SELECT audio_path FROM failures WHERE stage <> 'metadata'"
        )
    ]
    root = str(messy_run.input_dir) + "/"
    assert paths and all(path.startswith(root) for path in paths), paths
