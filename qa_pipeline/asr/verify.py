"""Asking the ASR model whether words the transcript lacks were said: phrase verification against the audio.

Whisper base drops short words (a greeting's 您好, a closing's 再见) and garbles names. When the agent's
opening or closing lacks an element a script check needs (`ExpectedWords`), the model that transcribed the
call is asked about that utterance's own audio, encoded once (`PhraseVerifier.listen`):

1. At each place the element could stand (a word boundary near the start of the opening, near the end of the
   closing), what would it say next, told the words transcribed before that place (`continuations`)? A
   phrase of the element that this begins with is a candidate: one question per place, however long the
   element's phrase list.
2. How probable is that phrase there (`probabilities`)? CTranslate2's Whisper `align` gives each token's
   probability after the words before it (teacher forcing; decoding is causal, so what follows the place
   does not matter). The phrase counts as said when the geometric mean reaches `min_probability`
   (`VerifiedPhrase`, method 'audio-verified' in the checks' evidence, with that probability).

Nothing is ever taken away: verification only adds phrases the transcript lacks, so a verdict that passed
on the transcript cannot fail because of it. `python -m benchmarks.phrase_verification` measures how often
a phrase that was said and dropped is recovered, and how often one that was NOT said is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_pipeline.asr.transcript import Segment, VerifiedPhrase
from qa_pipeline.audio.decode import SAMPLE_RATE
from qa_pipeline.text.matching import find_any

if TYPE_CHECKING:
    from qa_pipeline.asr.transcribe import Transcriber

WHERE = ("opening", "closing")  # the agent's first utterance, or its last
WINDOW_FRAMES = 3000  # one Whisper window: 30 s of 10 ms mel frames
MARGIN_S = 0.1  # audio kept before the utterance's first word
TAIL_POSITIONS = 50  # encoder positions (20 ms each) kept after the audio's end
ALIGN_BATCH = 8  # sequences aligned at once: each holds a copy of the encoder output (1500 x 512 floats)
NEXT_TOKENS = 24  # what the model says next, in tokens: the longest expected phrase and a little lead
MAX_LEAD_CHARS = 2  # a proposed phrase may follow this much punctuation or filler (，嗯)


@dataclass(frozen=True)
class ExpectedWords:
    """An element a script check looks for, and where: its phrases are verified where the transcript lacks
    all of them."""

    element: str  # salutation, organisation, offer_of_help, thanks, goodbye
    phrases: tuple[str, ...]
    where: str  # one of WHERE


@dataclass(frozen=True)
class VerifySettings:
    """[matching] audio_verify / min_audio_probability, and what the script checks expect (config builds it)."""

    enabled: bool = True
    # geometric mean of the phrase's token probabilities; chosen on the sample calls (synthetic), false
    # acceptance measured on real speech (benchmarks.phrase_verification)
    min_probability: float = 0.5
    expected: tuple[ExpectedWords, ...] = ()
    min_similarity: float = 0.85  # [matching] min_similarity: a phrase found this way is not missing
    near_chars: int = 12  # places considered: word boundaries this near the utterance's start (end)
    max_places: int = 6


@dataclass(frozen=True)
class Listened:
    """A stretch of audio through the model's encoder once: what every question about it is asked of."""

    encoded: np.ndarray  # (1, positions, d_model), cut a second past the audio's end
    frames: int  # mel frames of audio (10 ms each)


