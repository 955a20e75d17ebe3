"""Opening the DuckDB file: what makes a file unusable, lock conflicts between processes, and the lockdown
every read-only connection gets."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

LOCK_RETRY_S = 0.1  # how often a waiting reader tries the file again


class UnreadableDatabaseError(ValueError):
    """A database file the KPI views cannot read: the message names the file and what is wrong."""


def lock_down(connection: duckdb.DuckDBPyConnection, path: str | Path) -> None:
    """Leave a read-only connection able to read its database and nothing else, for good: SQL naming a file
    (COPY TO/FROM, EXPORT, ATTACH, read_text/read_csv/read_blob, INSTALL/LOAD) is refused, and so is any SET
    or RESET that would undo this. Settings belong to the database instance, which DuckDB shares among the
    connections one process opens read-only to one file: a second reader finds it locked already, and any
    other such connection of the process is locked with it."""
    [(locked,)] = connection.execute("SELECT current_setting('lock_configuration')").fetchall()
    if not locked:
        # Spilling to disk would be a file this reader writes: a query too big for memory stops with DuckDB's
        # out-of-memory message instead. Set first: it cannot change once external access is off.
        connection.execute("SET temp_directory = ''")
        connection.execute("SET enable_external_access = false")
        # External access off still lets SQL reach the database file, its WAL and temp folder (DuckDB allows
        # them for its own use, and they cannot be taken off that list): COPY ... TO 'qa.duckdb'
        # (USE_TMP_FILE false) overwrote the database. The open database reads through the handle it holds
        # already, so the local file system is closed to SQL altogether.
        connection.execute("SET disabled_filesystems = 'LocalFileSystem'")
        connection.execute("SET lock_configuration = true")
    # The proof rather than the intent (also for an instance something else in this process locked): the
    # database's own file, the one path DuckDB still allows, must be out of reach.
    try:
        connection.execute("SELECT count(*) FROM glob(?)", [str(path)]).fetchall()
    except duckdb.PermissionException:
        return
    raise UnreadableDatabaseError(
        f"cannot open {path} safely read-only: this process already has it open with file access allowed"
        " (a duckdb.connect(..., read_only=True) with its configuration locked); close that connection first"
    )


class UnwritableDatabaseError(ValueError):
    """A database path a writer (run, score, review) cannot use: not a DuckDB file, a directory, read-only.
    The message names the file and what is wrong."""


NOT_DUCKDB = "it is not a DuckDB database file (damaged, or another kind of file under that name)"


DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file, after the header's checksum


def database_problem(error: BaseException, hint: str = "") -> str:
    """What an error from opening or reading a database file says about the file, on one line; `hint`
    follows an error this does not recognise."""
    text = str(error).strip()
    if "not a valid DuckDB database file" in text:
        return NOT_DUCKDB
    if isinstance(error, IsADirectoryError) or "Is a directory" in text:
        return "it is a directory, not a DuckDB database file"
    first = text.splitlines()[0] if text else type(error).__name__
    if "Corrupt database file" in text:  # a DuckDB header, and blocks that fail their checksums
        return f"the file is damaged ({first})"
    if isinstance(error, PermissionError) or "Permission denied" in text or "Read-only file system" in text:
        return f"{first} (read-only for this user: a writer must write the file and, for its .wal, its folder)"
    return f"{first} {hint}".strip()


def lock_conflict(error: BaseException) -> bool:
    """Whether DuckDB refused the file because another process holds it (the one case worth waiting for).
    Matched on DuckDB's words: a damaged file's "Could not read block" mentions a lock too, by accident."""
    text = str(error)
    return isinstance(error, duckdb.IOException) and ("Could not set lock" in text or "Conflicting lock" in text)


def unwritable(path: str | Path, error: BaseException) -> UnwritableDatabaseError:
    return UnwritableDatabaseError(f"database {path} cannot be opened for writing: {database_problem(error)}")


def check_writable(path: str | Path) -> None:
    """Refuse, before a run starts, a --db no writer could use: a directory, a file that is not a DuckDB
    database (no DuckDB header), or a file or folder this user may not write. Reads 12 bytes and takes no
    lock: a flow or a notebook holding the file is no problem here (the run waits for it)."""
    file = Path(path)
    refuse = f"database {path} cannot be opened for writing"
    if file.is_dir():
        raise UnwritableDatabaseError(f"{refuse}: it is a directory, not a DuckDB database file")
    if file.exists():
        try:
            with file.open("rb") as handle:
                header = handle.read(12)
        except OSError as error:
            raise unwritable(path, error) from error
        if header[8:12] != DUCKDB_MAGIC:
            raise UnwritableDatabaseError(f"{refuse}: {NOT_DUCKDB}")
        if not os.access(file, os.W_OK):
            raise UnwritableDatabaseError(f"{refuse}: the file is read-only for this user")
    # The writer creates missing folders, and DuckDB the .wal beside the database: the nearest folder that
    # exists must take new files.
    folder = next(p for p in (file.absolute().parent, *file.absolute().parents) if p.exists())
    if not folder.is_dir():
        raise UnwritableDatabaseError(f"{refuse}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UnwritableDatabaseError(
            f"{refuse}: folder {folder} is read-only for this user (DuckDB writes {file.name}.wal beside the database)"
        )


def connect_read_only(
    path: str | Path, prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None, wait_s: float = 0.0
) -> duckdb.DuckDBPyConnection:
    """A read-only connection with this version's views (TEMP objects of the connection): what every
    reader (kpis, query, report, eval, open_read_only) opens. Once the views exist it reaches nothing but
    the database (lock_down). Refuses a missing file, a file that is not a DuckDB database, a file no run
    has written, one written by an older version that lacks tables the views read, and one a writer holds
    (DuckDB allows one writer process or many readers): at once, or after `wait_s` seconds of trying (a
    command reading right after its own run, while the review application has the file for a moment)."""
    if not Path(path).is_file():
        raise UnreadableDatabaseError(f"database {path} does not exist (`qa-pipeline run ... --db {path}` writes it)")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.Error as error:
            if lock_conflict(error) and time.monotonic() < deadline:
                time.sleep(LOCK_RETRY_S)
                continue
            problem = database_problem(error, "(is it a DuckDB file, and has every writer closed it?)")
            raise UnreadableDatabaseError(f"cannot open {path} read-only: {problem}") from error
    try:
        tables = {name for (name,) in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "calls" not in tables:
            raise UnreadableDatabaseError(
                f"{path} has no calls table: not a qa-pipeline database, or nothing written yet"
            )
        if prepare is not None:  # the KPI views (qa_pipeline.kpis), before the lockdown
            prepare(connection)
        lock_down(connection, path)
    except duckdb.CatalogException as error:
        connection.close()
        raise UnreadableDatabaseError(
            f"{path} was written by an older qa-pipeline ({error}); any command that writes to it"
            " (run, score, review) brings its tables up to date"
        ) from error
    except duckdb.Error as error:  # a file with a DuckDB header whose insides are damaged
        connection.close()
        raise UnreadableDatabaseError(f"cannot read {path}: {database_problem(error)}") from error
    except UnreadableDatabaseError:
        connection.close()
        raise
    return connection
