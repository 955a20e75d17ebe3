"""Do two databases hold the same scores? `python -m qa_pipeline.evaluation.compare OLD.duckdb NEW.duckdb`

For an upgrade or a refactor: score the same recordings with two versions, then compare what each stored
for every call (calls, segments, check_results, call_events, redactions) and the check catalogue.
Columns that name the run or the moment (run_id, processed_at, ...) are left out, and the folder the
recordings were read from is taken out of paths, so two checkouts compare equal when they scored the
same way. Give both the same caller-hash salt (copy OLD's .salt file beside NEW first, or set
QA_PIPELINE_SALT), else caller_number and input_fingerprint differ as they should. Prints each table's
row count and the first differing rows; exit status 1 when any table differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

TABLES = ("calls", "segments", "check_results", "call_events", "redactions", "checks")
# What differs between two runs of the same version: the run, the clock, and where the files were.
VOLATILE = frozenset({"run_id", "processed_at", "scored_at", "created_at", "at", "flow_run_id"})
SHOWN = 5


def _rows(path: str, table: str) -> tuple[list[str], list[tuple[object, ...]]]:
    connection = duckdb.connect(path, read_only=True)
    try:
        [(input_dir,)] = connection.execute("SELECT coalesce(max(input_dir), '') FROM runs").fetchall()
        columns = [c for (c,) in connection.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()]
        kept = [c for c in columns if c not in VOLATILE]
        rows = connection.execute(f"SELECT {', '.join(kept)} FROM {table}").fetchall()
    finally:
        connection.close()
    prefix = str(input_dir).rstrip("/") + "/"
    relative = [tuple(v.replace(prefix, "") if isinstance(v, str) and prefix != "/" else v for v in r) for r in rows]
    return kept, sorted(relative, key=repr)


def compare(old: str, new: str) -> list[str]:
    """One line per table, then the differing rows: empty differences mean equal."""
    lines: list[str] = []
    for table in TABLES:
        old_columns, old_rows = _rows(old, table)
        new_columns, new_rows = _rows(new, table)
        if old_columns != new_columns:
            lines.append(f"{table}: columns differ: {old_columns} vs {new_columns}")
            continue
        only_old = [r for r in old_rows if r not in set(new_rows)]
        only_new = [r for r in new_rows if r not in set(old_rows)]
        same = not only_old and not only_new and len(old_rows) == len(new_rows)
        lines.append(f"{table}: {len(old_rows)} vs {len(new_rows)} rows, {'equal' if same else 'DIFFERENT'}")
        lines += [f"  only in {old}: {r}" for r in only_old[:SHOWN]]
        lines += [f"  only in {new}: {r}" for r in only_new[:SHOWN]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the database the earlier version wrote")
    parser.add_argument("new", help="the database the later version wrote")
    args = parser.parse_args(argv)
    for path in (args.old, args.new):
        if not Path(path).is_file():
            parser.error(f"{path}: no such database")
    lines = compare(args.old, args.new)
    print("\n".join(lines))
    return 1 if any("DIFFERENT" in line or "columns differ" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
