"""Stage 1: decode a recording into 16 kHz float32 samples, one array per channel.

PyAV's wheels bundle FFmpeg's decoders, so WAV (PCM, mu-law, A-law), MP3, FLAC, OGG/Opus/Vorbis and
AMR-NB/WB decode without any system package. Channels are kept apart because on stereo call recordings
each channel is one party (the agent on one side, the customer on the other).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16_000  # what the VAD and Whisper expect

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".mp3", ".flac", ".ogg", ".opus", ".oga", ".amr", ".m4a", ".aac", ".wma", ".au", ".gsm"}
)


class AudioDecodeError(Exception):
    """A recording could not be decoded; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class DecodedAudio:
    """A recording as float32 samples in [-1, 1] at SAMPLE_RATE, shape (channels, samples)."""

    path: str
    samples: np.ndarray
    source_sample_rate: int
    codec: str
    sha256: str

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / SAMPLE_RATE

    def channel(self, index: int) -> np.ndarray:
        return self.samples[index]

    def mixdown(self) -> np.ndarray:
        """Mono mix (mean of channels), for recordings where the parties share one stream."""
        return self.samples.mean(axis=0).astype(np.float32) if self.channels > 1 else self.samples[0]


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                frame_format = (frame.sample_rate, frame.layout.name, frame.format.name)
                if frame_format != input_format:
                    if len(frame.layout.channels) != n_channels:
                        raise AudioDecodeError(
                            path, f"channel count changes mid-file ({n_channels} -> {len(frame.layout.channels)})"
                        )
                    if resampler is not None:
                        chunks.extend(c.to_ndarray() for c in resampler.resample(None))
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=SAMPLE_RATE)
                    input_format = frame_format
                assert resampler is not None
                chunks.extend(c.to_ndarray() for c in resampler.resample(frame))
            if resampler is not None:
                chunks.extend(c.to_ndarray() for c in resampler.resample(None))
        except av.error.FFmpegError as error:
            raise AudioDecodeError(path, f"decoding {codec!r} failed: {error.strerror or error}") from error
    if not chunks:
        raise AudioDecodeError(path, f"no audio samples decoded (codec {codec!r})")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if samples.shape[0] != n_channels:
        raise AudioDecodeError(path, f"decoded {samples.shape[0]} channels, stream declares {n_channels}")
    if samples.shape[1] == 0:
        raise AudioDecodeError(path, "no audio samples decoded")
    return DecodedAudio(
        path=str(path),
        samples=np.clip(samples, -1.0, 1.0),
        source_sample_rate=source_rate,
        codec=codec,
        sha256=file_sha256(path),
    )
