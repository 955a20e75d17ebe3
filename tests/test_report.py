"""The nightly QA report: its figures on hand-made calls with known answers, and the page in real Chromium.

The database (built once for the module) holds 8 calls over three days; the report's default period is
the latest day, 2026-11-20, and the previous period 2026-11-19. Weights (tests/factories.py): greeting 10,
closing_thanks 10, forbidden_phrase 20 and fatal; pass mark 80.

2026-11-20 (the period):
  p_fatal     A001 09:00  greeting fail, forbidden_phrase fail (fatal, evidence 20-24 s) -> 0, failed; survey 2
  p_ok        A001 10:00  all pass -> 100; survey 5; case CASE-1 (inbound, first contact)
  p_unsure    A002 11:00  mono, diarization 0.20, role 0.30, no roles, ASR 0.45 -> 100, passed
  p_override  A002 12:00  greeting fail -> 75 by the machine; a QA lead overrides it to pass -> 100, passed
  p_low       A001 15:00  greeting and closing_thanks fail -> 50, failed; case CASE-1 again (a repeat contact)
2026-11-19 (previous): q_a A001 all pass -> 100, survey 4; q_b A002 greeting fail -> 75, survey 3
2026-11-18: r_a A003 all pass -> 100.   Agent A009 is in the agents table and never took a call.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pytest
from plotly.offline import get_plotlyjs
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from qa_pipeline.kpis import connect_read_only
from qa_pipeline.model import ScoredCall
from qa_pipeline.report import ReportError, write_report
from qa_pipeline.report.audio import embed_audio
from qa_pipeline.report.render import clock
from qa_pipeline.scoring import score_call
from tests.conftest import SAMPLE_AUDIO
from tests.factories import check_result, make_call, write_calls

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FATAL_AUDIO = SAMPLE_AUDIO / "call_001.wav"  # stereo, 66.94 s
UNSURE_AUDIO = SAMPLE_AUDIO / "call_007.wav"  # mono, 65.17 s
MISSING_AUDIO = "/nonexistent/recordings/p_low.wav"
INJECTED = '<script>alert("pwned")</script>'

FATAL_SEGMENTS = (
    ("agent", 0.5, 3.0, "您好，物业服务中心。"),
    ("customer", 3.5, 9.0, "我家楼上漏水三天了，一直没人来修。"),
    ("agent", 9.5, 14.0, "我们已经派人去看过了。"),
    ("customer", 14.5, 19.5, "根本没人来过！"),
    ("agent", 20.0, 24.0, f"你爱信不信，这不归我管。{INJECTED}"),
    ("customer", 24.5, 27.0, "你这是什么态度？"),
)


# -- building the database ------------------------------------------------------------------------------
def with_evidence(call: ScoredCall, check_id: str, span: tuple[float, float]) -> ScoredCall:
    """The call with one check's evidence at `span` seconds (factories put every evidence at 0.5-3.0 s)."""
    results = [
        check_result(r.check_id, r.passed if r.applicable else None, span) if r.check_id == check_id else r
        for r in call.results
    ]
    return replace(call, verdicts=replace(call.verdicts, results=results), score=score_call(results, 80.0))


def unsure_mono(call: ScoredCall) -> ScoredCall:
    """A mono call whose diarization, roles and words the machine was unsure of."""
    transcript = replace(
        call.transcript,
        segments=tuple(replace(s, speaker="unknown", confidence=0.45) for s in call.transcript.segments),
        diarization_confidence=0.2,
        role_confidence=0.3,
        speakers_found=2,
        role_note="agent-phrasing scores too close (1.0 vs 0.9): no roles",
    )
    return replace(call, transcript=transcript)


