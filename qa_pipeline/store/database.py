"""The DuckDB file QA leads query.

One writer (the flow) holds the connection. Each call is written in one transaction that first deletes
the call's old rows, so re-running on the same input replaces a call instead of duplicating it, and a
crash mid-write leaves the previous version intact. KPI views are (re)created from kpis/*.sql on open.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from qa_pipeline.checks import REGISTRY  # the package: importing it registers every check
from qa_pipeline.intake.files import readable_path, readable_text
from qa_pipeline.store.connection import lock_conflict, unwritable

if TYPE_CHECKING:
    from qa_pipeline.model import ScoredCall

_CALL_COLUMNS = (
    "call_id",
    "audio_path",
    "audio_sha256",
    "agent_id",
    "direction",
    "call_type",
    "call_type_source",
    "started_at",
    "duration_s",
    "channels",
    "sample_rate",
    "diarization",
    "asr_model",
    "ring_count",
    "ring_s",
    "talk_s",
    "hold_s",
    "silence_s",
    "time_to_topic_s",
    "interruptions",
    "qa_score",
    "qa_passed",
    "satisfaction",
    "satisfaction_source",
    "case_id",
    "run_id",
    "processed_at",
    "codec",
    "answered_at",
    "ended_at",
    "acw_s",
    "caller_number",
    "agent_channel",
    "scorecard_hash",
    "extra",
    "answer_s",
    "answer_source",
    "ring_source",
    "ring_count_audio",
    "ring_s_audio",
    "ring_count_metadata",
    "ring_s_metadata",
    "ringback_channel",
    "direction_source",
    "hold_s_audio",
    "hold_source",
    "agent_talk_s",
    "customer_talk_s",
    "agent_talk_ratio",
    "agent_chars_per_minute",
    "raised_voice",
    "ended_by",
    "customer_cut_off",
    "diarization_confidence",
    "role_confidence",
    "speakers_found",
    "role_note",
    "pass_score",
    "input_fingerprint",
    "clipped_fraction",
    "judged",
    "not_judged_reason",
    "judged_share",
    "min_judged_share",
    "measure_inputs_hash",
)


VERDICTS = ("pass", "fail", "na")
LOCK_RETRY_S = 5.0  # how often a writer waiting for the file tries again
RUN_STATUSES = ("running", "completed", "partial", "failed", "interrupted")


# Rows per INSERT statement: one statement for a call's rows of a table is ~20x faster than executemany,
# which runs one statement per row (22 check results took ~20 ms).
INSERT_CHUNK = 500


def _insert(con: duckdb.DuckDBPyConnection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """`statement` ("INSERT INTO t [(columns)] VALUES") with every row of `rows`, a few statements at most."""
    for first in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[first : first + INSERT_CHUNK]
        row = "(" + ", ".join("?" for _ in chunk[0]) + ")"
        con.execute(f"{statement} {', '.join(row for _ in chunk)}", [value for values in chunk for value in values])


@dataclass(frozen=True)
class StoredCall:
    """What the database holds for a call already scored (QaDatabase.stored_calls)."""

    audio_sha256: str | None
    asr_model: str
    scorecard_hash: str | None
    input_fingerprint: str | None
    audio_path: str | None = None  # where the file was when it was scored
    has_inputs: bool = False  # what its checks read is kept sealed (call_inputs): it can be re-judged


class ReviewError(ValueError):
    """A review that cannot be stored: the message names the call or check and the problem."""


@dataclass(frozen=True)
class Review:
    """A QA lead's verdict on one check of one call (`reviews` row)."""

    review_id: int
    call_id: str
    check_id: str
    verdict: str  # pass | fail | na
    machine_verdict: str  # the machine's verdict when the review was made
    reviewer: str
    note: str | None
    reviewed_at: datetime


def _sql(name: str) -> str:
    return (resources.files("qa_pipeline.store") / name).read_text(encoding="utf-8")


def now() -> datetime:
    return datetime.now().replace(microsecond=0)


