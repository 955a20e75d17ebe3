"""Hand-made calls for tests of storage, KPIs, reviews, the report and the notebook.

`make_call` builds a ScoredCall whose every KPI input is given explicitly, so a test can state the known
answer of a KPI from its arguments; `write_calls` stores them the way the flow does (QaDatabase.write_call).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from qa_pipeline.asr.transcript import Segment, Transcript
from qa_pipeline.audio.facts import AudioFacts
from qa_pipeline.checks.base import CheckResult
from qa_pipeline.checks.call_type import CallType
from qa_pipeline.checks.run import Verdicts
from qa_pipeline.intake.discovery import CallJob
from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.kpis import KpiSettings
from qa_pipeline.kpis.database import open_writer
from qa_pipeline.measures import Measures
from qa_pipeline.model import ScoredCall
from qa_pipeline.scoring import score_call
from qa_pipeline.store.database import QaDatabase

# check_id -> (weight, fatal) for checks a test names in `verdicts` (others: weight 10, not fatal).
CHECK_WEIGHTS: dict[str, tuple[float, bool]] = {"forbidden_phrase": (20.0, True)}
DEFAULT_SEGMENTS = (
    ("agent", 0.5, 3.0, "您好，请问有什么可以帮您？"),
    ("customer", 3.5, 6.0, "我家水管漏水了。"),
    ("agent", 6.5, 9.0, "好的，感谢您的来电，再见。"),
)


def check_result(
    check_id: str, verdict: bool | None, evidence: tuple[float, float] = (0.5, 3.0), detail: dict | None = None
) -> CheckResult:
    """A check result: verdict True = pass, False = fail, None = not applicable."""
    weight, fatal = CHECK_WEIGHTS.get(check_id, (10.0, False))
    applicable = verdict is not None
    return CheckResult(
        check_id,
        applicable,
        verdict,
        None if verdict is None else float(verdict),
        weight,
        fatal,
        evidence[0] if applicable else None,
        evidence[1] if applicable else None,
        "证据" if applicable else None,
        detail or {},
    )


def make_call(
    call_id: str,
    *,
    agent: str | None = "A001",
    started_at: datetime | None = datetime(2026, 11, 19, 9, 30),
    talk_s: float = 60.0,
    hold_s: float | None = None,
    acw_s: float | None = None,
    ring_s: float | None = None,
    ring_count: int | None = None,
    answered_at: datetime | None = None,
    ended_at: datetime | None = None,
    direction: str = "inbound",
    call_type: str = "inquiry",
    caller_number: str | None = None,
    case_id: str | None = None,
    survey: float | None = None,
    inferred_satisfaction: int | None = None,
    verdicts: Mapping[str, bool | None] | None = None,
    segments: Iterable[tuple[str, float, float, str]] = DEFAULT_SEGMENTS,
    audio_path: str | None = None,
    diarization: str = "channel",
    pass_score: float = 80.0,
) -> ScoredCall:
    """A scored call with the given KPI inputs. `verdicts` maps check ids to pass/fail/None (n/a);
    default: greeting and closing_thanks pass, forbidden_phrase passes. `inferred_satisfaction` is the
    customer's answer to the satisfaction question (a passed satisfaction_question result carries it)."""
    verdicts = (
        verdicts if verdicts is not None else {"greeting": True, "closing_thanks": True, "forbidden_phrase": True}
    )
    results = [check_result(check_id, verdict) for check_id, verdict in verdicts.items()]
    if inferred_satisfaction is not None:
        detail = {"inferred_satisfaction": inferred_satisfaction}
        results = [r for r in results if r.check_id != "satisfaction_question"]
        results.append(check_result("satisfaction_question", True, detail=detail))
    meta = CallMetadata(
        audio_file=f"{call_id}.wav",
        call_id=call_id,
        agent_id=agent,
        started_at=started_at,
        hold_s=hold_s,
        acw_s=acw_s,
        survey_score=survey,
        direction=direction,
        call_type=call_type,
        caller_number=caller_number,
        case_id=case_id,
        answered_at=answered_at,
        ended_at=ended_at,
    )
    path = audio_path or f"/calls/{call_id}.wav"
    duration = max([talk_s, *(end for _, _, end, _ in segments)]) + 1.0
    return ScoredCall(
        job=CallJob(call_id, path, Path(path).name, meta),
        audio=AudioFacts("0" * 64, 2 if diarization == "channel" else 1, 8000, "pcm_s16le", duration),
        transcript=Transcript(
            tuple(Segment(speaker, start, end, text, 0.9) for speaker, start, end, text in segments),
            diarization,
            "test-model",
        ),
        measures=Measures(talk_s=talk_s, ring_s=ring_s, ring_count=ring_count, direction=direction),
        verdicts=Verdicts(CallType(call_type, "metadata"), results),
        score=score_call(results, pass_score),
        scorecard_hash="test",
        processed_at=datetime(2026, 11, 21, 2, 0),
    )


def write_calls(path: Path | str, calls: Iterable[ScoredCall], kpi_settings: KpiSettings | None = None) -> QaDatabase:
    """A DuckDB file holding `calls` as one run; the database is returned open (close it, or use `with`)."""
    db = open_writer(path)
    run_id = db.start_run("test-flow-run", "test-model", "test", "test", "/calls")
    db.write_kpi_settings((kpi_settings or KpiSettings()).rows())
    stored = 0
    for call in calls:
        db.write_call(call, run_id)
        stored += 1
    db.finish_run(run_id, stored, 0)
    return db


def with_forbidden_phrase(phrase: str) -> str:
    """A scorecard's text: the default one with `phrase` added to forbidden_phrase's list (a list replaces the
    default's, so the default's phrases are written out too)."""
    import tomllib

    import qa_pipeline.config

    with open(Path(qa_pipeline.config.__file__).parent / "default_scorecard.toml", "rb") as handle:
        phrases = [*tomllib.load(handle)["checks"]["forbidden_phrase"]["phrases"], phrase]
    return "[checks.forbidden_phrase]\nphrases = [" + ", ".join(f'"{p}"' for p in phrases) + "]\n"
