"""The recordings of the calls to review, embedded in the page as Ogg/Opus data URIs, with the personal data
said in them (the `redactions` with times) muted.

Encoding is most of the report's time (about 1.3 s for 20 calls here), and the next report, after a run
that re-judged or added a few calls, embeds mostly the same recordings: each encoding is kept in a cache
folder beside the report (`.audio/`, what the page embeds anyway: the personal data muted), named by a digest
of the file (path, size, modification time), the muted stretches and the encoder settings, and encodings
the report no longer embeds are deleted."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qa_pipeline.report.views import EmbeddedAudio

# Recordings are embedded as Ogg/Opus: 16 kbit/s keeps telephone speech clear (stereo kept, so each party
# stays on its own side) at about 120 KB a minute (160 KB once base64-encoded), 1/16 of 8 kHz stereo PCM.
AUDIO_BITRATE = "16k"
FFMPEG_TIMEOUT_S = 120
AUDIO_WORKERS = 4

MUTE_MARGIN_S = 0.3  # word timestamps are approximate: mute a little before and after


def cache_key(source: Path, mute: Sequence[tuple[float, float]]) -> str:
    """What an encoding depends on: the file as it is now, the muted stretches, the encoder settings."""
    stat = source.stat()
    document = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{list(mute)}|{AUDIO_BITRATE}|{MUTE_MARGIN_S}"
    return hashlib.sha256(document.encode("utf-8", "surrogateescape")).hexdigest()


def embed_audio(audio_path: str, mute: Sequence[tuple[float, float]] = (), cached: Path | None = None) -> EmbeddedAudio:
    """The recording as an Ogg/Opus data URI with the `mute` stretches (personal data) silenced, or why it
    cannot be played (never raises). `cached`: where this encoding is kept (embed_recordings names it): read
    when it is there, else written."""
    source = Path(audio_path)
    if not source.is_file():
        return EmbeddedAudio(audio_path, None, "file not found")
    if cached is not None and cached.is_file():
        return _data_uri(audio_path, cached.read_bytes())
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return EmbeddedAudio(audio_path, None, "ffmpeg is not installed")
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(source), "-vn"]
    if mute:
        spans = "+".join(
            f"between(t,{max(0.0, start - MUTE_MARGIN_S):.2f},{end + MUTE_MARGIN_S:.2f})" for start, end in mute
        )
        command += ["-af", f"volume=enable='{spans}':volume=0"]
    command += ["-map_metadata", "-1", "-c:a", "libopus", "-b:a", AUDIO_BITRATE, "-application", "voip"]
    command += ["-f", "ogg", "pipe:1"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return EmbeddedAudio(audio_path, None, f"ffmpeg failed: {error}")
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        return EmbeddedAudio(audio_path, None, f"ffmpeg failed: {message[-1] if message else result.returncode}")
    if cached is not None:
        partial = cached.with_suffix(".partial")
        partial.write_bytes(result.stdout)
        partial.replace(cached)  # a report written at the same time never reads half an encoding
    return _data_uri(audio_path, result.stdout)


def _data_uri(audio_path: str, encoded: bytes) -> EmbeddedAudio:
    return EmbeddedAudio(audio_path, "data:audio/ogg;base64," + base64.b64encode(encoded).decode("ascii"))


def embed_recordings(
    recordings: Sequence[tuple[str, Sequence[tuple[float, float]]]], cache_dir: Path | None = None
) -> list[EmbeddedAudio]:
    """embed_audio(audio_path, mute) of each (audio_path, mute), AUDIO_WORKERS at a time, in their order;
    with `cache_dir`, each encoding kept there under its cache_key, and the ones none of them used deleted."""
    cached: list[Path | None] = [None] * len(recordings)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached = [
            cache_dir / f"{cache_key(Path(path), mute)}.ogg" if Path(path).is_file() else None
            for path, mute in recordings
        ]
        used = {path.name for path in cached if path is not None}
        for stale in cache_dir.glob("*.ogg"):
            if stale.name not in used:
                stale.unlink(missing_ok=True)
    with ThreadPoolExecutor(max_workers=AUDIO_WORKERS) as pool:
        return list(
            pool.map(lambda item: embed_audio(item[0][0], item[0][1], item[1]), zip(recordings, cached, strict=True))
        )
