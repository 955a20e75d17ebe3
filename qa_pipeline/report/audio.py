"""The recordings of the calls to review, embedded in the page as Ogg/Opus data URIs, with the personal data
said in them (the `redactions` with times) muted."""

from __future__ import annotations

import base64
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


def embed_audio(audio_path: str, mute: Sequence[tuple[float, float]] = ()) -> EmbeddedAudio:
    """The recording as an Ogg/Opus data URI with the `mute` stretches (personal data) silenced, or why it
    cannot be played (never raises)."""
    source = Path(audio_path)
    if not source.is_file():
        return EmbeddedAudio(audio_path, None, "file not found")
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
    return EmbeddedAudio(audio_path, "data:audio/ogg;base64," + base64.b64encode(result.stdout).decode("ascii"))


def embed_recordings(recordings: Sequence[tuple[str, Sequence[tuple[float, float]]]]) -> list[EmbeddedAudio]:
    """embed_audio(audio_path, mute) of each (audio_path, mute), AUDIO_WORKERS at a time, in their order."""
    with ThreadPoolExecutor(max_workers=AUDIO_WORKERS) as pool:
        return list(pool.map(lambda recording: embed_audio(*recording), recordings))
