"""notebooks/qa_lead.ipynb runs top to bottom on a hand-made database and shows its known answers.

The notebook is executed with nbclient in a kernel of this interpreter (a kernelspec written into tmp, found
first through JUPYTER_PATH), with QA_DB pointing at the database. Cells are found by their metadata tags,
and their tables are read from the polars DataFrames' HTML output (the text/plain one wraps long cells).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.factories import make_call, write_calls

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "qa_lead.ipynb"
FORBIDDEN = "这不归我管，你找别人。"
CALLER = "13800000001"


def build_database(path: Path) -> None:
    """Five calls over three days by three agents (A001, A002, A003) plus A009 with none:
    c01/c02 are one case (K1) from one caller, c02 a repeat call 5.5 h later with closing_thanks failed;
    c03 fails the fatal forbidden_phrase; c04 fails greeting and closing_thanks; c05 (outbound) fails
    closing_thanks. A QA lead overrode c02's closing_thanks to pass (after a first review agreeing with the
    machine) and confirmed c04's failure. A second run recorded one decode failure."""
    calls = [
        make_call(
            "c01",
            agent="A001",
            started_at=datetime(2026, 11, 19, 9, 30),
            talk_s=60,
            hold_s=10,
            acw_s=20,
            survey=4,
            case_id="K1",
            caller_number=CALLER,
        ),
        make_call(
            "c02",
            agent="A001",
            started_at=datetime(2026, 11, 19, 15, 0),
            talk_s=90,
            acw_s=30,
            case_id="K1",
            caller_number=CALLER,
            verdicts={"greeting": True, "closing_thanks": False, "forbidden_phrase": True},
        ),
        make_call(
            "c03",
            agent="A002",
            started_at=datetime(2026, 11, 19, 10, 0),
            talk_s=120,
            call_type="complaint",
            verdicts={"greeting": True, "closing_thanks": True, "forbidden_phrase": False},
            segments=(("agent", 0.5, 3.0, FORBIDDEN), ("customer", 3.5, 6.0, "你怎么这样说话？")),
        ),
        make_call(
            "c04",
            agent="A002",
            started_at=datetime(2026, 11, 20, 11, 0),
            talk_s=45,
            verdicts={"greeting": False, "closing_thanks": False, "forbidden_phrase": True},
        ),
        make_call(
            "c05",
            agent="A003",
            started_at=datetime(2026, 11, 21, 16, 0),
            talk_s=200,
            survey=5,
            direction="outbound",
            call_type="callback",
            verdicts={"greeting": True, "closing_thanks": False, "forbidden_phrase": True},
        ),
    ]
    db = write_calls(path, calls)
    try:
        db.connection.execute("INSERT INTO agents VALUES ('A009', 'New Hire', 'team 1')")
        run_id = db.start_run("test-flow-run-2", "test-model", "test", "test", "/calls")
        db.record_failure(run_id, "/calls/c06.wav", "decode", "c06.wav: invalid data found when processing input")
        db.finish_run(run_id, 0, 1)
        db.add_review("c02", "closing_thanks", "fail", "Wang")
        db.add_review("c02", "closing_thanks", "pass", "Li", note="thanked in other words")
        db.add_review("c04", "closing_thanks", "fail", "Li")
    finally:
        db.close()


def write_kernelspec(jupyter_path: Path) -> None:
    """A 'python3' kernelspec running this interpreter, so that no user- or system-wide spec is used."""
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (test)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    tmp_path = tmp_path_factory.mktemp("notebook")
    build_database(tmp_path / "qa.duckdb")
    write_kernelspec(tmp_path / "jupyter")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    probe = nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)", id="kernel-probe")
    probe.metadata["tags"] = ["kernel-probe"]
    nb.cells.append(probe)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_DB", str(tmp_path / "qa.duckdb"))
        mp.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
        # Keep the kernel's files (connection file, IPython history) inside tmp.
        mp.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
        mp.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
        mp.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
        mp.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    return nb


