"""Finding a phrase in ASR text that may have homophone errors.

Whisper base on phone audio writes 管理出 for 管理处 (same pinyin), 贵心 for 贵姓, 来订 for 来电 (one
syllable off). Identical tone-less pinyin catches the first kind for any phrase; a fuzzy alignment
(rapidfuzz partial ratio over the pinyin string) catches the second kind inside phrases of at least
`MIN_FUZZY_CHARS` characters (请问您贵姓, 感谢您的来电). Shorter phrases are never fuzzy-matched, because
two fuzzy syllables are found everywhere, so a bare 贵心 is not 贵姓.

Negation is never forgiven: a match must not gain or lose a negation inside the span the phrase covers,
and a match right after a negation word (不满意 for 满意, 没有不归我们管 for 不归我们管) is no match.

Spoken hesitations are forgiven: filler words (嗯, 啊, 呃, 哦, 额, 那个, 就是) that the ASR writes
between a phrase's characters (请问您嗯贵姓) do not stop a match; the reported span is still in the
original text's offsets and covers the fillers inside it. A one-character phrase is matched by its
characters only: a single syllable has too many homophones (谁 and 水 are both shui).

A phrase may name words said apart: `说…遍` is 说 and then 遍 at most `MAX_GAP_CHARS` spoken characters later
in the same sentence (我说过四五遍, 跟您说了三遍), each part matched as a phrase of its own (pinyin, negation
guard), so a QA lead writes one pattern for the many ways a thing is said.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz

MIN_FUZZY_CHARS = 4
# A fuzzy match may forgive a wrong syllable but never an added or dropped negation: 归我们管 is the
# opposite of 不归我们管, 满意 the opposite of 不满意.
NEGATIONS = frozenset("不没别非无未莫勿")
# Words that negate what follows them. Single characters like 非/无 are left out here because they
# start ordinary words before a phrase (非常感谢您的来电, 无论如何).
NEGATING_PREFIXES = ("不", "没", "没有", "别", "未", "并非", "不是", "并不", "从不", "从没")
# Hesitation sounds: skipped between a negation and what it negates (不嗯满意 is 不满意).
INTERJECTIONS = ("嗯", "啊", "呃", "哦", "额")
# Filler words the ASR writes inside a phrase (请问您嗯贵姓, 我跟您那个确认一下); longest first. 那个 and
# 就是 are also real words, so they are only skipped inside a match, never between a negation and it
# (不就是 is not 不).
FILLERS = ("那个", "就是", *INTERJECTIONS)


GAP = "…"  # in a phrase: the words before and after it may stand apart (说…遍)
MAX_GAP_CHARS = 6
_SENTENCE_END = frozenset("。？！?!；;")
_METHOD_RANK = ("exact", "pinyin", "pinyin-fuzzy")  # how sure a method is, surest first


# What ends a clause (full-width or not): a question is judged on its clause, a deferral's tense in it.
CLAUSE_MARKS = frozenset("，,。.！!？?；;")
# A question in Mandarin: a question particle or mark, a question word (什么, 啥), an A-not-A pair, or a
# trailing 不/没 (还有别的没).
_QUESTION = re.compile(r"[吗么嘛呢？?]|什么|啥|(.)[不没]\1|需不需要|可不可以|[不没]$")


@dataclass(frozen=True)
class PhraseMatch:
    phrase: str
    start: int  # character offsets into the searched text
    end: int
    similarity: float  # 1.0 = same characters; else pinyin similarity 0..1
    method: str  # 'exact' | 'pinyin' | 'pinyin-fuzzy'


def _is_content(char: str) -> bool:
    return unicodedata.category(char)[0] in ("L", "N")


def spoken_chars(text: str) -> str:
    """What was said: `text` without punctuation, spaces or symbols (letters and digits count)."""
    return "".join(char for char in text if _is_content(char))


def _content_chars(text: str) -> tuple[str, list[int]]:
    """Letters and digits of `text` and, for each, its offset in `text` (punctuation and spaces dropped)."""
    offsets = [i for i, char in enumerate(text) if _is_content(char)]
    return "".join(text[i] for i in offsets), offsets


# How Mandarin speakers say Latin letters (江苏CA is said 江苏西诶 and heard as 将苏西爱), so an
# organisation name or phrase written with letters matches what the ASR writes for the spoken letters.
LETTER_PINYIN = {
    "a": "ei",
    "b": "bi",
    "c": "xi",
    "d": "di",
    "e": "yi",
    "f": "aifu",
    "g": "ji",
    "h": "aiqi",
    "i": "ai",
    "j": "jie",
    "k": "kai",
    "l": "aile",
    "m": "aimu",
    "n": "en",
    "o": "ou",
    "p": "pi",
    "q": "kiu",
    "r": "aer",
    "s": "aisi",
    "t": "ti",
    "u": "you",
    "v": "wei",
    "w": "dabuliu",
    "x": "aikesi",
    "y": "wai",
    "z": "zei",
}


def _other_chars(chunk: str) -> list[str]:
    """pypinyin's callback for non-Chinese runs: one token per character, letters as spoken."""
    return [LETTER_PINYIN.get(char.lower(), char.lower()) for char in chunk]


