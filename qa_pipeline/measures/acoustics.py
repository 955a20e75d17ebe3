"""Signal measurements behind the QA standards that the transcript alone cannot judge.

- rings before the answer (电话铃响三声内接起): ringback-tone bursts counted on the caller's channel;
- silences and the agent talking over the customer (不打断客户): from the speech regions per speaker;
- calm tone (语调平和): stretches where a speaker is both louder and higher-pitched than their own normal.

Everything here is pure: float32 samples at SAMPLE_RATE, (start_s, end_s) regions in,
numbers and time stretches out. Nothing reads files or knows about the pipeline.

The frame features (ring FFT frames, loudness, pitch) are each made from their own frame's samples, so a long
channel (qa_pipeline.audio.decode.is_long) is framed a block at a time and the per-frame numbers joined: the same
numbers as framing the whole channel at once, in bounded memory.

The pipeline's measure stage (qa_pipeline/measures/, one module per measure) applies these to a call; pace is
measured there (pace.py) from the transcript's words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qa_pipeline.audio.decode import SAMPLE_RATE, block_samples, block_starts, is_long, release

FloatArray = npt.NDArray[np.float64]
Region = tuple[float, float]

# ---------------------------------------------------------------------------------------------------------------------
# Ringback


@dataclass(frozen=True)
class RingbackPreset:
    """A country's ringback tone: the frequencies played together and the on/off cadence of one ring."""

    name: str
    frequencies_hz: tuple[float, ...]
    on_s: float
    off_s: float

    @property
    def period_s(self) -> float:
        return self.on_s + self.off_s


CHINA = RingbackPreset("china", (450.0,), on_s=1.0, off_s=4.0)  # GB 16409 / YD/T 1011
NORTH_AMERICA = RingbackPreset("north_america", (440.0, 480.0), on_s=2.0, off_s=4.0)
EUROPE = RingbackPreset("europe", (425.0,), on_s=1.0, off_s=4.0)  # ETSI TR 101 041 (CEPT)
RINGBACK_PRESETS = {preset.name: preset for preset in (CHINA, NORTH_AMERICA, EUROPE)}


@dataclass(frozen=True)
class RingDetection:
    """The ringback bursts heard before the answer, in time order, and how many rings that makes."""

    bursts: tuple[tuple[float, float], ...]
    ring_count: int


# 50 ms frames resolve 20 Hz bins: enough to isolate a call-progress tone, short enough to time bursts to ±50 ms.
RING_FRAME_S = 0.05
# Half-width of the band counted as "the tone" around each preset frequency. A Hann window spreads a pure tone over
# ±2 bins (±40 Hz); telephone networks also allow the tone a few percent of frequency error.
TONE_BAND_HZ = 40.0
# Share of a frame's energy that must sit in the tone band. A ringback tone with white noise at 10 dB SNR keeps
# ~0.9 of it; voiced speech spreads its energy over many harmonics and formants and stays well below.
MIN_TONAL_SHARE = 0.7
# The tone band must be this much louder than its own level in the quiet frames (the noise floor), so that a
# faint hum or the codec's idle noise never reads as a tone.
MIN_TONE_ABOVE_FLOOR_DB = 10.0
NOISE_FLOOR_PERCENTILE = 10.0
MIN_FRAME_RMS = 10 ** (-70 / 20)  # digital near-silence has no meaningful spectrum
BURST_DURATION_TOLERANCE = 0.3  # a burst lasts on_s ±30%
PERIOD_TOLERANCE = 0.2  # consecutive bursts start on_s + off_s apart ±20%
MIN_CUT_SHORT_BURST_S = 0.3  # the ring the agent answered into stops early; still a ring if at least this long
# Between rings the tone is off for off_s. A tonal run this long within half the off time of a burst means the
# cadence is something else (busy / congestion tone, a melody), so neither counts as a ring.
MIN_INTRUDING_RUN_S = 0.2
MAX_FLICKER_GAP_FRAMES = 1  # one non-tonal frame inside a burst is noise, not the end of the burst


