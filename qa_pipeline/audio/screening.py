"""Is this recording a call at all? Refuse, with the reason, what would otherwise get a score.

A switch records hang-ups before anyone spoke, lines that were never connected (digital silence), hold
music and test tones. Scored like calls, they would fail the greeting and every mandated phrase and drag
the agent's KPIs down for something the agent never handled. So a recording too short to hold a
conversation, one that is digitally silent, and one where speech recognition found no words at all go
to `failures` with a reason a person can check by listening, and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from qa_pipeline.audio.decode import DecodedAudio, release

_BLOCK = 1 << 20  # samples per block when scanning levels: bounded memory on hours-long recordings (spooled)


@dataclass(frozen=True)
class InputSettings:
    """The scorecard's [input] table."""

    min_duration_s: float = 2.0  # shorter: a hang-up or a misdial, not a call
    silence_dbfs: float = -60.0  # peak below this on every channel: digital silence, the line was dead


class NotACallError(Exception):
    """The recording holds no call to score; the message says why in terms a person can check."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


CLIPPED_LEVEL = 0.99  # |sample| at or above this: flattened at full scale (PCM16 full scale is 0.99997)


@dataclass(frozen=True)
class Levels:
    """How loud a recording is, from one pass over its samples."""

    peak_dbfs: float  # the loudest sample of any channel, in dB below full scale (-inf for all zeros)
    # Share of samples (all channels) at full scale: a recording made too hot, whose loudness and pitch
    # measurements (raised voice) and ASR suffer; stored so QA leads can see why a verdict may be off.
    clipped_fraction: float


def measure_levels(audio: DecodedAudio) -> Levels:
    """Peak and clipping of `audio`, block by block (bounded memory on a spooled hours-long recording)."""
    samples = audio.samples
    peak, clipped = 0.0, 0
    for start in range(0, samples.shape[1], _BLOCK):
        block = np.abs(samples[:, start : start + _BLOCK])
        peak = max(peak, float(block.max(initial=0.0)))
        clipped += int(np.count_nonzero(block >= CLIPPED_LEVEL))
        release(samples[:, start : start + _BLOCK])
    return Levels(
        peak_dbfs=20 * float(np.log10(peak)) if peak > 0 else float("-inf"),
        clipped_fraction=round(clipped / samples.size, 4) if samples.size else 0.0,
    )


def _level(dbfs: float) -> str:
    return "no signal at all" if dbfs == float("-inf") else f"peak {dbfs:.0f} dBFS"


def screen_audio(audio: DecodedAudio, settings: InputSettings) -> Levels:
    """The recording's levels; NotACallError for a recording too short to be a call or digitally silent."""
    if audio.duration_s < settings.min_duration_s:
        raise NotACallError(
            audio.path,
            f"recording is {audio.duration_s:.1f} s long: too short to be a call"
            f" (scorecard [input] min_duration_s = {settings.min_duration_s:g})",
        )
    levels = measure_levels(audio)
    if levels.peak_dbfs < settings.silence_dbfs:
        raise NotACallError(
            audio.path,
            f"recording is silent ({_level(levels.peak_dbfs)} over {audio.duration_s:.1f} s, below"
            f" [input] silence_dbfs = {settings.silence_dbfs:g}): the line carried no sound",
        )
    return levels


def require_speech(audio: DecodedAudio, texts: Iterable[str], levels: Levels) -> None:
    """Raise NotACallError when speech recognition found no words in the whole recording (`texts`: what it
    heard, segment by segment)."""
    if any(text.strip() for text in texts):
        return
    raise NotACallError(
        audio.path,
        f"no speech found in {audio.duration_s:.1f} s of sound ({_level(levels.peak_dbfs)}): tone, music or"
        " noise only, no words to check",
    )
