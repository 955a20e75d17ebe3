"""The real thing: the Prefect flow `qa-batch` over the synthetic sample calls with whisper base.

One flow run (session fixture) over a copy of sample_audio/ plus a corrupt recording and a metadata row
pointing at a missing file; the tests read the DuckDB file it wrote.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from qa_pipeline.checks import REGISTRY
from tests.conftest import SAMPLE_AUDIO

pytestmark = pytest.mark.slow
LABELS = json.loads((SAMPLE_AUDIO / "labels.json").read_text(encoding="utf-8"))
CHECKS = ("greeting", "closing_thanks", "forbidden_phrase")  # labelled pass/fail on every call


@dataclass
class SampleRun:
    input_dir: Path
    db_path: Path
    state: Any
    summary: Any

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def sample_run(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleRun]:
    from qa_pipeline.run.flow import qa_batch

    root = tmp_path_factory.mktemp("sample_run")
    input_dir = root / "calls"
    shutil.copytree(SAMPLE_AUDIO, input_dir, ignore=shutil.ignore_patterns("*.py", "*.md"))
    (input_dir / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage, not audio")
    with open(input_dir / "calls.csv", "a", encoding="utf-8") as handle:
        handle.write("call_missing,no_such_file.wav,A001,inbound,inquiry,,,,,,,,\n")
    db_path = root / "qa.duckdb"
    state = qa_batch(
        input_dir=str(input_dir),
        db_path=str(db_path),
        metadata_csv=str(input_dir / "calls.csv"),
        device="cpu",
        calls_at_once=2,  # two calls on two threads sharing one model (the default on two cores)
        return_state=True,
    )
    yield SampleRun(input_dir, db_path, state, state.result())


def _label(call_id: str) -> dict[str, Any]:
    return next(c for c in LABELS["calls"] if c["call_id"] == call_id)


def test_flow_run_completes_and_records_the_run(sample_run: SampleRun) -> None:
    assert sample_run.state.is_completed()
    n_calls = len(LABELS["calls"])
    assert (sample_run.summary.calls_ok, sample_run.summary.calls_failed) == (n_calls, 2)
    [(flow_run_id, ok, failed, model)] = sample_run.query(
        "SELECT flow_run_id, calls_ok, calls_failed, asr_model FROM runs"
    )
    assert flow_run_id and (ok, failed) == (n_calls, 2)
    assert model == "whisper-base(embedded)/int8"


def test_every_sample_call_is_stored_once(sample_run: SampleRun) -> None:
    stored = sample_run.query("SELECT call_id, channels, sample_rate, duration_s FROM calls ORDER BY call_id")
    assert [row[0] for row in stored] == sorted(c["call_id"] for c in LABELS["calls"])
    for call_id, channels, rate, duration in stored:
        label = _label(call_id)
        assert (channels, rate) == (label["channels"], label["sample_rate"])
        assert duration == pytest.approx(label["duration_s"], abs=0.1)


def test_bad_inputs_go_to_failures_and_the_batch_goes_on(sample_run: SampleRun) -> None:
    rows = sample_run.query("SELECT audio_path, stage, error FROM failures ORDER BY stage")
    assert [(Path(p).name, stage) for p, stage, _ in rows] == [
        ("corrupt.wav", "decode"),
        ("no_such_file.wav", "discover"),
    ]
    assert "corrupt.wav" in rows[0][2] and "not a readable audio file" in rows[0][2]
    assert "no such file" in rows[1][2]


def test_speakers_by_channel_on_stereo_and_by_diarization_on_mono(sample_run: SampleRun) -> None:
    for call in LABELS["calls"]:
        call_id = call["call_id"]
        [(diarization, role_confidence, found)] = sample_run.query(
            "SELECT diarization, role_confidence, speakers_found FROM calls WHERE call_id = ?", [call_id]
        )
        speakers = {
            s for (s,) in sample_run.query("SELECT DISTINCT speaker FROM segments WHERE call_id = ?", [call_id])
        }
        turns = sample_run.query("SELECT label, role FROM speaker_turns WHERE call_id = ?", [call_id])
        if call["channels"] == 2:
            assert (diarization, speakers, turns, role_confidence) == ("channel", {"agent", "customer"}, [], None)
        else:
            # The embedded backend (default): two voices, the agent told apart by what it says.
            assert (diarization, speakers, found) == ("embedded", {"agent", "customer"}, 2), call_id
            assert role_confidence >= 0.5
            assert {role for _, role in turns} == {"agent", "customer"}


def test_mono_calls_give_the_agents_words_to_the_agent(sample_run: SampleRun) -> None:
    """On the mono sample calls, at least 90% of the labelled agent speech lies in segments labelled agent."""
    for call in LABELS["calls"]:
        if call["channels"] != 1:
            continue
        agent = sample_run.query(
            "SELECT start_s, end_s FROM segments WHERE call_id = ? AND speaker = 'agent'", [call["call_id"]]
        )
        total = covered = 0.0
        for utterance in call["segments"]:
            if utterance["speaker"] != "agent":
                continue
            start, end = utterance["start_s"], utterance["end_s"]
            total += end - start
            covered += sum(max(0.0, min(end, b) - max(start, a)) for a, b in agent)
        assert covered / total >= 0.9, (call["call_id"], covered / total)


def test_every_labelled_utterance_got_text(sample_run: SampleRun) -> None:
    """No stretch of speech silently dropped: each labelled utterance overlaps a segment with text."""
    for call in LABELS["calls"]:
        segments = sample_run.query(
            "SELECT speaker, start_s, end_s, text FROM segments WHERE call_id = ?", [call["call_id"]]
        )
        for utterance in call["segments"]:
            # Text coverage is the point here; who said it on mono is test_mono_calls_give_...
            speakers = {utterance["speaker"]} if call["channels"] == 2 else {"agent", "customer", "unknown"}
            covering = [
                t for s, a, b, t in segments if s in speakers and a < utterance["end_s"] and b > utterance["start_s"]
            ]
            assert any(covering), (call["call_id"], utterance)


def test_every_check_agrees_with_labels_on_95_percent_of_calls(sample_run: SampleRun) -> None:
    """The issue's bar, measured the way `qa-pipeline eval` measures it."""
    from qa_pipeline.evaluation.checks import evaluate

    result = evaluate(SAMPLE_AUDIO / "labels.json", sample_run.db_path)
    assert set(result.checks) == set(REGISTRY)
    low = {
        check_id: (check.agreement, check.disagreements)
        for check_id, check in result.checks.items()
        if check.agreement is None or check.agreement < 0.95
    }
    assert low == {}
    # Every check was judged on at least 3 passing and 3 failing calls. Mono calls are diarized and judged
    # too, overtalk included (read from the mixed signal): no check abstains on a sample call.
    for check in result.checks.values():
        assert check.compared >= 6 and check.missing == 0, check.check_id
        assert check.abstained == 0, check.check_id
    assert result.checks["interrupt_customer"].compared == len(LABELS["calls"])