def call_row(scored: ScoredCall, run_id: str) -> dict[str, Any]:
    """The `calls` row of a scored call; unmeasured columns are None (NULL)."""
    job, meta, audio, measures = scored.job, scored.job.metadata, scored.audio, scored.measures
    transcript = scored.transcript
    satisfaction, satisfaction_source = scored.satisfaction
    return {
        "call_id": job.call_id,
        "audio_path": readable_path(job.audio_path),
        "audio_sha256": audio.sha256 if audio else None,
        "agent_id": meta.agent_id,
        "direction": measures.direction,
        "call_type": scored.verdicts.call_type.value,
        "call_type_source": scored.verdicts.call_type.source,
        "started_at": meta.started_at,
        "duration_s": audio.duration_s if audio else None,
        "channels": audio.channels if audio else None,
        "sample_rate": audio.sample_rate if audio else None,
        "diarization": scored.transcript.diarization,
        "asr_model": scored.transcript.asr_model,
        "ring_count": measures.ring_count,
        "ring_s": measures.ring_s,
        "talk_s": measures.talk_s,
        # The switch knows when the hold button was pressed; the audio only sees silences after a hold notice.
        "hold_s": meta.hold_s if meta.hold_s is not None else measures.hold_s,
        "silence_s": measures.silence_s,
        "time_to_topic_s": measures.time_to_topic_s,
        "interruptions": len(measures.interruptions) if measures.interruptions is not None else None,
        "qa_score": scored.score.qa_score,
        "qa_passed": scored.score.qa_passed,
        "satisfaction": satisfaction,
        "satisfaction_source": satisfaction_source,
        "case_id": meta.case_id,
        "run_id": run_id,
        "processed_at": scored.processed_at,
        "codec": audio.codec if audio else None,
        "answered_at": meta.answered_at,
        "ended_at": meta.ended_at,
        "acw_s": meta.acw_s,
        "caller_number": meta.caller_number,
        "agent_channel": meta.agent_channel,
        "scorecard_hash": scored.scorecard_hash,
        "extra": json.dumps(meta.extra, ensure_ascii=False) if meta.extra else None,
        "answer_s": measures.answer_s,
        "answer_source": measures.answer_source,
        "ring_source": measures.ring_source,
        "ring_count_audio": measures.ring_count_audio,
        "ring_s_audio": measures.ring_s_audio,
        "ring_count_metadata": measures.ring_count_metadata,
        "ring_s_metadata": measures.ring_s_metadata,
        "ringback_channel": measures.ringback_channel,
        "direction_source": measures.direction_source,
        "hold_s_audio": measures.hold_s,
        "hold_source": "metadata" if meta.hold_s is not None else "audio" if measures.hold_s is not None else None,
        "agent_talk_s": measures.agent_talk_s,
        "customer_talk_s": measures.customer_talk_s,
        "agent_talk_ratio": measures.agent_talk_ratio,
        "agent_chars_per_minute": measures.agent_chars_per_minute,
        "raised_voice": len(measures.raised_voice) if measures.raised_voice is not None else None,
        "ended_by": measures.hangup.ended_by if measures.hangup else None,
        "customer_cut_off": measures.hangup.customer_cut_off if measures.hangup else None,
        "diarization_confidence": transcript.diarization_confidence,
        "role_confidence": transcript.role_confidence,
        "speakers_found": transcript.speakers_found,
        "role_note": transcript.role_note,
        "pass_score": scored.score.pass_score,
        "input_fingerprint": job.fingerprint,
        "clipped_fraction": audio.clipped_fraction if audio else None,
        "judged": scored.score.judged,
        "not_judged_reason": scored.score.not_judged_reason,
        "judged_share": scored.score.judged_share,
        "measure_inputs_hash": scored.measure_inputs_hash,
        "min_judged_share": scored.score.min_judged_share,
    }


def event_rows(scored: ScoredCall) -> list[tuple[str, str, float, float, str | None]]:
    """The `call_events` rows of a scored call: the stretches behind its timings, in time order."""
    measures, call_id = scored.measures, scored.job.call_id
    events: list[tuple[str, str, float, float, str | None]] = []
    events += [(call_id, "ring", start, end, None) for start, end in measures.rings]
    events += [
        (call_id, "hold" if s.is_hold else "silence", s.start_s, s.end_s, s.hold_notice) for s in measures.silences
    ]
    events += [(call_id, "interruption", o.start_s, o.end_s, o.agent_text) for o in measures.interruptions or ()]
    events += [(call_id, "raised_voice", start, end, None) for start, end in measures.raised_voice or ()]
    hangup = measures.hangup
    if hangup and hangup.customer_cut_off and hangup.cut_off_start_s is not None:
        events.append((call_id, "cut_off", hangup.cut_off_start_s, hangup.last_speech_end_s, hangup.cut_off_text))
    return sorted(events, key=lambda event: (event[2], event[3], event[1]))


