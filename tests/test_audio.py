"""decode_audio: every supported codec and rate comes out as 16 kHz float32, one row per channel.

Each test file is generated with PyAV in tmp_path: a different sine frequency on every channel, so the
dominant frequency of each decoded row proves the channel was neither swapped nor mixed with another.
"""

from __future__ import annotations

import hashlib
import struct
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from av.audio.stream import AudioStream

from qa_pipeline.audio.decode import SAMPLE_RATE, AudioDecodeError, DecodedAudio, decode_audio

# One tone per channel, all below 4 kHz so an 8 kHz source (Nyquist 4 kHz) carries them.
TONES_HZ = (440.0, 1000.0, 2500.0, 3300.0, 600.0, 1500.0)
LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0"}
AMPLITUDE = 0.5


def _tones(rate: int, channels: int, seconds: float) -> np.ndarray:
    """int16 samples, shape (channels, samples), TONES_HZ[i] on channel i."""
    t = np.arange(round(rate * seconds)) / rate
    signal = np.stack([AMPLITUDE * np.sin(2 * np.pi * f * t) for f in TONES_HZ[:channels]])
    return np.round(signal * 32767).astype(np.int16)


def write_tones(path: Path, codec: str, rate: int, channels: int, seconds: float = 1.0) -> np.ndarray:
    """Encode the per-channel tones with PyAV; returns the int16 samples that were encoded."""
    layout = LAYOUTS[channels]
    pcm = _tones(rate, channels, seconds)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, AudioStream)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm.T).reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return pcm


def write_wave_module(path: Path, rate: int, channels: int, seconds: float = 1.0) -> np.ndarray:
    """A plain WAVE_FORMAT_PCM file from the standard library (no channel mask in the header)."""
    pcm = _tones(rate, channels, seconds)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.ascontiguousarray(pcm.T).astype("<i2").tobytes())
    return pcm


def _spectrum(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    magnitude = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE), magnitude


def dominant_hz(samples: np.ndarray) -> float:
    freqs, magnitude = _spectrum(samples)
    return float(freqs[int(np.argmax(magnitude))])


def crosstalk(samples: np.ndarray, other_hz: list[float]) -> float:
    """Largest magnitude at any of `other_hz`, relative to the channel's own peak."""
    freqs, magnitude = _spectrum(samples)
    return max(float(magnitude[int(np.argmin(np.abs(freqs - f)))] / magnitude.max()) for f in other_hz)


def assert_channels_are_the_written_tones(decoded: DecodedAudio, channels: int) -> None:
    assert decoded.channels == channels
    assert decoded.samples.shape[0] == channels
    found = [dominant_hz(decoded.channel(i)) for i in range(channels)]
    assert found == pytest.approx(list(TONES_HZ[:channels]), abs=2.0)
    for i in range(channels):
        others = [f for j, f in enumerate(TONES_HZ[:channels]) if j != i]
        if others:  # the other channels' tones must not leak into this one
            assert crosstalk(decoded.channel(i), others) < 0.02, f"channel {i} carries another channel's tone"


# (extension, encoder, decoder name as reported, sample rate, channels, duration tolerance in seconds)
CASES = [
    *[
        ("wav", "pcm_s16le", "pcm_s16le", rate, ch, 0.001)
        for rate in (8000, 11025, 16000, 44100, 48000)
        for ch in (1, 2, 3)
    ],
    *[("wav", "pcm_mulaw", "pcm_mulaw", rate, ch, 0.001) for rate in (8000, 16000) for ch in (1, 2)],
    *[("wav", "pcm_alaw", "pcm_alaw", rate, ch, 0.001) for rate in (8000, 11025) for ch in (1, 2)],
    *[
        ("mp3", "libmp3lame", "mp3float", rate, ch, 0.005)
        for rate in (8000, 11025, 16000, 44100, 48000)
        for ch in (1, 2)
    ],
    *[("flac", "flac", "flac", rate, ch, 0.001) for rate in (8000, 11025, 16000, 44100, 48000) for ch in (1, 2, 3)],
    # libopus only encodes at 8/12/16/24/48 kHz.
    *[("ogg", "libopus", "opus", rate, ch, 0.005) for rate in (8000, 16000, 48000) for ch in (1, 2, 3)],
    # AMR-NB is 8 kHz mono by definition; the encoder's flush adds one 20 ms frame the format cannot trim.
    ("amr", "libopencore_amrnb", "amrnb", 8000, 1, 0.021),
]


