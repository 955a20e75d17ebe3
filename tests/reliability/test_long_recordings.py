"""Hours-long recordings in bounded memory: the spooled, block-by-block paths give the in-memory paths' answers.

A recording longer than qa_pipeline.audio.decode.LONG_RECORDING_S is decoded into a spool file and its channels are
processed a block at a time (VAD, ring detection, loudness and pitch, ASR windows, the diarizer's filterbank
mean). These tests force a few-minute recording through both paths (the threshold patched down to a minute,
blocks to a few odd seconds so that block edges fall everywhere) and compare: the same samples, the same
speech regions, the same frame features and measures, the same transcript; and nothing left in the temporary
directory. The slow one takes a two-hour recording through decode -> transcript -> measures.
"""

from __future__ import annotations

import gc
import os
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa_pipeline.asr import transcribe, vad
from qa_pipeline.audio import decode as audio
from qa_pipeline.audio.decode import SAMPLE_RATE, DecodedAudio, decode_audio
from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.measures import acoustics, measure_call
from tests.conftest import SAMPLE_AUDIO
from tests.reliability.conftest import Ledger

RATE = 8_000
# Exchanges from call_001 (seconds in that file): an agent utterance on channel 0 answered by the customer on
# channel 1; each is heard on both sides by the embedded VAD and ASR.
EXCHANGES_S = ((10.0, 19.3), (28.7, 38.0), (38.3, 44.5))
RING_ON_S, RING_PERIOD_S, ANSWER_S = 1.0, 5.0, 8.5


def write_call(path: Path, seconds: float, every_s: float, first_s: float, seed: int = 3) -> list[tuple[float, float]]:
    """A stereo 8 kHz PCM16 call: two China ringback bursts on the agent channel in near-silence, the line
    noise from ANSWER_S, and a call_001 exchange every `every_s` from `first_s`, written a minute at a time.
    Returns the (start_s, end_s) of the exchanges."""
    with wave.open(str(SAMPLE_AUDIO / "call_001.wav"), "rb") as handle:
        source = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").reshape(-1, 2)
    placed: list[tuple[int, np.ndarray]] = []
    times: list[tuple[float, float]] = []
    start = first_s
    while True:
        cut_start, cut_end = EXCHANGES_S[len(times) % len(EXCHANGES_S)]
        if start + cut_end - cut_start > seconds - 3:
            break
        placed.append((round(start * RATE), source[round(cut_start * RATE) : round(cut_end * RATE)].astype(float)))
        times.append((start, start + cut_end - cut_start))
        start += every_s
    t = np.arange(round(RING_ON_S * RATE)) / RATE
    ring = 32768 * 10 ** (-22 / 20) * np.sin(2 * np.pi * 450 * t)
    rings = [(round((0.5 + i * RING_PERIOD_S) * RATE), np.stack([ring, np.zeros_like(ring)], axis=1)) for i in (0, 1)]
    rng = np.random.default_rng(seed)
    total, block = round(seconds * RATE), 60 * RATE
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        for first in range(0, total, block):
            count = min(block, total - first)
            level = np.where(np.arange(first, first + count) < ANSWER_S * RATE, 10 ** (-80 / 20), 10 ** (-60 / 20))
            pcm = rng.normal(0.0, 1.0, size=(count, 2)) * (32768 * level)[:, None]
            for at, cut in [*rings, *placed]:
                lo, hi = max(at, first), min(at + len(cut), first + count)
                if lo < hi:
                    pcm[lo - first : hi - first] = cut[lo - at : hi - at]
            handle.writeframes(np.clip(np.round(pcm), -32768, 32767).astype("<i2").tobytes())
    return times


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory of the test's own (the spool goes there): what is left in it is the code's."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def temp_entries() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


@pytest.fixture(scope="module")
def call_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "three_minutes.wav"
    write_call(path, 180.0, every_s=20.0, first_s=10.0)
    return path


@pytest.fixture(scope="module")
def in_memory(call_path: Path) -> DecodedAudio:
    decoded = decode_audio(call_path)
    assert not decoded.spooled
    return decoded


