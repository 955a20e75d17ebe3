"""Known answers on generated signals: ring cadences through a telephone line, hand-made regions, synthetic voices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from qa_pipeline.audio.decode import SAMPLE_RATE
from qa_pipeline.measures.acoustics import (
    CHINA,
    EUROPE,
    NORTH_AMERICA,
    RINGBACK_PRESETS,
    Interruption,
    RingbackPreset,
    detect_ringback,
    overlaps,
    raised_voice,
    silences,
    voice_track,
)

FIRST_RING_S = 0.7
TONE_AMPLITUDE = 0.3


def _tone(preset: RingbackPreset, duration_s: float) -> np.ndarray:
    t = np.arange(round(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    amplitude = TONE_AMPLITUDE / len(preset.frequencies_hz)
    return amplitude * np.sin(2 * np.pi * np.outer(t, preset.frequencies_hz)).sum(axis=1)


def _speech_like(duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Harmonic complex, f0 gliding 200-300 Hz, syllable-rate (4 Hz) amplitude modulation."""
    t = np.arange(round(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 250 + 50 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 15))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    return 0.1 * voice * envelope


def _telephone_line(signal: np.ndarray, snr_db: float, rng: np.random.Generator, tone_power: float) -> np.ndarray:
    """White noise at snr_db below the tone, 300-3400 Hz band-pass, μ-law companding to 8 bits and back."""
    noisy = signal + rng.normal(0, np.sqrt(tone_power / 10 ** (snr_db / 10)), len(signal))
    band = sosfiltfilt(butter(4, [300, 3400], btype="bandpass", fs=SAMPLE_RATE, output="sos"), noisy)
    mu = 255.0
    coded = np.round(np.sign(band) * np.log1p(mu * np.clip(np.abs(band), 0, 1)) / np.log1p(mu) * 127) / 127
    return (np.sign(coded) * np.expm1(np.abs(coded) * np.log1p(mu)) / mu).astype(np.float32)


def _ringing(
    preset: RingbackPreset,
    rings: int,
    rng: np.random.Generator,
    snr_db: float = 10.0,
    speech_after_s: float = 0.0,
    on_s: float | None = None,
    period_s: float | None = None,
    last_on_s: float | None = None,
) -> tuple[np.ndarray, list[float]]:
    on_s = preset.on_s if on_s is None else on_s
    period_s = preset.period_s if period_s is None else period_s
    starts = [FIRST_RING_S + k * period_s for k in range(rings)]
    answer_s = starts[-1] + on_s + 1.0 if rings else FIRST_RING_S  # answered 1 s after the last ring
    signal = np.zeros(round((answer_s + speech_after_s + 0.5) * SAMPLE_RATE))
    burst = _tone(preset, on_s)
    for k, start in enumerate(starts):
        first = round(start * SAMPLE_RATE)
        length = round(last_on_s * SAMPLE_RATE) if last_on_s is not None and k == rings - 1 else len(burst)
        signal[first : first + length] += burst[:length]
    if speech_after_s:
        speech = _speech_like(speech_after_s, rng)
        first = round(answer_s * SAMPLE_RATE)
        signal[first : first + len(speech)] += speech
    tone_power = float(np.mean(burst**2))
    return _telephone_line(signal, snr_db, rng, tone_power), starts


@pytest.mark.parametrize("preset", [CHINA, NORTH_AMERICA, EUROPE], ids=lambda p: p.name)
def test_ring_count_and_burst_starts_through_a_noisy_telephone_line(preset: RingbackPreset) -> None:
    rng = np.random.default_rng(7)
    for rings in range(1, 7):
        samples, starts = _ringing(preset, rings, rng)
        detection = detect_ringback(samples, preset)
        assert detection.ring_count == rings, (preset.name, rings, detection)
        assert np.allclose([start for start, _ in detection.bursts], starts, atol=0.1)


@pytest.mark.parametrize("preset", [CHINA, NORTH_AMERICA, EUROPE], ids=lambda p: p.name)
def test_speech_after_the_rings_adds_no_bursts(preset: RingbackPreset) -> None:
    rng = np.random.default_rng(11)
    samples, starts = _ringing(preset, 3, rng, speech_after_s=20.0)
    detection = detect_ringback(samples, preset)
    assert detection.ring_count == 3
    assert np.allclose([start for start, _ in detection.bursts], starts, atol=0.1)


def test_speech_alone_is_no_ringing() -> None:
    rng = np.random.default_rng(3)
    speech = _telephone_line(_speech_like(30.0, rng), 10.0, rng, tone_power=0.01)
    for preset in RINGBACK_PRESETS.values():
        assert detect_ringback(speech, preset).ring_count == 0


def test_a_ring_cut_short_by_the_answer_still_counts() -> None:
    rng = np.random.default_rng(5)
    for preset in (CHINA, NORTH_AMERICA):
        samples, starts = _ringing(preset, 2, rng, last_on_s=0.4)
        detection = detect_ringback(samples, preset)
        assert detection.ring_count == 2
        assert detection.bursts[-1] == pytest.approx((starts[-1], starts[-1] + 0.4), abs=0.1)
    samples, _ = _ringing(CHINA, 2, rng, last_on_s=0.2)
    assert detect_ringback(samples, CHINA).ring_count == 1  # too short to tell from a click