def test_timings_agree_with_labels(sample_run: SampleRun) -> None:
    """Rings exact, answer and time to topic within 0.5 s, talk within 1 s, interruptions and inferred
    direction exact, on at least 95% of the calls each is measured on (`qa-pipeline eval --min-timing`)."""
    from qa_pipeline.evaluation.checks import evaluate

    result = evaluate(SAMPLE_AUDIO / "labels.json", sample_run.db_path)
    assert set(result.timing) == {"ring_count", "answer_s", "talk_s", "time_to_topic_s", "interruptions", "direction"}
    low = {name: t.misses for name, t in result.timing.items() if t.share is None or t.share < 0.95}
    assert low == {}
    ringing = sum(1 for c in LABELS["calls"] if c["timing"]["ringback"])
    assert result.timing["ring_count"].compared == ringing >= 9


def test_call_type_and_satisfaction_inferred_like_the_labels(sample_run: SampleRun) -> None:
    for call in LABELS["calls"]:
        [(call_type, source, satisfaction, satisfaction_source)] = sample_run.query(
            "SELECT call_type, call_type_source, satisfaction, satisfaction_source FROM calls WHERE call_id = ?",
            [call["call_id"]],
        )
        assert call_type == call["call_type"], call["call_id"]
        assert source == ("metadata" if call.get("call_type_in_metadata", True) else "inferred")
        if satisfaction_source == "inferred":
            assert satisfaction == call["inferred_satisfaction"], call["call_id"]