@pytest.mark.parametrize(
    ("ext", "encoder", "codec", "rate", "channels", "tolerance_s"),
    [pytest.param(*case, id=f"{case[1]}-{case[3]}Hz-{case[4]}ch") for case in CASES],
)
def test_decode_keeps_channels_resamples_to_16k(
    tmp_path: Path, ext: str, encoder: str, codec: str, rate: int, channels: int, tolerance_s: float
) -> None:
    path = tmp_path / f"call.{ext}"
    write_tones(path, encoder, rate, channels, seconds=1.0)

    decoded = decode_audio(path)

    assert decoded.path == str(path)
    assert decoded.codec == codec
    # Opus always decodes at 48 kHz whatever rate it was fed.
    assert decoded.source_sample_rate == (48000 if codec == "opus" else rate)
    assert decoded.samples.dtype == np.float32
    assert decoded.samples.ndim == 2
    assert abs(decoded.samples.shape[1] - SAMPLE_RATE * 1.0) <= tolerance_s * SAMPLE_RATE
    assert decoded.duration_s == pytest.approx(1.0, abs=tolerance_s)
    assert decoded.duration_s == decoded.samples.shape[1] / SAMPLE_RATE
    assert float(np.abs(decoded.samples).max()) <= 1.0
    assert decoded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert_channels_are_the_written_tones(decoded, channels)


@pytest.mark.parametrize("channels", [3, 4, 6])
def test_wav_without_channel_mask_keeps_every_channel(tmp_path: Path, channels: int) -> None:
    path = tmp_path / "plain.wav"
    write_wave_module(path, 8000, channels)

    decoded = decode_audio(path)

    assert decoded.codec == "pcm_s16le"
    assert decoded.samples.shape == (channels, SAMPLE_RATE)
    found = [dominant_hz(decoded.channel(i)) for i in range(channels)]
    assert found == pytest.approx(list(TONES_HZ[:channels]), abs=2.0)


def test_16k_pcm_is_passed_through_sample_for_sample(tmp_path: Path) -> None:
    path = tmp_path / "same_rate.wav"
    pcm = write_tones(path, "pcm_s16le", SAMPLE_RATE, 2, seconds=0.5)

    decoded = decode_audio(path)

    assert decoded.samples.shape == (2, 8000)
    np.testing.assert_allclose(decoded.samples, pcm / 32768.0, atol=1e-6)


