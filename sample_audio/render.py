"""Rendering a call: the voices, the telephone channel (band, 8 kHz, line noise), ringback, the audio files."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

import numpy as np
import soundfile as sf
from scipy import signal

from .catalogue import (
    ANSWER_AFTER_RING_S,
    ANSWER_GRID,
    ANSWER_INTO_RING_S,
    IDLE_NOISE_DBFS,
    RAISED_CONTOUR,
    RAISED_LEVEL_DB,
    RAISED_WARP,
    RING_FIRST_S,
    RING_ON_S,
    RING_PERIOD_S,
    RINGBACK_HZ,
    RINGBACK_LEVEL_DBFS,
    TAIL_EXTRA_S,
)
from .judge import CallClock
from .scripts import AGENT_VOICES, CallSpec, CheckName, Codec, Ringback, Speaker, Voice
from .tts import MandarinTts

OUTPUT_RATE: Final = 8000  # telephone narrowband
TELEPHONE_BAND_HZ: Final = (300.0, 3400.0)
LINE_SNR_DB: Final = 35.0


def seconds(sample: int) -> float:
    # k/8000 has at most 6 decimals, so this is the exact sample time.
    return round(sample / OUTPUT_RATE, 6)


def telephone_band(audio: np.ndarray, rate: int) -> np.ndarray:
    """Band-pass 300-3400 Hz and resample to 8 kHz."""
    bandpass = signal.butter(6, TELEPHONE_BAND_HZ, btype="bandpass", fs=rate, output="sos")
    filtered = signal.sosfilt(bandpass, audio)
    return signal.resample_poly(filtered, OUTPUT_RATE, rate).astype(np.float64)


def set_level(audio: np.ndarray, level_dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(audio**2)))
    return audio * (10 ** (level_dbfs / 20) / rms)


def line_noise(samples: int, rms: float, rng: np.random.Generator) -> np.ndarray:
    """Band-limited white noise, as a quiet phone line would add."""
    noise = telephone_band(rng.standard_normal(samples * 3), OUTPUT_RATE * 3)
    noise = noise[:samples]
    return noise * (rms / float(np.sqrt(np.mean(noise**2))))


def ringback_track(samples: int, bursts: list[tuple[int, int]]) -> np.ndarray:
    """The China ringback tone (450 Hz) in the given bursts, band-limited like the line, at RINGBACK_LEVEL_DBFS.

    5 ms raised-cosine edges inside each burst avoid clicks; the band filter runs forward and backward
    (zero phase) so the bursts stay where the labels put them.
    """
    gate = np.zeros(samples)
    edge = int(0.005 * OUTPUT_RATE)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
    for start, end in bursts:
        burst = np.ones(end - start)
        burst[:edge] *= ramp
        burst[-edge:] *= ramp[::-1]
        gate[start:end] = burst
    tone = np.sin(2 * np.pi * RINGBACK_HZ * np.arange(samples) / OUTPUT_RATE) * gate
    bandpass = signal.butter(6, TELEPHONE_BAND_HZ, btype="bandpass", fs=OUTPUT_RATE, output="sos")
    tone = signal.sosfiltfilt(bandpass, tone)
    on = np.concatenate([tone[start:end] for start, end in bursts])
    return tone * (10 ** (RINGBACK_LEVEL_DBFS / 20) / float(np.sqrt(np.mean(on**2))))


def ring_schedule(ringback: Ringback | None, rng: np.random.Generator) -> tuple[list[tuple[int, int]], int]:
    """Ringback bursts (sample bounds) and the answer sample; no ringback: answered at sample 0."""
    if ringback is None:
        return [], 0
    first = int(rng.uniform(*RING_FIRST_S) * OUTPUT_RATE)
    on, period = int(RING_ON_S * OUTPUT_RATE), int(RING_PERIOD_S * OUTPUT_RATE)
    bursts = [(first + k * period, first + k * period + on) for k in range(ringback.rings)]
    # Drawn a grid step short of the range's end, then moved up onto the grid: still within the range.
    grid_s = ANSWER_GRID / OUTPUT_RATE
    if ringback.cut_short:
        start, _ = bursts[-1]
        low, high = ANSWER_INTO_RING_S
        answer = start + int(rng.uniform(low, high - grid_s) * OUTPUT_RATE)
    else:
        low, high = ANSWER_AFTER_RING_S
        answer = bursts[-1][1] + int(rng.uniform(low, high - grid_s) * OUTPUT_RATE)
    answer += -answer % ANSWER_GRID
    if ringback.cut_short:
        bursts[-1] = (bursts[-1][0], answer)  # the ring the agent answered into stops there
    return bursts, answer


@dataclass(frozen=True)
class Segment:
    speaker: Speaker
    start_sample: int
    end_sample: int
    text: str
    proves: tuple[CheckName, ...]
    cut_off: bool = False
    clause_onsets_s: tuple[float, ...] = ()  # where each clause of `text` begins, seconds after start_sample


@dataclass(frozen=True)
class RenderedCall:
    channels: np.ndarray  # (samples, channels) float, 8 kHz
    segments: tuple[Segment, ...]
    answer_sample: int = 0
    bursts: tuple[tuple[int, int], ...] = ()  # ringback bursts, sample bounds
    ringback_channel: Literal["agent", "customer", "mix"] | None = None
    scaled_by: float = 1.0  # < 1 where the whole call was scaled down to avoid clipping

    @property
    def clock(self) -> CallClock:
        return CallClock(
            answer_s=seconds(self.answer_sample),
            bursts=tuple((seconds(start), seconds(end)) for start, end in self.bursts),
            duration_s=seconds(len(self.channels)),
        )


def render_call(
    call: CallSpec, tts: MandarinTts, rng: np.random.Generator, timing_rng: np.random.Generator
) -> RenderedCall:
    """Render one call. `rng` makes the draws the calls had before the timing checks, in the same order
    (first words, gaps, tail, line noise), so those stay put; everything new comes from `timing_rng`.
    """
    agent_voice = AGENT_VOICES[call.agent_id]
    if call.agent_speed is not None:
        agent_voice = replace(agent_voice, speed=call.agent_speed)
    if call.agent_level_dbfs is not None:
        agent_voice = replace(agent_voice, level_dbfs=call.agent_level_dbfs)
    voices: dict[Speaker, Voice] = {"agent": agent_voice, "customer": call.customer_voice}
    bursts, answer = ring_schedule(call.ringback, timing_rng)
    clips: list[np.ndarray] = []
    segments: list[Segment] = []
    cursor = answer + int(rng.uniform(0.3, 1.0) * OUTPUT_RATE)  # first words after the answer
    previous: Speaker | None = None
    seen_original = False  # an utterance the call had before the timing checks
    for utterance in call.dialogue:
        gap = 0
        if previous is not None:
            # A speaker continuing pauses less than a turn change.
            low, high = (0.3, 0.5) if utterance.speaker == previous else (0.3, 1.0)
            source = rng if seen_original and not utterance.added else timing_rng
            gap = int(source.uniform(low, high) * OUTPUT_RATE)
        voice = voices[utterance.speaker]
        if utterance.raised:
            voice = replace(
                voice,
                formant_warp=voice.formant_warp * RAISED_WARP,
                f0_ratio=RAISED_CONTOUR,
                level_dbfs=voice.level_dbfs + RAISED_LEVEL_DB,
            )
        speech, clause_onsets_s = tts.synthesize_clauses(utterance.text, voice)
        clip = set_level(telephone_band(speech, MandarinTts.SAMPLE_RATE), voice.level_dbfs)
        if utterance.cut_at is not None:
            clip = clip[: round(len(clip) * utterance.cut_at)]
        if utterance.overlap_s is not None:
            start = segments[-1].end_sample - int(timing_rng.uniform(*utterance.overlap_s) * OUTPUT_RATE)
        else:
            start = cursor + gap + int(utterance.pause_s * OUTPUT_RATE)
        clips.append(clip)
        segments.append(
            Segment(
                utterance.speaker,
                start,
                start + len(clip),
                utterance.text,
                utterance.proves,
                cut_off=utterance.cut_at is not None,
                clause_onsets_s=clause_onsets_s,
            )
        )
        cursor = max(cursor, start + len(clip))
        previous = utterance.speaker
        seen_original = seen_original or not utterance.added
    tail = int(rng.uniform(0.5, 1.0) * OUTPUT_RATE)
    drawn = cursor + tail - answer  # the line noise the call always had, from the answer on
    cut_off = any(segment.cut_off for segment in segments)
    total = cursor if cut_off else cursor + tail + int(TAIL_EXTRA_S * OUTPUT_RATE)

    tracks = {"agent": np.zeros(total), "customer": np.zeros(total)}
    for segment, clip in zip(segments, clips, strict=True):
        tracks[segment.speaker][segment.start_sample : segment.end_sample] += clip
    layout_tracks = (
        [tracks["agent"], tracks["customer"]] if call.layout == "stereo" else [tracks["agent"] + tracks["customer"]]
    )
    # Noise is set against the agent's speech level so every channel has the
    # same line; each channel gets its own noise. The line comes alive at the
    # answer: before it, only near-digital silence (and the ringback).
    noise_rms = 10 ** ((agent_voice.level_dbfs - LINE_SNR_DB) / 20)
    live = total - answer
    line = [line_noise(min(live, drawn), noise_rms, rng) for _ in layout_tracks]
    idle_rms = 10 ** (IDLE_NOISE_DBFS / 20)
    channels = np.zeros((total, len(layout_tracks)))
    for index, track in enumerate(layout_tracks):
        pieces = [line[index]]
        if live > drawn:  # the longer tail
            pieces.append(line_noise(live - drawn, noise_rms, timing_rng))
        if answer > 0:
            pieces.insert(0, line_noise(answer, idle_rms, timing_rng))
        channels[:, index] = track + np.concatenate(pieces)
    ringback_channel: Literal["agent", "customer", "mix"] | None = None
    if bursts:
        # The caller hears the ringing: inbound, the agent side sends it; outbound, the far end rings.
        ringback_channel = "mix" if call.layout == "mono" else "agent" if call.direction == "inbound" else "customer"
        channels[:, 0 if ringback_channel != "customer" else 1] += ringback_track(total, bursts)
    peak = float(np.abs(channels).max())
    scale = 0.98 / peak if peak > 0.98 else 1.0
    channels *= scale
    return RenderedCall(channels, tuple(segments), answer, tuple(bursts), ringback_channel, scale)


def write_opus(path: Path, channels: np.ndarray) -> None:
    """Ogg/Opus through FFmpeg (PyAV): bitexact gives a fixed Ogg stream serial.

    libsndfile picks a random serial, which made the file differ run to run.
    """
    import av

    pcm = np.round(np.clip(channels, -1.0, 1.0) * 32767).astype(np.int16)
    layout = "mono" if pcm.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format="ogg", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libopus", rate=OUTPUT_RATE, layout=layout)
        stream.bit_rate = 24000
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout=layout)
        frame.sample_rate = OUTPUT_RATE
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):  # flush
            container.mux(packet)


def write_audio(path: Path, channels: np.ndarray, codec: Codec) -> None:
    if codec == "opus":
        write_opus(path, channels)
        return
    formats: dict[Codec, tuple[str, str]] = {
        "pcm_s16le": ("WAV", "PCM_16"),
        "pcm_mulaw": ("WAV", "ULAW"),
        "pcm_alaw": ("WAV", "ALAW"),
        "flac": ("FLAC", "PCM_16"),
        "mp3": ("MP3", "MPEG_LAYER_III"),
    }
    container, subtype = formats[codec]
    sf.write(path, channels, OUTPUT_RATE, format=container, subtype=subtype)