def test_evidence_points_at_the_labelled_utterance(sample_run: SampleRun) -> None:
    """Where machine and label agree, the machine's evidence seconds overlap the labelled utterance."""
    for call in LABELS["calls"]:
        if call["channels"] != 2:
            continue
        for check_id, span in call.get("evidence", {}).items():
            if not span.get("text"):
                continue  # a stretch of the signal (rings, dead air), not an utterance: no words to point at
            [(applicable, passed, start, end, text)] = sample_run.query(
                "SELECT applicable, passed, evidence_start_s, evidence_end_s, evidence_text FROM check_results"
                " WHERE call_id = ? AND check_id = ?",
                [call["call_id"], check_id],
            )
            machine = "na" if not applicable else ("pass" if passed else "fail")
            if machine != call["checks"][check_id] or machine == "na":
                continue
            assert start is not None and text, (call["call_id"], check_id)
            assert start <= span["end_s"] + 0.5 and end >= span["start_s"] - 0.5, (call["call_id"], check_id)


def test_scores_follow_the_labelled_verdicts(sample_run: SampleRun) -> None:
    """On calls where every machine verdict matches the labels, the score is the labels' weighted share."""
    from qa_pipeline.config.scorecard import load_scorecard

    scorecard = load_scorecard()
    compared = 0
    for call in LABELS["calls"]:
        if call["channels"] != 2:
            continue
        machine = {
            check_id: "na" if not applicable else ("pass" if passed else "fail")
            for check_id, applicable, passed in sample_run.query(
                "SELECT check_id, applicable, passed FROM check_results WHERE call_id = ?", [call["call_id"]]
            )
        }
        if machine != call["checks"]:
            continue
        compared += 1
        applicable = {cid: v for cid, v in call["checks"].items() if v != "na"}
        weights = {cid: scorecard.checks[cid].weight for cid in applicable}
        fatal = any(v == "fail" and scorecard.checks[cid].fatal for cid, v in applicable.items())
        expected = (
            0.0
            if fatal
            else round(
                100 * sum(w for cid, w in weights.items() if applicable[cid] == "pass") / sum(weights.values()), 2
            )
        )
        [(score, passed)] = sample_run.query(
            "SELECT qa_score, qa_passed FROM calls WHERE call_id = ?", [call["call_id"]]
        )
        assert score == pytest.approx(expected), call["call_id"]
        assert passed == (not fatal and expected >= scorecard.pass_score), call["call_id"]
    assert compared >= 15  # most stereo calls have every verdict right


def test_kpi_views_cover_every_call(sample_run: SampleRun) -> None:
    [(daily_calls,)] = sample_run.query("SELECT sum(calls) FROM kpi_daily")
    [(agent_calls,)] = sample_run.query("SELECT sum(calls) FROM kpi_agent")
    assert daily_calls == agent_calls == len(LABELS["calls"])


