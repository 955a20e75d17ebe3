"""Accuracy measures shared by the benchmarks, the tests and (later) `qa-pipeline eval`."""

from __future__ import annotations

import unicodedata

from rapidfuzz.distance import Levenshtein

from qa_pipeline.asr.transcribe import to_simplified


def normalize_for_cer(text: str) -> str:
    """Simplified characters, letters and digits only (punctuation and spaces are not scored)."""
    simplified = to_simplified(text)
    return "".join(c for c in simplified if unicodedata.category(c)[0] in ("L", "N")).lower()


def character_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance, reference length) after normalization; sum both over a corpus for its CER."""
    ref, hyp = normalize_for_cer(reference), normalize_for_cer(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def character_error_rate(reference: str, hypothesis: str) -> float:
    errors, length = character_errors(reference, hypothesis)
    if length == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / length
