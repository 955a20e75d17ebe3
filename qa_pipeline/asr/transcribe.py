"""faster-whisper over the speech regions of one channel: words with timestamps, simplified Chinese.

Why not `model.transcribe(whole_channel)`: long-form decoding of a whole channel can silently skip
speech (seen: ~28 s of a 70 s agent channel dropped). Instead the VAD regions are packed, in order and
with short silent gaps, into windows of at most one Whisper window (30 s); each window is decoded on its
own and every word is mapped back to the region it came from. A region that still got no words is
decoded again on its own, and if that also yields nothing it is kept as a speech segment with empty
text, so no stretch of speech disappears from the transcript.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import ctranslate2
import numpy as np
import opencc

from qa_pipeline.asr.models import ModelChoice
from qa_pipeline.asr.transcript import Word
from qa_pipeline.asr.vad import SpeechRegion
from qa_pipeline.audio import SAMPLE_RATE

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


WINDOW_S = 30.0
GAP_S = 0.4  # silence between packed regions, so Whisper sees a pause where the speaker paused


@dataclass(frozen=True)
class AsrSettings:
    language: str = "zh"
    beam_size: int = 5
    cpu_threads: int = 0  # 0 = CTranslate2's default (all cores)
    # Whisper's own quality bar (faster-whisper's log_prob_threshold). A segment still below it after
    # temperature fallback is invented text, typically decoded from the silence padding at the end of
    # a window (seen on a sample call: 车上吧 at avg_logprob -2.2 after a real question), so it is dropped.
    min_avg_logprob: float = -1.0
    # Temperature fallback samples at random; a fixed seed per window makes re-runs reproducible.
    seed: int = 0


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
    """One region's place in a packed window: window seconds [window_start, window_end) <- region."""

    region_index: int
    window_start: float
    window_end: float


@functools.cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


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


class Transcriber:
    """One loaded faster-whisper model; create once per worker, not per call (see `get_transcriber`)."""

    def __init__(self, choice: ModelChoice, settings: AsrSettings | None = None) -> None:
        from faster_whisper import WhisperModel

        self.choice = choice
        self.settings = settings or AsrSettings()
        self.model = WhisperModel(
            choice.location,
            device=choice.device,
            compute_type=choice.compute_type,
            cpu_threads=self.settings.cpu_threads,
        )

    def _decode(self, audio: np.ndarray, prompt: str) -> list[tuple[float, float, str, float]]:
        ctranslate2.set_random_seed(self.settings.seed)
        segments, _info = self.model.transcribe(
            audio,
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            initial_prompt=prompt,
            condition_on_previous_text=True,
            word_timestamps=True,
            vad_filter=False,  # regions are already speech
        )
        words: list[tuple[float, float, str, float]] = []
        for segment in segments:
            if segment.avg_logprob < self.settings.min_avg_logprob:
                continue
            for word in segment.words or []:
                words.append((word.start, word.end, word.word, word.probability))
        return words

    def _decode_group(
        self, samples: np.ndarray, regions: list[SpeechRegion], indices: Iterable[int], prompt: str
    ) -> dict[int, list[Word]]:
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
            pieces.append(_Piece(index, cursor, cursor + len(chunk) / SAMPLE_RATE))
            cursor += len(chunk) / SAMPLE_RATE
        words_by_region: dict[int, list[Word]] = {piece.region_index: [] for piece in pieces}
        for start, end, text, probability in self._decode(np.concatenate(parts), prompt):
            middle = (start + end) / 2
            # The piece whose window span is nearest the word's middle (words can spill into a gap).
            piece = min(
                pieces,
                key=lambda p: (
                    0.0
                    if p.window_start <= middle <= p.window_end
                    else min(abs(middle - p.window_start), abs(middle - p.window_end))
                ),
            )
            region = regions[piece.region_index]
            offset = region.start_s - piece.window_start
            word_start = min(max(start + offset, region.start_s), region.end_s)
            word_end = min(max(end + offset, word_start), region.end_s)
            # U+FFFD: a word cut inside a multi-byte character by the tokenizer; it carries no text.
            simplified = to_simplified(text.strip()).replace("\ufffd", "")
            if simplified:
                words_by_region[piece.region_index].append(
                    Word(round(word_start, 3), round(word_end, 3), simplified, float(probability))
                )
        return words_by_region

    def transcribe_regions(
        self, samples: np.ndarray, regions: list[SpeechRegion], prompt: str = PROMPT
    ) -> list[RegionText]:
        """Transcribe the given speech regions of one 16 kHz channel; one RegionText per region."""
        words: dict[int, list[Word]] = {}
        for group in pack_regions(regions):
            words.update(self._decode_group(samples, regions, group, prompt))
        for index, region_words in words.items():
            if not region_words:  # skipped inside its window: decode it alone
                words[index] = self._decode_group(samples, regions, [index], prompt)[index]
        return [RegionText(region, tuple(words.get(i, []))) for i, region in enumerate(regions)]


@functools.cache
def get_transcriber(choice: ModelChoice, settings: AsrSettings = AsrSettings()) -> Transcriber:
    """The process-wide model for `choice`: loaded on first use, then shared by every call."""
    return Transcriber(choice, settings)