def run_artifacts(sample_run: SampleRun, key: str) -> list[Any]:
    """The artifacts with `key` of this run's flow run (other tests' runs publish the same keys)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    flow_run_id = sample_run.state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
            )
        )


def test_run_summary_artifact_is_published(sample_run: SampleRun) -> None:
    artifacts = run_artifacts(sample_run, "qa-batch-summary")
    assert artifacts and artifacts[0].type == "table"
    table = artifacts[0].data if isinstance(artifacts[0].data, list) else json.loads(artifacts[0].data)
    assert {"metric": "calls scored", "value": len(LABELS["calls"])} in table


def test_report_is_written_after_the_run_and_linked(sample_run: SampleRun) -> None:
    report = Path(sample_run.summary.report_path)
    assert report == sample_run.db_path.with_name("qa_report") / "index.html"
    html = report.read_text(encoding="utf-8")
    # Self-contained: plotly.js is inlined, and the calls to review carry their audio.
    assert "Plotly.newPlot" in html and "<script src=" not in html
    assert "<audio" in html and "data:audio/ogg;base64," in html
    [(worst_call,)] = sample_run.query(
        "SELECT call_id FROM call_facts WHERE call_date = (SELECT max(call_date) FROM call_facts)"
        " ORDER BY qa_score NULLS LAST LIMIT 1"
    )
    assert worst_call in html
    artifacts = run_artifacts(sample_run, "qa-report")
    assert artifacts and artifacts[0].type == "markdown"
    assert report.as_uri() in str(artifacts[0].data)


# The QA lead changes one phrase: 管理处不收 becomes forbidden (call_001's agent says 管理处不收这两项费用).
NEW_FORBIDDEN = "管理处不收"


def _copy_with_key(db_path: Path, target: Path) -> Path:
    """The database and the key its calls' inputs are sealed with (privacy.seal), as an operator moves them."""
    shutil.copy(db_path, target)
    shutil.copy(db_path.with_suffix(".key"), target.with_suffix(".key"))
    return target


def _said_by_agents(sample_run: SampleRun, phrase: str) -> list[str]:
    return [
        call_id
        for (call_id,) in sample_run.query(
            "SELECT DISTINCT call_id FROM segments WHERE speaker = 'agent' AND text LIKE ? ORDER BY call_id",
            [f"%{phrase}%"],
        )
    ]


def test_a_changed_phrase_rejudges_every_call_without_transcribing_it(sample_run: SampleRun, tmp_path: Path) -> None:
    from qa_pipeline.run.flow import qa_batch
    from tests.factories import with_forbidden_phrase

    db_path = _copy_with_key(sample_run.db_path, tmp_path / "qa.duckdb")
    card = tmp_path / "changed.toml"
    card.write_text(with_forbidden_phrase(NEW_FORBIDDEN), encoding="utf-8")
    summary = qa_batch(
        input_dir=str(sample_run.input_dir),
        db_path=str(db_path),
        metadata_csv=str(sample_run.input_dir / "calls.csv"),
        scorecard_path=str(card),
        device="cpu",
        report_dir="",
    )
    n_calls = len(LABELS["calls"])
    assert (summary.calls_ok, summary.calls_rejudged, summary.calls_unchanged) == (n_calls, n_calls, 0)
    assert summary.reasons == {"scorecard changed: re-judged": n_calls, "failed before": 1}  # corrupt.wav retried
    assert not {"diarize", "transcribe", "measure"} & set(summary.stage_s)  # decode: corrupt.wav, tried again

    def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(path), read_only=True) as con:
            return sorted(con.execute(sql).fetchall(), key=repr)

    verdicts = "SELECT call_id, check_id, applicable, passed, evidence_text FROM check_results"
    changed = set(rows(db_path, verdicts)) ^ set(rows(sample_run.db_path, verdicts))
    assert {(call_id, check_id) for call_id, check_id, *_ in changed} == {("call_001", "forbidden_phrase")}
    assert _said_by_agents(sample_run, NEW_FORBIDDEN) == ["call_001"]
    for sql in (
        "SELECT * EXCLUDE (run_id, processed_at, scorecard_hash, qa_score, qa_passed) FROM calls",
        "SELECT * FROM segments",
        "SELECT * FROM speaker_turns",
        "SELECT * FROM call_events",
    ):
        assert rows(db_path, sql) == rows(sample_run.db_path, sql), sql