def test_busy_tone_cadence_is_not_ringing() -> None:
    rng = np.random.default_rng(13)
    samples, _ = _ringing(CHINA, 12, rng, on_s=0.3, period_s=0.6)
    assert detect_ringback(samples, CHINA).ring_count == 0


def test_wrong_frequency_is_not_ringing() -> None:
    rng = np.random.default_rng(17)
    samples, _ = _ringing(NORTH_AMERICA, 3, rng)
    assert detect_ringback(samples, CHINA).ring_count == 0


def test_before_s_counts_only_bursts_ending_before_it() -> None:
    rng = np.random.default_rng(19)
    samples, starts = _ringing(CHINA, 5, rng)
    detection = detect_ringback(samples, CHINA, before_s=starts[2] + 2.0)
    assert detection.ring_count == 3
    assert np.allclose([start for start, _ in detection.bursts], starts[:3], atol=0.1)
    assert detect_ringback(samples, CHINA, before_s=FIRST_RING_S).ring_count == 0


def test_silence_is_no_ringing() -> None:
    assert detect_ringback(np.zeros(SAMPLE_RATE * 10, dtype=np.float32)).ring_count == 0
    assert detect_ringback(np.zeros(10, dtype=np.float32)).ring_count == 0


# ---------------------------------------------------------------------------------------------------------------------


def test_silences_between_speakers() -> None:
    regions = {
        "agent": [(1.0, 3.0), (10.0, 12.0), (12.0, 14.0)],  # touching regions leave no gap
        "customer": [(2.5, 5.0), (7.0, 8.0)],
    }
    assert silences(regions, 0.0, 20.0, min_s=1.5) == [(5.0, 7.0), (8.0, 10.0), (14.0, 20.0)]
    assert silences(regions, 0.0, 20.0, min_s=0.5) == [(0.0, 1.0), (5.0, 7.0), (8.0, 10.0), (14.0, 20.0)]
    assert silences(regions, 2.0, 11.0, min_s=0.0) == [(5.0, 7.0), (8.0, 10.0)]
    assert silences({}, 0.0, 4.0, min_s=1.0) == [(0.0, 4.0)]
    assert silences({"agent": [(0.0, 4.0)]}, 0.0, 4.0, min_s=0.0) == []


def test_overlaps_count_only_the_agent_starting_over_the_customer() -> None:
    customer = [(0.0, 4.0), (10.0, 12.0), (20.0, 25.0)]
    agent = [
        (3.6, 6.0),  # 0.4 s over the customer's end: below 0.5 s
        (11.5, 13.0),  # exactly 0.5 s
        (8.0, 10.5),  # agent was already speaking when the customer started: not the agent's interruption
        (21.0, 21.7),  # inside the customer's turn, 0.7 s
    ]
    assert overlaps(agent, customer) == [
        Interruption(11.5, 12.0, (11.5, 13.0), (10.0, 12.0)),
        Interruption(21.0, 21.7, (21.0, 21.7), (20.0, 25.0)),
    ]
    assert overlaps([(3.4, 6.0)], customer) == [Interruption(3.4, 4.0, (3.4, 6.0), (0.0, 4.0))]  # 0.6 s
    assert overlaps([(4.0, 6.0)], customer) == []  # touching: starts when the customer stops
    assert overlaps(agent, customer, min_overlap_s=0.6) == [Interruption(21.0, 21.7, (21.0, 21.7), (20.0, 25.0))]


# ---------------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------------


def _voice(duration_s: float, raised: tuple[float, float] | None) -> np.ndarray:
    t = np.arange(round(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 150 + 5 * np.sin(2 * np.pi * 0.5 * t)
    level = np.full(len(t), 0.05)
    if raised is not None:
        inside = (t >= raised[0]) & (t < raised[1])
        f0[inside] *= 2 ** (5 / 12)
        level[inside] *= 10 ** (10 / 20)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 10))
    return (level * voice).astype(np.float32)


def test_raised_voice_found_where_louder_and_higher() -> None:
    track = voice_track(_voice(12.0, (5.0, 8.0)), [(0.5, 11.5)])
    assert np.all((track.times_s >= 0.5) & (track.times_s < 11.5))
    (stretch,) = raised_voice(track)
    assert stretch == pytest.approx((5.0, 8.0), abs=0.2)


def test_constant_voice_is_not_raised() -> None:
    track = voice_track(_voice(12.0, None), [(0.5, 6.0), (7.0, 11.5)])
    assert np.nanmedian(track.f0_hz) == pytest.approx(150, abs=3)
    assert raised_voice(track) == []


def test_voice_track_only_over_speech_regions() -> None:
    track = voice_track(_voice(4.0, None), [(1.0, 2.0)])
    assert len(track.times_s) == 20
    assert voice_track(_voice(4.0, None), []).times_s.size == 0
