"""qa_pipeline: score every call-center recording against the center's service standards.

Data flows one way, one folder per stage, each importing only from the stages before it
(tests/test_import_direction.py holds the order):
intake/ -> audio/ -> asr/ (speech, speaker turns, transcript) -> measures/ -> checks/ -> scoring.py
-> model.py (the scored call) -> privacy/ -> store/ (DuckDB) -> kpis/ (views) -> report/;
text/ (phrase matching, personal data in text) lies under them all; config/ (the scorecard) gathers every
stage's settings; run/ drives the stages; evaluation/ and cli/ sit on top. README "Layout" walks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

__version__ = "0.1.0"


def open_read_only(db_path: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a qa-pipeline database with this version's KPI views: what QA leads and
    notebooks use. Writes through it fail, and so does any SQL that reaches for a file (COPY, EXPORT,
    ATTACH, read_csv/read_text/read_blob, INSTALL/LOAD) or a SET that would allow it: the database and the
    caller-hash key beside it stay as they are. DuckDB shares these settings with any other read-only
    connection this process holds to the same file. Many readers may hold one at once (not while the flow
    writes)."""
    from qa_pipeline.kpis import connect_read_only

    return connect_read_only(db_path)