def build_calls() -> list[ScoredCall]:
    fatal = make_call(
        "p_fatal",
        agent="A001",
        started_at=datetime(2026, 11, 20, 9, 0),
        talk_s=60.0,
        survey=2,
        verdicts={"greeting": False, "closing_thanks": True, "forbidden_phrase": False},
        segments=FATAL_SEGMENTS,
        audio_path=str(FATAL_AUDIO),
    )
    return [
        with_evidence(fatal, "forbidden_phrase", (20.0, 24.0)),
        make_call(
            "p_ok", agent="A001", started_at=datetime(2026, 11, 20, 10, 0), talk_s=100.0, survey=5, case_id="CASE-1"
        ),
        unsure_mono(
            make_call(
                "p_unsure",
                agent="A002",
                started_at=datetime(2026, 11, 20, 11, 0),
                talk_s=80.0,
                diarization="embedded",
                audio_path=str(UNSURE_AUDIO),
            )
        ),
        make_call(
            "p_override",
            agent="A002",
            started_at=datetime(2026, 11, 20, 12, 0),
            talk_s=40.0,
            verdicts={"greeting": False, "closing_thanks": True, "forbidden_phrase": True},
        ),
        make_call(
            "p_low",
            agent="A001",
            started_at=datetime(2026, 11, 20, 15, 0),
            talk_s=70.0,
            case_id="CASE-1",
            verdicts={"greeting": False, "closing_thanks": False, "forbidden_phrase": True},
            audio_path=MISSING_AUDIO,
        ),
        make_call("q_a", agent="A001", started_at=datetime(2026, 11, 19, 10, 0), talk_s=50.0, survey=4),
        make_call(
            "q_b",
            agent="A002",
            started_at=datetime(2026, 11, 19, 11, 0),
            talk_s=70.0,
            survey=3,
            verdicts={"greeting": False, "closing_thanks": True, "forbidden_phrase": True},
        ),
        make_call("r_a", agent="A003", started_at=datetime(2026, 11, 18, 10, 0), talk_s=90.0),
    ]


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report-db") / "qa.duckdb"
    with write_calls(path, build_calls()) as db:
        db.connection.execute("INSERT INTO agents (agent_id, name) VALUES ('A009', '新人')")
        (run_id,) = db.connection.execute("SELECT run_id FROM runs").fetchone() or ("",)
        db.record_failure(run_id, "/calls/broken.wav", "decode", "cannot decode /calls/broken.wav: invalid data")
        db.finish_run(run_id, 8, 1)
        db.add_review("p_override", "greeting", "pass", "王组长", "问候语说了，机器没听清")
        db.add_review("p_fatal", "forbidden_phrase", "fail", "王组长", "确认违规")
    return path


