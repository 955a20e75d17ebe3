"""Speed of every `qa-pipeline kpis` query on a synthetic DuckDB file, as a ratio to plain scans in the same run.

    python -m benchmarks.kpi_speed [--calls 100000] [--seed 0] [--db PATH] [--repeat 5] [--max-seconds 1.0]

Builds a database the size of a center's quarter (default 100,000 calls over 90 days, 200 agents, a
pool of 40,000 caller numbers so customers call again, case ids on ~30% of calls, every registered check
on every call, ~2,000 QA-lead reviews of which some override the machine) with set-based SQL, through
QaDatabase so the schema and the KPI views are the ones the pipeline writes. `segments`, `call_events` and
`speaker_turns` stay empty: no KPI view reads them.

Then times qa_pipeline.kpis.query_kpis for every grouping (day, agent, call_type, agent_day, case), over
all time and over the last 7 days of data (or --from/--to), on a fresh read-only connection like the CLI's:
one warm-up, then the median of --repeat runs. The baseline, in the same run, is two plain scans
(calls grouped by agent, check_results grouped by check); each query's ratio is to their sum. Finally the
real CLI (`python -m qa_pipeline kpis --format json`) once per grouping, wall time including Python's
start-up. The issue's goal: every query under 1 s (--max-seconds) on 100k calls; exit 1 otherwise. A
ratio measured in one run on one machine, never a timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from qa_pipeline.checks import REGISTRY
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.kpis import GROUPINGS, query_kpis
from qa_pipeline.kpis.database import open_reader, open_writer

REPO = Path(__file__).resolve().parent.parent

DAYS = 90
AGENTS = 200
IDLE_AGENTS = 5  # in the agents table without a call: the KPI views list them with 0 calls
CALLER_POOL = 40_000
REVIEWS = 2_000
FIRST_DAY = date(2025, 1, 6)
RUN_ID = "bench-run-0000"

BASELINES = {
    "calls by agent": "SELECT agent_id, count(*), avg(talk_s) FROM calls GROUP BY agent_id",
    "check_results by check": "SELECT check_id, avg(passed::INT) FROM check_results GROUP BY check_id",
}


# -- building the database -------------------------------------------------------------------------------


def _call_id(i: str) -> str:
    return f"'call-' || lpad(CAST({i} AS VARCHAR), 7, '0')"


def _calls_sql(calls: int) -> str:
    """Every `calls` row from range(calls): u(i, key) is a uniform draw, fixed by the seed."""
    return f"""