def test_mixdown_is_the_mean_of_the_channels(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    pcm = write_tones(path, "pcm_s16le", SAMPLE_RATE, 2, seconds=0.5)

    decoded = decode_audio(path)
    mix = decoded.mixdown()

    assert mix.dtype == np.float32
    assert mix.shape == (8000,)
    np.testing.assert_allclose(mix, (pcm[0] + pcm[1].astype(np.float64)) / 2 / 32768.0, atol=1e-6)
    freqs, magnitude = _spectrum(mix)
    two_peaks = sorted(float(freqs[i]) for i in np.argsort(magnitude)[-2:])
    assert two_peaks == pytest.approx([440.0, 1000.0], abs=2.0)


def test_mixdown_of_mono_is_the_channel_itself(tmp_path: Path) -> None:
    path = tmp_path / "mono.flac"
    write_tones(path, "flac", 8000, 1, seconds=0.5)

    decoded = decode_audio(path)

    np.testing.assert_array_equal(decoded.mixdown(), decoded.channel(0))
    assert decoded.mixdown().shape == (8000,)


def test_sha256_differs_between_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    write_tones(first, "pcm_s16le", 8000, 1, seconds=0.25)
    write_tones(second, "pcm_s16le", 8000, 2, seconds=0.25)

    assert decode_audio(first).sha256 != decode_audio(second).sha256
    assert decode_audio(first).sha256 == hashlib.sha256(first.read_bytes()).hexdigest()


# -- errors --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    assert info.value.reason == "file not found"


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(path)
    assert str(path) in str(info.value)
    assert "empty file" in info.value.reason
    assert "0 bytes" in info.value.reason


def test_text_file_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("这不是录音文件, just some text\n" * 20, encoding="utf-8")
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(path)
    assert str(path) in str(info.value)
    assert "not a readable audio file" in info.value.reason


def test_random_bytes_named_mp3(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(path)
    assert str(path) in str(info.value)
    assert "not a readable audio file" in info.value.reason


def test_a_copy_cut_short_is_truncated(tmp_path: Path) -> None:
    """A WAV whose header declares more data than the file holds (a copy that did not finish) is an
    error: scored, half a call would fail its closing; the complete copy is scored when it arrives."""
    whole = tmp_path / "whole.wav"
    write_tones(whole, "pcm_s16le", SAMPLE_RATE, 2, seconds=1.0)
    content = whole.read_bytes()
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(content[: len(content) // 2])
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(truncated)
    assert str(info.value) == f"{truncated}: truncated: the header declares 1.0 s, the file holds 0.5 s"


@pytest.mark.parametrize("open_size", [0, 0xFFFFFFFF])
def test_a_recording_whose_writer_died_decodes_the_part_that_is_there(tmp_path: Path, open_size: int) -> None:
    """A recorder that died mid-call never wrote the sizes (live writers leave 0 or 0xFFFFFFFF): the
    samples present are the call."""
    whole = tmp_path / "whole.wav"
    write_tones(whole, "pcm_s16le", SAMPLE_RATE, 2, seconds=1.0)
    content = bytearray(whole.read_bytes())
    data_start = content.index(b"data") + 8
    content[data_start - 4 : data_start] = open_size.to_bytes(4, "little")
    cut = len(content) // 2
    died = tmp_path / "died.wav"
    died.write_bytes(bytes(content[:cut]))
    frames_present = (cut - data_start) // 4  # 2 channels x 2 bytes

    decoded = decode_audio(died)

    assert 0.45 < decoded.duration_s < 0.5
    assert decoded.samples.shape == (2, frames_present)
    assert decoded.sha256 == hashlib.sha256(bytes(content[:cut])).hexdigest()
    assert_channels_are_the_written_tones(decoded, 2)


def test_a_codec_no_decoder_knows_is_named(tmp_path: Path) -> None:
    """A WAV whose format tag (0x7777) no decoder knows."""
    data = np.zeros(1600, dtype="<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 0x7777, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "odd.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(path)
    assert str(info.value) == f"{path}: unsupported codec: no decoder for the audio stream of this wav file"


def test_wav_with_only_a_header_is_an_error(tmp_path: Path) -> None:
    whole = tmp_path / "whole.wav"
    write_tones(whole, "pcm_s16le", 8000, 1, seconds=0.25)
    content = whole.read_bytes()
    header_only = tmp_path / "header_only.wav"
    header_only.write_bytes(content[: content.index(b"data") + 8])
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(header_only)
    assert str(header_only) in str(info.value)


def test_file_with_only_video(tmp_path: Path) -> None:
    path = tmp_path / "screen.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(AudioDecodeError) as info:
        decode_audio(path)
    assert str(path) in str(info.value)
    assert info.value.reason == "no audio stream in file"


def _without_id3(content: bytes) -> bytes:
    if content[:3] != b"ID3":
        return content
    size = (content[6] & 0x7F) << 21 | (content[7] & 0x7F) << 14 | (content[8] & 0x7F) << 7 | content[9] & 0x7F
    return content[10 + size :]


def _appended_mp3s(tmp_path: Path, second_rate: int, second_channels: int) -> Path:
    """A 44.1 kHz stereo MP3 with a second MP3 (ID3 tag stripped) appended byte for byte."""
    first, second = tmp_path / "first.mp3", tmp_path / "second.mp3"
    write_tones(first, "libmp3lame", 44100, 2)
    write_tones(second, "libmp3lame", second_rate, second_channels)
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(first.read_bytes() + _without_id3(second.read_bytes()))
    return joined


def test_mp3_whose_sample_rate_changes_midway(tmp_path: Path) -> None:
    """Two MP3 recordings appended (44.1 kHz then 16 kHz, both stereo, 1 s each).

    Either it decodes to ~2 s with the tones in place, or it is refused with an AudioDecodeError naming
    the file. A silently wrong duration or a pitch-shifted second half is not acceptable.
    """
    joined = _appended_mp3s(tmp_path, 16000, 2)

    try:
        decoded = decode_audio(joined)
    except AudioDecodeError as error:
        assert str(joined) in str(error)
        return
    assert decoded.duration_s == pytest.approx(2.0, abs=0.15)
    second_half = decoded.samples[:, -SAMPLE_RATE // 2 :]
    assert [dominant_hz(ch) for ch in second_half] == pytest.approx([440.0, 1000.0], abs=4.0)


def test_mp3_whose_channel_count_changes_midway(tmp_path: Path) -> None:
    """A stereo MP3 with a mono one appended: a clear AudioDecodeError or a decode, never a bare ValueError."""
    joined = _appended_mp3s(tmp_path, 16000, 1)

    try:
        decoded = decode_audio(joined)
    except AudioDecodeError as error:
        assert str(joined) in str(error)
        return
    assert decoded.channels == 2
    assert decoded.duration_s == pytest.approx(2.0, abs=0.15)
