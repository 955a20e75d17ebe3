"""The calls to review: each call of the review queue (view review_queue) with why it is there, its failed
checks, its transcript with the evidence marked, and its recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from qa_pipeline.report.audio import embed_recordings
from qa_pipeline.report.queries import call_segments, failed_check_evidence, redacted_spans
from qa_pipeline.report.views import Evidence, ReviewItem, ReviewReason, TranscriptLine

# calls.not_judged_reason (qa_pipeline/scoring.py) as the report says it
NOT_JUDGED_REASONS = {
    "no_speakers": "no speaker attribution",
    "roles_unclear": "agent and customer not told apart",
    "no_checks": "no check applied",
    "too_few_checks": "too few checks could judge",
}


def review_reasons(
    call: dict[str, Any], evidence: tuple[Evidence, ...], thresholds: dict[str, float]
) -> tuple[ReviewReason, ...]:
    """Why a review_queue row is in the queue, as tags; `thresholds` are review_thresholds'."""
    reasons = []
    if call["fatal"]:
        fatal_checks = ", ".join(e.check_id for e in evidence if e.fatal) or "a fatal check"
        reasons.append(ReviewReason("fatal", f"fatal failure: {fatal_checks}"))
    elif call["failed_qa"]:
        score = "no score" if call["qa_score"] is None else f"score {call['qa_score']:.1f}"
        mark = f" < pass mark {call['pass_score']:g}" if call["pass_score"] is not None else ""
        reasons.append(ReviewReason("low_score", f"failed QA: {score}{mark}"))
    if call["not_judged"]:
        why = NOT_JUDGED_REASONS.get(call["not_judged_reason"], call["not_judged_reason"] or "unknown")
        reasons.append(ReviewReason("low_confidence", f"machine unsure: not judged ({why}), no score"))
    if call["low_diarization"]:
        reasons.append(
            ReviewReason(
                "low_confidence",
                f"diarization confidence {call['diarization_confidence']:.2f} < {thresholds['diarization']}",
            )
        )
    if call["low_role"]:
        reasons.append(
            ReviewReason("low_confidence", f"role confidence {call['role_confidence']:.2f} < {thresholds['role']}")
        )
    if call["roles_unknown"]:
        reasons.append(ReviewReason("low_confidence", "roles unknown: no agent/customer segment on a mono call"))
    if call["low_asr"]:
        reasons.append(
            ReviewReason(
                "low_confidence",
                f"ASR confidence {call['asr_confidence']:.2f} < {thresholds['asr']} (mean over segments)",
            )
        )
    return tuple(reasons)


def review_items(
    connection: duckdb.DuckDBPyConnection,
    calls: list[dict[str, Any]],
    thresholds: dict[str, float],
    audio_cache: Path | None = None,
) -> tuple[ReviewItem, ...]:
    """The page's review items for `calls` (review_queue rows), in their order; their recordings' encodings
    are kept in `audio_cache` for the next report (report.audio)."""
    call_ids = [call["call_id"] for call in calls]
    evidence = failed_check_evidence(connection, call_ids)
    segments = call_segments(connection, call_ids)
    muted = redacted_spans(connection, call_ids)
    audio = embed_recordings([(call["audio_path"], muted.get(call["call_id"], ())) for call in calls], audio_cache)
    items = []
    for number, (call, recording) in enumerate(zip(calls, audio, strict=True), start=1):
        failed = evidence.get(call["call_id"], ())
        items.append(
            ReviewItem(
                dom_id=f"review-{number}",
                call_id=call["call_id"],
                agent_id=call["agent_id"],
                started_at=call["started_at"],
                call_type=call["call_type"],
                qa_score=call["qa_score"],
                machine_qa_score=call["machine_qa_score"],
                pass_score=call["pass_score"],
                role_note=call["role_note"],
                reasons=review_reasons(call, failed, thresholds),
                failed_checks=failed,
                transcript=transcript_lines(segments.get(call["call_id"], []), failed),
                audio=recording,
            )
        )
    return tuple(items)


def transcript_lines(segments: list[tuple[Any, ...]], evidence: tuple[Evidence, ...]) -> tuple[TranscriptLine, ...]:
    lines = []
    for speaker, start_s, end_s, text, confidence in segments:
        covering = tuple(e.check_id for e in evidence if e.covers(start_s, end_s))
        lines.append(TranscriptLine(speaker, start_s, end_s, text, confidence, covering))
    return tuple(lines)
