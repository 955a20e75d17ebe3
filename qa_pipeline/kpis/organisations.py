"""The organisation names agents used where the scorecard names none (view organisations_named), as the run
summary and the report show them, with the scorecard line that confirms them.

Apart from qa_pipeline.kpis so that reading the KPI names does not load the pinyin tables.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from qa_pipeline.text.matching import merge_by_sound


def organisations_named(connection: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, int]]:
    """(name, calls) of the run, spellings that sound alike merged under the most frequent one, most calls
    first."""
    rows = connection.execute("SELECT name, calls FROM organisations_named WHERE run_id = ?", [run_id]).fetchall()
    return merge_by_sound(rows)


def organisations_line(names: Iterable[str]) -> str:
    """The scorecard line that confirms `names`: [center] organisations = ["…", "…"]."""
    return "[center] organisations = [" + ", ".join(f'"{name}"' for name in names) + "]"
