"""Decode a recording into 16 kHz float32 samples, one array per channel.

PyAV's wheels bundle FFmpeg's decoders, so WAV (PCM, mu-law, A-law), MP3, FLAC, OGG/Opus/Vorbis and
AMR-NB/WB decode without any system package. Channels are kept apart because on stereo call recordings
each channel is one party (the agent on one side, the customer on the other).

Hours-long recordings are decoded in bounded memory: once a recording is longer than LONG_RECORDING_S
of audio its samples go to a spool file in the temporary directory (TMPDIR), mapped into memory as a
numpy memmap, instead of RAM; and the stages that work over a whole channel (VAD, ring detection,
loudness and pitch) go through a long recording BLOCK_S at a time (`is_long`, `block_starts`), so
that what they make from it is bounded too. The spool file is removed from the directory as soon as it
is mapped: its disk space returns when the last array viewing it is collected, and nothing is left
behind even by a process that is killed. Recordings up to LONG_RECORDING_S take the in-memory code
paths, unchanged.
"""

from __future__ import annotations

import contextlib
import math
import mmap
import os
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from qa_pipeline.intake.files import file_sha256

SAMPLE_RATE = 16_000  # what the VAD and Whisper expect

# Longer recordings are spooled to disk and processed block by block (see the module docstring). A
# 20-minute stereo recording is 154 MB of float32 in RAM and the in-memory code paths make a few
# full-size copies of a channel (decode, VAD padding, FFT and yin frames): about 1 GB at most.
# Ordinary calls, and all the sample calls, stay well below and keep the in-memory paths.
LONG_RECORDING_S = 20 * 60
# What the block-by-block paths take at a time: a minute of one channel is 3.75 MB of float32, and the
# frame features made from it (FFT frames, yin's difference function) are tens of MB.
BLOCK_S = 60.0


