"""faster-whisper over the speech regions of one channel: words with timestamps, simplified Chinese.

Why not `model.transcribe(whole_channel)`: long-form decoding of a whole channel can silently skip
speech (seen: ~28 s of a 70 s agent channel dropped). Instead the VAD regions are packed, in order and
with short silent gaps, into windows of at most one Whisper window (30 s); each window is decoded on its
own and every word is mapped back to the region it came from. A region that still got no words is
decoded again on its own, and if that also yields nothing it is kept as a speech segment with empty
text, so no stretch of speech disappears from the transcript.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import opencc

from qa_pipeline.asr.models import ModelChoice
from qa_pipeline.asr.transcript import Word
from qa_pipeline.asr.vad import SpeechRegion
from qa_pipeline.audio.decode import SAMPLE_RATE, is_long

if TYPE_CHECKING:
    from faster_whisper import BatchedInferencePipeline

# Whisper base writes traditional characters for Mandarin unless nudged; a short prompt in simplified
# Chinese does that, and OpenCC t2s catches the rest. Naming the center's organisations in the prompt
# also teaches whisper how they are written (measured on the sample calls: 红树西暗馆离处 -> 红树西岸管理处,
# CER 14.8% -> 14.5%; faster-whisper `hotwords` did worse, 17.0%, with more temperature fallbacks).
PROMPT = "以下是普通话的句子。"


def call_prompt(organisations: tuple[str, ...] = (), override: str = "") -> str:
    """The decoding prompt for a center: its own `override`, else one naming its organisations."""
    if override:
        return override
    if not organisations:
        return PROMPT
    return f"以下是{'、'.join(organisations)}的普通话电话。"


GPU_BATCH_SIZE = 16  # faster-whisper's own suggestion for batched decoding on a GPU
WINDOW_S = 30.0
GAP_S = 0.4  # silence between packed regions, so Whisper sees a pause where the speaker paused
# On a long channel the windows go to faster-whisper this many batches at a time (4 x 4 windows on CPU: 8 minutes
# of speech, ~15 MB of audio and ~30 MB of features), not all at once (a 2-hour channel full of speech: ~1 GB).
LONG_CHANNEL_BATCHES = 4
TAIL_SAMPLES = 16  # of the windows before, kept for the next batches' call (see Transcriber._decode_windows)


@dataclass(frozen=True)
class AsrSettings:
    language: str = "zh"
    beam_size: int = 5
    cpu_threads: int = 0  # 0 = CTranslate2's default (all cores)
    # Whisper's own quality bar (faster-whisper's log_prob_threshold): a segment decoded below it is
    # most likely invented text (seen on a sample call: 车上吧 at avg_logprob -2.2 after a real
    # question, with the channel silent), so it is dropped.
    min_avg_logprob: float = -1.0
    # Windows decoded together (faster-whisper BatchedInferencePipeline). 4 on CPU: the encoder's attention
    # over a batch of 8 windows took ~600 MB at once (seen on real English meeting audio, whose many regions
    # without words are decoded again one per window), and on the sample calls 4 decode as fast as 8 (a
    # channel rarely has more windows). A GPU wants bigger batches: GPU_BATCH_SIZE.
    batch_size: int = 4
    # Calls decoding at the same time in this process, each from its own thread (CTranslate2's num_workers).
    # With cpu_threads=1 each, two calls at once on two cores decode 2.2x as fast as one call with two threads:
    # a batch of a call's few windows keeps one core busy, not two (docs/performance.md, Throughput).
    parallel_calls: int = 1


@dataclass(frozen=True)
class RegionText:
    """What was said in one speech region of one channel."""

    region: SpeechRegion
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return "".join(word.text for word in self.words)

    @property
    def confidence(self) -> float | None:
        if not self.words:
            return None
        return float(np.mean([word.probability for word in self.words]))


@dataclass(frozen=True)
class _Piece:
    """One region's place in a packed window: window seconds [window_start, window_end) hold the
    region's audio, which starts at `region_start` seconds in the channel."""

    region_index: int
    window_start: float
    window_end: float
    region_start: float

    def to_channel_time(self, window_time: float) -> float:
        """A window time as seconds in the channel, clamped to this region."""
        clamped = min(max(window_time, self.window_start), self.window_end)
        return self.region_start + clamped - self.window_start


_per_thread = threading.local()


def _converter(config: str) -> opencc.OpenCC:
    """This thread's OpenCC converter for `config` (t2s, s2t): calls are transcribed on several threads at once
    (AsrSettings.parallel_calls), and a converter is not shared between them."""
    converter = getattr(_per_thread, config, None)
    if converter is None:
        converter = opencc.OpenCC(config)
        setattr(_per_thread, config, converter)
    return converter


