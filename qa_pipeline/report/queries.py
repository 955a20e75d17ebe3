"""What the report reads from the database: the KPI views of qa_pipeline/kpis (docs/kpis.md), and, for the
calls it shows, their failed checks, transcript and redacted stretches. Everything is read through the
read-only connection kpis.connect_read_only opens (this version's views as TEMP objects)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from qa_pipeline.kpis import connect_read_only, kpi_rows, kpi_total
from qa_pipeline.kpis.organisations import organisations_named
from qa_pipeline.report.period import Period, ReportError
from qa_pipeline.report.views import (
    CheckCalibration,
    CheckFailures,
    Evidence,
    LatestRun,
    RecentReview,
    RunFailure,
)
from qa_pipeline.store.connection import UnreadableDatabaseError


def open_database(db_path: str | Path, wait_s: float = 0.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a qa-pipeline database, or a ReportError saying what is wrong with it
    (`wait_s`: how long to wait for a writer that holds it)."""
    try:
        return connect_read_only(db_path, wait_s)
    except UnreadableDatabaseError as error:
        raise ReportError(str(error)) from error


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def latest_call_day(connection: duckdb.DuckDBPyConnection) -> date | None:
    """The latest plausible call day (kpis/period_days.sql says which dates are): a placeholder date stored by
    an older version (9999-12-31, 0001-01-01) must not become the report's day. None: no calls."""
    latest = connection.execute("SELECT max(day) FROM period_days(NULL, NULL)").fetchone()
    return latest[0] if latest else None


def latest_run(connection: duckdb.DuckDBPyConnection) -> LatestRun | None:
    """The latest run (view run_scores) and what it could not process (view run_failures)."""
    runs = _records(
        connection.execute(
            "SELECT run_id, started_at, finished_at, calls_ok, calls_failed, scorecard_name, asr_model, input_dir"
            " FROM run_scores ORDER BY started_at DESC, run_id LIMIT 1"
        )
    )
    if not runs:
        return None
    run = runs[0]
    failures = connection.execute(
        'SELECT audio_path, stage, error FROM run_failures WHERE run_id = ? ORDER BY "at", audio_path',
        [run["run_id"]],
    ).fetchall()
    return LatestRun(
        run_id=run["run_id"],
        started_at=run["started_at"],
        finished_at=run["finished_at"],
        calls_ok=run["calls_ok"],
        calls_failed=run["calls_failed"],
        scorecard_name=run["scorecard_name"],
        asr_model=run["asr_model"],
        input_dir=run["input_dir"],
        failures=tuple(RunFailure(*row) for row in failures),
        organisations_named=tuple(organisations_named(connection, run["run_id"])),
    )


def group_records(connection: duckdb.DuckDBPyConnection, by: str, period: Period) -> list[dict[str, Any]]:
    """The rows of a KPI grouping over the period, as dicts (without the total the CLI shows)."""
    columns, rows = kpi_rows(connection, by, period.start, period.end)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def period_kpis(connection: duckdb.DuckDBPyConnection, period: Period) -> dict[str, Any]:
    """kpi_by over the whole period, plus the case figures of kpi_case (first-contact resolution)."""
    kpis = kpi_total(connection, "day", period.start, period.end)
    cases = kpi_total(connection, "case", period.start, period.end)
    kpis["first_contact_resolution_rate"] = cases.get("first_contact_resolution_rate")
    kpis["cases"] = cases.get("cases", 0)
    return kpis


def failed_checks(connection: duckdb.DuckDBPyConnection, period: Period) -> tuple[CheckFailures, ...]:
    """Checks that failed at least once in the period (view check_failures: verdicts in force), most
    failures first."""
    rows = connection.execute(
        """
        SELECT check_id, title, category, failed_calls, applicable_calls
        FROM check_failures_between(?, ?)
        WHERE failed_calls > 0
        ORDER BY failed_calls DESC, failed_calls / applicable_calls DESC, check_id
        """,
        [period.start, period.end],
    ).fetchall()
    return tuple(CheckFailures(*row) for row in rows)