class _HtmlTable(HTMLParser):
    """The rows of the first <table> in an HTML fragment, each a list of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._tables += 1
        elif self._tables == 1 and tag == "tr":
            self.rows.append([])
        elif self._tables == 1 and tag in ("th", "td"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def cell(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    found = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"expected one cell tagged {tag!r}, found {len(found)}"
    return found[0]


def frame(nb: nbformat.NotebookNode, tag: str) -> list[dict[str, str]]:
    """The DataFrame a tagged cell displays, as rows of column -> cell text (strings unquoted, null 'null')."""
    results = [o for o in cell(nb, tag).outputs if o.output_type == "execute_result"]
    assert results, f"cell {tag!r} displays nothing"
    data = results[-1]["data"]
    assert "text/html" in data, f"cell {tag!r} does not display a DataFrame: {data.get('text/plain')}"
    parser = _HtmlTable()
    parser.feed(data["text/html"])
    header, _dtypes, *body = parser.rows  # polars: names, then dtypes, then the rows
    assert all("…" not in row for row in body), f"cell {tag!r} shows a truncated table"
    return [dict(zip(header, map(_unquote, row), strict=True)) for row in body]


def by(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in rows}


def test_the_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code), "clear the notebook's outputs"
    assert 'DB_PATH = os.environ.get("QA_DB", "qa.duckdb")' in cell(nb, "parameters").source
    assert "open_read_only(DB_PATH)" in cell(nb, "parameters").source


def test_it_runs_without_errors_in_this_interpreter(executed: nbformat.NotebookNode) -> None:
    outputs: list[Any] = [(c.get("id"), o) for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert not [(cid, o.ename, o.evalue) for cid, o in outputs if o.output_type == "error"]
    assert not [(cid, o.text) for cid, o in outputs if o.output_type == "stream" and o.name == "stderr"]
    [probe] = cell(executed, "kernel-probe").outputs
    assert probe.text.strip() == sys.prefix


def test_contents_runs_and_failures(executed: nbformat.NotebookNode) -> None:
    [overview] = frame(executed, "total-calls")
    assert (overview["calls"], overview["agents"]) == ("5", "3")
    assert (overview["first_day"], overview["last_day"]) == ("2026-11-19", "2026-11-21")
    tables = by(frame(executed, "tables"), "name")
    assert {name: tables[name]["rows"] for name in ("calls", "agents", "reviews", "runs", "failures")} == {
        "calls": "5",
        "agents": "1",
        "reviews": "3",
        "runs": "2",
        "failures": "1",
    }
    assert tables["kpi_daily"]["kind"] == "VIEW"
    assert sorted(run["calls_failed"] for run in frame(executed, "runs")) == ["0", "1"]
    [failure] = frame(executed, "failures")
    assert (failure["stage"], failure["audio_path"]) == ("decode", "/calls/c06.wav")


def test_daily_kpis_and_a_period_from_the_data(executed: nbformat.NotebookNode) -> None:
    daily = by(frame(executed, "kpi-daily"), "call_date")
    assert list(daily) == ["2026-11-19", "2026-11-20", "2026-11-21"]
    day = daily["2026-11-19"]
    # (60+10+20 + 90+30 + 120) / 3; c01 and c02 have after-call work, c03 not
    assert (day["calls"], day["aht_s"], day["aht_basis"]) == ("3", "110.0", "mixed")
    # c01 100, c02 100 after the override (machine 75), c03 0 (fatal)
    assert (day["avg_qa_score"], day["fatal_failures"], day["overrides"]) == ("66.7", "1", "1")
    assert daily["2026-11-20"]["aht_basis"] == "talk+hold"
    assert daily["2026-11-20"]["csat"] == "null"  # no survey, no inferred answer
    period = frame(executed, "kpi-period")
    assert [(row["call_date"], row["calls"]) for row in period] == [("2026-11-19", "3"), ("2026-11-20", "1")]
    [total] = frame(executed, "kpi-period-total")
    assert (total["calls"], total["avg_qa_score"]) == ("4", "62.5")


def test_agents_call_types_and_cases(executed: nbformat.NotebookNode) -> None:
    ranked = frame(executed, "kpi-agent")
    assert [(row["rank"], row["agent_id"]) for row in ranked] == [
        ("1", "A001"),
        ("2", "A003"),
        ("3", "A002"),
        ("null", "A009"),
    ]
    assert frame(executed, "idle-agents") == [{"agent_id": "A009", "name": "New Hire", "team": "team 1", "calls": "0"}]
    call_types = by(frame(executed, "kpi-call-type"), "call_type")
    assert call_types["complaint"]["fatal_failures"] == "1"
    assert call_types["inquiry"]["calls"] == "3"
    cases = frame(executed, "kpi-case")
    assert sum(int(row["repeat_calls"]) for row in cases) == 1  # c02, the caller's second inbound call
    first = by(cases, "case_date")["2026-11-19"]
    assert (first["cases"], first["complaints"], first["complaint_callback_rate"]) == ("2", "1", "0.0")


def test_check_pass_rates_unpacked(executed: nbformat.NotebookNode) -> None:
    rates = {(row["call_date"], row["check_id"]): row for row in frame(executed, "check-pass-rates")}
    assert len(rates) == 9  # 3 days x 3 checks
    assert rates[("2026-11-19", "closing_thanks")]["pass_rate"] == "1.0"  # c02 overridden to pass
    assert rates[("2026-11-19", "forbidden_phrase")]["category"] == "conduct"
    assert rates[("2026-11-20", "greeting")]["pass_rate"] == "0.0"
    wide = by(frame(executed, "check-pass-rates-wide"), "check_id")
    assert wide["forbidden_phrase"]["2026-11-19"] == "0.667"


def test_drill_down_to_the_evidence(executed: nbformat.NotebookNode) -> None:
    top, *_ = frame(executed, "top-failing")
    # closing_thanks: the machine failed c02, c04, c05; the override leaves c04 and c05
    assert (top["check_id"], top["failed"], top["machine_failed"]) == ("closing_thanks", "2", "3")
    [failing] = frame(executed, "failing-call")
    assert (failing["call_id"], failing["check_id"], failing["fatal"]) == ("c03", "forbidden_phrase", "true")
    assert (failing["evidence_start_s"], failing["evidence_end_s"]) == ("0.5", "3.0")
    transcript = frame(executed, "transcript")
    assert [(row["text"], row["evidence"]) for row in transcript] == [
        (FORBIDDEN, "<< forbidden_phrase"),
        ("你怎么这样说话？", ""),
    ]


def test_calibration(executed: nbformat.NotebookNode) -> None:
    [agreement] = frame(executed, "agreement")
    assert agreement["check_id"] == "closing_thanks"
    # c02 overridden (machine fail, lead pass), c04 confirmed; three reviews in the history
    assert (agreement["reviewed_calls"], agreement["agreed"], agreement["agreement_rate"]) == ("2", "1", "0.5")
    assert (agreement["machine_false_fail"], agreement["reviews"]) == ("1", "3")
    history = frame(executed, "review-history")
    assert [(row["call_id"], row["reviewer"], row["verdict"], row["in_force"]) for row in history] == [
        ("c02", "Wang", "fail", "false"),
        ("c02", "Li", "pass", "true"),
        ("c04", "Li", "fail", "true"),
    ]
    [rescored] = frame(executed, "rescored")
    assert (rescored["call_id"], rescored["machine_qa_score"], rescored["qa_score"]) == ("c02", "75.0", "100.0")


def test_polars_analysis(executed: nbformat.NotebookNode) -> None:
    aht_vs_qa = frame(executed, "aht-vs-qa")
    assert [(row["agent_id"], row["aht_s"], row["avg_qa_score"]) for row in aht_vs_qa] == [
        ("A003", "200.0", "75.0"),
        ("A001", "105.0", "100.0"),
        ("A002", "82.5", "25.0"),
    ]
    [corr] = frame(executed, "aht-qa-corr")
    assert corr["aht_qa_rank_correlation"] == "0.5"
