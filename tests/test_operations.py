"""Operations, for real: incremental re-runs, retries, worker processes and Dask, a run killed mid-batch
and resumed, and the nightly deployment on a Prefect server, a worker and `prefect deployment run`.

Every run scores the same three short synthetic sample calls (call_016 and call_019 stereo, call_010
mono Ogg) and a corrupt recording with whisper base; the reference is one clean in-process run, and the
other runs must end with exactly its rows.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.conftest import SAMPLE_AUDIO, free_port
from tests.factories import with_forbidden_phrase

pytestmark = pytest.mark.slow
CALLS = {"call_016": "call_016.wav", "call_019": "call_019.wav", "call_010": "call_010.ogg"}
RESULT_TABLES = ("calls", "segments", "check_results", "call_events", "speaker_turns")
VOLATILE_COLUMNS = {"run_id", "processed_at"}  # differ between any two runs
BIN = Path(sys.executable).parent


def snapshot(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every result row (sorted, without run ids and times) and the recordings left failed."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for table in RESULT_TABLES:
            columns = [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if name not in VOLATILE_COLUMNS
            ]
            tables[table] = sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
        tables["open_failures"] = sorted(con.execute("SELECT audio_path, stage, error FROM open_failures").fetchall())
    return tables


def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def ops_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three calls, their metadata rows and a corrupt recording (no metadata row)."""
    root = tmp_path_factory.mktemp("ops") / "calls"
    root.mkdir()
    for audio_file in CALLS.values():
        shutil.copy(SAMPLE_AUDIO / audio_file, root / audio_file)
    with open(SAMPLE_AUDIO / "calls.csv", encoding="utf-8") as source, open(root / "calls.csv", "w") as target:
        rows = list(csv.reader(source))
        writer = csv.writer(target)
        writer.writerow(rows[0])
        writer.writerows(row for row in rows[1:] if row[0] in CALLS)
    (root / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage, not audio")
    return root


@dataclass
class Reference:
    db_path: Path
    state: Any
    rows: dict[str, list[tuple[Any, ...]]]


def run_flow(input_dir: Path, db_path: Path, **options: Any) -> Any:
    """The qa-batch flow in this process over `input_dir` with its metadata, on CPU, no report: its state."""
    from qa_pipeline.run.flow import qa_batch

    metadata = input_dir / "calls.csv"
    return qa_batch(
        input_dir=str(input_dir),
        db_path=str(db_path),
        metadata_csv=str(metadata) if metadata.is_file() else None,
        device="cpu",
        report_dir="",
        return_state=True,
        **options,
    )


@pytest.fixture(scope="session")
def reference(prefect_harness: None, ops_input: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    db_path = tmp_path_factory.mktemp("reference") / "qa.duckdb"
    state = run_flow(ops_input, db_path)
    return Reference(db_path, state, snapshot(db_path))


def test_a_failed_recording_leaves_the_run_completed_as_partial_failure(reference: Reference) -> None:
    state, summary = reference.state, reference.state.result()
    assert state.is_completed() and state.name == "PartialFailure"
    assert state.message == "1 of 4 recordings failed; see the failures table"
    assert (summary.calls_ok, summary.calls_failed, summary.calls_unchanged) == (3, 1, 0)
    assert summary.reasons == {"new": 4}  # the corrupt file too: it was tried
    assert query(reference.db_path, "SELECT status, calls_ok, calls_failed FROM runs") == [("partial", 3, 1)]
    [(audio_path, stage, error)] = reference.rows["open_failures"]
    assert audio_path.endswith("corrupt.wav") and stage == "decode" and "corrupt.wav" in error
    assert sorted(call_id for call_id, *_ in reference.rows["calls"]) == sorted(CALLS)
    # What the next run compares with: every call carries the fingerprint of its inputs.
    assert query(reference.db_path, "SELECT count(*) FROM calls WHERE input_fingerprint IS NOT NULL") == [(3,)]


def test_rerun_skips_unchanged_calls_and_rescores_when_the_scorecard_changes(
    reference: Reference, ops_input: Path, tmp_path: Path
) -> None:
    db_path = tmp_path / "qa.duckdb"
    shutil.copy(reference.db_path, db_path)
    shutil.copy(reference.db_path.with_suffix(".key"), db_path.with_suffix(".key"))  # what the inputs are sealed with

    again = run_flow(ops_input, db_path).result()
    assert (again.calls_ok, again.calls_unchanged, again.calls_failed) == (0, 3, 1)  # the corrupt file is retried
    assert snapshot(db_path) == reference.rows
    assert query(db_path, "SELECT DISTINCT run_id FROM calls") == query(reference.db_path, "SELECT run_id FROM runs")

    stricter = tmp_path / "stricter.toml"
    stricter.write_text("[scorecard]\npass_score = 95\n", encoding="utf-8")
    rejudged = run_flow(ops_input, db_path, scorecard_path=str(stricter)).result()
    # Only verdicts depend on the pass mark: the calls are re-judged from their kept inputs, not transcribed.
    assert (rejudged.calls_ok, rejudged.calls_rejudged, rejudged.calls_unchanged) == (3, 3, 0)
    assert rejudged.reasons == {"scorecard changed: re-judged": 3, "failed before": 1}
    assert "transcribe" not in rejudged.stage_s and "check" in rejudged.stage_s
    assert query(db_path, "SELECT DISTINCT pass_score FROM calls") == [(95.0,)]
    assert query(db_path, "SELECT count(*) FROM calls") == [(3,)]  # replaced, not added

    # The rows are those a full re-score with the same scorecard writes (--force), mono call included.
    forced_db = tmp_path / "forced.duckdb"
    shutil.copy(reference.db_path, forced_db)
    shutil.copy(reference.db_path.with_suffix(".key"), forced_db.with_suffix(".key"))
    forced = run_flow(ops_input, forced_db, scorecard_path=str(stricter), force=True).result()
    assert (forced.calls_ok, forced.calls_rejudged) == (3, 0)
    assert snapshot(db_path) == snapshot(forced_db)

    # [timing] is read by the measure stage: the calls are re-scored from their audio.
    timing = tmp_path / "timing.toml"
    timing.write_text("[scorecard]\npass_score = 95\n[timing]\nmin_overlap_s = 0.7\n", encoding="utf-8")
    rescored = run_flow(ops_input, db_path, scorecard_path=str(timing)).result()
    assert (rescored.calls_ok, rescored.calls_rejudged) == (3, 0)
    assert rescored.reasons == {"scorecard changed": 3, "failed before": 1}

    window = run_flow(
        ops_input, db_path, scorecard_path=str(timing), date_from="2026-11-21", date_to="2026-11-21"
    ).result()
    # call_019 is of 2026-11-21 and unchanged; the other two calls and the corrupt file (dated by its file
    # time, today) are outside the window.
    assert (window.calls_ok, window.calls_unchanged, window.calls_failed, window.outside_window) == (0, 1, 0, 3)


def test_transient_read_errors_are_retried_and_corrupt_files_are_not(
    prefect_harness: None, ops_input: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa_pipeline.run.call as call_module
    from qa_pipeline.audio.decode import decode_audio

    attempts: dict[str, int] = {}

    def flaky_share(path: str) -> Any:
        """A network share that answers EIO the first time each file is read."""
        name = Path(path).name
        attempts[name] = attempts.get(name, 0) + 1
        if attempts[name] == 1 and name != "corrupt.wav":
            raise OSError(errno.EIO, "Input/output error", path)
        return decode_audio(path)

    monkeypatch.setattr(call_module, "decode_audio", flaky_share)
    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(ops_input / "call_019.wav", calls / "call_019.wav")
    shutil.copy(ops_input / "corrupt.wav", calls / "corrupt.wav")
    summary = run_flow(calls, tmp_path / "qa.duckdb").result()
    assert attempts == {"call_019.wav": 2, "corrupt.wav": 1}
    assert (summary.calls_ok, summary.calls_failed) == (1, 1)
    assert [stage for _, stage, _ in summary.failures] == ["decode"]


@contextlib.contextmanager
def dask_cluster_elsewhere(api_url: str) -> Iterator[str]:
    """A Dask cluster the flow did not start (as one over several machines would be): its workers get the
    Prefect server's address the way docs/operations.md says (PREFECT_API_URL in their environment)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env={"PREFECT_API_URL": api_url}
    ) as cluster:
        yield str(cluster.scheduler_address)


@pytest.mark.parametrize("runner", ["processes", "dask", "dask-address"])
def test_worker_processes_and_dask_give_the_rows_of_the_default_runner(
    reference: Reference, ops_input: Path, tmp_path: Path, runner: str
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        api_url = str(client.api_url)
    db_path = tmp_path / "qa.duckdb"
    with contextlib.ExitStack() as stack:
        options: dict[str, Any] = {"workers": 2, "dask": runner == "dask"}
        if runner == "dask-address":
            options["dask_address"] = stack.enter_context(dask_cluster_elsewhere(api_url))
        state = run_flow(ops_input, db_path, **options)
    summary = state.result()
    expected = {"processes": "2 local processes", "dask": "2 Dask LocalCluster", "dask-address": "on the Dask cluster"}
    assert summary.workers.startswith(expected[runner])
    assert (summary.calls_ok, summary.calls_failed) == (3, 1)
    assert snapshot(db_path) == reference.rows
    # The workers reported their task runs to the flow's own server (not to servers of their own).
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    processed = sorted(run.name for run in runs if run.name.startswith("process "))
    assert processed == ["process call_010", "process call_016", "process call_019", "process corrupt"]
    assert {run.name.split("-")[0] for run in runs} >= {"decode", "transcribe", "check", "store"}


def _ephemeral_env(tmp_path: Path) -> dict[str, str]:
    """A child process's environment: its own Prefect home, no server configured (it starts its own)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return env


def _kill_group(process: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
    """Signal the process and everything it started (its Prefect server, workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    process.wait(timeout=60)


def test_a_run_killed_mid_batch_resumes_to_the_rows_of_a_clean_run(
    reference: Reference, ops_input: Path, tmp_path: Path
) -> None:
    db_path = tmp_path / "qa.duckdb"
    command = [str(BIN / "qa-pipeline"), "run", str(ops_input), "--db", str(db_path), "--device", "cpu"]
    command += ["--metadata", str(ops_input / "calls.csv"), "--no-report"]
    env = _ephemeral_env(tmp_path)
    killed = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    assert killed.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 300
    for line in killed.stdout:  # SIGKILL as soon as the first call is stored, mid-way through the batch
        seen.append(line)
        if ": stored (new)" in line or time.monotonic() > deadline:
            break
    _kill_group(killed)
    assert killed.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert any(": stored (new)" in line for line in seen), "".join(seen[-20:])

    rerun = subprocess.run([*command, "--progress"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 1, rerun.stdout[-3000:] + rerun.stderr[-3000:]  # 1: the corrupt file failed
    # the command's own temporary server (run.prefect_server), started before Prefect, not Prefect's
    assert "Starting temporary server" not in rerun.stdout + rerun.stderr
    totals = re.search(r"(\d+) calls scored, 1 failed, (\d+) unchanged", rerun.stdout)
    assert totals, rerun.stdout[-3000:]
    scored, unchanged = int(totals.group(1)), int(totals.group(2))
    assert unchanged >= 1 and scored >= 1 and scored + unchanged == 3
    tried = scored + 1  # and the corrupt file
    assert re.search(rf"scoring: 100%.*\b{tried}/{tried}\b", rerun.stderr), rerun.stderr[-2000:]

    assert snapshot(db_path) == reference.rows
    statuses = query(db_path, "SELECT status FROM runs ORDER BY started_at")
    assert statuses == [("interrupted",), ("partial",)]


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real `prefect server start` on loopback with its own SQLite database: (API URL, env for clients)."""
    url = f"http://127.0.0.1:{free_port()}/api"
    env = _ephemeral_env(tmp_path) | {"PREFECT_API_URL": url}
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", url.split(":")[-1].split("/")[0]],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(1)
        yield url, env
    finally:
        _kill_group(server, signal.SIGTERM)
        log.close()


def test_nightly_deployment_runs_on_a_worker_when_triggered(
    prefect_server: tuple[str, dict[str, str]], ops_input: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url, env = prefect_server
    inbox = tmp_path / "inbox"  # where the nightly looks; the triggered run points at the sample calls
    inbox.mkdir()
    deploy = [str(BIN / "qa-pipeline"), "deploy", str(inbox), "--db", str(tmp_path / "nightly.duckdb")]
    deployed = subprocess.run(
        [*deploy, "--device", "cpu", "--timezone", "Asia/Shanghai"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("qa-batch/nightly")
        pool = client.read_work_pool("qa-pool")
    assert pool.type == "process" and deployment.work_pool_name == "qa-pool"
    [schedule] = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert deployment.parameters["input_dir"] == str(inbox)
    assert (deployment.parameters["date_from"], deployment.parameters["date_to"]) == ("yesterday", "today")
    # One run at a time (DuckDB has one writer): Prefect keeps the limit as a global concurrency limit.
    assert deployment.global_concurrency_limit is not None and deployment.global_concurrency_limit.limit == 1

    worker_log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed below)
    worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "qa-pool"],
        env=env,
        cwd=tmp_path,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    db_path = tmp_path / "triggered.duckdb"
    try:
        parameters = {
            "input_dir": ops_input,
            "db_path": db_path,
            "metadata_csv": ops_input / "calls.csv",
            "date_from": "2026-11-20",
            "date_to": "2026-11-20",
        }
        triggered = subprocess.run(
            [str(BIN / "prefect"), "deployment", "run", "qa-batch/nightly", "--watch", "--watch-timeout", "600"]
            + [arg for name, value in parameters.items() for arg in ("--param", f"{name}={value}")],
            env=env,
            capture_output=True,
            text=True,
            timeout=660,
        )
        # A QA lead's scorecard tried on what that run stored: call_016's agent said 随便问问 (a new forbidden
        # phrase here), so its forbidden_phrase verdict, and only that one, flips.
        trial = tmp_path / "trial.toml"
        trial.write_text(with_forbidden_phrase("随便问问"), encoding="utf-8")
        backtested = subprocess.run(
            [
                *(str(BIN / "prefect"), "deployment", "run", "qa-backtest/on-demand", "--watch", "--watch-timeout"),
                *("300", "--param", f"db_path={db_path}", "--param", f"scorecard_path={trial}"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=360,
        )
    finally:
        _kill_group(worker, signal.SIGTERM)
        worker_log.close()
    logs = triggered.stdout[-3000:] + triggered.stderr[-2000:] + (tmp_path / "worker.log").read_text()[-4000:]
    assert triggered.returncode == 0, logs
    assert "Completed" in triggered.stdout, logs

    with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    # The triggered run and the backtest, beside the runs the server's scheduler created for the next nights at
    # 02:00 (tests/test_schedule.py waits for one to run).
    [flow_run] = [run for run in runs if not run.auto_scheduled and "input_dir" in run.parameters]
    [backtest_run] = [run for run in runs if "scorecard_path" in run.parameters]
    assert backtest_run.state is not None and backtest_run.state.name == "Completed"
    nightly = [run.expected_start_time for run in runs if run.auto_scheduled]
    assert nightly and all(
        start is not None and start.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") == "02:00"
        for start in nightly
    ), runs
    assert flow_run.state is not None and flow_run.state.name == "Completed", logs
    assert flow_run.parameters["input_dir"] == str(ops_input)
    # The window takes the two calls of 2026-11-20; call_019 (11-21) and the corrupt file (today) stay out.
    assert query(db_path, "SELECT call_id FROM calls ORDER BY call_id") == [("call_010",), ("call_016",)]
    assert query(db_path, "SELECT status, calls_ok, flow_run_id FROM runs") == [("completed", 2, str(flow_run.id))]
    assert (db_path.parent / "triggered_report" / "index.html").is_file()

    assert backtested.returncode == 0, backtested.stdout[-3000:] + (tmp_path / "worker.log").read_text()[-4000:]
    with open(db_path.parent / "triggered_backtest" / "flips.csv", encoding="utf-8") as handle:
        flips = [(row["call_id"], row["check_id"], row["before"], row["after"]) for row in csv.DictReader(handle)]
    assert flips == [("call_016", "forbidden_phrase", "pass", "fail")]
    assert query(db_path, "SELECT count(*) FROM runs") == [(1,)]  # the backtest wrote nothing to the database


def test_the_review_application_and_a_run_write_the_database_at_the_same_time(
    reference: Reference, ops_input: Path, tmp_path: Path
) -> None:
    """A run re-scoring the calls (--force) while the review application reads pages and saves reviews of the
    same calls: every review saved, every call stored, the rows those of a clean run (store.sharing)."""
    import threading

    from starlette.testclient import TestClient

    from qa_pipeline.serve.app import create_app
    from qa_pipeline.serve.users import UserStore

    db_path = tmp_path / "qa.duckdb"
    shutil.copy(reference.db_path, db_path)
    users = UserStore(tmp_path / "qa.users.json")
    users.add("lee", "lead", "lead password 1")
    client = TestClient(create_app(db_path, users.path))
    login = client.get("/login")
    client.post(
        "/login",
        data={"csrf_token": _csrf(login.text), "username": "lee", "password": "lead password 1"},
    )

    command = [str(BIN / "qa-pipeline"), "run", str(ops_input), "--db", str(db_path), "--device", "cpu", "--force"]
    # one call at a time: three stores seconds apart, each a chance to lend the file
    command += ["--metadata", str(ops_input / "calls.csv"), "--no-report", "--calls-at-once", "1"]
    run = subprocess.Popen(
        command, env=_ephemeral_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(run.stdout or []), daemon=True)
    reader.start()
    saved: list[tuple[str, float]] = []  # (note, seconds the page and the review took)
    refused: list[str] = []
    started = time.monotonic()
    while run.poll() is None and time.monotonic() - started < 600:
        began = time.monotonic()
        page = client.get("/calls/call_016")
        if page.status_code != 200:
            refused.append(page.text[-500:])
            continue
        note = f"review {len(saved) + 1} while the run stores"
        answer = client.post(
            "/calls/call_016/review",
            data={"csrf_token": _csrf(page.text), "check_id": "greeting", "verdict": "pass", "note": note},
        )
        if "Review of greeting saved" in answer.text:
            saved.append((note, time.monotonic() - began))
        else:
            refused.append(answer.text[-500:])
        time.sleep(0.5)
    run.wait(timeout=60)
    reader.join(timeout=10)
    log = "".join(output)
    assert run.returncode == 1, log[-3000:]  # 1: the corrupt recording failed, as in the reference
    assert not refused, refused[:2]
    [(run_started, run_finished)] = query(
        db_path, "SELECT started_at, finished_at FROM runs WHERE started_at = (SELECT max(started_at) FROM runs)"
    )
    reviews = query(db_path, "SELECT note, reviewed_at FROM reviews ORDER BY review_id")
    assert [note for note, _ in reviews] == [note for note, _ in saved]  # every review the page confirmed
    during = [at for _, at in reviews if run_started <= at <= run_finished]
    assert len(during) >= 1, (reviews, run_started, run_finished)  # saved while the run held the file
    assert log.count("database lent to the review application") >= 2, log[-3000:]
    assert snapshot(db_path) == reference.rows  # and the run's rows are those of a clean run


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:1000]
    return found.group(1)