class AudioDecodeError(Exception):
    """A recording could not be decoded; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def is_long(n_samples: int) -> bool:
    """Is a channel of this many samples a long recording (spooled, processed block by block)?"""
    return n_samples > LONG_RECORDING_S * SAMPLE_RATE


def block_samples(multiple: int = 1) -> int:
    """Samples per block of the block-by-block paths: BLOCK_S, rounded down to a multiple of `multiple`."""
    return max(multiple, int(BLOCK_S * SAMPLE_RATE) // multiple * multiple)


def spool(shape: tuple[int, ...]) -> np.ndarray:
    """A zeroed float32 array of `shape` in a spool file in the temporary directory (TMPDIR; must be on disk,
    not tmpfs, for the spool to save memory). The file's blocks are reserved up front, so a full disk is an
    OSError here and not a crash when a page is written later; the file is unlinked at once."""
    size = math.prod(shape) * 4
    fd, name = tempfile.mkstemp(prefix="qa-audio-", suffix=".f32")
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, max(size, 1))
        else:  # pragma: no cover - not Linux
            os.ftruncate(fd, max(size, 1))
        with open(fd, "r+b", closefd=False) as handle:
            array = np.memmap(handle, dtype=np.float32, mode="r+", shape=shape)
    except BaseException:
        os.close(fd)
        os.unlink(name)
        raise
    os.close(fd)
    try:
        os.unlink(name)  # the mapping keeps the data; the directory entry goes now
    except OSError:  # pragma: no cover - a platform that cannot unlink an open file: at collection then
        weakref.finalize(array, _remove, name)
    return array


def _remove(name: str) -> None:  # pragma: no cover - see spool()
    with contextlib.suppress(OSError):
        os.unlink(name)


def release(block: np.ndarray) -> None:
    """Done reading `block` of a spooled array for now: its pages leave this process's resident memory (they
    stay in the spool file and the page cache, and come back on the next read). No-op for in-memory arrays."""
    root = block
    while isinstance(root.base, np.ndarray):
        root = root.base
    mapping = root.base  # the array np.memmap made sits on the mmap itself
    if not isinstance(mapping, mmap.mmap) or block.size == 0:
        return
    map_start = np.lib.array_utils.byte_bounds(root)[0] - getattr(root, "offset", 0) % mmap.ALLOCATIONGRANULARITY
    low, high = np.lib.array_utils.byte_bounds(block)
    first = -(-(low - map_start) // mmap.PAGESIZE) * mmap.PAGESIZE  # only the pages wholly inside the block
    stop = min(high - map_start, len(mapping)) // mmap.PAGESIZE * mmap.PAGESIZE
    if stop > first and hasattr(mapping, "madvise"):
        with contextlib.suppress(OSError, ValueError):
            mapping.madvise(mmap.MADV_DONTNEED, first, stop - first)


def block_starts(n_samples: int, multiple: int = 1) -> range:
    """Where the blocks of a long channel start (block_samples(multiple) apart)."""
    return range(0, n_samples, block_samples(multiple))


def mean_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """The float32 mean of equal-length channels: `np.mean(rows, axis=0)`, block by block into a spool array
    when the channels are long (the same values: the mean of each sample is taken on its own)."""
    n = len(rows[0])
    if not is_long(n):
        return np.mean(rows, axis=0).astype(np.float32)
    mixed = spool((n,))
    for start in block_starts(n):
        stop = min(n, start + block_samples())
        blocks = [row[start:stop] for row in rows]
        mixed[start:stop] = np.mean(blocks, axis=0).astype(np.float32)
        for block in [*blocks, mixed[start:stop]]:
            release(block)
    return mixed


@dataclass(frozen=True)
class DecodedAudio:
    """A recording as float32 samples in [-1, 1] at SAMPLE_RATE, shape (channels, samples).

    `samples` is an in-memory array, or for a recording longer than LONG_RECORDING_S a memmap of a spool
    file (already removed from the directory; its space returns when the arrays are collected). `close()`
    (or `with decode_audio(...) as audio:`) is there for callers that want to say they are done; nothing
    is left behind without it."""

    path: str
    samples: np.ndarray
    source_sample_rate: int
    codec: str
    sha256: str
    # Samples that were not numbers (NaN, ±Inf in a float WAV) and were repaired to silence or full scale.
    repaired_samples: int = 0

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / SAMPLE_RATE

    def channel(self, index: int) -> np.ndarray:
        return self.samples[index]

    @property
    def spooled(self) -> bool:
        """Are the samples in a spool file (a long recording) rather than in memory?"""
        return isinstance(self.samples, np.memmap) or isinstance(self.samples.base, np.memmap)

    def mixdown(self) -> np.ndarray:
        """Mono mix (mean of channels), for recordings where the parties share one stream."""
        if self.channels == 1:
            return self.samples[0]
        if self.spooled:
            return mean_rows(list(self.samples))
        return self.samples.mean(axis=0).astype(np.float32)

    def close(self) -> None:
        """Done with the samples: a spooled recording's pages leave this process's resident memory now. The
        spool file itself is already gone from the directory; its disk space returns with the last array."""
        if self.spooled:
            release(self.samples)

    def __enter__(self) -> DecodedAudio:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class _Samples:
    """Where the decoder puts its chunks: a list in memory (the original code path) until the recording
    passes LONG_RECORDING_S (or from the start, when the container announces a long recording), then a
    spool array that grows as needed, clipped chunk by chunk in place."""

    def __init__(self, path: Path, n_channels: int, expected_s: float | None) -> None:
        self.path = path
        self.n_channels = n_channels
        self.expected_s = expected_s
        self.chunks: list[np.ndarray] = []
        self.length = 0
        self.released = 0  # spooled samples before this are out of resident memory
        self.spooled: np.ndarray | None = None
        self.repaired = 0  # samples that were NaN or ±Inf
        if expected_s is not None and is_long(round(expected_s * SAMPLE_RATE)):
            self._spill()  # announced as long: straight to the spool, no RAM buffer on the way

    def add(self, chunk: np.ndarray) -> None:
        # A float WAV can carry NaN or ±Inf (a broken mixer, a bad conversion); one of them would make every
        # level and loudness of the call NaN (a call refused as "silent"). Repaired here, counted.
        bad = np.count_nonzero(~np.isfinite(chunk))
        if bad:
            self.repaired += int(bad)
            chunk = np.nan_to_num(chunk, nan=0.0, posinf=1.0, neginf=-1.0)
        if self.spooled is None:
            self.chunks.append(chunk)
            self.length += chunk.shape[1]
            if is_long(self.length):
                self._spill()
            return
        if chunk.shape[0] != self.n_channels:
            raise AudioDecodeError(self.path, f"decoded {chunk.shape[0]} channels, stream declares {self.n_channels}")
        if self.length + chunk.shape[1] > self.spooled.shape[1]:
            self._grow(self.length + chunk.shape[1])
        target = self.spooled[:, self.length : self.length + chunk.shape[1]]
        target[...] = chunk
        np.clip(target, -1.0, 1.0, out=target)
        self.length += chunk.shape[1]
        if self.length - self.released >= block_samples():  # written: out of this process's resident memory
            release(self.spooled[:, self.released : self.length])
            self.released = self.length

    def _spill(self) -> None:
        """The recording is long: move the chunks so far into a spool array sized for the whole of it."""
        chunks, self.chunks, self.length, self.released = self.chunks, [], 0, 0
        expected = math.ceil((self.expected_s or 0.0) * SAMPLE_RATE * 1.01) + SAMPLE_RATE
        self.spooled = self._new_spool(max(expected, 2 * sum(c.shape[1] for c in chunks)))
        for chunk in chunks:  # repaired and counted when they first came in
            self.add(chunk)

    def _grow(self, needed: int) -> None:
        """More audio than the container announced: a spool twice the size, the samples so far copied over."""
        assert self.spooled is not None
        old, self.spooled = self.spooled, self._new_spool(max(needed, 2 * self.spooled.shape[1]))
        for start in block_starts(self.length):
            stop = min(self.length, start + block_samples())
            self.spooled[:, start:stop] = old[:, start:stop]
            release(self.spooled[:, start:stop])
        del old

    def _new_spool(self, capacity: int) -> np.ndarray:
        try:
            return spool((self.n_channels, capacity))
        except OSError as error:
            raise AudioDecodeError(
                self.path,
                f"no room to spool {capacity / SAMPLE_RATE / 3600:.1f} h of audio in {tempfile.gettempdir()}"
                f" ({error.strerror or error})",
            ) from error

    def result(self, codec: str) -> np.ndarray:
        if self.spooled is not None:
            if self.length == 0:
                raise AudioDecodeError(self.path, "no audio samples decoded")
            samples = self.spooled[:, : self.length]
            release(self.spooled)
            return samples
        if not self.chunks:
            raise AudioDecodeError(self.path, f"no audio samples decoded (codec {codec!r})")
        samples = np.concatenate(self.chunks, axis=1).astype(np.float32, copy=False)
        if samples.shape[0] != self.n_channels:
            raise AudioDecodeError(self.path, f"decoded {samples.shape[0]} channels, stream declares {self.n_channels}")
        if samples.shape[1] == 0:
            raise AudioDecodeError(self.path, "no audio samples decoded")
        return np.clip(samples, -1.0, 1.0)


def _expected_seconds(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    """The duration the container announces (exact for WAV, an estimate for some MP3s), if any."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


