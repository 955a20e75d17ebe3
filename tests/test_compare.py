"""`python -m qa_pipeline.evaluation.compare`: two databases holding the same scores compare equal; one
changed verdict is named."""

from __future__ import annotations

from pathlib import Path

from qa_pipeline.evaluation.compare import compare, main
from tests.factories import make_call, write_calls


def _database(path: Path, greeting_passed: bool) -> str:
    calls = [make_call("c1", verdicts={"greeting": greeting_passed}), make_call("c2", verdicts={"greeting": True})]
    write_calls(path, calls).close()
    return str(path)


def test_the_same_scores_written_by_two_runs_compare_equal(tmp_path: Path) -> None:
    old = _database(tmp_path / "old.duckdb", greeting_passed=True)
    new = _database(tmp_path / "new.duckdb", greeting_passed=True)  # another run id, another clock
    assert main([old, new]) == 0
    lines = compare(old, new)
    assert lines[:2] == ["calls: 2 vs 2 rows, equal", "segments: 6 vs 6 rows, equal"]  # 3 segments a call
    assert "check_results: 2 vs 2 rows, equal" in lines


def test_a_changed_verdict_is_named(tmp_path: Path) -> None:
    old = _database(tmp_path / "old.duckdb", greeting_passed=True)
    new = _database(tmp_path / "new.duckdb", greeting_passed=False)
    lines = compare(old, new)
    assert "check_results: 2 vs 2 rows, DIFFERENT" in lines
    changed = [line for line in lines if line.startswith("  only in") and "'c1', 'greeting'" in line]
    assert len(changed) == 2  # the old row and the new one
    assert main([old, new]) == 1