def to_simplified(text: str) -> str:
    return str(_converter("t2s").convert(text))


def to_traditional(text: str) -> str:
    """The text in traditional characters: how Whisper base writes Mandarin (asr.verify scores both)."""
    return str(_converter("s2t").convert(text))


def pack_regions(regions: list[SpeechRegion], window_s: float = WINDOW_S, gap_s: float = GAP_S) -> list[list[int]]:
    """Group consecutive region indices so each group, with gaps, fits in one window."""
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0.0
    for index, region in enumerate(regions):
        needed = region.duration_s + (gap_s if current else 0.0)
        if current and used + needed > window_s:
            groups.append(current)
            current, used = [], 0.0
            needed = region.duration_s
        current.append(index)
        used += needed
    if current:
        groups.append(current)
    return groups


@dataclass(frozen=True)
class _Window:
    """Packed regions decoded as one Whisper window: region audio with GAP_S of silence between."""

    audio: np.ndarray
    pieces: tuple[_Piece, ...]


def _build_window(samples: np.ndarray, regions: list[SpeechRegion], indices: Iterable[int]) -> _Window:
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    pieces: list[_Piece] = []
    cursor = 0.0
    for index in indices:
        region = regions[index]
        chunk = samples[int(region.start_s * SAMPLE_RATE) : int(region.end_s * SAMPLE_RATE)]
        if parts:
            parts.append(gap)
            cursor += GAP_S
        parts.append(chunk)
        pieces.append(_Piece(index, cursor, cursor + len(chunk) / SAMPLE_RATE, region.start_s))
        cursor += len(chunk) / SAMPLE_RATE
    return _Window(np.concatenate(parts).astype(np.float32, copy=False), tuple(pieces))


def _nearest_piece(pieces: tuple[_Piece, ...], time_s: float) -> _Piece:
    """The piece whose window span contains `time_s`, else the nearest (words can spill into a gap)."""
    return min(
        pieces,
        key=lambda p: (
            0.0
            if p.window_start <= time_s <= p.window_end
            else min(abs(time_s - p.window_start), abs(time_s - p.window_end))
        ),
    )


