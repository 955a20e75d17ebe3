"""Finding a phrase in ASR text that may have homophone errors.

Whisper base on phone audio writes 贵心 for 贵姓, 来订 for 来电. Comparing tone-less pinyin instead of
characters makes those errors vanish; a fuzzy alignment (rapidfuzz partial ratio over the pinyin
string) tolerates a dropped or extra syllable. Short phrases (under `MIN_FUZZY_CHARS` characters) are
matched exactly on pinyin only, because fuzzy matching two syllables finds them everywhere.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz

MIN_FUZZY_CHARS = 4
# A fuzzy match may forgive a wrong syllable but never an added or dropped negation: 归我们管 is the
# opposite of 不归我们管, 满意 the opposite of 不满意.
NEGATIONS = frozenset("不没别非无未莫勿")


@dataclass(frozen=True)
class PhraseMatch:
    phrase: str
    start: int  # character offsets into the searched text
    end: int
    similarity: float  # 1.0 = same characters; else pinyin similarity 0..1
    method: str  # 'exact' | 'pinyin' | 'pinyin-fuzzy'


def _is_content(char: str) -> bool:
    return unicodedata.category(char)[0] in ("L", "N")


def _content_chars(text: str) -> tuple[str, list[int]]:
    """Letters and digits of `text` and, for each, its offset in `text` (punctuation and spaces dropped)."""
    offsets = [i for i, char in enumerate(text) if _is_content(char)]
    return "".join(text[i] for i in offsets), offsets


@functools.lru_cache(maxsize=4096)
def _syllables(content: str) -> tuple[str, ...]:
    # One syllable per character; non-Chinese characters stand for themselves (lower-cased).
    # (pypinyin accepts a list from the `errors` callback; its type stubs say str.)
    return tuple(
        lazy_pinyin(content, style=Style.NORMAL, errors=lambda chunk: [c.lower() for c in chunk])  # type: ignore[arg-type,return-value]
    )


def _pinyin_string(syllables: tuple[str, ...]) -> tuple[str, list[int]]:
    """Space-joined pinyin and, for each character position in it, the syllable index."""
    owner: list[int] = []
    parts: list[str] = []
    for index, syllable in enumerate(syllables):
        if parts:
            parts.append(" ")
            owner.append(index)
        parts.append(syllable)
        owner.extend([index] * len(syllable))
    return "".join(parts), owner


def _negations(content: str) -> list[str]:
    return [char for char in content if char in NEGATIONS]


def find_phrase(text: str, phrase: str, min_similarity: float = 0.85) -> PhraseMatch | None:
    """Best occurrence of `phrase` in `text`, or None when nothing is similar enough."""
    content, offsets = _content_chars(text)
    target, _ = _content_chars(phrase)
    if not content or not target:
        return None
    position = content.find(target)
    if position >= 0:
        return PhraseMatch(phrase, offsets[position], offsets[position + len(target) - 1] + 1, 1.0, "exact")

    text_syllables, phrase_syllables = _syllables(content), _syllables(target)
    n = len(phrase_syllables)
    for start in range(len(text_syllables) - n + 1):
        if text_syllables[start : start + n] == phrase_syllables:
            return PhraseMatch(phrase, offsets[start], offsets[start + n - 1] + 1, 1.0, "pinyin")
    if len(target) < MIN_FUZZY_CHARS:
        return None

    text_pinyin, owner = _pinyin_string(text_syllables)
    phrase_pinyin, _ = _pinyin_string(phrase_syllables)
    alignment = fuzz.partial_ratio_alignment(phrase_pinyin, text_pinyin, score_cutoff=min_similarity * 100)
    if alignment is None or alignment.dest_end <= alignment.dest_start:
        return None
    # partial_ratio also aligns a text *shorter* than the phrase inside it; score the aligned span
    # against the whole phrase so a fragment never counts as the phrase.
    similarity = fuzz.ratio(phrase_pinyin, text_pinyin[alignment.dest_start : alignment.dest_end]) / 100.0
    if similarity < min_similarity:
        return None
    first = owner[alignment.dest_start]
    last = owner[alignment.dest_end - 1]
    if _negations(content[first : last + 1]) != _negations(target):
        return None
    return PhraseMatch(phrase, offsets[first], offsets[last] + 1, round(similarity, 3), "pinyin-fuzzy")


def find_any(text: str, phrases: Iterable[str], min_similarity: float = 0.85) -> PhraseMatch | None:
    """The best-matching phrase of `phrases` in `text` (highest similarity, then earliest)."""
    best: PhraseMatch | None = None
    for phrase in phrases:
        match = find_phrase(text, phrase, min_similarity)
        if match and (best is None or (match.similarity, -match.start) > (best.similarity, -best.start)):
            best = match
    return best