# A few NaN or infinite samples are a glitch, repaired to silence (NaN) or full scale (±Inf); more than
# this share is a file whose float data is garbage, refused for what it is rather than scored from noise.
MAX_REPAIRED_FRACTION = 0.01

TRUNCATED_TOLERANCE_S = 0.1  # a writer's rounding, not a cut-off copy


def _wav_declared(path: Path) -> tuple[float, float] | None:
    """(seconds the WAV header declares, seconds of data the file holds), or None when it is no RIFF WAV or
    its writer left the size open (0 or 0xFFFFFFFF, as live recorders do). FFmpeg sizes a WAV by the file,
    so a copy cut short decodes without complaint; only the header still knows the call's length."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset, byte_rate = 12, 0
    while offset + 8 <= len(head):
        chunk, size = head[offset : offset + 4], int.from_bytes(head[offset + 4 : offset + 8], "little")
        if chunk == b"fmt " and offset + 16 <= len(head):
            byte_rate = int.from_bytes(head[offset + 16 : offset + 20], "little")
        if chunk == b"data":
            if byte_rate <= 0 or size in (0, 0xFFFFFFFF):
                return None
            held = max(0, path.stat().st_size - (offset + 8))
            return size / byte_rate, min(size, held) / byte_rate
        offset += 8 + size + (size & 1)
    return None


def decode_audio(path: Path | str) -> DecodedAudio:
    """Decode `path` to 16 kHz float32 per channel; raise AudioDecodeError with a clear reason."""
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(path, "file not found")
    if path.stat().st_size == 0:
        raise AudioDecodeError(path, "empty file (0 bytes)")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as error:
        raise AudioDecodeError(path, f"not a readable audio file ({error.strerror or error})") from error
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(path, "no audio stream in file")
        stream = container.streams.audio[0]
        if stream.codec_context is None:  # e.g. a WAV whose format tag no decoder knows
            raise AudioDecodeError(
                path, f"unsupported codec: no decoder for the audio stream of this {container.format.name} file"
            )
        codec = stream.codec_context.name
        source_rate = int(stream.codec_context.sample_rate or 0)
        n_channels = int(stream.codec_context.channels or 0)
        if source_rate <= 0 or n_channels <= 0:
            raise AudioDecodeError(path, f"codec {codec!r} reports no sample rate or channel count")
        # Planar float output keeps channels apart; FFmpeg's resampler does the rate conversion. A stream
        # may change rate mid-file (concatenated MP3s): a resampler set up for the first frames would pass
        # later ones through unconverted, so a new one is made whenever the input format changes.
        resampler: av.AudioResampler | None = None
        input_format: tuple[int, str, str] | None = None
        decoded = _Samples(path, n_channels, _expected_seconds(container, stream))
        try:
            for frame in container.decode(stream):
                frame_format = (frame.sample_rate, frame.layout.name, frame.format.name)
                if frame_format != input_format:
                    if len(frame.layout.channels) != n_channels:
                        raise AudioDecodeError(
                            path, f"channel count changes mid-file ({n_channels} -> {len(frame.layout.channels)})"
                        )
                    if resampler is not None:
                        for c in resampler.resample(None):
                            decoded.add(c.to_ndarray())
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=SAMPLE_RATE)
                    input_format = frame_format
                assert resampler is not None
                for c in resampler.resample(frame):
                    decoded.add(c.to_ndarray())
            if resampler is not None:
                for c in resampler.resample(None):
                    decoded.add(c.to_ndarray())
        except av.error.FFmpegError as error:
            raise AudioDecodeError(path, f"decoding {codec!r} failed: {error.strerror or error}") from error
    if (declared := _wav_declared(path)) is not None and declared[1] < declared[0] - TRUNCATED_TOLERANCE_S:
        raise AudioDecodeError(
            path, f"truncated: the header declares {declared[0]:.1f} s, the file holds {declared[1]:.1f} s"
        )
    samples = decoded.result(codec)
    if decoded.repaired > MAX_REPAIRED_FRACTION * samples.size:
        raise AudioDecodeError(
            path,
            f"corrupt float samples: {decoded.repaired / samples.size:.1%} of the samples are not numbers"
            f" (NaN or infinite; at most {MAX_REPAIRED_FRACTION:.0%} are repaired)",
        )
    return DecodedAudio(
        path=str(path),
        samples=samples,
        source_sample_rate=source_rate,
        codec=codec,
        sha256=file_sha256(path),
        repaired_samples=decoded.repaired,
    )
