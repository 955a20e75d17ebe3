"""The agent's pace (语速适当), measured from the transcript's words."""

from __future__ import annotations

from collections.abc import Sequence

from qa_pipeline.asr.transcript import Segment
from qa_pipeline.measures.record import PaceStretch
from qa_pipeline.text.matching import spoken_chars


def measure_pace(segments: Sequence[Segment]) -> tuple[float | None, tuple[PaceStretch, ...]]:
    """Characters per minute over each utterance's own span (first word to last word), and per utterance."""
    stretches = []
    total_chars = 0
    total_s = 0.0
    for segment in segments:
        start, end = (
            (segment.words[0].start_s, segment.words[-1].end_s) if segment.words else (segment.start_s, segment.end_s)
        )
        chars = len(spoken_chars(segment.text))
        if chars == 0 or end <= start:
            continue
        total_chars += chars
        total_s += end - start
        stretches.append(PaceStretch(start, end, round(chars * 60 / (end - start), 1), segment.text))
    if total_s <= 0:
        return None, ()
    return round(total_chars * 60 / total_s, 1), tuple(stretches)