def calibration(connection: duckdb.DuckDBPyConnection) -> tuple[CheckCalibration, ...]:
    rows = connection.execute(
        """
        SELECT a.check_id, coalesce(ch.title, a.check_id), a.reviewed_calls, a.agreed, a.agreement_rate,
               a.overrides, a.machine_false_fail, a.machine_missed_fail, a.reviews, a.last_reviewed_at
        FROM review_agreement AS a
        LEFT JOIN checks AS ch USING (check_id)
        ORDER BY a.agreement_rate, a.check_id
        """
    ).fetchall()
    return tuple(CheckCalibration(*row) for row in rows)


def recent_reviews(connection: duckdb.DuckDBPyConnection, limit: int = 10) -> tuple[RecentReview, ...]:
    rows = connection.execute(
        """
        SELECT call_id, check_id, machine_verdict, human_verdict, reviewer, review_note, reviewed_at
        FROM check_verdicts
        WHERE human_verdict IS NOT NULL
        ORDER BY reviewed_at DESC, call_id, check_id
        LIMIT ?
        """,
        [limit],
    ).fetchall()
    return tuple(RecentReview(*row) for row in rows)


def review_thresholds(connection: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The confidences below which the machine counts as unsure of a call (view review_thresholds)."""
    [row] = _records(connection.execute("SELECT diarization, role, asr FROM review_thresholds"))
    return {name: float(value) for name, value in row.items()}


def review_candidates(connection: duckdb.DuckDBPyConnection, period: Period) -> list[dict[str, Any]]:
    """Calls of the period with a reason to listen to them (view review_queue): fatal failures first, then
    results the machine was unsure of (low confidence, and calls it did not judge), then the other failed
    calls; lowest score first within each. One row a call."""
    return _records(
        connection.execute(
            """
            SELECT * FROM review_queue_between(?, ?)
            ORDER BY fatal DESC, low_confidence DESC, qa_score NULLS FIRST, started_at, call_id
            """,
            [period.start, period.end],
        )
    )


def failed_check_evidence(
    connection: duckdb.DuckDBPyConnection, call_ids: list[str]
) -> dict[str, tuple[Evidence, ...]]:
    """The failed checks (verdicts in force) of each call, fatal ones first, in recording order."""
    rows = connection.execute(
        """
        SELECT v.call_id, v.check_id, coalesce(ch.title, v.check_id), v.fatal, v.overridden, v.reviewer,
               v.evidence_start_s, v.evidence_end_s, v.evidence_text
        FROM check_verdicts AS v
        LEFT JOIN checks AS ch USING (check_id)
        WHERE list_contains(?, v.call_id) AND v.applicable AND v.passed = false
        ORDER BY v.call_id, v.fatal DESC, v.evidence_start_s NULLS LAST, v.check_id
        """,
        [call_ids],
    ).fetchall()
    evidence: dict[str, list[Evidence]] = {}
    for call_id, *fields in rows:
        evidence.setdefault(call_id, []).append(Evidence(*fields))
    return {call_id: tuple(items) for call_id, items in evidence.items()}


def call_segments(connection: duckdb.DuckDBPyConnection, call_ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    rows = connection.execute(
        "SELECT call_id, speaker, start_s, end_s, text, confidence FROM segments"
        " WHERE list_contains(?, call_id) ORDER BY call_id, seq",
        [call_ids],
    ).fetchall()
    segments: dict[str, list[tuple[Any, ...]]] = {}
    for call_id, *fields in rows:
        segments.setdefault(call_id, []).append(tuple(fields))
    return segments


def redacted_spans(connection: duckdb.DuckDBPyConnection, call_ids: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Where each call's personal data was said (the `redactions` with times): muted in the embedded audio."""
    try:
        rows = connection.execute(
            "SELECT call_id, start_s, end_s FROM redactions WHERE list_contains(?, call_id) AND start_s IS NOT NULL"
            " ORDER BY call_id, start_s",
            [call_ids],
        ).fetchall()
    except duckdb.CatalogException:  # a database no run of this version has written: nothing was redacted
        return {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for call_id, start_s, end_s in rows:
        spans.setdefault(call_id, []).append((start_s, end_s))
    return spans
