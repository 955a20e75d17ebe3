"""`qa-pipeline` command line (also `python -m qa_pipeline`).

Exit codes: 0 all good; 1 the run finished but some recordings (or transcript lines) failed, see the
`failures` table, or, for `eval`, a threshold was missed; 2 bad invocation or configuration
(scorecard, metadata file, model, labels file), nothing processed.

One module per command group: run (run, score), operate (deploy, model), evaluate (eval, eval-diarization),
kpis (kpis, query, report), review; options holds the options several take, common the console, tables,
CSV cells and the error exit, parser the parser that puts them together.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.markup import escape

from qa_pipeline.cli.common import fail
from qa_pipeline.cli.parser import build_parser, parse_args
from qa_pipeline.store.connection import UnreadableDatabaseError, UnwritableDatabaseError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args))
    except (UnreadableDatabaseError, UnwritableDatabaseError) as error:
        # A database file no command can use (not DuckDB, a directory, read-only), wherever a command met it
        # (`run` meets it inside the Prefect flow, `eval` in its reader): named on one line, as bad
        # configuration; nothing was processed.
        return fail(escape(str(error)))
