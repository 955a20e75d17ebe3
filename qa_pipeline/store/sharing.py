"""One DuckDB file, a run and the review application at the same time.

DuckDB lets one process hold a database file for writing, and while it does no other process may open it,
not even to read. A run (`qa-pipeline run`, the nightly flow) holds the file from its start to its end; the
review application (`qa-pipeline serve`) needs it for a moment per page. So they take turns:

- The application, before it opens the file, leaves a marker beside it (`<db>.waiting`), opens the file as
  soon as it is free (waiting up to a minute), and removes the marker when it has closed the file again.
- A run, after each call it stores, looks for a fresh marker (`someone_waiting`): if there is one it closes
  the file, waits until the marker is gone (at most YIELD_MAX_S), and opens it again
  (QaDatabase.yield_if_asked). During a run a page therefore waits at most for the call being scored.
- Runs never interleave: a run also holds `<db>.run.lock` (an flock, released by the system when its
  process dies) for its whole length, so no second run or `score` takes the file while a run has lent it
  (a second run would take the first's 'running' row for one whose process died).

Markers older than FRESH_S are left over by an application that died mid-request and are ignored.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

FRESH_S = 120.0
# How long a process that needs the file for a moment (a page, a review, a command reading right after its
# run) waits for it: a run lends it once the call it is storing is stored (seconds; the first call of a run
# also waits for the models to load). A notebook holding the file never lends it.
BRIEF_WAIT_S = 60.0
YIELD_MAX_S = 30.0  # a run waits this long at most for the application to give the file back
POLL_S = 0.05


def waiting_marker(db_path: str | Path) -> Path:
    path = Path(db_path)
    return path.with_name(f"{path.name}.waiting")


@contextmanager
def asking_for_the_file(db_path: str | Path) -> Iterator[None]:
    """Say that this process wants the file (the marker), for as long as the block runs."""
    marker = waiting_marker(db_path)
    try:
        marker.write_text(f"{os.getpid()}\n", encoding="utf-8")
    except OSError:  # a folder this user may not write: no writer can use the file there, and says so itself
        yield
        return
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def someone_waiting(db_path: str | Path) -> bool:
    """Whether another process asked for the file in the last FRESH_S seconds."""
    try:
        return time.time() - waiting_marker(db_path).stat().st_mtime < FRESH_S
    except OSError:
        return False


def wait_while_asked(db_path: str | Path, max_s: float = YIELD_MAX_S) -> None:
    """Return when no one asks for the file any more, or after `max_s`."""
    deadline = time.monotonic() + max_s
    while someone_waiting(db_path) and time.monotonic() < deadline:
        time.sleep(POLL_S)


@contextmanager
def run_lock(db_path: str | Path, wait_s: float, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold `<db>.run.lock` for the block: one run (or `score`) of a database at a time. Waits up to `wait_s`
    for another run to finish; TimeoutError after that."""
    path = Path(db_path)
    lock_path = path.with_name(f"{path.name}.run.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        # A folder this user may not write (or a --db naming a directory): no run can write the database
        # there either, and opening it for writing next says what is wrong by name.
        yield
        return
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"another run of {db_path} is still going after {wait_s:.0f} s (it holds {lock_path})"
                    ) from None
                if on_wait and not told:
                    on_wait(f"another run of {db_path} holds {lock_path}")
                    told = True
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        yield
    finally:
        os.close(descriptor)  # releases the lock
