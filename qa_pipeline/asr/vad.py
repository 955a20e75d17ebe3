"""Speech regions of one channel, from the Silero VAD model that ships inside faster-whisper.

A long channel (qa_pipeline.audio.decode.is_long) is not handed to faster-whisper's get_speech_timestamps
whole: that pads a copy of the channel and builds a second, larger one of model input windows. Its
speech probabilities are computed a block at a time instead, each block one or more of the model calls
faster-whisper makes (10,000 windows of 512 samples, each with the 64 samples before it, the model's
state carried from call to call), so they are the same numbers; `_timestamps` turns them into regions
with the same steps as get_speech_timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

from qa_pipeline.audio.decode import SAMPLE_RATE, block_samples, block_starts, is_long, release

WINDOW_SAMPLES = 512  # Silero's window at 16 kHz (faster-whisper's get_speech_timestamps)
CONTEXT_SAMPLES = 64  # the samples of the previous window the model sees with each window
ENCODER_BATCH = 10_000  # windows per model call, as faster-whisper's SileroVADModel makes them


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    # Turns in a phone call are separated by short pauses; 2 s (faster-whisper's default) would glue a
    # question to its answer on a mono channel, 0.5 s keeps utterances apart.
    min_silence_s: float = 0.5
    min_speech_s: float = 0.1  # a backchannel 对 / 嗯 lasts ~0.25 s; Silero sees less of it than that
    speech_pad_s: float = 0.15
    max_region_s: float = 25.0  # keeps every region inside one 30 s Whisper window


@dataclass(frozen=True)
class SpeechRegion:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class VoiceActivity:
    """One channel's speech, two ways from the same VAD probabilities.

    `regions` are padded by `speech_pad_s` on each side: what the ASR decodes, so a word at an edge is not
    clipped. `edges` are not padded: where speech starts and stops, to 10 ms (the VAD's unpadded stretches,
    each end moved to where the signal's energy says speech begins or ends: `_refined_edges`). The padding
    would make every overlap of two parties read 2 x speech_pad_s too long (an agent who starts 0.1 s
    before the customer stops would look like 0.4 s of talking over them), and every pause that much shorter,
    so talk time, silences and overlaps are measured on the edges.
    """

    regions: list[SpeechRegion]
    edges: list[SpeechRegion]


def _options(settings: VadSettings, speech_pad_s: float) -> VadOptions:
    return VadOptions(
        threshold=settings.threshold,
        min_speech_duration_ms=int(settings.min_speech_s * 1000),
        max_speech_duration_s=settings.max_region_s,
        min_silence_duration_ms=int(settings.min_silence_s * 1000),
        speech_pad_ms=int(speech_pad_s * 1000),
    )


def _regions(stamps: list[dict[str, int]]) -> list[SpeechRegion]:
    return [SpeechRegion(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def speech_regions(samples: np.ndarray, settings: VadSettings | None = None) -> list[SpeechRegion]:
    """The padded speech regions of one channel (faster-whisper's get_speech_timestamps)."""
    settings = settings or VadSettings()
    options = _options(settings, settings.speech_pad_s)
    if is_long(len(samples)):
        return _regions(_timestamps(_speech_probabilities(samples), len(samples), options))
    return _regions(get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE))


# Silero's probability can hover just under its threshold through a soft first syllable (0.3-0.45 for half a
# second on a synthetic voice here), so an edge is moved to where the signal's energy says speech begins or
# ends: back (or on) through 10 ms frames no more than EDGE_BELOW_SPEECH_DB under the region's typical level
# and EDGE_ABOVE_FLOOR_DB over the quietest frames of the pause beside it, over dips of at most
# EDGE_MAX_DIP_S, by at most EDGE_MAX_SHIFT_S, never into the neighbouring region.
EDGE_FRAME_S = 0.01
EDGE_MAX_SHIFT_S = 1.0
EDGE_MAX_DIP_S = 0.1
EDGE_BELOW_SPEECH_DB = 20.0
EDGE_ABOVE_FLOOR_DB = 10.0
EDGE_MIN_PAUSE_S = 0.3  # a pause too short to show the line's noise floor leaves the edge where it is


def _frame_db(samples: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    """Power in dB of the 10 ms frames between start_s and end_s (only those samples are read)."""
    hop = int(SAMPLE_RATE * EDGE_FRAME_S)
    first, last = int(start_s / EDGE_FRAME_S), int(end_s / EDGE_FRAME_S)
    block = np.asarray(samples[first * hop : last * hop], dtype=np.float32)
    frames = len(block) // hop
    power = (block[: frames * hop].reshape(frames, hop) ** 2).mean(axis=1) if frames else np.zeros(0)
    return 10.0 * np.log10(power + 1e-10)


def _walk(db: np.ndarray, threshold: float) -> int:
    """How many frames of `db` (read from the edge outward) are speech, allowing short dips."""
    reach = dip = 0
    for i, level in enumerate(db):
        if level >= threshold:
            reach, dip = i + 1, 0
        else:
            dip += 1
            if dip * EDGE_FRAME_S > EDGE_MAX_DIP_S:
                break
    return reach


def _refined_edges(samples: np.ndarray, edges: list[SpeechRegion]) -> list[SpeechRegion]:
    duration_s = len(samples) / SAMPLE_RATE
    refined: list[SpeechRegion] = []
    for i, edge in enumerate(edges):
        before_s = refined[-1].end_s if refined else 0.0
        after_s = edges[i + 1].start_s if i + 1 < len(edges) else duration_s
        speech = _frame_db(samples, edge.start_s, edge.end_s)
        start_s, end_s = edge.start_s, edge.end_s
        if len(speech):
            level = float(np.percentile(speech, 75))
            for side in ("start", "end"):
                pause = (before_s, edge.start_s) if side == "start" else (edge.end_s, after_s)
                if pause[1] - pause[0] < EDGE_MIN_PAUSE_S:
                    continue
                quiet = _frame_db(samples, *pause)
                if not len(quiet):
                    continue
                threshold = max(level - EDGE_BELOW_SPEECH_DB, float(np.percentile(quiet, 10)) + EDGE_ABOVE_FLOOR_DB)
                if side == "start":
                    near = _frame_db(samples, max(pause[0], edge.start_s - EDGE_MAX_SHIFT_S), edge.start_s)[::-1]
                    start_s = round(edge.start_s - _walk(near, threshold) * EDGE_FRAME_S, 3)
                else:
                    near = _frame_db(samples, edge.end_s, min(pause[1], edge.end_s + EDGE_MAX_SHIFT_S))
                    end_s = round(edge.end_s + _walk(near, threshold) * EDGE_FRAME_S, 3)
        refined.append(SpeechRegion(start_s, end_s))
    return refined


def voice_activity(samples: np.ndarray, settings: VadSettings | None = None) -> VoiceActivity:
    """The channel's padded regions (for the ASR) and unpadded edges (for the measures), with one pass of
    the VAD model: the regions are the same as `speech_regions`'s."""
    settings = settings or VadSettings()
    probabilities = _speech_probabilities(samples)
    return VoiceActivity(
        regions=_regions(_timestamps(probabilities, len(samples), _options(settings, settings.speech_pad_s))),
        edges=_refined_edges(samples, _regions(_timestamps(probabilities, len(samples), _options(settings, 0.0)))),
    )


def _speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Silero's speech probability of every 512-sample window, a block at a time: what faster-whisper's
    SileroVADModel computes over the whole channel zero-padded to a whole number of windows."""
    session = get_vad_model().session
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    previous_tail = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)  # the first window sees zeros before it
    n_windows = len(samples) // WINDOW_SAMPLES + 1  # np.pad adds a whole window when the length divides
    probabilities: list[np.ndarray] = []
    for start in block_starts(n_windows * WINDOW_SAMPLES, WINDOW_SAMPLES * ENCODER_BATCH):
        stop = min(n_windows * WINDOW_SAMPLES, start + block_samples(WINDOW_SAMPLES * ENCODER_BATCH))
        block = np.zeros(stop - start, dtype=np.float32)
        present = samples[start : min(stop, len(samples))]
        block[: len(present)] = present
        release(present)
        windows = block.reshape(-1, WINDOW_SAMPLES)
        context = np.concatenate([previous_tail[None], windows[:-1, -CONTEXT_SAMPLES:]])
        previous_tail = windows[-1, -CONTEXT_SAMPLES:].copy()
        batched = np.concatenate([context, windows], axis=1)
        for first in range(0, len(batched), ENCODER_BATCH):
            output, h, c = session.run(None, {"input": batched[first : first + ENCODER_BATCH], "h": h, "c": c})
            probabilities.append(output)
    return np.concatenate(probabilities, axis=0)


def _timestamps(speech_probs: Any, audio_length_samples: int, vad_options: VadOptions) -> list[dict[str, int]]:
    """Speech stretches (in samples) from the window probabilities: faster-whisper 1.2.1's
    get_speech_timestamps after its model call, step for step (tests/reliability/test_long_recordings.py
    checks that the two agree)."""
    threshold = vad_options.threshold
    neg_threshold = vad_options.neg_threshold
    min_speech_duration_ms = vad_options.min_speech_duration_ms
    max_speech_duration_s = vad_options.max_speech_duration_s
    min_silence_duration_ms = vad_options.min_silence_duration_ms
    window_size_samples = WINDOW_SAMPLES
    speech_pad_ms = vad_options.speech_pad_ms
    sampling_rate = SAMPLE_RATE
    min_speech_samples = sampling_rate * min_speech_duration_ms / 1000
    speech_pad_samples = sampling_rate * speech_pad_ms / 1000
    max_speech_samples = sampling_rate * max_speech_duration_s - window_size_samples - 2 * speech_pad_samples
    min_silence_samples = sampling_rate * min_silence_duration_ms / 1000
    min_silence_samples_at_max_speech = sampling_rate * 98 / 1000

    triggered = False
    speeches: list[dict[str, int]] = []
    current_speech: dict[str, int] = {}
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)

    # to save potential segment end (and tolerate some silence)
    temp_end = 0
    # to save potential segment limits in case of maximum segment size reached
    prev_end = next_start = 0

    for i, speech_prob in enumerate(speech_probs):
        if (speech_prob >= threshold) and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = window_size_samples * i

        if (speech_prob >= threshold) and not triggered:
            triggered = True
            current_speech["start"] = window_size_samples * i
            continue

        if triggered and (window_size_samples * i) - current_speech["start"] > max_speech_samples:
            if prev_end:
                current_speech["end"] = prev_end
                speeches.append(current_speech)
                current_speech = {}
                # previously reached silence (< neg_thres) and is still not speech (< thres)
                if next_start < prev_end:
                    triggered = False
                else:
                    current_speech["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current_speech["end"] = window_size_samples * i
                speeches.append(current_speech)
                current_speech = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue

        if (speech_prob < neg_threshold) and triggered:
            if not temp_end:
                temp_end = window_size_samples * i
            # condition to avoid cutting in very short silence
            if (window_size_samples * i) - temp_end > min_silence_samples_at_max_speech:
                prev_end = temp_end
            if (window_size_samples * i) - temp_end < min_silence_samples:
                continue
            current_speech["end"] = temp_end
            if (current_speech["end"] - current_speech["start"]) > min_speech_samples:
                speeches.append(current_speech)
            current_speech = {}
            prev_end = next_start = temp_end = 0
            triggered = False
            continue

    if current_speech and (audio_length_samples - current_speech["start"]) > min_speech_samples:
        current_speech["end"] = audio_length_samples
        speeches.append(current_speech)

    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - speech_pad_samples))
        if i != len(speeches) - 1:
            silence_duration = speeches[i + 1]["start"] - speech["end"]
            if silence_duration < 2 * speech_pad_samples:
                speech["end"] += int(silence_duration // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence_duration // 2))
            else:
                speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - speech_pad_samples))
        else:
            speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))

    return speeches
