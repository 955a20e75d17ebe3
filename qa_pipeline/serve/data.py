"""What the review application reads and writes, over the DuckDB file.

Each request opens the file for as long as it needs it and closes it (one connection at a time in this
process: DuckDB lets one process hold a file for writing, or many read it), so the application never keeps
the file from a nightly run between requests. Pages read the KPI views, read-only (kpis.open_reader); a
review is written through the same QaDatabase.add_review `qa-pipeline review` uses, so the verdict in force
and every KPI follow it at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from qa_pipeline.kpis.database import open_reader, open_writer
from qa_pipeline.store import disputes as dispute_store
from qa_pipeline.store.connection import UnreadableDatabaseError, lock_conflict
from qa_pipeline.store.database import QaDatabase, Review
from qa_pipeline.store.sharing import BRIEF_WAIT_S, asking_for_the_file


class DatabaseBusy(RuntimeError):
    """Another process (a run) holds the database for writing longer than a review waits."""


@dataclass(frozen=True)
class QueueFilters:
    day: date | None = None
    agent_id: str | None = None
    check_id: str | None = None
    call_type: str | None = None


def _records(db: QaDatabase, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    columns, rows = db.query(sql, params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def in_sample(call_id: str, share: float) -> bool:
    """Whether a passed call is in the calibration sample: a stable pick of about `share` of them (the same
    call stays in or out however often the queue is read)."""
    digest = hashlib.sha256(f"calibration:{call_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


class ReviewData:
    """The database behind the application."""

    def __init__(self, db_path: str | Path, sample_share: float = 0.05) -> None:
        self.db_path = str(db_path)
        self.sample_share = sample_share
        self._lock = threading.Lock()

    def reading(self) -> AbstractContextManager[QaDatabase]:
        """The file opened read-only with the KPI views, for one request (store.sharing: a run holding it
        lends it after the call it is storing)."""
        return self._using(lambda: open_reader(self.db_path, BRIEF_WAIT_S))

    def writing(self) -> AbstractContextManager[QaDatabase]:
        """The file opened for writing (schema brought up to date), for one request."""
        return self._using(lambda: open_writer(self.db_path, BRIEF_WAIT_S))

    @contextmanager
    def _using(self, open_database: Callable[[], QaDatabase]) -> Iterator[QaDatabase]:
        with self._lock, asking_for_the_file(self.db_path):
            db = self._opened(open_database)
            try:
                yield db
            finally:
                db.close()

    def _opened(self, open_database: Callable[[], QaDatabase]) -> QaDatabase:
        """`open_database()` (which waits BRIEF_WAIT_S for the file); DatabaseBusy when it is still held."""
        try:
            return open_database()
        except (duckdb.IOException, UnreadableDatabaseError) as error:
            cause = error if isinstance(error, duckdb.IOException) else error.__cause__
            if cause is None or not lock_conflict(cause):
                raise
            raise DatabaseBusy(
                f"{self.db_path} is held by another process (a run, or a notebook) for more than"
                f" {BRIEF_WAIT_S:.0f} s; nothing was saved: try again in a moment"
            ) from error

    # -- the queue ---------------------------------------------------------------------------------
    def queue(self, filters: QueueFilters) -> dict[str, Any]:
        """The calls due for review in the report's order (review_queue), then the calibration sample of
        passed calls; with how many of them were reviewed."""
        where: list[str] = ["TRUE"]
        params: list[object] = []
        if filters.day is not None:
            where.append("f.call_date = ?")
            params.append(filters.day)
        if filters.agent_id:
            where.append("f.agent_id = ?")
            params.append(filters.agent_id)
        if filters.call_type:
            where.append("f.call_type = ?")
            params.append(filters.call_type)
        if filters.check_id:
            where.append(
                "EXISTS (SELECT 1 FROM check_verdicts v WHERE v.call_id = f.call_id AND v.check_id = ?"
                " AND v.applicable AND NOT v.passed)"
            )
            params.append(filters.check_id)
        condition = " AND ".join(where)
        with self.reading() as db:
            flagged = _records(
                db,
                f"""
                SELECT q.*, r.reviews FROM review_queue AS q JOIN call_facts AS f USING (call_id)
                LEFT JOIN (SELECT call_id, count(*) AS reviews FROM reviews GROUP BY call_id) AS r USING (call_id)
                WHERE {condition}
                ORDER BY q.fatal DESC, q.low_confidence DESC, q.qa_score NULLS FIRST, q.started_at, q.call_id
                """,
                params,
            )
            passed = _records(
                db,
                f"""
                SELECT f.call_id, f.call_date, f.agent_id, f.call_type, f.qa_score, f.started_at, r.reviews
                FROM call_facts AS f
                LEFT JOIN (SELECT call_id, count(*) AS reviews FROM reviews GROUP BY call_id) AS r USING (call_id)
                WHERE {condition} AND f.qa_passed AND f.call_id NOT IN (SELECT call_id FROM review_queue)
                ORDER BY f.started_at, f.call_id
                """,
                params,
            )
            options = {
                "agents": [a for (a,) in db.query("SELECT DISTINCT agent_id FROM calls ORDER BY 1")[1] if a],
                "checks": [c for (c,) in db.query("SELECT check_id FROM checks ORDER BY 1")[1]],
                "call_types": [t for (t,) in db.query("SELECT DISTINCT call_type FROM call_facts ORDER BY 1")[1] if t],
                "days": [d for (d,) in db.query("SELECT DISTINCT call_date FROM call_facts ORDER BY 1 DESC")[1] if d],
            }
        sample = [row for row in passed if in_sample(row["call_id"], self.sample_share)]
        due = flagged + sample
        return {
            "flagged": flagged,
            "sample": sample,
            "due": len(due),
            "reviewed": sum(1 for row in due if row["reviews"]),
            "options": options,
        }

    # -- one call ------------------------------------------------------------------------------------
    def call(self, call_id: str) -> dict[str, Any] | None:
        """A call's facts, transcript (as stored: personal data masked), verdicts with evidence, review
        history and the stretches to mute in its recording; None when there is no such call."""
        with self.reading() as db:
            facts = _records(db, "SELECT * FROM call_facts WHERE call_id = ?", [call_id])
            if not facts:
                return None
            segments = _records(
                db, "SELECT speaker, start_s, end_s, text FROM segments WHERE call_id = ? ORDER BY seq", [call_id]
            )
            checks = _records(
                db,
                """
                SELECT v.check_id, coalesce(ch.title, v.check_id) AS title, v.fatal, v.machine_verdict,
                       v.human_verdict, v.reviewer, v.review_note, v.evidence_start_s, v.evidence_end_s,
                       v.evidence_text,
                       CASE WHEN NOT v.applicable THEN 'na' WHEN v.passed THEN 'pass' ELSE 'fail' END AS verdict
                FROM check_verdicts AS v LEFT JOIN checks AS ch USING (check_id)
                WHERE v.call_id = ?
                ORDER BY CASE WHEN v.applicable AND NOT v.passed THEN 0 ELSE 1 END, v.evidence_start_s NULLS LAST,
                         v.check_id
                """,
                [call_id],
            )
            history = db.reviews_of(call_id)
            call_disputes = dispute_store.disputes(db, call_id=call_id)
            acknowledged = {
                review_id
                for (review_id,) in db.query(
                    "SELECT a.review_id FROM review_acknowledgements AS a JOIN reviews AS r USING (review_id)"
                    " WHERE r.call_id = ?",
                    [call_id],
                )[1]
            }
            mute = [
                (start, end)
                for start, end in db.query(
                    "SELECT start_s, end_s FROM redactions WHERE call_id = ? AND start_s IS NOT NULL ORDER BY start_s",
                    [call_id],
                )[1]
            ]
        # the transcript lines holding a failed check's evidence, marked on the page as the report marks them
        failed_spans = [
            (c["evidence_start_s"], c["evidence_end_s"])
            for c in checks
            if c["verdict"] == "fail" and c["evidence_start_s"] is not None and c["evidence_end_s"] is not None
        ]
        for segment in segments:
            segment["evidence"] = any(
                start < segment["end_s"] and segment["start_s"] < end for start, end in failed_spans
            )
        return {
            "facts": facts[0],
            "segments": segments,
            "checks": checks,
            "history": history,
            "mute": mute,
            "disputes": call_disputes,
            "acknowledged": acknowledged,
        }

    def agent_of(self, call_id: str) -> tuple[bool, str | None]:
        """(whether the call exists, its agent)."""
        with self.reading() as db:
            rows = db.query("SELECT agent_id FROM calls WHERE call_id = ?", [call_id])[1]
        return (bool(rows), rows[0][0] if rows else None)

    def add_review(self, call_id: str, check_id: str, verdict: str, reviewer: str, note: str) -> Review:
        with self.writing() as db:
            return db.add_review(call_id, check_id, verdict, reviewer, note)

    # -- calibration ---------------------------------------------------------------------------------
    def calibration(self) -> dict[str, Any]:
        """Agreement of the machine with reviewers per check (view review_agreement), and between reviewers
        where two reviewed the same verdict: each one's latest verdict on a (call, check), compared pairwise."""
        with self.reading() as db:
            machine = _records(db, "SELECT * FROM review_agreement ORDER BY agreement_rate, check_id")
            between = _records(
                db,
                """
                WITH latest AS (
                    SELECT call_id, check_id, reviewer, verdict FROM reviews
                    QUALIFY row_number() OVER (PARTITION BY call_id, check_id, reviewer
                                               ORDER BY reviewed_at DESC, review_id DESC) = 1
                )
                SELECT a.check_id, count(*) AS pairs, count(*) FILTER (WHERE a.verdict = b.verdict) AS agreed,
                       round(count(*) FILTER (WHERE a.verdict = b.verdict) / count(*), 3) AS agreement_rate
                FROM latest AS a JOIN latest AS b
                  ON a.call_id = b.call_id AND a.check_id = b.check_id AND a.reviewer < b.reviewer
                GROUP BY a.check_id ORDER BY agreement_rate, a.check_id
                """,
            )
        return {"machine": machine, "between_reviewers": between}

    # -- agents and disputes -------------------------------------------------------------------------
    def agent_calls(self, agent_id: str) -> list[dict[str, Any]]:
        """Every call of one agent with its score in force, newest first, with its reviews and open disputes."""
        with self.reading() as db:
            return _records(
                db,
                """
                SELECT f.call_id, f.call_date, f.call_type, f.qa_score, f.qa_passed, f.fatal_failed,
                       coalesce(r.reviews, 0) AS reviews, coalesce(d.open_disputes, 0) AS open_disputes
                FROM call_facts AS f
                LEFT JOIN (SELECT call_id, count(*) AS reviews FROM reviews GROUP BY call_id) AS r USING (call_id)
                LEFT JOIN (SELECT call_id, count(*) AS open_disputes FROM disputes WHERE ruling IS NULL
                           GROUP BY call_id) AS d USING (call_id)
                WHERE f.agent_id = ?
                ORDER BY f.started_at DESC NULLS LAST, f.call_id
                """,
                [agent_id],
            )

    def disputes(self) -> list[dispute_store.Dispute]:
        with self.reading() as db:
            return dispute_store.disputes(db)

    def open_dispute(self, call_id: str, check_id: str, agent_id: str, by: str, note: str) -> dispute_store.Dispute:
        with self.writing() as db:
            return dispute_store.open_dispute(db, call_id, check_id, agent_id, by, note)

    def rule(self, dispute_id: int, ruling: str, by: str, note: str, verdict: str | None) -> dispute_store.Dispute:
        with self.writing() as db:
            return dispute_store.rule(db, dispute_id, ruling, by, note, verdict)

    def acknowledge(self, review_id: int, agent_id: str, by: str) -> None:
        with self.writing() as db:
            dispute_store.acknowledge(db, review_id, agent_id, by)