class QaDatabase:
    """The pipeline's single writer to the DuckDB file (kpis.database.open_writer opens it with the KPI
    views; open_reader opens it read-only)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # A file no writer can use is named with what is wrong (kpis.UnwritableDatabaseError); another
        # process holding it stays a duckdb.IOException, which open_writer waits out.
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.connection = duckdb.connect(self.path)
        except (duckdb.Error, OSError) as error:
            if lock_conflict(error):
                raise
            raise unwritable(self.path, error) from error
        try:
            self.connection.execute(_sql("schema.sql"))
            self._write_check_catalogue()
        except (duckdb.IOException, duckdb.TransactionException, duckdb.PermissionException) as error:
            # It opened but takes no writes: a read-only folder (no .wal can be created), a damaged file.
            self.connection.close()
            raise unwritable(self.path, error) from error

    @classmethod
    def reading(cls, connection: duckdb.DuckDBPyConnection, path: Path | str) -> QaDatabase:
        """A reader over a read-only connection opened elsewhere (kpis.database.open_reader: with views)."""
        db = cls.__new__(cls)
        db.path, db.connection = str(path), connection
        return db

    @classmethod
    def open_writer(
        cls, path: Path | str, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None
    ) -> QaDatabase:
        """Open for writing, waiting up to `wait_s` while another process holds the file (DuckDB lets one
        process write, or many read: a QA lead's notebook left open blocks the nightly run)."""
        # NaN never reaches the deadline (every comparison is false), infinity neither: the run would spin.
        if not 0.0 <= wait_s < float("inf"):
            raise ValueError(f"the wait for the database must be a finite number of seconds, 0 or more, got {wait_s!r}")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return cls(path)
            except duckdb.IOException as error:
                if not lock_conflict(error) or time.monotonic() >= deadline:
                    raise
                if on_wait:
                    on_wait(str(error))
                time.sleep(min(LOCK_RETRY_S, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self.connection.close()

    def yield_if_asked(self, wait_s: float) -> bool:
        """Lend the file to a process that asked for it (store.sharing: the review application), then take it
        back, waiting up to `wait_s` for it; whether it was lent. Only between whole writes: a call's rows
        are all in before this runs."""
        from qa_pipeline.store.sharing import someone_waiting, wait_while_asked

        if not someone_waiting(self.path):
            return False
        self.connection.close()
        wait_while_asked(self.path)
        self.connection = QaDatabase.open_writer(self.path, wait_s).connection
        return True

    def __enter__(self) -> QaDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write_check_catalogue(self) -> None:
        rows = [(cid, check.category, (check.__doc__ or "").strip().splitlines()[0]) for cid, check in REGISTRY.items()]
        self.connection.executemany("INSERT OR REPLACE INTO checks (check_id, category, title) VALUES (?, ?, ?)", rows)

    # -- runs ---------------------------------------------------------------------------------------
    def start_run(
        self, flow_run_id: str | None, asr_model: str, scorecard_hash: str, scorecard_name: str, input_dir: str
    ) -> str:
        # This connection holds the only write lock, so a run still 'running' is one whose process died
        # (killed, machine lost): its finished calls stand, the rest are picked up by this run.
        self.connection.execute(
            "UPDATE runs SET status = 'interrupted'"
            " WHERE finished_at IS NULL AND coalesce(status, 'running') = 'running'"
        )
        run_id = uuid.uuid4().hex
        self.connection.execute(
            "INSERT INTO runs (run_id, flow_run_id, started_at, asr_model, scorecard_hash, scorecard_name, input_dir,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?, 'running')",
            [run_id, flow_run_id, now(), asr_model, scorecard_hash, scorecard_name, input_dir],
        )
        return run_id

    def finish_run(
        self,
        run_id: str,
        calls_ok: int,
        calls_failed: int,
        calls_unchanged: int = 0,
        audio_s: float = 0.0,
        status: str | None = None,
    ) -> None:
        """Close the run; status defaults to completed, or partial when some recordings failed."""
        status = status or ("partial" if calls_failed else "completed")
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {', '.join(RUN_STATUSES)}, got {status!r}")
        self.connection.execute(
            "UPDATE runs SET finished_at = ?, calls_ok = ?, calls_failed = ?, calls_unchanged = ?, audio_s = ?,"
            " status = ? WHERE run_id = ?",
            [now(), calls_ok, calls_failed, calls_unchanged, round(audio_s, 3), status, run_id],
        )

    def record_failure(self, run_id: str, audio_path: str, stage: str, error: str) -> None:
        # A file name that is not UTF-8 is stored as readable text (audio.readable_path), here and in calls.
        self.connection.execute(
            'INSERT INTO failures (run_id, audio_path, stage, error, "at") VALUES (?, ?, ?, ?, ?)',
            [run_id, readable_path(audio_path), stage, readable_text(error, audio_path), now()],
        )

    # -- calls --------------------------------------------------------------------------------------
    def stored_calls(self, call_ids: Iterable[str]) -> dict[str, StoredCall]:
        """What is stored for these calls: the inputs they were scored from (incremental runs)."""
        _, rows = self.query(
            "SELECT c.call_id, c.audio_sha256, c.asr_model, c.scorecard_hash, c.input_fingerprint, c.audio_path,"
            " i.call_id IS NOT NULL FROM calls c LEFT JOIN call_inputs i USING (call_id)"
            " WHERE c.call_id IN (SELECT unnest(?::VARCHAR[]))",
            [list(call_ids)],
        )
        return {call_id: StoredCall(*stored) for call_id, *stored in rows}

    def sealed_inputs(self, call_ids: Iterable[str]) -> dict[str, bytes]:
        """call_id -> the sealed blob of what its checks read (privacy.seal), for the calls that have one."""
        _, rows = self.query(
            "SELECT call_id, sealed FROM call_inputs WHERE call_id IN (SELECT unnest(?::VARCHAR[]))", [list(call_ids)]
        )
        return {call_id: bytes(sealed) for call_id, sealed in rows}

    def stored_by_audio(self, sha256s: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """sha256 -> [(call_id, audio_path)] of the calls stored with that audio, oldest first: a recording
        copied or moved since is recognised as the call it already is (run.plan.resolve_recordings)."""
        _, rows = self.query(
            "SELECT audio_sha256, call_id, audio_path FROM calls WHERE audio_sha256 IN (SELECT unnest(?::VARCHAR[]))"
            " ORDER BY processed_at, call_id",
            [list(sha256s)],
        )
        found: dict[str, list[tuple[str, str]]] = {}
        for sha256, call_id, audio_path in rows:
            found.setdefault(sha256, []).append((call_id, audio_path))
        return found

    def move_call(self, call_id: str, old_path: str, new_path: str, run_id: str) -> None:
        """The call's recording now lies at `new_path` (moved into an archive folder, say): its rows say so,
        in one transaction; its scores stand."""
        new_path = readable_path(new_path)
        with self._transaction() as con:
            con.execute("UPDATE calls SET audio_path = ? WHERE call_id = ?", [new_path, call_id])
            con.execute("DELETE FROM recording_files WHERE audio_path = ? AND call_id = ?", [old_path, call_id])
            con.execute(
                "INSERT OR REPLACE INTO recording_files"
                " SELECT ?, audio_sha256, call_id, call_id, NULL, ?, ? FROM calls WHERE call_id = ?",
                [new_path, run_id, now(), call_id],
            )

    def open_failure_paths(self) -> set[str]:
        """Recordings whose latest attempt failed and that were not scored since (view open_failures)."""
        _, rows = self.query("SELECT audio_path FROM open_failures")
        return {path for (path,) in rows}

    def record_duplicate(
        self, run_id: str, audio_path: str, sha256: str, listed_as: str, call_id: str, scored_path: str
    ) -> None:
        """A second file holding audio already scored as call `call_id` from `scored_path`: listed, not
        scored again."""
        self.connection.execute(
            "INSERT OR REPLACE INTO recording_files VALUES (?, ?, ?, ?, ?, ?, ?)",
            [readable_path(audio_path), sha256, call_id, listed_as, readable_path(scored_path), run_id, now()],
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection inside one transaction: committed when the block ends, rolled back when it raises
        (all or nothing)."""
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            # A COMMIT that failed (disk full, file too large) has ended the transaction already; its error,
            # not ROLLBACK's "no transaction is active", is the one to report.
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise

    def write_call(self, scored: ScoredCall, run_id: str) -> None:
        """Replace every row of this call in one transaction (all or nothing). The call must have been
        through the privacy stage (qa_pipeline.privacy.protect.protect_call): this writes what it is given."""
        with self._transaction() as con:
            self._replace_call(con, scored, run_id)

    def _replace_call(self, con: duckdb.DuckDBPyConnection, scored: ScoredCall, run_id: str) -> None:
        job = scored.job
        call_id = job.call_id
        row = call_row(scored, run_id)
        segments = [
            (call_id, seq, s.speaker, s.start_s, s.end_s, s.text, s.confidence)
            for seq, s in enumerate(scored.transcript.segments)
        ]
        results = [
            (
                call_id,
                r.check_id,
                r.applicable,
                r.passed,
                r.score,
                r.weight,
                r.evidence_start_s,
                r.evidence_end_s,
                r.evidence_text,
                json.dumps(r.detail, ensure_ascii=False),
                r.fatal,
            )
            for r in scored.results
        ]
        tables = ("segments", "check_results", "call_events", "speaker_turns", "redactions", "call_inputs", "calls")
        for table in tables:
            con.execute(f"DELETE FROM {table} WHERE call_id = ?", [call_id])
        if scored.sealed_inputs is not None:
            con.execute("INSERT INTO call_inputs VALUES (?, ?, ?)", [call_id, scored.sealed_inputs, now()])
        placeholders = ", ".join("?" for _ in _CALL_COLUMNS)
        con.execute(
            f"INSERT INTO calls ({', '.join(_CALL_COLUMNS)}) VALUES ({placeholders})",
            [row[c] for c in _CALL_COLUMNS],
        )
        _insert(con, "INSERT INTO segments VALUES", segments)
        turns = [(call_id, t.start_s, t.end_s, t.label, t.role) for t in scored.transcript.turns]
        _insert(con, "INSERT INTO speaker_turns VALUES", turns)
        events = event_rows(scored)
        _insert(con, "INSERT INTO call_events VALUES", events)
        _insert(
            con,
            "INSERT INTO check_results (call_id, check_id, applicable, passed, score, weight,"
            " evidence_start_s, evidence_end_s, evidence_text, detail, fatal) VALUES",
            results,
        )
        redactions = [(call_id, r.location, r.kind, r.start, r.end, r.start_s, r.end_s) for r in scored.redactions]
        _insert(con, "INSERT INTO redactions VALUES", redactions)
        if scored.audio is not None:
            con.execute(
                "INSERT OR REPLACE INTO recording_files VALUES (?, ?, ?, ?, NULL, ?, ?)",
                [readable_path(job.audio_path), scored.audio.sha256, call_id, call_id, run_id, now()],
            )

    def write_kpi_settings(self, rows: Iterable[tuple[str, float]]) -> None:
        """The scorecard's [kpis] windows (name, value), read by the case views (kpis/call_cases.sql)."""
        self.connection.executemany("INSERT OR REPLACE INTO kpi_settings VALUES (?, ?)", list(rows))

    # -- reviews ------------------------------------------------------------------------------------
    def add_review(self, call_id: str, check_id: str, verdict: str, reviewer: str, note: str | None = None) -> Review:
        """Store a QA lead's verdict; it overrides the machine's in KPIs and scores from now on. The note is
        stored with personal data masked, as every other stored text is (default redaction settings: a
        review has no scorecard)."""
        from qa_pipeline.privacy.protect import protect_message

        if note is not None:
            note = protect_message(note)
        if verdict not in VERDICTS:
            raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        if not reviewer.strip():
            raise ReviewError("a review needs the reviewer's name (--by)")
        if not self.connection.execute("SELECT 1 FROM calls WHERE call_id = ?", [call_id]).fetchone():
            raise ReviewError(f"call {call_id!r} is not in {self.path}")
        if final := self.final_ruling(call_id, check_id):  # a lead's ruling on an agent's dispute is the last word
            raise ReviewError(f"{check_id} on {call_id} was ruled final on dispute {final}: no further review")
        found = self.connection.execute(
            "SELECT machine_verdict FROM check_verdicts WHERE call_id = ? AND check_id = ?", [call_id, check_id]
        ).fetchone()
        if not found:
            _, checks = self.query("SELECT check_id FROM check_results WHERE call_id = ? ORDER BY check_id", [call_id])
            raise ReviewError(
                f"call {call_id!r} has no result for check {check_id!r}; its checks: {', '.join(c for (c,) in checks)}"
            )
        row = self.connection.execute(
            "INSERT INTO reviews (call_id, check_id, verdict, machine_verdict, reviewer, note, reviewed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING review_id, reviewed_at",
            [call_id, check_id, verdict, found[0], reviewer.strip(), note, datetime.now()],
        ).fetchone()
        assert row is not None
        return Review(row[0], call_id, check_id, verdict, found[0], reviewer.strip(), note, row[1])

    def final_ruling(self, call_id: str, check_id: str) -> int | None:
        """The dispute whose ruling made this check of this call final (store.disputes), if any."""
        found = self.connection.execute(
            "SELECT dispute_id FROM disputes WHERE call_id = ? AND check_id = ? AND ruling IS NOT NULL LIMIT 1",
            [call_id, check_id],
        ).fetchone()
        return int(found[0]) if found else None

    def reviews_of(self, call_id: str) -> list[Review]:
        """Every review of the call, oldest first (the history)."""
        _, rows = self.query(
            "SELECT review_id, call_id, check_id, verdict, machine_verdict, reviewer, note, reviewed_at"
            " FROM reviews WHERE call_id = ? ORDER BY reviewed_at, review_id",
            [call_id],
        )
        return [Review(*row) for row in rows]

    # -- reading --------------------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.connection.execute(sql, params or [])
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
