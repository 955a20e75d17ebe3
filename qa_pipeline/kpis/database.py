"""The database as the commands that read or write it open it: with this version's KPI views.

Apart from qa_pipeline.kpis itself so that reading the KPI names (`qa-pipeline --help`) does not load
the whole pipeline that the store's record types bring in.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from qa_pipeline.kpis import connect_read_only, create_views
from qa_pipeline.store.connection import unwritable
from qa_pipeline.store.database import QaDatabase


def open_writer(path: str | Path, wait_s: float = 0.0, on_wait: Callable[[str], None] | None = None) -> QaDatabase:
    """The database opened for writing (QaDatabase.open_writer), with this version's views created in it,
    so that a QA lead's own DuckDB session finds them in the file. Creating them is also the first write:
    a file in a read-only folder is refused here, naming the folder, before any work is done."""
    db = QaDatabase.open_writer(path, wait_s, on_wait)
    try:
        create_views(db.connection)
    except (duckdb.IOException, duckdb.TransactionException, duckdb.PermissionException) as error:
        db.close()
        raise unwritable(path, error) from error
    return db


def open_reader(path: str | Path, wait_s: float = 0.0) -> QaDatabase:
    """The database opened read-only with this version's views (kpis.connect_read_only: refuses a file
    that is missing, not DuckDB, held by a writer after `wait_s`, or written by a version whose tables the
    views lack)."""
    return QaDatabase.reading(connect_read_only(path, wait_s), path)