class PhraseVerifier:
    """Asks the transcriber's own model about a stretch of audio: what it would say after given words, and
    how probable a given phrase is there."""

    def __init__(self, transcriber: Transcriber, prompt: str = "") -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.model = transcriber.model
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer, True, task="transcribe", language=transcriber.settings.language
        )
        tokens = self.tokenizer
        before = [tokens.sot_prev, *tokens.encode(" " + prompt.strip())] if prompt.strip() else []
        # as the transcriber decodes: its prompt, then start of transcript, language, task, no timestamps
        self.start_sequence = [*before, *tokens.sot_sequence, tokens.no_timestamps]

    def listen(self, samples: np.ndarray) -> Listened:
        """One encoder pass over `samples` (at most one 30 s window)."""
        features = self.model.feature_extractor(np.asarray(samples, dtype=np.float32))
        frames = min(int(features.shape[-1]), WINDOW_FRAMES)
        padded = np.zeros((features.shape[0], WINDOW_FRAMES), dtype=np.float32)
        padded[:, :frames] = features[:, :frames]
        # The decoder attends to every encoder position; past the audio's end they hold only padding, and
        # dropping all but a second of them leaves the probabilities within ~0.05 and the decoder 4x faster.
        positions = min(WINDOW_FRAMES // 2, frames // 2 + TAIL_POSITIONS)
        return Listened(np.asarray(self.model.encode(padded))[:, :positions], frames)

    def _batch(self, listened: Listened, size: int) -> Any:
        from ctranslate2 import StorageView

        return StorageView.from_array(np.ascontiguousarray(np.repeat(listened.encoded, size, axis=0)))

    def continuations(self, listened: Listened, befores: Sequence[str]) -> list[str]:
        """What the model says next (greedy, up to NEXT_TOKENS tokens, in simplified characters) after each of
        `befores` at the start of the audio: where a dropped word comes back."""
        from qa_pipeline.asr.transcribe import to_simplified

        if not befores:
            return []
        heads = [self.tokenizer.encode(b) if b else [] for b in befores]
        prompts = [[*self.start_sequence, *head] for head in heads]
        results: Any = self.model.model.generate(
            self._batch(listened, len(prompts)),
            prompts,
            beam_size=1,
            max_length=max(len(p) for p in prompts) + NEXT_TOKENS,
        )
        said = []
        for head, result in zip(heads, results, strict=True):
            tokens = list(result.sequences_ids[0])
            # the result repeats the words it was given after the start sequence: only what follows is new
            said.append(
                to_simplified(self.tokenizer.decode(tokens[len(head) :] if tokens[: len(head)] == head else tokens))
            )
        return said

    def probabilities(self, listened: Listened, candidates: Sequence[tuple[str, str]]) -> list[float]:
        """For each (words before, phrase): the geometric mean probability of the phrase's tokens following
        those words at the start of the audio (batched alignments). Each is scored as written and in
        traditional characters (what Whisper base writes), the higher counting."""
        from qa_pipeline.asr.transcribe import to_traditional

        forms = [
            form
            for before, phrase in candidates
            for form in ((before, phrase), (to_traditional(before), to_traditional(phrase)))
        ]
        unique = list(dict.fromkeys(forms))  # a phrase and its context are often the same in both scripts
        scored: dict[tuple[str, str], float] = {}
        for first in range(0, len(unique), ALIGN_BATCH):
            chunk = unique[first : first + ALIGN_BATCH]
            sequences, spans = [], []
            for before, phrase in chunk:
                head, body = self.tokenizer.encode(before) if before else [], self.tokenizer.encode(phrase)
                sequences.append(head + body)
                spans.append((len(head), len(head) + len(body)))
            results: Any = self.model.model.align(
                self._batch(listened, len(chunk)), self.start_sequence, sequences, [listened.frames] * len(chunk)
            )
            for form, result, (head_end, body_end) in zip(chunk, results, spans, strict=True):
                probs = np.asarray(result.text_token_probs[head_end:body_end], dtype=np.float64)
                scored[form] = float(np.exp(np.mean(np.log(probs + 1e-12)))) if len(probs) else 0.0
        return [max(scored[forms[i]], scored[forms[i + 1]]) for i in range(0, len(forms), 2)]


def places(segment: Segment, where: str, settings: VerifySettings) -> list[tuple[int, float, float]]:
    """(character offset, start_s, end_s) of the word boundaries where a missing phrase could stand: near the
    start of an opening, near the end of a closing; the seconds are those of the gap between the words."""
    if not segment.words:
        # no word timings (a transcript made elsewhere): the utterance's very start or end
        if where == "opening":
            return [(0, segment.start_s, segment.start_s)]
        return [(len(segment.text), segment.end_s, segment.end_s)]
    bounds: list[tuple[int, float, float]] = [(0, segment.start_s, segment.words[0].start_s)]
    offset = 0
    for word, following in zip(segment.words, [*segment.words[1:], None], strict=True):
        offset += len(word.text)
        bounds.append((offset, word.end_s, following.start_s if following else segment.end_s))
    if where == "opening":
        return [b for b in bounds if b[0] <= settings.near_chars][: settings.max_places]
    return [b for b in bounds if b[0] >= len(segment.text) - settings.near_chars][-settings.max_places :]


def proposed(said_next: str, phrases: Sequence[str], min_similarity: float) -> str | None:
    """The phrase of `phrases` that what the model says next begins with (after at most MAX_LEAD_CHARS of
    punctuation or a filler), if any."""
    found = find_any(said_next, phrases, min_similarity)
    return found.phrase if found is not None and found.start <= MAX_LEAD_CHARS else None


def verify_expected(
    agent: Sequence[Segment], streams: Mapping[str, np.ndarray], verifier: PhraseVerifier, settings: VerifySettings
) -> tuple[VerifiedPhrase, ...]:
    """The expected phrases the agent's opening and closing lack in text but say in audio. `agent`: the
    agent's utterances with words, in time order; `streams`: the samples each utterance is read from, by
    speaker (the agent's channel), or one 'unknown' stream (mono).

    Two questions, so a long phrase list costs no more than a short one: at each place, what would the model
    say next? A missing element's phrase it begins with is then scored there (`min_probability`)."""
    if not settings.enabled or not settings.expected or not agent:
        return ()
    found: list[VerifiedPhrase] = []
    heard: dict[int, Listened] = {}  # by utterance: a call with one agent utterance opens and closes in it
    for where, segment in (("opening", agent[0]), ("closing", agent[-1])):
        samples = streams.get(segment.speaker, streams.get("unknown"))
        missing = [
            e
            for e in settings.expected
            if e.where == where and e.phrases and find_any(segment.text, e.phrases, settings.min_similarity) is None
        ]
        spots = places(segment, where, settings)
        # an utterance longer than one window would be heard only in part, its words before a place not at all
        too_long = segment.end_s - segment.start_s + MARGIN_S > WINDOW_FRAMES / 100
        if samples is None or not missing or not spots or too_long:
            continue
        if id(segment) not in heard:
            first = max(0, int((segment.start_s - MARGIN_S) * SAMPLE_RATE))
            heard[id(segment)] = verifier.listen(samples[first : first + WINDOW_FRAMES * SAMPLE_RATE // 100])
        listened = heard[id(segment)]
        said_next = verifier.continuations(listened, [segment.text[:offset] for offset, _, _ in spots])
        candidates = [
            (expected, phrase, spot)
            for expected in missing
            for spot, after in zip(spots, said_next, strict=True)
            if (phrase := proposed(after, expected.phrases, settings.min_similarity)) is not None
        ]
        scores = verifier.probabilities(listened, [(segment.text[: spot[0]], phrase) for _, phrase, spot in candidates])
        for expected in missing:
            scored = [(score, c) for score, c in zip(scores, candidates, strict=True) if c[0] is expected]
            if not scored:
                continue
            score, (_, phrase, (offset, start_s, end_s)) = max(scored, key=lambda sc: sc[0])
            if score >= settings.min_probability:
                found.append(
                    VerifiedPhrase(
                        expected.element,
                        phrase,
                        segment.speaker,
                        segment.start_s,
                        offset,
                        start_s,
                        end_s,
                        round(score, 3),
                    )
                )
    return tuple(found)