INSERT INTO calls (
    call_id, audio_path, audio_sha256, agent_id, direction, call_type, call_type_source, started_at,
    duration_s, channels, sample_rate, diarization, asr_model, ring_count, ring_s, talk_s, hold_s, silence_s,
    time_to_topic_s, interruptions, qa_score, qa_passed, satisfaction, satisfaction_source, case_id, run_id,
    processed_at, codec, answered_at, ended_at, acw_s, caller_number, agent_channel, scorecard_hash,
    answer_s, answer_source, ring_source, direction_source, hold_source, agent_talk_s, customer_talk_s,
    agent_talk_ratio, ended_by, customer_cut_off, pass_score
)
WITH drawn AS (
    SELECT
        i,
        {_call_id("i")} AS call_id,
        CAST(floor(u(i, 'agent') * {AGENTS}) AS INTEGER) AS agent_idx,
        CAST(floor(u(i, 'day') * {DAYS}) AS INTEGER) AS day_idx,
        CAST(floor(power(u(i, 'number'), 1.5) * {CALLER_POOL}) AS INTEGER) AS number_idx,
        u(i, 'type') AS type_draw,
        u(i, 'unanswered') < 0.03 AS unanswered,
        1 + CAST(floor(power(u(i, 'rings'), 1.5) * 6) AS INTEGER) AS ring_count,
        round(20 + 580 * power(u(i, 'talk'), 2), 1) AS talk_raw,
        CASE WHEN u(i, 'hold_known') < 0.05 THEN NULL
             WHEN u(i, 'hold_any') < 0.4 THEN round(u(i, 'hold') * 120, 1) ELSE 0.0 END AS hold_s,
        CASE WHEN u(i, 'acw_known') < 0.75 THEN round(5 + u(i, 'acw') * 55, 1) END AS acw_s,
        u(i, 'csat_source') AS csat_draw
    FROM range({calls}) AS t(i)
),
shaped AS (
    SELECT
        *,
        CASE
            WHEN type_draw < 0.35 THEN 'inquiry' WHEN type_draw < 0.50 THEN 'complaint'
            WHEN type_draw < 0.65 THEN 'repair' WHEN type_draw < 0.70 THEN 'rescue'
            WHEN type_draw < 0.80 THEN 'appointment' WHEN type_draw < 0.88 THEN 'callback'
            WHEN type_draw < 0.93 THEN 'survey' ELSE 'other'
        END AS call_type,
        CASE WHEN unanswered THEN 0.0 ELSE talk_raw END AS talk_s,
        round(ring_count * 4 - u(i, 'ring_s') * 2, 1) AS ring_s,
        CASE WHEN u(i, 'no_start') < 0.005 THEN NULL
             ELSE TIMESTAMP '{FIRST_DAY.isoformat()}' + to_days(day_idx)
                  + to_seconds(8 * 3600 + floor(u(i, 'second') * 12 * 3600)) END AS started_at
    FROM drawn
),
timed AS (
    SELECT
        *,
        CASE WHEN call_type IN ('callback', 'survey') OR u(i, 'outbound') < 0.02 THEN 'outbound'
             ELSE 'inbound' END AS direction,
        CASE WHEN unanswered THEN NULL ELSE started_at + to_seconds(ring_s) END AS answered_at,
        ring_s + talk_s + coalesce(hold_s, 0) AS duration_s
    FROM shaped
)
SELECT
    call_id,
    '/data/calls/' || strftime(coalesce(started_at, TIMESTAMP '{FIRST_DAY.isoformat()}'), '%Y/%m/%d/')
        || call_id || '.wav',
    sha256(call_id),
    'A' || lpad(CAST(agent_idx AS VARCHAR), 3, '0'),
    direction,
    call_type,
    CASE WHEN u(i, 'type_source') < 0.7 THEN 'metadata' ELSE 'inferred' END,
    started_at,
    duration_s,
    2,
    8000,
    'channel',
    'sensevoice-small',
    ring_count,
    ring_s,
    talk_s,
    hold_s,
    round(talk_s * 0.1 * u(i, 'silence'), 1),
    CASE WHEN NOT unanswered THEN round(5 + u(i, 'topic') * 40, 1) END,
    CAST(floor(power(u(i, 'interruptions'), 3) * 6) AS INTEGER),
    NULL,  -- qa_score, qa_passed: from check_results below, as qa_pipeline/scoring.py computes them
    NULL,
    CASE WHEN csat_draw < 0.6 THEN least(5, 1 + floor(sqrt(u(i, 'csat')) * 5)) END,
    CASE WHEN csat_draw < 0.35 THEN 'survey' WHEN csat_draw < 0.6 THEN 'inferred' END,
    CASE WHEN u(i, 'case') < 0.3 THEN 'K' || number_idx || '-' || (day_idx // 7) END,
    '{RUN_ID}',
    coalesce(started_at, TIMESTAMP '{FIRST_DAY.isoformat()}') + INTERVAL 2 HOUR,
    'pcm_s16le',
    answered_at,
    started_at + to_seconds(duration_s),
    acw_s,
    CASE WHEN u(i, 'withheld') >= 0.02 THEN '13' || lpad(CAST(number_idx AS VARCHAR), 9, '0') END,
    0,
    'bench-scorecard',
    ring_s,
    CASE WHEN unanswered THEN 'start' ELSE 'ringback' END,
    'metadata',
    'metadata',
    CASE WHEN hold_s IS NULL THEN NULL ELSE 'metadata' END,
    round(talk_s * 0.55, 1),
    round(talk_s * 0.45, 1),
    CASE WHEN talk_s > 0 THEN 0.55 END,
    CASE WHEN u(i, 'ended_by') < 0.6 THEN 'customer' ELSE 'agent' END,
    false,
    80.0
FROM timed
"""


def _checks_values(seed: int) -> str:
    """The 22 registered checks as a VALUES list: index, id, category, weight, fatal, machine pass rate."""
    scorecard = load_scorecard(None)
    rows = []
    for index, (check_id, settings) in enumerate(scorecard.checks.items()):
        if check_id == "forbidden_phrase":
            rate = 0.985
        else:  # 55%..98% depending on the check, the same for a seed
            rate = 0.55 + 0.43 * (zlib.crc32(f"{seed}:{check_id}".encode()) % 1000) / 1000
        category = REGISTRY[check_id].category
        fatal = "true" if check_id == "forbidden_phrase" else "false"
        rows.append(f"({index}, '{check_id}', '{category}', {float(settings.weight)}, {fatal}, {rate:.3f})")
    return ",\n        ".join(rows)


def _check_results_sql(calls: int, seed: int) -> str:
    """Every call x every check: ~10% not applicable, pass rates per check, shifted by the agent's skill."""
    return f"""
INSERT INTO check_results (call_id, check_id, applicable, passed, score, weight, evidence_start_s, evidence_end_s,
                           evidence_text, detail, fatal)
WITH checks_list(idx, check_id, category, weight, fatal, rate) AS (
    VALUES
        {_checks_values(seed)}
),
per_call AS (
    SELECT i, {_call_id("i")} AS call_id,
           (u(CAST(floor(u(i, 'agent') * {AGENTS}) AS BIGINT), 'skill') - 0.5) * 0.2 AS skill
    FROM range({calls}) AS t(i)
),
drawn AS (
    SELECT c.call_id, k.*, u(c.i * 64 + k.idx, 'applicable') >= 0.1 AS applicable,
           u(c.i * 64 + k.idx, 'passed') < least(0.995, k.rate + CASE WHEN k.fatal THEN 0 ELSE c.skill END) AS ok
    FROM per_call AS c CROSS JOIN checks_list AS k
)
SELECT
    call_id, check_id, applicable,
    CASE WHEN applicable THEN ok END,
    CASE WHEN applicable THEN CAST(ok AS INTEGER) END,
    weight,
    CASE WHEN applicable AND ok AND category = 'script' THEN 3.0 + idx END,
    CASE WHEN applicable AND ok AND category = 'script' THEN 6.5 + idx END,
    CASE WHEN applicable AND ok AND category = 'script' THEN '您好，很高兴为您服务，请问有什么可以帮您' END,
    '{{}}',
    fatal
FROM drawn
ORDER BY call_id, idx
"""


# qa_pipeline/scoring.py in SQL: 100 * weight passed / weight applicable, 0 on a fatal failure.
_SCORE_SQL = """
UPDATE calls SET qa_score = s.qa_score, qa_passed = s.qa_score IS NOT NULL AND s.qa_score >= calls.pass_score
FROM (
    SELECT
        call_id,
        CASE
            WHEN coalesce(sum(weight) FILTER (WHERE applicable), 0) <= 0 THEN NULL
            WHEN bool_or(fatal AND applicable AND NOT passed) THEN 0.0
            ELSE round(100.0 * coalesce(sum(weight) FILTER (WHERE applicable AND passed), 0)
                       / sum(weight) FILTER (WHERE applicable), 2)
        END AS qa_score
    FROM check_results
    GROUP BY call_id
) AS s
WHERE calls.call_id = s.call_id
"""


def _reviews_sql(calls: int, reviews: int) -> str:
    """QA-lead reviews: ~60% agree with the machine, the rest override it; the last 10% review a (call,
    check) again later, so the latest-review rule is exercised."""
    first = int(reviews * 0.9)
    return f"""
INSERT INTO reviews (call_id, check_id, verdict, machine_verdict, reviewer, note, reviewed_at)
WITH picks AS (
    SELECT j, CASE WHEN j < {first} THEN j ELSE j - {first} END AS pick
    FROM range({reviews}) AS t(j)
),
targets AS (
    SELECT
        p.j,
        {_call_id(f"CAST(floor(u(p.pick, 'review_call') * {calls}) AS BIGINT)")} AS call_id,
        CAST(floor(u(p.pick, 'review_check') * (SELECT count(*) FROM checks)) AS INTEGER) AS check_idx
    FROM picks AS p
),
numbered_checks AS (
    SELECT check_id, row_number() OVER (ORDER BY check_id) - 1 AS check_idx FROM checks
),
machine AS (
    SELECT
        t.j, r.call_id, r.check_id,
        CASE WHEN NOT r.applicable THEN 'na' WHEN r.passed THEN 'pass' ELSE 'fail' END AS machine_verdict,
        coalesce(c.started_at, c.processed_at) AS started_at
    FROM targets AS t
    JOIN numbered_checks AS n USING (check_idx)
    JOIN check_results AS r ON r.call_id = t.call_id AND r.check_id = n.check_id
    JOIN calls AS c ON c.call_id = t.call_id
)
SELECT
    call_id,
    check_id,
    CASE
        WHEN u(j, 'agree') < 0.6 THEN machine_verdict
        WHEN machine_verdict = 'pass' THEN CASE WHEN u(j, 'na') < 0.2 THEN 'na' ELSE 'fail' END
        ELSE 'pass'
    END,
    machine_verdict,
    'lead-' || (j % 5),
    CASE WHEN u(j, 'note') < 0.3 THEN '复核：录音中已说明' END,
    started_at + to_days(CASE WHEN j < {first} THEN 1 ELSE 3 END) + to_seconds(floor(u(j, 'when') * 36000))
FROM machine
ORDER BY j
"""


def build_database(path: Path, calls: int, seed: int) -> dict[str, int]:
    """Fill a fresh DuckDB file at `path`; returns its table row counts."""
    with open_writer(path) as db:  # creates the schema, the check catalogue and the KPI views
        con = db.connection
        con.execute(f"CREATE TEMP MACRO u(i, k) AS (hash(i, k, {int(seed)}) >> 11) / 9007199254740992.0")
        con.execute(
            "INSERT INTO runs (run_id, started_at, finished_at, calls_ok, calls_failed, asr_model, scorecard_hash,"
            " scorecard_name, input_dir) VALUES (?, ?, ?, ?, 0, 'sensevoice-small', 'bench-scorecard', 'default',"
            " '/data/calls')",
            [RUN_ID, FIRST_DAY, FIRST_DAY + timedelta(days=DAYS), calls],
        )
        con.execute(
            f"INSERT INTO agents SELECT 'A' || lpad(CAST(i AS VARCHAR), 3, '0'), '坐席' || i, 'team-' || (i % 10)"
            f" FROM range({AGENTS + IDLE_AGENTS}) AS t(i)"
        )
        con.execute(_calls_sql(calls))
        con.execute(_check_results_sql(calls, seed))
        con.execute(_SCORE_SQL)
        con.execute(_reviews_sql(calls, REVIEWS))
        con.execute("CHECKPOINT")
        counts = {}
        for table in ("calls", "check_results", "reviews", "agents", "checks", "segments"):
            counts[table] = _scalar(con, f"SELECT count(*) FROM {table}")
        counts["overridden verdicts"] = _scalar(con, "SELECT count(*) FROM check_verdicts WHERE overridden")
    return counts


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


# -- timing ----------------------------------------------------------------------------------------------


@dataclass
class Timing:
    query: str
    period: str
    rows: int
    first_s: float
    median_s: float
    cli_s: str = "—"


def time_runs(run: Callable[[], int], repeat: int) -> tuple[int, float, float]:
    """Rows returned, the warm-up's seconds (cold caches), and the median seconds of `repeat` runs after it."""
    started = time.perf_counter()
    rows = run()
    first = time.perf_counter() - started
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return rows, first, statistics.median(times)


def time_query(path: Path, name: str, run: Callable[[duckdb.DuckDBPyConnection], int], repeat: int) -> Timing:
    with open_reader(path) as db:  # a fresh read-only connection, as `qa-pipeline kpis` opens
        rows, first, median = time_runs(lambda: run(db.connection), repeat)
    return Timing(name, "", rows, first, median)


def kpi_runner(by: str, date_from: date | None, date_to: date | None) -> Callable[[duckdb.DuckDBPyConnection], int]:
    return lambda con: len(query_kpis(con, by, date_from, date_to).rows)


def sql_runner(sql: str) -> Callable[[duckdb.DuckDBPyConnection], int]:
    return lambda con: len(con.execute(sql).fetchall())


def time_cli(path: Path, by: str) -> str:
    """Wall seconds of the real CLI, Python start-up and imports included; or why it could not run."""
    command = [sys.executable, "-m", "qa_pipeline", "kpis", "--db", str(path), "--by", by, "--format", "json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(f"kpis --by {by}: CLI: not available (exit {done.returncode})")
        return f"n/a (exit {done.returncode})"
    return f"{seconds:.2f}"


def data_dates(path: Path) -> tuple[date, date]:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT min(CAST(started_at AS DATE)), max(CAST(started_at AS DATE)) FROM calls").fetchone()
    if not row or row[0] is None:
        raise SystemExit(f"{path}: no call with a start time")
    return row[0], row[1]


def markdown(timings: list[Timing], baseline_s: float) -> str:
    lines = [
        "| query | period | rows returned | median s | ratio to baseline | first run s | CLI wall s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        lines.append(
            f"| {t.query} | {t.period} | {t.rows} | {t.median_s:.3f} | {t.median_s / baseline_s:.1f}"
            f" | {t.first_s:.3f} | {t.cli_s} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="synthetic calls (default 100000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--db", type=Path, help="build (or with --reuse, time) this file and keep it; default a temp dir"
    )
    parser.add_argument("--reuse", action="store_true", help="time the existing --db file instead of building one")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query after one warm-up (default 5)")
    parser.add_argument("--from", dest="date_from", type=date.fromisoformat, help="period start (default: last 7 days)")
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, help="period end (default: last day of data)")
    parser.add_argument("--max-seconds", type=float, default=1.0, help="fail (exit 1) when a query's median exceeds it")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the CLI subprocess")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kpi-speed-") as folder:
        path = args.db or Path(folder) / "kpi_speed.duckdb"
        if args.reuse:
            if not path.is_file():
                parser.error(f"--reuse: {path} does not exist")
            print(f"timing existing {path}")
            build_s = 0.0
        else:
            if path.exists():
                parser.error(f"{path} exists: pass --reuse to time it, or remove it to rebuild")
            started = time.perf_counter()
            counts = build_database(path, args.calls, args.seed)
            build_s = time.perf_counter() - started
            print(f"built {path} in {build_s:.1f} s: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
        size_mib = path.stat().st_size / 2**20
        print(f"database size on disk: {size_mib:.1f} MiB")

        first_day, last_day = data_dates(path)
        date_to = args.date_to or last_day
        date_from = args.date_from or date_to - timedelta(days=6)
        periods: list[tuple[str, date | None, date | None]] = [
            (f"all ({first_day}..{last_day})", None, None),
            (f"{date_from}..{date_to}", date_from, date_to),
        ]
        threads = _scalar(duckdb.connect(":memory:"), "SELECT current_setting('threads')")
        print(f"duckdb {duckdb.__version__}, {threads} threads; median of {args.repeat} runs after one warm-up")

        baselines = []
        for name, sql in BASELINES.items():
            timing = time_query(path, f"baseline: {name}", sql_runner(sql), args.repeat)
            timing.period = "all"
            baselines.append(timing)
        baseline_s = sum(t.median_s for t in baselines)

        timings: list[Timing] = []
        for by in GROUPINGS:
            for label, start, end in periods:
                timing = time_query(path, f"kpis --by {by}", kpi_runner(by, start, end), args.repeat)
                timing.period = label
                timings.append(timing)
                print(f"{timing.query:22s} {label:28s} {timing.median_s:7.3f} s  x{timing.median_s / baseline_s:.1f}")

        if not args.no_cli:
            for by in GROUPINGS:
                cli_s = time_cli(path, by)
                next(t for t in timings if t.query == f"kpis --by {by}").cli_s = cli_s

        print()
        print(markdown(baselines + timings, baseline_s))
        print()
        print(
            f"ratio: median / baseline ({baseline_s:.4f} s = sum of the two plain scans' medians). CLI wall s:"
            " one `python -m qa_pipeline kpis --by X --format json` over all time, Python start-up and imports"
            " included. first run s: the warm-up on the fresh connection."
        )
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            summary = {
                "calls": args.calls,
                "build_s": round(build_s, 2),
                "db_mib": round(size_mib, 1),
                "baseline_s": round(baseline_s, 4),
                "timings": [t.__dict__ for t in baselines + timings],
            }
            args.out.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")

        slow = [t for t in timings if t.median_s > args.max_seconds]
        for t in slow:
            print(f"too slow: {t.query} over {t.period}: {t.median_s:.3f} s > {args.max_seconds} s")
        return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