class Transcriber:
    """One loaded faster-whisper model; create once per worker, not per call (see `get_transcriber`).

    Decoding goes through faster-whisper's BatchedInferencePipeline with one clip per packed window:
    each window is decoded exactly once, at temperature 0, several windows per batch. The sequential
    `WhisperModel.transcribe` was measured to re-seek to the last word of a window and decode the
    0.2-0.3 s left after it as a near-empty 30 s window through every temperature fallback (17 s for
    a 3.4 s clip), sometimes keeping invented text from it.

    Thread-safe: up to `settings.parallel_calls` threads decode at once on the one model; each thread has its
    own BatchedInferencePipeline, because the pipeline keeps word-timing state between batches.
    """

    def __init__(self, choice: ModelChoice, settings: AsrSettings | None = None) -> None:
        from faster_whisper import WhisperModel

        self.choice = choice
        self.settings = settings or AsrSettings()
        self.model = WhisperModel(
            choice.location,
            device=choice.device,
            compute_type=choice.compute_type,
            cpu_threads=self.settings.cpu_threads,
            num_workers=max(1, self.settings.parallel_calls),
        )
        self._threads = threading.local()

    @property
    def pipeline(self) -> BatchedInferencePipeline:
        """This thread's batched pipeline over the shared model."""
        pipeline = getattr(self._threads, "pipeline", None)
        if pipeline is None:
            from faster_whisper import BatchedInferencePipeline

            pipeline = self._threads.pipeline = BatchedInferencePipeline(self.model)
        return pipeline

    def _decode_windows(
        self,
        windows: list[_Window],
        prompt: str,
        start: int = 0,
        carried: float | None = None,
        before: np.ndarray | None = None,
    ) -> tuple[list[dict[int, list[Word]]], float]:
        """Decode every window in one batched call; the words of each window, by region index.

        `start` > 0 (a long channel's windows, a few batches per call): these windows come after `start`
        samples of earlier ones in one call's timeline, where they are placed (the samples before are zeros
        never written nor read, so they take no memory; but for `before`, the last few of them, as a clip
        start converted to samples can land one early) so that faster-whisper times every word exactly as
        in one call over all the windows; `carried` is its word-timing state after the earlier windows'
        last batch. Returns the words and that state after these windows' last batch."""
        clips: list[dict[str, float]] = []
        cursor = start
        for window in windows:
            clips.append({"start": cursor / SAMPLE_RATE, "end": (cursor + len(window.audio)) / SAMPLE_RATE})
            cursor += len(window.audio)
        clip_starts = [clip["start"] for clip in clips]
        pipeline = self.pipeline
        if carried is None:
            audio = np.concatenate([window.audio for window in windows])
        else:
            audio = np.zeros(cursor, dtype=np.float32)
            if before is not None:
                audio[start - len(before) : start] = before
            for window, clip in zip(windows, clips, strict=True):
                first = round(clip["start"] * SAMPLE_RATE)
                audio[first : first + len(window.audio)] = window.audio
            pipeline.last_speech_timestamp = carried
        segments, _info = pipeline.transcribe(
            audio,
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            initial_prompt=prompt,
            word_timestamps=True,
            clip_timestamps=clips,
            batch_size=self.settings.batch_size,
        )
        found: list[dict[int, list[Word]]] = [{p.region_index: [] for p in w.pieces} for w in windows]
        last_speech = carried or 0.0
        for segment in segments:
            # faster-whisper resets this once the last batch is done: read it after each segment instead.
            if pipeline.last_speech_timestamp is not None:
                last_speech = float(pipeline.last_speech_timestamp)
            if segment.avg_logprob < self.settings.min_avg_logprob:
                continue
            for word in segment.words or []:
                middle = (word.start + word.end) / 2
                index = max(0, bisect.bisect_right(clip_starts, middle) - 1)
                offset = clip_starts[index]  # segment times are in the concatenated audio
                piece = _nearest_piece(windows[index].pieces, middle - offset)
                word_start = piece.to_channel_time(float(word.start) - offset)
                word_end = max(piece.to_channel_time(float(word.end) - offset), word_start)
                # U+FFFD: a word cut inside a multi-byte character by the tokenizer; it carries no text.
                text = to_simplified(word.word.strip()).replace("\ufffd", "")
                if text:
                    found[index][piece.region_index].append(
                        Word(round(word_start, 3), round(word_end, 3), text, float(word.probability))
                    )
        return found, last_speech

    def _decode_groups(
        self, samples: np.ndarray, regions: list[SpeechRegion], groups: list[list[int]], prompt: str
    ) -> dict[int, list[Word]]:
        """The words of each region, decoding the windows of `groups` (region indices packed together) in one
        batched call; on a long channel (qa_pipeline.audio.decode.is_long) LONG_CHANNEL_BATCHES batches' worth at a
        time, so that the windows' audio and features held at once stay bounded, with the same batches and
        the same timeline as one call (the same words, at the same times)."""
        words: dict[int, list[Word]] = {}
        if not is_long(len(samples)):
            windows = [_build_window(samples, regions, group) for group in groups]
            for window_words in self._decode_windows(windows, prompt)[0]:
                words.update(window_words)
            return words
        size = LONG_CHANNEL_BATCHES * max(1, self.settings.batch_size)
        start, carried, before = 0, 0.0, np.zeros(0, dtype=np.float32)
        for first in range(0, len(groups), size):
            windows = [_build_window(samples, regions, group) for group in groups[first : first + size]]
            decoded, carried = self._decode_windows(windows, prompt, start, carried, before)
            for window_words in decoded:
                words.update(window_words)
            start += sum(len(window.audio) for window in windows)
            before = windows[-1].audio[-TAIL_SAMPLES:]
        return words

    def transcribe_regions(
        self, samples: np.ndarray, regions: list[SpeechRegion], prompt: str = PROMPT
    ) -> list[RegionText]:
        """Transcribe the given speech regions of one 16 kHz channel; one RegionText per region."""
        if not regions:
            return []
        words = self._decode_groups(samples, regions, pack_regions(regions), prompt)
        missed = [index for index, region_words in words.items() if not region_words]
        if missed:  # a region that got no words inside its window is decoded on its own
            words.update(self._decode_groups(samples, regions, [[index] for index in missed], prompt))
        return [RegionText(region, tuple(words.get(i, []))) for i, region in enumerate(regions)]


_loaded: dict[tuple[ModelChoice, AsrSettings], Transcriber] = {}
_loading = threading.Lock()


def get_transcriber(choice: ModelChoice, settings: AsrSettings = AsrSettings()) -> Transcriber:
    """The process-wide model for `choice`: loaded on first use, then shared by every call (and by every
    thread: the first caller loads it while the others wait, so it is loaded once)."""
    with _loading:
        if (choice, settings) not in _loaded:
            _loaded[choice, settings] = Transcriber(choice, settings)
        return _loaded[choice, settings]