def _runs(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """(first, last+1) frame indices of each run of True, shape (runs, 2)."""
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return edges.reshape(-1, 2).astype(np.int64)


def _fill_short_gaps(flags: npt.NDArray[np.bool_], max_gap: int) -> npt.NDArray[np.bool_]:
    """Set to True the runs of False of at most max_gap frames that lie between two True frames."""
    filled = flags.copy()
    gaps = _runs(~flags)
    if len(gaps) == 0:
        return filled
    inner = (gaps[:, 0] > 0) & (gaps[:, 1] < len(flags)) & (gaps[:, 1] - gaps[:, 0] <= max_gap)
    for first, stop in gaps[inner]:
        filled[first:stop] = True
    return filled


def _frames(samples: np.ndarray) -> FloatArray:
    """The samples cut into consecutive RING_FRAME_S frames, shape (frames, frame length); a partial tail is dropped."""
    frame_length = round(RING_FRAME_S * SAMPLE_RATE)
    n_frames = len(samples) // frame_length
    return np.asarray(samples[: n_frames * frame_length], dtype=np.float64).reshape(n_frames, frame_length)


def _per_frame(samples: np.ndarray, features: Callable[[np.ndarray], tuple[FloatArray, ...]]) -> tuple[FloatArray, ...]:
    """`features(samples)`: per-RING_FRAME_S-frame arrays; for a long channel taken over blocks of whole frames
    and joined (each frame's numbers come from its own samples only, so they are the same)."""
    if not is_long(len(samples)):
        return features(samples)
    frame_length = round(RING_FRAME_S * SAMPLE_RATE)
    whole = len(samples) // frame_length * frame_length
    parts = []
    for start in block_starts(whole, frame_length):
        block = samples[start : min(whole, start + block_samples(frame_length))]
        parts.append(features(block))
        release(block)
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


def _levels_db(samples: np.ndarray) -> tuple[FloatArray]:
    return (np.asarray(10 * np.log10(np.maximum(np.mean(_frames(samples) ** 2, axis=1), 1e-14))),)


def frame_levels_db(samples: np.ndarray) -> FloatArray:
    """Mean power (dBFS) of each RING_FRAME_S frame."""
    return _per_frame(samples, _levels_db)[0]


def _tone_energies(samples: np.ndarray, frequencies_hz: Sequence[float]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per RING_FRAME_S frame: the energy in the tone band, the total energy, and the RMS (DC offset removed)."""
    frames = _frames(samples)
    frame_length = frames.shape[1]
    frames = frames - frames.mean(axis=1, keepdims=True)  # a DC offset is not signal energy
    power = np.abs(np.fft.rfft(frames * np.hanning(frame_length), axis=1)) ** 2
    bin_hz = np.fft.rfftfreq(frame_length, 1 / SAMPLE_RATE)
    in_band = np.zeros(len(bin_hz), dtype=bool)
    for frequency in frequencies_hz:
        in_band |= np.abs(bin_hz - frequency) <= TONE_BAND_HZ
    band_energy = power[:, in_band].sum(axis=1)
    total_energy = power.sum(axis=1)
    return band_energy, total_energy, np.sqrt(np.mean(frames**2, axis=1))


def tonal_frames(samples: np.ndarray, frequencies_hz: Sequence[float]) -> npt.NDArray[np.bool_]:
    """Per RING_FRAME_S frame: is the frame dominated by a steady tone at these frequencies, above the noise floor?"""
    if len(samples) // round(RING_FRAME_S * SAMPLE_RATE) == 0:
        return np.zeros(0, dtype=bool)
    band_energy, total_energy, frame_rms = _per_frame(samples, lambda block: _tone_energies(block, frequencies_hz))
    tonal_share = band_energy / np.maximum(total_energy, np.finfo(np.float64).tiny)
    floor = np.percentile(band_energy, NOISE_FLOOR_PERCENTILE)
    above_floor = band_energy >= floor * 10 ** (MIN_TONE_ABOVE_FLOOR_DB / 10)
    audible = frame_rms >= MIN_FRAME_RMS
    return (tonal_share >= MIN_TONAL_SHARE) & above_floor & audible


def detect_ringback(
    samples: np.ndarray, preset: RingbackPreset = CHINA, before_s: float | None = None
) -> RingDetection:
    """Count the ringback bursts on one channel, optionally only those ending before `before_s` (the first speech).

    A tonal run is a ring only if it has the preset's cadence: it lasts on_s (±30%, or at least 0.3 s for the
    last one, which the answer may cut short), no other sizeable tonal run sits within half the off time of it,
    and consecutive rings start on_s + off_s apart (±20%). Of the chains of rings that satisfy this, the longest
    (the latest on a tie) is the ringing before the answer.
    """
    flags = _fill_short_gaps(tonal_frames(samples, preset.frequencies_hz), MAX_FLICKER_GAP_FRAMES)
    runs = _runs(flags) * RING_FRAME_S
    if before_s is not None:
        runs = runs[runs[:, 1] <= before_s + RING_FRAME_S]  # one frame of slack for frame boundaries
    if len(runs) == 0:
        return RingDetection(bursts=(), ring_count=0)

    durations = runs[:, 1] - runs[:, 0]
    sizeable = runs[durations >= MIN_INTRUDING_RUN_S]
    min_clearance = 0.5 * preset.off_s
    full = np.abs(durations - preset.on_s) <= BURST_DURATION_TOLERANCE * preset.on_s
    cut_short = (durations >= MIN_CUT_SHORT_BURST_S) & (durations < preset.on_s * (1 - BURST_DURATION_TOLERANCE))
    clear = np.ones(len(runs), dtype=bool)
    if len(sizeable):
        # gap from each run to every sizeable run (0 when it is the run itself), shape (runs, sizeable)
        gaps = np.maximum(sizeable[None, :, 0] - runs[:, None, 1], runs[:, None, 0] - sizeable[None, :, 1])
        is_self = (sizeable[None, :, 0] == runs[:, None, 0]) & (sizeable[None, :, 1] == runs[:, None, 1])
        clear = ~np.any((gaps < min_clearance) & ~is_self, axis=1)
    candidates = runs[(full | cut_short) & clear]
    can_continue = full[(full | cut_short) & clear]  # a cut-short ring can only be the last of a chain
    if len(candidates) == 0:
        return RingDetection(bursts=(), ring_count=0)

    # Longest chain of candidates with the right start-to-start period (few bursts: a small quadratic DP).
    starts = candidates[:, 0]
    periods = starts[None, :] - starts[:, None]  # periods[j, i]: from candidate j to candidate i
    links = (np.abs(periods - preset.period_s) <= PERIOD_TOLERANCE * preset.period_s) & can_continue[:, None]
    chain_length = np.ones(len(candidates), dtype=np.int64)
    previous = np.full(len(candidates), -1, dtype=np.int64)
    for i in range(len(candidates)):
        predecessors = np.flatnonzero(links[:i, i])
        if len(predecessors):
            best = predecessors[np.argmax(chain_length[predecessors])]
            chain_length[i] = chain_length[best] + 1
            previous[i] = best
    last = int(np.flatnonzero(chain_length == chain_length.max())[-1])
    chain: list[tuple[float, float]] = []
    while last >= 0:
        chain.append((float(candidates[last, 0]), float(candidates[last, 1])))
        last = int(previous[last])
    chain.reverse()
    return RingDetection(bursts=tuple(chain), ring_count=len(chain))


# ---------------------------------------------------------------------------------------------------------------------
# Silences and interruptions


def merged(regions: Sequence[Region]) -> list[Region]:
    """Regions sorted and with overlapping or touching ones joined."""
    joined: list[Region] = []
    for start, end in sorted(regions):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def silences(
    regions_by_speaker: Mapping[str, Sequence[Region]], start_s: float, end_s: float, min_s: float
) -> list[Region]:
    """Stretches of [start_s, end_s] where no speaker speaks, at least min_s long (dead air, long holds)."""
    speech = merged([region for regions in regions_by_speaker.values() for region in regions])
    found: list[Region] = []
    cursor = start_s
    for region_start, region_end in [*speech, (end_s, end_s)]:
        gap_end = min(region_start, end_s)
        if gap_end > cursor and gap_end - cursor >= min_s:
            found.append((cursor, gap_end))
        cursor = max(cursor, region_end)
        if cursor >= end_s:
            break
    return found


@dataclass(frozen=True)
class Interruption:
    """The agent started speaking while the customer was speaking, and both spoke together from start_s to end_s."""

    start_s: float
    end_s: float
    agent_region: Region
    customer_region: Region

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# Region ends come from VAD/ASR timestamps in float seconds; an overlap of exactly min_overlap_s must count.
_TIME_EPSILON_S = 1e-9


def overlaps(agent: Sequence[Region], customer: Sequence[Region], min_overlap_s: float = 0.5) -> list[Interruption]:
    """Times the agent cut in: agent speech starting inside customer speech, both going on for ≥ min_overlap_s.

    Only the agent starting is judged: the customer talking over the agent is the customer's choice, and a short
    overlap (a backchannel 嗯 / 对, a turn handed over a little early) is normal conversation.
    """
    found: list[Interruption] = []
    for agent_start, agent_end in sorted(agent):
        for customer_start, customer_end in sorted(customer):
            if not customer_start < agent_start < customer_end:
                continue
            end = min(agent_end, customer_end)
            if end - agent_start + _TIME_EPSILON_S >= min_overlap_s:
                found.append(Interruption(agent_start, end, (agent_start, agent_end), (customer_start, customer_end)))
    return found


# ---------------------------------------------------------------------------------------------------------------------
# Loudness and pitch

F0_MIN_HZ = 75.0
F0_MAX_HZ = 400.0
# yin needs a window holding two periods of the lowest pitch: 2 / 75 Hz = 27 ms, with margin.
YIN_FRAME_LENGTH = 1024
# Frames this far below the speaker's loud frames are breath, pauses inside a VAD region or line noise.
VOICED_BELOW_PEAK_DB = 30.0
PEAK_PERCENTILE = 95.0
MAX_RAISED_GAP_S = 0.2


@dataclass(frozen=True, eq=False)
class VoiceTrack:
    """Per-frame loudness and pitch of one speaker, over their speech regions only (frame centres in times_s)."""

    times_s: FloatArray
    rms_db: FloatArray
    f0_hz: FloatArray  # NaN where the frame is unvoiced or too quiet to trust
    frame_s: float = 0.05


def voice_track(samples: np.ndarray, regions: Sequence[Region], frame_s: float = 0.05) -> VoiceTrack:
    """Loudness (dBFS) and pitch (librosa.yin, 75-400 Hz) per frame inside the speech regions.

    Pitch from yin on quiet frames, or at the edges of its search range, is noise: those frames get NaN, so
    medians and thresholds downstream only see voiced speech.
    """
    import librosa  # deferred: importing librosa takes a second and only this measurement needs it

    hop_length = round(frame_s * SAMPLE_RATE)
    signal = np.asarray(samples, dtype=np.float32)
    empty = np.zeros(0, dtype=np.float64)
    if len(signal) < YIN_FRAME_LENGTH or not regions:
        return VoiceTrack(empty, empty, empty, frame_s)
    bounds = np.asarray(regions, dtype=np.float64).reshape(-1, 2)
    if is_long(len(signal)):
        times, f0, rms = _speech_frames_by_block(signal, bounds, hop_length)
    else:
        f0 = librosa.yin(
            signal, fmin=F0_MIN_HZ, fmax=F0_MAX_HZ, sr=SAMPLE_RATE, frame_length=YIN_FRAME_LENGTH, hop_length=hop_length
        ).astype(np.float64)
        rms = librosa.feature.rms(y=signal, frame_length=2 * hop_length, hop_length=hop_length, center=True)[0]
        n_frames = min(len(f0), len(rms))
        f0, rms = f0[:n_frames], rms[:n_frames].astype(np.float64)
        times = np.arange(n_frames) * hop_length / SAMPLE_RATE
        in_speech = np.any((times[:, None] >= bounds[None, :, 0]) & (times[:, None] < bounds[None, :, 1]), axis=1)
        times, f0, rms = times[in_speech], f0[in_speech], rms[in_speech]
    rms_db = 20 * np.log10(np.maximum(rms, 1e-10))
    if len(rms_db):
        quiet = rms_db < np.percentile(rms_db, PEAK_PERCENTILE) - VOICED_BELOW_PEAK_DB
        at_search_edge = (f0 <= F0_MIN_HZ * 1.01) | (f0 >= F0_MAX_HZ * 0.99)
        f0 = np.where(quiet | at_search_edge, np.nan, f0)
    return VoiceTrack(times, rms_db, f0, frame_s)


# Frames of a long channel are computed in spans of speech frames; speech frames this close together share a span
# (the frames between are computed and dropped), so that short pauses do not make many small librosa calls.
MAX_SPAN_GAP_FRAMES = 100


def _zero_padded(signal: np.ndarray, start: int, stop: int) -> np.ndarray:
    """signal[start:stop] with zeros where the range runs past either end (librosa's centred framing)."""
    segment = np.zeros(stop - start, dtype=np.float32)
    lo, hi = max(start, 0), min(stop, len(signal))
    if hi > lo:
        segment[lo - start : hi - start] = signal[lo:hi]
    return segment


def _speech_frames_by_block(
    signal: np.ndarray, bounds: FloatArray, hop_length: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """voice_track's (times, f0, rms) of the frames inside the regions, for a long channel: the same frames
    (centred, zero-padded at the ends) as yin and rms over the whole channel, computed only in spans around
    the speech frames and at most a block at a time."""
    import librosa

    n_frames = 1 + len(signal) // hop_length  # yin and rms, centred, both give this many
    times = np.arange(n_frames) * hop_length / SAMPLE_RATE
    block_frames = max(1, block_samples() // hop_length)
    in_speech = np.zeros(n_frames, dtype=bool)
    for first in range(0, n_frames, block_frames):
        t = times[first : first + block_frames]
        in_speech[first : first + block_frames] = np.any(
            (t[:, None] >= bounds[None, :, 0]) & (t[:, None] < bounds[None, :, 1]), axis=1
        )
    spans: list[list[int]] = []
    for first, stop in _runs(in_speech).tolist():
        if spans and first - spans[-1][1] <= MAX_SPAN_GAP_FRAMES and stop - spans[-1][0] <= block_frames:
            spans[-1][1] = stop
        else:
            spans.extend([start, min(stop, start + block_frames)] for start in range(first, stop, block_frames))
    f0 = np.full(n_frames, np.nan)
    rms = np.zeros(n_frames)
    half = YIN_FRAME_LENGTH // 2
    for first, stop in spans:
        segment = _zero_padded(signal, first * hop_length - half, (stop - 1) * hop_length + half)
        f0[first:stop] = librosa.yin(
            segment,
            fmin=F0_MIN_HZ,
            fmax=F0_MAX_HZ,
            sr=SAMPLE_RATE,
            frame_length=YIN_FRAME_LENGTH,
            hop_length=hop_length,
            center=False,
        )
        segment = _zero_padded(signal, (first - 1) * hop_length, stop * hop_length)
        rms[first:stop] = librosa.feature.rms(
            y=segment, frame_length=2 * hop_length, hop_length=hop_length, center=False
        )[0]
        release(signal[max(0, first * hop_length - half) : stop * hop_length])
    return times[in_speech], f0[in_speech], rms[in_speech]


def raised_voice(
    track: VoiceTrack, rise_db: float = 6.0, rise_semitones: float = 3.0, min_duration_s: float = 1.5
) -> list[Region]:
    """Sustained stretches where the speaker is both louder and higher than their own median over the call.

    Relative to the speaker's own medians because voices, microphones and line levels differ: only a change
    within one call says the speaker got agitated. Loudness alone is a bad line or leaning into the mic;
    pitch alone is intonation. Gaps up to 0.2 s (a syllable boundary) do not break a stretch.
    """
    voiced = ~np.isnan(track.f0_hz)
    if not voiced.any():
        return []
    median_db = float(np.median(track.rms_db[voiced]))
    median_f0 = float(np.median(track.f0_hz[voiced]))
    semitones = np.full(len(track.f0_hz), -np.inf)
    semitones[voiced] = 12 * np.log2(track.f0_hz[voiced] / median_f0)
    raised = voiced & (track.rms_db >= median_db + rise_db) & (semitones >= rise_semitones)
    raised_times = track.times_s[raised]
    if len(raised_times) == 0:
        return []
    breaks = np.flatnonzero(np.diff(raised_times) - track.frame_s > MAX_RAISED_GAP_S + _TIME_EPSILON_S)
    firsts = np.concatenate(([0], breaks + 1))
    lasts = np.concatenate((breaks, [len(raised_times) - 1]))
    half = track.frame_s / 2
    stretches = [
        (float(raised_times[f] - half), float(raised_times[la] + half)) for f, la in zip(firsts, lasts, strict=True)
    ]
    return [(start, end) for start, end in stretches if end - start >= min_duration_s - _TIME_EPSILON_S]