@pytest.fixture
def long_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Everything over a minute is a long recording, processed in blocks of an odd 7.3 s."""
    monkeypatch.setattr(audio, "LONG_RECORDING_S", 60)
    monkeypatch.setattr(audio, "BLOCK_S", 7.3)
    yield


def _spooled(path: Path) -> DecodedAudio:
    decoded = decode_audio(path)
    assert decoded.spooled
    return decoded


def test_spooled_decode_gives_the_same_samples_and_leaves_nothing_behind(
    call_path: Path, in_memory: DecodedAudio, long_paths: None, ledger: Ledger
) -> None:
    ledger.input("3-min stereo 8 kHz PCM16 call decoded to RAM and, threshold at 1 min, into a spool file")
    before = temp_entries()
    spooled = _spooled(call_path)

    assert isinstance(spooled.samples, np.memmap)
    assert spooled.samples.shape == in_memory.samples.shape
    np.testing.assert_array_equal(spooled.samples, in_memory.samples)
    assert (spooled.channels, spooled.duration_s, spooled.sha256, spooled.codec, spooled.source_sample_rate) == (
        in_memory.channels,
        in_memory.duration_s,
        in_memory.sha256,
        in_memory.codec,
        in_memory.source_sample_rate,
    )
    np.testing.assert_array_equal(spooled.channel(1), in_memory.channel(1))
    np.testing.assert_array_equal(spooled.mixdown(), in_memory.mixdown())
    assert temp_entries() == before, "the spool file is unlinked as soon as it is mapped"
    with spooled:
        np.testing.assert_array_equal(spooled.channel(0)[-1000:], in_memory.channel(0)[-1000:])
    np.testing.assert_array_equal(spooled.channel(0), in_memory.channel(0))  # still readable after close()
    del spooled
    gc.collect()
    assert temp_entries() == before


def test_a_spool_that_has_to_grow_keeps_every_sample(
    call_path: Path, in_memory: DecodedAudio, long_paths: None, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.input("3-min call whose container understates its duration (10 s): the spool grows while decoding")
    monkeypatch.setattr(audio, "_expected_seconds", lambda container, stream: 10.0)
    np.testing.assert_array_equal(_spooled(call_path).samples, in_memory.samples)


def test_a_full_spool_directory_is_a_decode_error(
    call_path: Path, long_paths: None, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.fault("no room in TMPDIR for the spool file of a long recording")

    def no_room(fd: int, offset: int, length: int) -> None:
        raise OSError(28, "No space left on device")

    before = temp_entries()
    monkeypatch.setattr(os, "posix_fallocate", no_room)
    with pytest.raises(audio.AudioDecodeError, match="no room to spool"):
        decode_audio(call_path)
    assert temp_entries() == before


def test_vad_block_by_block_finds_the_same_speech(
    in_memory: DecodedAudio, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.input("12 min of call audio (a 3-min channel four times over): VAD whole and block by block")
    from faster_whisper.vad import get_vad_model

    channel = np.tile(in_memory.channel(1), 4)  # > one 10,000-window model call: a block edge inside
    padded = np.pad(channel, (0, vad.WINDOW_SAMPLES - len(channel) % vad.WINDOW_SAMPLES))
    expected = vad.speech_regions(channel)

    monkeypatch.setattr(audio, "LONG_RECORDING_S", 60)
    np.testing.assert_array_equal(vad._speech_probabilities(channel), get_vad_model()(padded))
    assert vad.speech_regions(channel) == expected
    assert len(expected) >= 16


@pytest.mark.parametrize("seed", range(6))
def test_vad_post_processing_matches_faster_whisper(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """vad._timestamps against faster-whisper's get_speech_timestamps over the same probabilities (random
    speech/silence runs, long ones cut at max_speech_duration_s, a stretch of speech at the very end)."""
    import faster_whisper.vad as fw_vad

    rng = np.random.default_rng(seed)
    runs = rng.integers(1, 900, size=60)
    levels = rng.uniform(0, 1, size=60)
    probs = np.repeat(levels, runs).astype(np.float32) + rng.normal(0, 0.05, size=int(runs.sum())).astype(np.float32)
    length = len(probs) * vad.WINDOW_SAMPLES - int(rng.integers(1, vad.WINDOW_SAMPLES))

    class FakeModel:
        def __call__(self, padded: np.ndarray) -> np.ndarray:
            assert len(padded) == len(probs) * vad.WINDOW_SAMPLES
            return probs

    monkeypatch.setattr(fw_vad, "get_vad_model", FakeModel)
    for options in (
        fw_vad.VadOptions(threshold=0.5, min_speech_duration_ms=100, max_speech_duration_s=25.0),
        fw_vad.VadOptions(threshold=0.4, min_silence_duration_ms=500, speech_pad_ms=150, max_speech_duration_s=8.0),
        fw_vad.VadOptions(threshold=0.6, neg_threshold=0.2, min_silence_duration_ms=200, speech_pad_ms=50),
    ):
        expected = fw_vad.get_speech_timestamps(np.zeros(length, dtype=np.float32), options)
        assert vad._timestamps(probs, length, options) == expected


def test_frame_features_and_measures_are_the_same_block_by_block(
    call_path: Path, in_memory: DecodedAudio, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.input("3-min call with ringback: ring frames, levels, voice track and measures whole vs in 7.3 s blocks")
    agent, customer = in_memory.channel(0), in_memory.channel(1)
    regions = [(r.start_s, r.end_s) for r in vad.speech_regions(agent)]
    customer_regions = [(r.start_s, r.end_s) for r in vad.speech_regions(customer)]
    from qa_pipeline.asr.transcript import Segment, Transcript

    transcript = Transcript(
        segments=tuple(Segment("agent", a, b, "您好", 0.9) for a, b in regions)
        + tuple(Segment("customer", a, b, "你好", 0.9) for a, b in customer_regions),
        diarization="channel",
        asr_model="none",
        speech_regions={"agent": tuple(regions), "customer": tuple(customer_regions)},
    )
    metadata = CallMetadata(audio_file=call_path.name)
    expected = (
        acoustics.tonal_frames(agent, acoustics.CHINA.frequencies_hz),
        acoustics.frame_levels_db(customer),
        acoustics.voice_track(agent, regions),
        measure_call(in_memory, transcript, metadata),
    )

    monkeypatch.setattr(audio, "LONG_RECORDING_S", 60)
    monkeypatch.setattr(audio, "BLOCK_S", 7.3)
    spooled = _spooled(call_path)
    tonal = acoustics.tonal_frames(spooled.channel(0), acoustics.CHINA.frequencies_hz)
    levels = acoustics.frame_levels_db(spooled.channel(1))
    track = acoustics.voice_track(spooled.channel(0), regions)
    measures = measure_call(spooled, transcript, metadata)

    np.testing.assert_array_equal(tonal, expected[0])
    np.testing.assert_array_equal(levels, expected[1])
    for name in ("times_s", "rms_db", "f0_hz"):
        np.testing.assert_array_equal(getattr(track, name), getattr(expected[2], name))
    assert np.isfinite(track.f0_hz).sum() > 100
    assert measures == expected[3]
    assert measures.ring_count == 2 and measures.answer_source in ("line", "speech")
    assert measures.raised_voice is not None


def test_transcript_is_the_same_with_windows_decoded_a_batch_at_a_time(
    call_path: Path, in_memory: DecodedAudio, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.input("3-min call, 9 exchanges: ASR over all windows at once vs one batch of windows per call")
    from qa_pipeline.asr.models import resolve_model
    from qa_pipeline.asr.speakers import build_transcript

    transcriber = transcribe.get_transcriber(resolve_model(None, "cpu"), transcribe.AsrSettings(batch_size=1))
    decoded_calls: list[int] = []
    decode_windows = transcriber._decode_windows

    def counting(windows: list[transcribe._Window], *args: Any) -> Any:
        decoded_calls.append(len(windows))
        return decode_windows(windows, *args)

    monkeypatch.setattr(transcriber, "_decode_windows", counting)
    expected = build_transcript(in_memory, transcriber)
    whole_calls = len(decoded_calls)

    monkeypatch.setattr(audio, "LONG_RECORDING_S", 60)
    monkeypatch.setattr(audio, "BLOCK_S", 7.3)
    monkeypatch.setattr(transcribe, "LONG_CHANNEL_BATCHES", 1)
    found = build_transcript(_spooled(call_path), transcriber)

    assert len(decoded_calls) - whole_calls > whole_calls, "the long path decodes the windows in several calls"
    assert found == expected
    assert sum(1 for s in found.segments if s.text) >= 12


def test_mono_diarization_is_the_same_block_by_block(
    in_memory: DecodedAudio, monkeypatch: pytest.MonkeyPatch, ledger: Ledger
) -> None:
    ledger.input("first minute of the call mixed to mono: embedded diarization whole vs filterbank mean by block")
    from qa_pipeline.asr.diarize import DiarizationSettings, EmbeddedDiarizer, _windows

    mono = in_memory.mixdown()[: 60 * SAMPLE_RATE]  # three exchanges (CAM++ on two cores: ~10 s a call)
    diarizer = EmbeddedDiarizer(DiarizationSettings(backend="embedded", device="cpu"))
    expected = diarizer(mono)
    windows = _windows(vad.speech_regions(mono, diarizer.settings.vad), diarizer.settings)
    clips = [mono[int(w.start_s * SAMPLE_RATE) : int(w.end_s * SAMPLE_RATE)] for w in windows]
    import torch

    with torch.inference_mode():
        whole_mean = diarizer.model.fbank(torch.from_numpy(np.concatenate(clips))[None, None])[0].mean(dim=0)

    monkeypatch.setattr(audio, "LONG_RECORDING_S", 30)
    monkeypatch.setattr(audio, "BLOCK_S", 7.3)
    with torch.inference_mode():
        block_mean = diarizer._feature_mean_by_block(clips)
    found = diarizer(mono)

    np.testing.assert_allclose(block_mean.numpy(), whole_mean.numpy(), rtol=1e-5, atol=1e-5)
    assert found.turns == expected.turns
    assert found.confidence == pytest.approx(expected.confidence, abs=0.002)


class _AnonPeak:
    """How far this process's RssAnon rose above where it was, sampled every 0.05 s while in the block."""

    def __init__(self) -> None:
        self.start = self.peak = self.now()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> int:
        with open("/proc/self/status", encoding="ascii") as handle:
            return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("RssAnon:"))

    @property
    def rise(self) -> int:
        return self.peak - self.start

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.05)

    def __enter__(self) -> _AnonPeak:
        gc.collect()
        self.start = self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def _resident_file_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("RssFile:"))


