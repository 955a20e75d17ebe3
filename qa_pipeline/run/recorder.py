"""One run's bookkeeping in the database: its start, each failure and metadata problem, each stored call,
and its end — the same for a folder of recordings (run/flow.py) and a transcript file
(run/transcript_file.py)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from qa_pipeline.intake.files import readable_path, readable_text
from qa_pipeline.kpis.organisations import organisations_named
from qa_pipeline.model import ScoredCall
from qa_pipeline.privacy.protect import protect_message
from qa_pipeline.privacy.redact import RedactionSettings
from qa_pipeline.run.summary import RunSummary
from qa_pipeline.store.database import QaDatabase


@dataclass
class RunRecorder:
    db: QaDatabase
    summary: RunSummary
    redaction: RedactionSettings  # the center's: how a problem quoting a cell or a line is masked
    log: logging.Logger | logging.LoggerAdapter[logging.Logger]
    status: str | None = None  # None: completed, or partial when calls failed

    @classmethod
    def start(
        cls,
        db: QaDatabase,
        summary: RunSummary,
        *,
        flow_run_id: str | None,
        asr_model: str,
        scorecard_hash: str,
        scorecard_name: str,
        source: str,
        redaction: RedactionSettings,
        log: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> RunRecorder:
        """A `runs` row marked running (summary.run_id is set from it)."""
        summary.run_id = db.start_run(flow_run_id, asr_model, scorecard_hash, scorecard_name, source)
        return cls(db, summary, redaction, log)

    def masked(self, text: str) -> str:
        return protect_message(text, self.redaction)

    def _record(self, where: str, stage: str, error: str) -> None:
        # A failure that cannot be written (the disk is full) is still in the log and the run's summary;
        # the call is not in the database either, so the next run scores it: nothing is lost.
        try:
            self.db.record_failure(self.summary.run_id, where, stage, error)
        except duckdb.Error as db_error:
            self.log.error("%s: failure (%s) not recorded in the database: %s", readable_path(where), stage, db_error)

    def problem(self, where: str, stage: str, text: str) -> str:
        """A problem that fails no call (a bad metadata cell): listed in `failures`, masked. Returns the
        masked text (for the log)."""
        message = self.masked(text)
        self._record(where, stage, message)
        return message

    def fail(self, where: str, stage: str, error: str) -> None:
        """A call (or a transcript line, or a listed file) that could not be scored. `error` is stored as
        given: mask what may quote personal data first (`masked`)."""
        self._record(where, stage, error)
        self.summary.failures.append((readable_path(where), stage, readable_text(error, where)))
        self.summary.calls_failed += 1

    def stored(self, scored: ScoredCall, rejudged: bool = False) -> None:
        """Count a call stored; a re-judged call's audio was not processed again, so it adds no audio time."""
        self.summary.calls_ok += 1
        if rejudged:
            self.summary.calls_rejudged += 1
        else:
            self.summary.audio_s += scored.audio.duration_s if scored.audio else 0.0

    def organisations_named(self) -> list[tuple[str, int]]:
        """The organisation names this run's greetings used where none was configured (kpis view
        organisations_named), spellings that sound alike merged under the most frequent one."""
        return organisations_named(self.db.connection, self.summary.run_id)

    def finish(self, status: str | None = None) -> None:
        s = self.summary
        self.db.finish_run(s.run_id, s.calls_ok, s.calls_failed, s.calls_unchanged, s.audio_s, status=status)

    @contextlib.contextmanager
    def finishing(self) -> Iterator[RunRecorder]:
        """Finish the run however the block ends: Ctrl-C, or a database that stopped taking writes, ends it
        'failed' rather than leaving it 'running' until the next run calls it interrupted."""
        try:
            yield self
        except BaseException:
            with contextlib.suppress(Exception):  # the database may be what failed
                self.finish("failed")
            raise
        self.finish(self.status)