@functools.lru_cache(maxsize=4096)
def _syllables(content: str) -> tuple[str, ...]:
    # One syllable per character; Latin letters as they are spoken, other characters as themselves.
    # (pypinyin accepts a list from the `errors` callback; its type stubs say str.)
    return tuple(
        lazy_pinyin(content, style=Style.NORMAL, errors=_other_chars)  # type: ignore[arg-type]
    )


def pinyin_key(text: str) -> str:
    """How `text` sounds: the toneless pinyin of its letters and digits. ASR variants of one name (万科物业,
    万可物业) share it."""
    return " ".join(_syllables(spoken_chars(text)))


def merge_by_sound(counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """(spelling, count) pairs with spellings that sound alike (`pinyin_key`) merged under the most frequent
    one, counts added, most frequent first: one name as the ASR wrote it several ways."""
    groups: dict[str, list[tuple[str, int]]] = {}
    for text, count in counts:
        groups.setdefault(pinyin_key(text), []).append((text, count))
    merged = [
        (max(group, key=lambda item: (item[1], item[0]))[0], sum(count for _, count in group))
        for group in groups.values()
    ]
    return sorted(merged, key=lambda item: (-item[1], item[0]))


@functools.lru_cache(maxsize=16384)
def _pinyin_string(syllables: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    """Space-joined pinyin and, for each character position in it, the syllable index (cached: a segment's
    pinyin is wanted once per phrase looked for in it)."""
    owner: list[int] = []
    parts: list[str] = []
    for index, syllable in enumerate(syllables):
        if parts:
            parts.append(" ")
            owner.append(index)
        parts.append(syllable)
        owner.extend([index] * len(syllable))
    return "".join(parts), tuple(owner)


def _negations(content: str) -> list[str]:
    return [char for char in content if char in NEGATIONS]


def _negated(text: str, start: int) -> bool:
    """True when the original text just before offset `start` is a negating word.

    Punctuation ends a negation's scope (不，我很满意 is satisfied), so this looks at the text as written;
    hesitations between the negation and the phrase (不嗯满意) do not.
    """
    before = text[:start].rstrip()
    while before.endswith(INTERJECTIONS):
        before = before[:-1].rstrip()
    return before.endswith(NEGATING_PREFIXES)


# Every check asks for many phrases in the same few segments: what a segment's text reduces to is computed
# once per text (and per set of fillers), not once per phrase (the check stage spent half its time here).
@functools.lru_cache(maxsize=16384)
def _content_view(text: str) -> tuple[str, tuple[int, ...]]:
    """`_content_chars`, cached (offsets as a tuple: shared, so never changed)."""
    content, offsets = _content_chars(text)
    return content, tuple(offsets)


@functools.lru_cache(maxsize=4096)
def _fillers_outside(target: str) -> tuple[str, ...]:
    """The filler words `target` does not contain: 就是这样 must not match a bare 这样."""
    return tuple(filler for filler in FILLERS if filler not in target)


@functools.lru_cache(maxsize=16384)
def _without_fillers(text: str, fillers: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    """`text`'s content characters with the filler words dropped (each kept character keeps its original
    offset in `text`)."""
    content, offsets = _content_view(text)
    chars: list[str] = []
    kept: list[int] = []
    index = 0
    while index < len(content):
        filler = next((f for f in fillers if content.startswith(f, index)), None)
        if filler:
            index += len(filler)
            continue
        chars.append(content[index])
        kept.append(offsets[index])
        index += 1
    return "".join(chars), tuple(kept)


def _exact(text: str, content: str, offsets: Sequence[int], target: str, first: int) -> tuple[int, int] | None:
    """Span of the first occurrence of `target`'s characters at content index >= `first`, not negated."""
    position = content.find(target, first)
    while position >= 0:
        if not _negated(text, offsets[position]):
            return offsets[position], offsets[position + len(target) - 1] + 1
        position = content.find(target, position + 1)
    return None


def _same_pinyin(text: str, content: str, offsets: Sequence[int], target: str, first: int) -> tuple[int, int] | None:
    """Span of the first run of syllables identical to `target`'s at content index >= `first`."""
    text_syllables, phrase_syllables = _syllables(content), _syllables(target)
    n = len(phrase_syllables)
    for start in range(first, len(text_syllables) - n + 1):
        if text_syllables[start : start + n] == phrase_syllables and not _negated(text, offsets[start]):
            return offsets[start], offsets[start + n - 1] + 1
    return None


def find_phrase(text: str, phrase: str, min_similarity: float = 0.85, start: int = 0) -> PhraseMatch | None:
    """Best occurrence of `phrase` in `text`, or None when nothing is similar enough.

    Only occurrences beginning at character offset `start` or later are considered; what precedes
    `start` still counts as context (a negation right before it).
    """
    if GAP in phrase:
        return _find_apart(text, phrase, min_similarity, start)
    content, offsets = _content_view(text)
    target, _ = _content_view(phrase)
    if not content or not target:
        return None
    # The text as written, then (when it has any) without the filler words inside it.
    views = [(content, offsets)]
    bare, bare_offsets = _without_fillers(text, _fillers_outside(target))
    if bare and bare != content:
        views.append((bare, bare_offsets))
    methods = [("exact", _exact)] + ([("pinyin", _same_pinyin)] if len(target) > 1 else [])
    for method, search in methods:
        for view, view_offsets in views:
            span = search(text, view, view_offsets, target, bisect.bisect_left(view_offsets, start))
            if span:
                return PhraseMatch(phrase, span[0], span[1], 1.0, method)
    if len(target) < MIN_FUZZY_CHARS:
        return None
    content, offsets = views[-1]
    skip = bisect.bisect_left(offsets, start)
    content, offsets = content[skip:], offsets[skip:]
    if not content:
        return None

    text_syllables, phrase_syllables = _syllables(content), _syllables(target)
    text_pinyin, owner = _pinyin_string(text_syllables)
    phrase_pinyin, _ = _pinyin_string(phrase_syllables)
    alignment = fuzz.partial_ratio_alignment(phrase_pinyin, text_pinyin, score_cutoff=min_similarity * 100)
    if alignment is None or alignment.dest_end <= alignment.dest_start:
        return None
    first = owner[alignment.dest_start]
    last = owner[alignment.dest_end - 1]
    # partial_ratio also aligns a text *shorter* than the phrase inside it; score the aligned span
    # against the whole phrase so a fragment never counts as the phrase. The span may also start or
    # end inside a syllable (the 'an' of 关 guan): the syllables it touches are scored whole too, and
    # the lower score counts, so 关慰您的 is not 安慰您的 at similarity 1.0.
    similarity = (
        min(
            fuzz.ratio(phrase_pinyin, text_pinyin[alignment.dest_start : alignment.dest_end]),
            fuzz.ratio(phrase_pinyin, " ".join(text_syllables[first : last + 1])),
        )
        / 100.0
    )
    if similarity < min_similarity:
        return None
    # The alignment may leave phrase characters uncovered at either end; widen the span by that many
    # characters so a negation it skipped over (我不很满意 vs 我很满意) is still seen.
    slack = max(0, len(target) - (last - first + 1))
    window = content[max(0, first - slack) : last + 1 + slack]
    if _negations(window) != _negations(target) or _negated(text, offsets[first]):
        return None
    return PhraseMatch(phrase, offsets[first], offsets[last] + 1, round(similarity, 3), "pinyin-fuzzy")


def _find_apart(text: str, phrase: str, min_similarity: float, start: int) -> PhraseMatch | None:
    """`phrase`'s parts (split at GAP) in order, each within MAX_GAP_CHARS spoken characters of the one before
    and in the same sentence; the least similar part's similarity and method stand for the whole."""
    parts = [part for part in phrase.split(GAP) if part.strip()]
    if not parts:
        return None
    while (first := find_phrase(text, parts[0], min_similarity, start)) is not None:
        found, end = [first], first.end
        for part in parts[1:]:
            following = find_phrase(text, part, min_similarity, end)
            between = text[end : following.start] if following else ""
            if following is None or len(spoken_chars(between)) > MAX_GAP_CHARS or _SENTENCE_END & set(between):
                break
            found.append(following)
            end = following.end
        else:
            weakest = min(found, key=lambda match: (match.similarity, -_METHOD_RANK.index(match.method)))
            return PhraseMatch(phrase, first.start, end, weakest.similarity, weakest.method)
        start = first.start + 1
    return None


def clause_bounds(text: str, start: int, end: int | None = None) -> tuple[int, int]:
    """(first, stop) of the clause holding text[start:end]: from just after the clause mark before `start` to
    the next clause mark at or after `end` (len(text) when there is none)."""
    end = start if end is None else end
    first = max((i + 1 for i in range(start) if text[i] in CLAUSE_MARKS), default=0)
    stop = next((i for i in range(end, len(text)) if text[i] in CLAUSE_MARKS), len(text))
    return first, stop


def clause_from(text: str, start: int) -> str:
    """`text` from `start` to the end of its clause, the closing mark included (还有别的事吗？)."""
    return text[start : clause_bounds(text, start)[1] + 1]


def is_question(text: str) -> bool:
    """Whether `text` asks something (还有别的吗, 有没有别的, 要不要, 还有别的没)."""
    return bool(_QUESTION.search(text.strip(" ，。！、,.!")))


def find_any(text: str, phrases: Iterable[str], min_similarity: float = 0.85, start: int = 0) -> PhraseMatch | None:
    """The best-matching phrase of `phrases` in `text` (highest similarity, then earliest)."""
    best: PhraseMatch | None = None
    for phrase in phrases:
        match = find_phrase(text, phrase, min_similarity, start)
        if match and (best is None or (match.similarity, -match.start) > (best.similarity, -best.start)):
            best = match
    return best