@pytest.fixture(scope="module")
def report_file(db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(db_path, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def page(report_file: Path) -> Node:
    return parse(report_file.read_text(encoding="utf-8"))


# -- a small DOM over the stdlib parser (the page is asserted on structure, not on markup strings) ---------
VOID_TAGS = {"meta", "br", "hr", "img", "input", "link", "source", "col", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                matches = (tag is None or child.tag == tag) and (cls is None or cls in child.classes)
                if matches and all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                    found.append(child)
                found.extend(child.find_all(tag, cls, **attrs))
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, cls, **attrs)
        assert found, f"no <{tag or '*'} class={cls} {attrs}> in the page"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID_TAGS:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def squash(text: str) -> str:
    return " ".join(text.split())


def tile(page: Node, column: str) -> dict[str, str]:
    node = page.find("div", "tile", data_kpi=column)
    return {part: squash(node.find("div", f"tile-{part}").text) for part in ("value", "change", "prev")} | {
        "note": squash(" ".join(n.text for n in node.find_all("div", "tile-note")))
    }


def table_rows(table: Node) -> list[list[str]]:
    return [[squash(cell.text) for cell in row.find_all("td")] for row in table.find("tbody").find_all("tr")]


# -- the figures ----------------------------------------------------------------------------------------
def test_header_names_period_previous_period_database_and_latest_run(page: Node, db_path: Path) -> None:
    assert squash(page.find("dd", id="period").text) == "2026-11-20"
    assert squash(page.find("dd", id="previous-period").text) == "2026-11-19"
    assert str(db_path.resolve()) in page.find("header").text
    run = page.find("div", id="latest-run")
    assert "8 calls ok, 1 failed" in squash(run.find("h3").text)
    assert table_rows(run.find("table", id="run-failures")) == [
        ["/calls/broken.wav", "decode", "cannot decode /calls/broken.wav: invalid data"]
    ]


def test_kpi_tiles_show_the_period_against_the_previous_one(page: Node) -> None:
    assert tile(page, "calls") == {"value": "5", "change": "▲ +3", "prev": "previous: 2", "note": ""}
    assert tile(page, "answered_calls")["value"] == "5"
    aht = tile(page, "aht_s")  # (60 + 100 + 80 + 40 + 70) / 5; before (50 + 70) / 2
    assert (aht["value"], aht["change"]) == ("70.0 s", "▲ +10.0 s")
    assert "talk + hold" in aht["note"] and "after-call work" in aht["note"]  # no acw in the metadata
    score = tile(page, "avg_qa_score")  # (0 + 100 + 100 + 100 overridden + 50) / 5; before (100 + 75) / 2
    assert (score["value"], score["change"], score["prev"]) == ("70.0", "▼ -17.5 pts", "previous: 87.5")
    assert (tile(page, "qa_pass_rate")["value"], tile(page, "qa_pass_rate")["change"]) == ("60.0%", "▲ +10.0 pp")
    # greeting + closing_thanks on 5 calls: p_fatal misses 1, p_low 2 (p_override's greeting is a pass now)
    assert (tile(page, "script_compliance_rate")["value"], tile(page, "script_compliance_rate")["change"]) == (
        "70.0%",
        "▼ -5.0 pp",
    )
    csat = tile(page, "csat")  # surveys 2 and 5; before 4 and 3
    assert (csat["value"], csat["change"], csat["note"]) == ("3.50 / 5", "= no change", "2 survey, 0 inferred")
    assert (tile(page, "fatal_failures")["value"], tile(page, "fatal_failures")["change"]) == ("1", "▲ +1")
    # 4 cases open on the day (p_ok and p_low share CASE-1); CASE-1 had a second inbound call
    fcr = tile(page, "first_contact_resolution_rate")
    assert (fcr["value"], fcr["change"], fcr["note"]) == ("75.0%", "▼ -25.0 pp", "4 cases opened")
    assert (tile(page, "overrides")["value"], tile(page, "overrides")["change"]) == ("1", "▲ +1")
    # Every call here has a verdict (tests/test_not_judged.py has calls without one): none left out.
    assert tile(page, "calls_not_judged") == {
        "value": "0",
        "change": "= no change",
        "prev": "previous: 0",
        "note": "no score: no speakers, or too few checks could judge; not in score or pass rate",
    }
    assert tile(page, "avg_qa_score")["note"] == ""


def test_tiles_say_whether_a_change_is_welcome(page: Node) -> None:
    def tone(column: str) -> set[str]:
        return page.find("div", "tile", data_kpi=column).classes & {"tone-good", "tone-bad", "tone-neutral"}

    assert tone("qa_pass_rate") == {"tone-good"}
    assert tone("avg_qa_score") == {"tone-bad"}
    assert tone("fatal_failures") == {"tone-bad"}  # more fatal failures is worse
    assert tone("calls") == {"tone-neutral"}


def test_agent_table_lists_every_agent_with_zero_calls_included(page: Node) -> None:
    rows = {row[0]: row for row in table_rows(page.find("table", id="agent-table"))}
    assert sorted(rows) == ["A001", "A002", "A003", "A009"]
    assert rows["A001"][1:5] == ["3", "3", "76.7 s", "50.0"]  # p_fatal 0, p_ok 100, p_low 50
    assert rows["A002"][1] == "2" and rows["A002"][4] == "100.0"
    assert rows["A003"][1] == "0" and rows["A009"][1] == "0"
    assert "no scored calls" in rows["A009"][-1]  # never scored: no sparkline
    agent_rows = page.find("table", id="agent-table").find("tbody").find_all("tr")
    sparklines = {row.attrs["data-agent"]: row.find_all("div", "plotly-graph-div") for row in agent_rows}
    assert [len(sparklines[a]) for a in ("A001", "A002", "A003", "A009")] == [1, 1, 1, 0]


def test_failed_checks_are_counted_with_the_verdicts_in_force(page: Node) -> None:
    assert table_rows(page.find("table", id="failed-checks")) == [
        ["greeting", "2", "5", "40.0%", "Standard greeting at the start of the call."],
        ["closing_thanks", "1", "5", "20.0%", "Thanks and goodbye at the end of the call."],
        ["forbidden_phrase", "1", "5", "20.0%", "The agent never talks back, shirks or is rude."],
    ]
    assert page.find("div", "plotly-graph-div", id="failed-checks-chart")


def test_calibration_shows_overrides_and_agreement_per_check(page: Node) -> None:
    rows = {row[0]: row for row in table_rows(page.find("table", id="calibration-table"))}
    # reviewed, agreed, agreement, overrides, false fail, missed fail, reviews
    assert rows["greeting"][1:8] == ["1", "0", "0.0%", "1", "1", "0", "1"]
    assert rows["forbidden_phrase"][1:8] == ["1", "1", "100.0%", "0", "0", "0", "1"]
    notes = squash(page.find("table", id="recent-reviews").text)
    assert "问候语说了，机器没听清" in notes and "王组长" in notes


def test_calls_to_review_put_the_fatal_call_first_and_say_why(page: Node) -> None:
    items = page.find_all("article", "review-item")
    assert [item.attrs["data-call-id"] for item in items] == ["p_fatal", "p_unsure", "p_low"]
    reasons = [[squash(r.text) for r in item.find_all("li", "reason")] for item in items]
    assert reasons[0] == ["fatal failure: forbidden_phrase"]
    assert reasons[1] == [
        "diarization confidence 0.20 < 0.3",
        "role confidence 0.30 < 0.5",
        "roles unknown: no agent/customer segment on a mono call",
        "ASR confidence 0.45 < 0.6 (mean over segments)",
    ]
    assert reasons[2] == ["failed QA: score 50.0 < pass mark 80"]
    fatal = items[0]
    assert squash(fatal.find("b", "score").text) == "0.0"
    assert [row.attrs["data-check"] for row in fatal.find("table", "failed-checks").find("tbody").find_all("tr")] == [
        "forbidden_phrase",
        "greeting",
    ]
    seek = fatal.find("button", "evidence-seek")
    assert seek.attrs["data-seek"] == "20.00" and seek.attrs["data-audio"] == fatal.find("audio").attrs["id"]


def test_transcript_has_speaker_labels_times_and_highlighted_evidence(page: Node) -> None:
    fatal = page.find("article", "review-item", data_call_id="p_fatal")
    lines = fatal.find("ol", "transcript").find_all("li")
    assert [squash(line.find("span", "speaker").text) for line in lines] == [
        "坐席",
        "客户",
        "坐席",
        "客户",
        "坐席",
        "客户",
    ]
    assert squash(lines[4].find("span", "time").text) == "0:20.0"
    highlighted = [n for n, line in enumerate(lines) if "evidence" in line.classes]
    assert highlighted == [0, 4]  # greeting's evidence 0.5-3.0 s, forbidden_phrase's 20-24 s
    assert "forbidden_phrase" in lines[4].text


def test_times_read_like_a_player() -> None:
    assert [clock(0.0), clock(20.0), clock(59.96), clock(125.3), clock(None)] == [
        "0:00.0",
        "0:20.0",
        "1:00.0",
        "2:05.3",
        "–",
    ]


def test_transcript_text_is_escaped(report_file: Path, page: Node) -> None:
    html = report_file.read_text(encoding="utf-8")
    assert INJECTED not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
    assert INJECTED in page.find("article", "review-item", data_call_id="p_fatal").text  # shown as text


def test_audio_is_embedded_or_said_to_be_missing(page: Node) -> None:
    fatal = page.find("article", "review-item", data_call_id="p_fatal")
    assert fatal.find("audio").attrs["src"].startswith("data:audio/ogg;base64,")
    missing = page.find("article", "review-item", data_call_id="p_low")
    assert not missing.find_all("audio")
    assert squash(missing.find("p", "audio-missing").text).startswith(f"audio not available: {MISSING_AUDIO}")


def test_recordings_become_opus_or_say_why_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedded = embed_audio(str(FATAL_AUDIO))
    assert embedded.problem is None and embedded.data_uri is not None
    ogg = base64.b64decode(embedded.data_uri.removeprefix("data:audio/ogg;base64,"))
    assert ogg.startswith(b"OggS") and b"OpusHead" in ogg
    assert ogg[ogg.index(b"OpusHead") + 9] == 2  # channel count: stereo kept
    assert len(ogg) < 68 * 16_000 / 8 * 1.2  # about 16 kbit/s over the 68 s call
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not audio at all")
    assert (embed_audio(str(garbage)).problem or "").startswith("ffmpeg failed")
    assert embed_audio(str(tmp_path / "absent.wav")).problem == "file not found"
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without ffmpeg
    assert embed_audio(str(FATAL_AUDIO)).problem == "ffmpeg is not installed"


def test_the_page_is_self_contained(report_file: Path) -> None:
    html = report_file.read_text(encoding="utf-8")
    assert html.count(get_plotlyjs()[:2000]) == 1  # plotly.js inlined once
    assert '<meta charset="utf-8">' in html and "Noto Sans CJK SC" in html
    assert "<script src=" not in html and "<link " not in html  # the browser test checks nothing is fetched


def test_an_empty_period_still_renders(db_path: Path, tmp_path: Path) -> None:
    page = parse(
        write_report(db_path, tmp_path, date_from=date(2026, 12, 1), date_to=date(2026, 12, 2)).read_text("utf-8")
    )
    assert squash(page.find("dd", id="period").text) == "2026-12-01 – 2026-12-02 (2 days)"
    assert squash(page.find("dd", id="previous-period").text) == "2026-11-29 – 2026-11-30 (2 days)"
    for column in ("calls", "avg_qa_score", "csat", "first_contact_resolution_rate"):
        assert tile(page, column)["value"] == "no calls"
    assert "No check failed" in page.find("section", id="checks").text
    assert "No call to review" in page.find("section", id="review").text
    # the trend window (30 days to 2026-12-02) still holds the November calls
    assert page.find("div", "plotly-graph-div", id="trend-calls")


def test_review_items_are_capped(db_path: Path, tmp_path: Path) -> None:
    page = parse(write_report(db_path, tmp_path, max_review_items=1).read_text("utf-8"))
    assert [item.attrs["data-call-id"] for item in page.find_all("article", "review-item")] == ["p_fatal"]
    assert "Showing 1 of 3 calls" in squash(page.find("section", id="review").text)


def test_no_reviews_yet_is_said_plainly(tmp_path: Path) -> None:
    write_calls(tmp_path / "plain.duckdb", [make_call("only")]).close()
    page = parse(write_report(tmp_path / "plain.duckdb", tmp_path / "out").read_text("utf-8"))
    assert "No reviews yet" in page.find("p", id="no-reviews").text
    assert tile(page, "calls") == {
        "value": "1",
        "change": "",
        "prev": "previous: no calls",
        "note": "",
    }


def test_bad_databases_and_arguments_raise_report_error(db_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        write_report(tmp_path / "absent.duckdb", tmp_path)
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as connection:
        connection.execute("CREATE TABLE things (x INTEGER)")
    with pytest.raises(ReportError, match="no calls table"):
        write_report(other, tmp_path)
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_text("not a database", encoding="utf-8")
    with pytest.raises(ReportError, match="cannot open"):
        write_report(garbage, tmp_path)
    with pytest.raises(ReportError, match="after"):
        write_report(db_path, tmp_path, date_from=date(2026, 11, 20), date_to=date(2026, 11, 19))


# -- the views the report reads (qa_pipeline/kpis: review_queue, check_failures, run_scores ...) -----------
def query(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = connect_read_only(db_path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_review_queue_holds_the_calls_the_page_lists_in_its_order(db_path: Path, page: Node) -> None:
    rows = query(
        db_path,
        "SELECT call_id, fatal, failed_qa, low_confidence FROM review_queue_between('2026-11-20', '2026-11-20')",
    )
    # p_override failed by the machine (75) but a QA lead's override passes it: not in the queue
    assert rows == [("p_fatal", True, True, False), ("p_unsure", False, False, True), ("p_low", False, True, False)]
    listed = [item.attrs["data-call-id"] for item in page.find_all("article", "review-item")]
    assert listed == [call_id for call_id, *_ in rows]
    # the view over all dates adds the previous day's failed call, after the lower score
    assert [r[0] for r in query(db_path, "SELECT call_id FROM review_queue")] == ["p_fatal", "p_unsure", "p_low", "q_b"]
    assert query(db_path, "SELECT diarization, role, asr FROM review_thresholds") == [(0.3, 0.5, 0.6)]


def test_check_failures_counts_verdicts_in_force_per_check(db_path: Path) -> None:
    rows = query(db_path, "SELECT * FROM check_failures_between('2026-11-20', '2026-11-20')")
    assert [(check_id, failed, applicable, rate) for check_id, _, _, failed, applicable, rate in rows] == [
        ("greeting", 2, 5, 0.4),  # p_fatal, p_low; p_override's failure was overridden
        ("closing_thanks", 1, 5, 0.2),
        ("forbidden_phrase", 1, 5, 0.2),
    ]
    # a day without failures still has its checks, each with 0 failed calls
    assert {
        failed
        for *_, failed, _, _ in query(db_path, "SELECT * FROM check_failures_between('2026-11-18', '2026-11-18')")
    } == {0}


def test_run_scores_and_run_failures_per_run(db_path: Path) -> None:
    [row] = query(
        db_path,
        "SELECT calls_ok, calls_failed, calls, avg_qa_score, qa_pass_rate, calls_not_judged, fatal_failures,"
        " overrides, failures, open_failures FROM run_scores",
    )
    # 8 calls: 0, 100, 100, 100 (overridden from 75), 50, 100, 75, 100 -> 78.1; 5 of 8 passed
    assert row == (8, 1, 8, 78.1, 0.625, 0, 1, 1, 1, 1)
    assert query(db_path, "SELECT audio_path, stage, resolved FROM run_failures") == [
        ("/calls/broken.wav", "decode", False)
    ]


# -- the page in a real browser -------------------------------------------------------------------------
@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    if not CHROMEDRIVER.exists() or not CHROMIUM.exists():
        pytest.fail(f"{CHROMEDRIVER} or {CHROMIUM} is missing: `make install` installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,2400",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never looks for (or downloads) a driver.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout_s: float = 15.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


CHART_POINTS_JS = """
return Array.from(document.querySelectorAll('.plotly-graph-div')).map(function (div) {
    var trace = (div.data || [])[0] || {};
    var x = trace.x || [], y = trace.y || [];
    var measured = Array.prototype.filter.call(y, function (v) { return v !== null && v !== undefined; });
    return {id: div.id, traces: (div.data || []).length, x: x.length, y: measured.length, drawn: !!div._fullLayout};
});
"""


def test_report_in_headless_chromium(chromium: webdriver.Chrome, report_file: Path, tmp_path: Path) -> None:
    driver = chromium
    driver.get(report_file.as_uri())
    wait_for(lambda: driver.execute_script("return document.readyState") == "complete", what="the page to load")

    charts = driver.execute_script(CHART_POINTS_JS)
    ids = {chart["id"] for chart in charts}
    assert {"trend-calls", "trend-qa-score", "trend-pass-rate", "trend-aht", "trend-csat", "failed-checks-chart"} <= ids
    assert sum(chart["id"].startswith("spark-") for chart in charts) == 3  # A001, A002, A003 (A009 never scored)
    for chart in charts:
        assert chart["drawn"] and chart["traces"] >= 1 and chart["x"] > 0 and chart["y"] > 0, chart

    audio_id = driver.find_element(By.CSS_SELECTOR, "#review-1 audio").get_attribute("id")
    duration = wait_for(
        lambda: driver.execute_script(
            "var a = document.getElementById(arguments[0]);"
            " return a.readyState >= 1 && isFinite(a.duration) ? a.duration : 0;",
            audio_id,
        ),
        what="the embedded recording's metadata",
    )
    assert abs(float(duration) - 66.94) < 0.5  # call_001.wav, transcoded to Opus

    driver.execute_script("document.getElementById('review-1').scrollIntoView({block: 'start'})")
    seek = driver.find_element(By.CSS_SELECTOR, "#review-1 button.evidence-seek")
    assert seek.get_attribute("data-seek") == "20.00"  # forbidden_phrase's evidence start

    def current_time() -> float:
        return float(driver.execute_script("return document.getElementById(arguments[0]).currentTime", audio_id))

    seek.click()
    wait_for(lambda: abs(current_time() - 20.0) <= 0.3, timeout_s=5, what="the player to jump to 20.0 s")
    driver.execute_script("document.getElementById(arguments[0]).pause()", audio_id)

    fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in fetched if not url.startswith("data:")] == []  # opens offline: nothing fetched

    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []

    save_screenshots(driver, Path(os.environ.get("QA_SCREENSHOT_DIR") or tmp_path))


def save_screenshots(driver: webdriver.Chrome, directory: Path) -> None:
    """The top of the page (header, tiles, trends) and the first call to review, for docs/report.md."""
    directory.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1400, 1500)
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)  # charts are responsive: let them redraw at the new width
    driver.save_screenshot(str(directory / "report-top.png"))
    driver.execute_script("document.getElementById('review').scrollIntoView({block: 'start'})")
    time.sleep(0.3)
    driver.save_screenshot(str(directory / "report-review.png"))