def test_read_blocks_of_a_spool_leave_resident_memory(call_path: Path, long_paths: None, ledger: Ledger) -> None:
    ledger.input("3-min call spooled: pages read from the spool file, then released")
    spooled = _spooled(call_path)
    before = _resident_file_kib()
    assert float(np.abs(spooled.channel(1)).sum()) > 0  # every page of channel 1 read
    read = _resident_file_kib()
    audio.release(spooled.channel(1)[1000:])
    released = _resident_file_kib()

    size_kib = spooled.channel(1).nbytes // 1024
    assert read - before > size_kib * 0.8
    assert read - released > size_kib * 0.8
    np.testing.assert_array_equal(spooled.channel(1)[:5], decode_audio(call_path).channel(1)[:5])


@pytest.mark.slow
def test_a_two_hour_recording_goes_through_in_bounded_memory(tmp_path: Path, ledger: Ledger) -> None:
    ledger.input("2-hour stereo 8 kHz PCM16 recording, line noise and a call_001 exchange every 5 min (24)")
    from qa_pipeline.asr.models import resolve_model
    from qa_pipeline.asr.speakers import build_transcript
    from qa_pipeline.config.scorecard import load_scorecard

    path = tmp_path / "two_hours.wav"
    exchanges = write_call(path, 7200.0, every_s=300.0, first_s=150.0)
    scorecard = load_scorecard()
    transcriber = transcribe.get_transcriber(resolve_model(None, "cpu"))
    prompt = transcribe.call_prompt(scorecard.organisations, scorecard.asr_prompt)
    before = temp_entries()

    with _AnonPeak() as decoding:
        decoded = decode_audio(path)
    transcript = build_transcript(decoded, transcriber, prompt=prompt)
    with _AnonPeak() as measuring:
        measures = measure_call(decoded, transcript, CallMetadata(audio_file=path.name), scorecard.timing)
    spooled, duration_s, size = decoded.spooled, decoded.duration_s, decoded.samples.nbytes
    del decoded
    gc.collect()

    assert spooled and duration_s == pytest.approx(7200.0, abs=0.01)
    assert len(exchanges) == 24
    for start_s, end_s in exchanges:
        for speaker in ("agent", "customer"):
            said = [s for s in transcript.segments if s.speaker == speaker and s.start_s < end_s and s.end_s > start_s]
            assert any(s.text for s in said), f"{speaker} at {start_s:.0f}-{end_s:.0f} s got no text"
            assert all(start_s - 0.5 <= s.start_s and s.end_s <= end_s + 0.5 for s in said)
    assert all(any(a <= s.start_s < b for a, b in exchanges) for s in transcript.segments), "text only where spoken"
    assert measures.ring_count == 2
    assert measures.speech_end_s == pytest.approx(exchanges[-1][1], abs=1.0)
    assert len(measures.silences) == len(exchanges)  # the silence before each exchange (and none inside one)
    # The 922 MB of samples live in the spool file: decoding and measuring (ring FFT frames, levels, pitch over
    # the whole recording) add little anonymous memory (the in-memory paths: GBs).
    assert decoding.rise < size / 4, f"decoding took {decoding.rise / 2**20:.0f} MiB"
    assert measuring.rise < size / 4, f"measuring took {measuring.rise / 2**20:.0f} MiB"
    assert temp_entries() == before
