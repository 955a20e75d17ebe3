"""`serve`: the review application in the browser; `users`: who may sign in to it.

The application's modules are imported inside the functions so that `qa-pipeline --help` does not load them."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from rich.markup import escape

from qa_pipeline.cli.common import console, fail, make_table


def _users_path(args: argparse.Namespace) -> Path:
    from qa_pipeline.serve.users import default_users_path

    return Path(args.users) if args.users else default_users_path(args.db)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from qa_pipeline.serve.app import create_app
    from qa_pipeline.serve.users import UserError, UserStore

    if not Path(args.db).is_file():
        return fail(f"database {args.db} does not exist (`qa-pipeline run ... --db {args.db}` writes it)")
    if not 0.0 <= args.sample_share <= 1.0:
        return fail(f"--sample-share must be between 0 and 1, got {args.sample_share}")
    users_path = _users_path(args)
    try:
        known = UserStore(users_path).all()
    except UserError as error:
        return fail(escape(str(error)))
    if not known:
        return fail(
            f"no users in {users_path}: add one first (`qa-pipeline users add NAME --role lead --db {args.db}`)"
        )
    console.print(f"review application for {args.db} on http://{args.host}:{args.port} ({len(known)} users)")
    uvicorn.run(create_app(args.db, users_path, args.sample_share), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from qa_pipeline.serve.users import UserError, UserStore

    store = UserStore(_users_path(args))
    try:
        if args.action == "list":
            rows = [(u.username, u.role, u.agent_id or "") for u in store.all()]
            console.print(make_table(f"Users ({store.path})", ["user", "role", "agent_id"], rows))
            return 0
        if args.action == "remove":
            store.remove(args.name)
            console.print(f"removed {args.name} from {store.path}")
            return 0
        if not args.name or not args.role:
            return fail("users add needs NAME and --role")
        # The password from standard input (one line: for scripts) or asked for twice at the terminal, never
        # from the command line (it would stay in the shell's history and the process list).
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"password for {args.name}: ")
            if getpass.getpass("again: ") != password:
                return fail("the two passwords differ")
        user = store.add(args.name, args.role, password, args.agent_id)
    except UserError as error:
        return fail(escape(str(error)))
    console.print(f"{user.username} ({user.role}{' ' + user.agent_id if user.agent_id else ''}) saved in {store.path}")
    return 0


def add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        help="review in the browser: the queue, each call with its audio, confirm or overrule verdicts, calibration",
    )
    serve.add_argument("--db", required=True, metavar="PATH", help="DuckDB file written by run or score")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--users", metavar="FILE", help="users file (default: <db stem>.users.json beside the database)")
    serve.add_argument(
        "--sample-share",
        type=float,
        default=0.05,
        help="share of passed calls put in the queue for calibration (default 0.05)",
    )
    serve.set_defaults(func=cmd_serve)


def add_users_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="who may sign in to `serve`: add (or change), remove, list")
    users.add_argument("action", choices=["add", "remove", "list"])
    users.add_argument("name", nargs="?", metavar="NAME", help="user name (add, remove)")
    users.add_argument("--db", required=True, metavar="PATH", help="the database the application serves")
    users.add_argument("--users", metavar="FILE", help="users file (default: <db stem>.users.json beside the database)")
    users.add_argument("--role", choices=["lead", "reviewer", "agent", "viewer"], help="what the user may do")
    users.add_argument("--agent-id", metavar="ID", help="an agent's id in calls.agent_id (role agent)")
    users.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    users.set_defaults(func=cmd_users)