def test_backtest_shows_exactly_the_calls_a_new_phrase_flips_and_writes_nothing(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    from qa_pipeline.cli import main
    from qa_pipeline.config.scorecard import load_scorecard
    from qa_pipeline.run.backtest import backtest
    from tests.factories import with_forbidden_phrase

    card = tmp_path / "changed.toml"
    card.write_text(with_forbidden_phrase(NEW_FORBIDDEN), encoding="utf-8")
    tables = "SELECT (SELECT count(*) FROM runs), (SELECT list(qa_score ORDER BY call_id) FROM calls)"
    stored = sample_run.query(tables)
    result = backtest(str(sample_run.db_path), load_scorecard(str(card)))
    assert (result.calls_judged, result.skipped, result.measured_otherwise) == (len(LABELS["calls"]), [], 0)
    assert [(f.call_id, f.check_id, f.before, f.after) for f in result.flips] == [
        ("call_001", "forbidden_phrase", "pass", "fail")
    ]
    assert [f.call_id for f in result.flips] == _said_by_agents(sample_run, NEW_FORBIDDEN)
    [change] = [c for c in result.checks if c.pass_to_fail or c.fail_to_pass or c.other]
    assert (change.check_id, change.pass_to_fail, change.fail_to_pass, change.other) == ("forbidden_phrase", 1, 0, 0)
    # forbidden_phrase is fatal: call_001 (a pass) now fails, so its agent's pass rate drops by one call
    [(agent, judged, passed)] = sample_run.query(
        "SELECT agent_id, count(qa_passed), count(*) FILTER (WHERE qa_passed) FROM call_facts"
        " WHERE agent_id = (SELECT agent_id FROM calls WHERE call_id = 'call_001') GROUP BY agent_id"
    )
    [kpi] = [k for k in result.kpis if k.agent_id == agent]
    assert kpi.before["qa_pass_rate"] == round(passed / judged, 3)
    assert kpi.after["qa_pass_rate"] == round((passed - 1) / judged, 3)
    assert sample_run.query(tables) == stored  # nothing written

    same = backtest(str(sample_run.db_path), load_scorecard(None))
    assert same.calls_judged == len(LABELS["calls"]) and same.flips == []
    assert all(k.before == k.after for k in same.kpis)

    out = tmp_path / "out"
    assert main(["backtest", "--scorecard", str(card), "--db", str(sample_run.db_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["backtest.json", "checks.csv", "flips.csv", "kpis.csv"]
    assert "call_001,A" in (out / "flips.csv").read_text(encoding="utf-8")


def test_rerun_replaces_rows_instead_of_duplicating(sample_run: SampleRun, tmp_path: Path) -> None:
    from qa_pipeline.run.flow import qa_batch

    one_call = tmp_path / "again"
    one_call.mkdir()
    stereo = next(c for c in LABELS["calls"] if c["channels"] == 2)
    # Moved, not copied: a copy of stored audio is a duplicate, never scored again (test_hostile_recordings);
    # a moved file is the same call, re-scored here because its metadata is not given this time.
    original = sample_run.input_dir / stereo["audio_file"]
    shutil.move(original, one_call / stereo["audio_file"])
    before = sample_run.query(
        "SELECT count(*), (SELECT count(*) FROM segments), (SELECT count(*) FROM check_results) FROM calls"
    )
    # The report directory is a file here: the report fails, the run's results still stand.
    (tmp_path / "blocked").write_text("not a directory")
    summary = qa_batch(
        input_dir=str(one_call), db_path=str(sample_run.db_path), device="cpu", report_dir=str(tmp_path / "blocked")
    )
    assert summary.report_path is None
    after = sample_run.query(
        "SELECT count(*), (SELECT count(*) FROM segments), (SELECT count(*) FROM check_results) FROM calls"
    )
    assert summary.calls_ok == 1
    assert summary.reasons == {"metadata or settings changed": 1}  # run without the metadata CSV this time
    assert after == before
    [(run_id, path)] = sample_run.query("SELECT run_id, audio_path FROM calls WHERE call_id = ?", [stereo["call_id"]])
    assert run_id == summary.run_id
    assert path == str(one_call / stereo["audio_file"])
    shutil.move(one_call / stereo["audio_file"], original)  # back, for the tests that copy it


def test_the_summary_says_where_the_time_went(sample_run: SampleRun) -> None:
    stages = sample_run.summary.stage_s
    assert set(stages) == {"decode", "screen", "diarize", "transcribe", "measure", "check", "score", "redact", "store"}
    assert all(seconds > 0 for seconds in stages.values())
    assert max(stages, key=stages.get) == "transcribe"  # the ASR is the cost floor
    assert sample_run.summary.workers == "in the flow's process, 2 calls at once, 1 thread each"
    table = run_artifacts(sample_run, "qa-batch-summary")[0].data
    table = table if isinstance(table, list) else json.loads(table)
    [row] = [r for r in table if r["metric"] == "stage seconds: transcribe (summed over calls)"]
    assert row["value"] == round(stages["transcribe"], 1)


def test_calls_scored_at_once_are_scored_as_one_at_a_time(
    sample_run: SampleRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same calls through `qa-pipeline run --calls-at-once 1` give the rows the two-threaded run stored:
    the threads share the model but not their decoding state."""
    from qa_pipeline.cli import main

    # Three stereo, one mono (diarized); not call_001, which test_rerun_replaces_rows... re-scores without metadata.
    picked = ["call_002", "call_007", "call_011", "call_012"]
    calls = tmp_path / "calls"
    calls.mkdir()
    lines = (sample_run.input_dir / "calls.csv").read_text(encoding="utf-8").splitlines()
    kept = [lines[0], *(line for line in lines[1:] if line.split(",")[0] in picked)]
    (calls / "calls.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    for call_id in picked:
        shutil.copy(sample_run.input_dir / _label(call_id)["audio_file"], calls)
    db, summary_json = tmp_path / "one.duckdb", tmp_path / "summary.json"
    arguments = ["run", str(calls), "--db", str(db), "--metadata", str(calls / "calls.csv"), "--no-report"]
    assert main([*arguments, "--device", "cpu", "--calls-at-once", "1", "--summary-json", str(summary_json)]) == 0
    assert "time by stage, summed over calls: transcribe" in capsys.readouterr().out

    summary = json.loads(summary_json.read_text(encoding="utf-8"))
    assert (summary["calls_ok"], summary["calls_failed"], summary["workers"]) == (4, 0, "in the flow's process")
    assert summary["stage_s"]["transcribe"] > 0 and summary["throughput"] > 0
    queries = [
        "SELECT call_id, qa_score, talk_s, answer_s FROM calls WHERE call_id IN ({}) ORDER BY 1",
        "SELECT call_id, seq, speaker, start_s, end_s, text FROM segments WHERE call_id IN ({}) ORDER BY 1, 2",
        "SELECT call_id, check_id, passed, applicable, evidence_start_s, evidence_text FROM check_results"
        " WHERE call_id IN ({}) ORDER BY 1, 2",
    ]
    marks = ", ".join("?" for _ in picked)
    with duckdb.connect(str(db), read_only=True) as con:
        one_at_a_time = [con.execute(q.format(marks), picked).fetchall() for q in queries]
    two_at_once = [sample_run.query(q.format(marks), picked) for q in queries]
    assert all(rows for rows in one_at_a_time)
    assert one_at_a_time == two_at_once
