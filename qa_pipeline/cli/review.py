"""`review`: show a call's verdicts, or record a QA lead's verdict on one check.

The pipeline's database module is imported inside the function that uses it so that `qa-pipeline --help`
does not load it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from rich.markup import escape

from qa_pipeline.cli.common import console, fail, make_table
from qa_pipeline.store.connection import UnwritableDatabaseError, database_problem, lock_conflict

if TYPE_CHECKING:
    from qa_pipeline.store.database import QaDatabase


def _print_call_review(db: QaDatabase, call_id: str) -> None:
    _, rows = db.query(
        "SELECT v.check_id, v.machine_verdict, v.human_verdict, v.reviewer, v.evidence_start_s, v.evidence_text"
        " FROM check_verdicts v WHERE v.call_id = ? ORDER BY v.check_id",
        [call_id],
    )
    console.print(
        make_table(f"Checks of {call_id}", ["check", "machine", "human", "by", "evidence s", "evidence"], rows)
    )
    history = db.reviews_of(call_id)
    if history:
        console.print(
            make_table(
                f"Review history of {call_id}",
                ["at", "check", "verdict", "machine", "by", "note"],
                [(r.reviewed_at, r.check_id, r.verdict, r.machine_verdict, r.reviewer, r.note) for r in history],
            )
        )
    _, [(score, passed, machine_score, machine_passed)] = db.query(
        "SELECT qa_score, qa_passed, machine_qa_score, machine_qa_passed FROM call_facts WHERE call_id = ?", [call_id]
    )
    console.print(f"{call_id}: qa_score {score} (passed: {passed}); the machine's: {machine_score} ({machine_passed})")


def cmd_review(args: argparse.Namespace) -> int:
    from qa_pipeline.kpis.database import open_writer
    from qa_pipeline.store.database import ReviewError
    from qa_pipeline.store.sharing import BRIEF_WAIT_S, asking_for_the_file

    if args.check and not (args.verdict and args.by and args.note):
        return fail("a review needs --verdict, --by and --note (who decided what, and why)")
    if not args.check and (args.verdict or args.by or args.note):
        return fail("--verdict, --by and --note need --check (the check being reviewed)")
    if not Path(args.db).is_file():
        return fail(f"database {args.db} does not exist")
    try:
        # A run holding the file lends it between two calls when asked (store.sharing), as it does to `serve`.
        with asking_for_the_file(args.db), open_writer(args.db, BRIEF_WAIT_S) as db:
            if not args.check:
                if not db.query("SELECT 1 FROM calls WHERE call_id = ?", [args.call_id])[1]:
                    raise ReviewError(f"call {args.call_id!r} is not in {args.db}")
                _print_call_review(db, args.call_id)
                return 0
            review = db.add_review(args.call_id, args.check, args.verdict, args.by, args.note)
            console.print(
                f"review {review.review_id}: {review.call_id} {review.check_id}: machine {review.machine_verdict},"
                f" {review.reviewer} says {review.verdict} ({review.reviewed_at:%Y-%m-%d %H:%M:%S})"
            )
            _print_call_review(db, args.call_id)
    except (ReviewError, UnwritableDatabaseError) as error:
        return fail(escape(str(error)))
    except duckdb.IOException as error:
        if lock_conflict(error):  # another process (a running flow) holds the write lock
            problem = (
                f"{args.db} is in use by another process (a notebook, or a run busy with one call for more than"
                f" {BRIEF_WAIT_S:.0f} s), try again when it is done: {error}"
            )
        else:  # the file failed after it opened (a damaged block, a full disk)
            problem = f"cannot write {args.db}: {database_problem(error)}"
        return fail(escape(problem))
    return 0


def add_review_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    review = sub.add_parser(
        "review",
        help="show a call's verdicts, or override one check's verdict (KPIs and scores use the latest review)",
    )
    review.add_argument("call_id", metavar="CALL_ID")
    review.add_argument("--db", required=True, metavar="PATH", help="DuckDB file written by run or score")
    review.add_argument("--check", metavar="CHECK_ID", help="the check to review (without it: show the call)")
    review.add_argument("--verdict", choices=["pass", "fail", "na"], help="the QA lead's verdict (na: does not apply)")
    review.add_argument("--by", metavar="NAME", help="who reviewed")
    review.add_argument(
        "--note", metavar="TEXT", help="why (stored with personal data masked: phone, ID and card numbers, names)"
    )
    review.set_defaults(func=cmd_review)
