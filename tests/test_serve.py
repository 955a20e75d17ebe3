"""The review application (qa-pipeline serve) through HTTP: sign-in, the refusals, reviews, disputes and
rulings, calibration, with the KPI views read back from the DuckDB file. (tests/test_serve_browser.py drives
it in Chromium.)"""

from __future__ import annotations

import os
import re
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from qa_pipeline.kpis.database import open_reader
from qa_pipeline.serve.app import create_app
from qa_pipeline.serve.users import UserError, UserStore, hash_password, verify_password
from tests.conftest import SAMPLE_AUDIO
from tests.factories import make_call, write_calls

PASSWORDS = {"lee": "lead password 1", "rita": "reviewer pass 2", "ann": "agent A001 pass", "bob": "agent A002 pass"}
FAIL_GREETING = {"greeting": False, "closing_thanks": True, "forbidden_phrase": True}  # 30 of 40 weight: 75.0


def build(tmp_path: Path) -> tuple[Path, Path]:
    db_path = tmp_path / "qa.duckdb"
    calls = [
        make_call(
            "c_fail_a1",
            agent="A001",
            started_at=datetime(2026, 11, 20, 9, 0),
            verdicts=FAIL_GREETING,
            audio_path=str(SAMPLE_AUDIO / "call_001.wav"),
        ),
        make_call("c_ok_a1", agent="A001", started_at=datetime(2026, 11, 20, 10, 0)),
        make_call("c_fail_a2", agent="A002", started_at=datetime(2026, 11, 20, 11, 0), verdicts=FAIL_GREETING),
    ]
    write_calls(db_path, calls).close()
    users = UserStore(tmp_path / "qa.users.json")
    users.add("lee", "lead", PASSWORDS["lee"])
    users.add("rita", "reviewer", PASSWORDS["rita"])
    users.add("ann", "agent", PASSWORDS["ann"], agent_id="A001")
    users.add("bob", "agent", PASSWORDS["bob"], agent_id="A002")
    users.add("vic", "viewer", "viewer pass 3")
    return db_path, users.path


def compact(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html)))


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def review(client: TestClient, call_id: str, page: str, **fields: str) -> Any:
    """POST the review form of `call_id` with the CSRF token of `page` (the call page the user has open)."""
    return client.post(f"/calls/{call_id}/review", data={"csrf_token": token(page), "check_id": "greeting", **fields})


def sign_in(app: object, name: str, password: str | None = None) -> TestClient:
    client = TestClient(app)  # type: ignore[arg-type]
    page = client.get("/login")
    signed = client.post(
        "/login", data={"csrf_token": token(page.text), "username": name, "password": password or PASSWORDS[name]}
    )
    assert signed.status_code == 200 and signed.url.path == "/", signed.text[:500]
    return client


def agent_kpis(db_path: Path) -> dict[str, tuple[float, float]]:
    with open_reader(db_path) as db:  # the KPI views, as `qa-pipeline kpis` reads them
        _, rows = db.query("SELECT agent_id, qa_pass_rate, avg_qa_score FROM kpi_agent ORDER BY agent_id")
    return {agent: (rate, score) for agent, rate, score in rows}


@pytest.fixture
def served(tmp_path: Path) -> tuple[object, Path]:
    db_path, users_path = build(tmp_path)
    return create_app(db_path, users_path, sample_share=0.0), db_path


def test_passwords_are_salted_scrypt_hashes_and_the_users_file_is_the_owners_only(tmp_path: Path) -> None:
    first, second = hash_password("same password"), hash_password("same password")
    assert first != second and first.startswith("scrypt$32768$8$1$")  # a fresh salt each time
    assert verify_password("same password", first) and not verify_password("same passworD", first)
    assert not verify_password("same password", "md5$whatever")
    store = UserStore(tmp_path / "u.json")
    store.add("lee", "lead", "a long enough one")
    assert "a long enough one" not in store.path.read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    with pytest.raises(UserError, match="at least 10 characters"):
        store.add("x", "lead", "short")
    with pytest.raises(UserError, match="an agent needs --agent-id"):
        store.add("x", "agent", "a long enough one")
    with pytest.raises(UserError, match="role must be one of"):
        store.add("x", "admin", "a long enough one")
    assert store.authenticate("lee", "a long enough one") is not None
    assert store.authenticate("lee", "wrong password") is None and store.authenticate("nobody", "x") is None


def test_refusals_wrong_password_no_csrf_token_other_agents_call_and_a_reviewer_ruling(
    served: tuple[object, Path],
) -> None:
    app, _ = served
    anonymous = TestClient(app)  # type: ignore[arg-type]
    assert anonymous.get("/calls/c_fail_a1").url.path == "/login"  # signed out: to the sign-in page
    page = anonymous.get("/login")
    wrong = anonymous.post("/login", data={"csrf_token": token(page.text), "username": "lee", "password": "guess"})
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    assert anonymous.get("/").url.path == "/login"  # still signed out
    no_token = anonymous.post("/login", data={"username": "lee", "password": PASSWORDS["lee"]})
    assert no_token.status_code == 403

    lead = sign_in(app, "lee")
    forged = lead.post(
        "/calls/c_fail_a1/review", data={"check_id": "greeting", "verdict": "pass", "note": "x", "action": "overrule"}
    )
    assert forged.status_code == 403 and "security token" in forged.text

    ann = sign_in(app, "ann")
    assert ann.get("/calls/c_fail_a2").status_code == 403  # bob's call
    home = ann.get("/")
    assert re.findall(r'href="/calls/([^"]+)"', home.text) == ["c_ok_a1", "c_fail_a1"]  # newest first
    disputed_elsewhere = ann.post(
        "/calls/c_fail_a2/dispute", data={"csrf_token": token(home.text), "check_id": "greeting", "note": "not mine"}
    )
    assert disputed_elsewhere.status_code == 403

    viewer = sign_in(app, "vic", "viewer pass 3")
    page = viewer.get("/calls/c_fail_a1")
    assert page.status_code == 200 and 'class="review"' not in page.text  # reads, cannot review
    attempt = review(viewer, "c_fail_a1", page.text, verdict="pass", note="x")
    assert attempt.status_code == 403 and "a viewer may not review" in attempt.text

    bob = sign_in(app, "bob")
    call = bob.get("/calls/c_fail_a2")
    # its recording is not on this machine: said so, with the path, instead of a player
    assert "Recording not playable: file not found (/calls/c_fail_a2.wav)" in call.text
    bob.post("/calls/c_fail_a2/dispute", data={"csrf_token": token(call.text), "check_id": "greeting", "note": "I did"})
    rita = sign_in(app, "rita")
    disputes = rita.get("/disputes")
    assert "open: a QA lead rules" in disputes.text and 'class="rule"' not in disputes.text
    ruled = rita.post("/disputes/1/rule", data={"csrf_token": token(disputes.text), "ruling": "upheld", "note": "no"})
    assert ruled.status_code == 403 and "a reviewer may not rule" in ruled.text


def test_overrule_dispute_and_ruling_move_the_kpis_and_calibration(served: tuple[object, Path]) -> None:
    app, db_path = served
    assert agent_kpis(db_path) == {"A001": (0.5, 87.5), "A002": (0.0, 75.0)}

    # A reviewer confirms the machine's fail, then the lead overrules it with a note.
    rita = sign_in(app, "rita")
    page = rita.get("/calls/c_fail_a1")
    confirmed = review(rita, "c_fail_a1", page.text, current="fail", action="confirm")
    assert confirmed.status_code == 200 and "Review of greeting saved" in confirmed.text
    assert agent_kpis(db_path)["A001"] == (0.5, 87.5)  # confirmed: nothing moves
    lead = sign_in(app, "lee")
    queue = lead.get("/")
    assert re.search(r'id="progress">1 of 2 calls due reviewed', queue.text)
    first = re.search(r'class="queue-row">\s*<td><a href="/calls/([^"]+)"', queue.text)
    assert first and first.group(1) == "c_fail_a1"  # lowest score, earliest
    page = lead.get("/calls/c_fail_a1")
    assert 'class="play" data-start="0.5"' in page.text and "data:audio/ogg;base64," in page.text
    # the failed greeting's evidence (0.5-3.0 s) marks the first transcript line only
    assert page.text.count('class="evidence-line"') == 1
    overruled = review(lead, "c_fail_a1", page.text, verdict="pass", note="said 您好 at 0.5 s")
    assert "Review of greeting saved" in overruled.text
    assert agent_kpis(db_path)["A001"] == (1.0, 100.0)
    without_note = review(lead, "c_fail_a1", page.text, verdict="na", action="overrule")
    assert without_note.status_code == 400 and "needs a note" in without_note.text

    # The agent acknowledges the review, and the other agent disputes their fail; the lead overturns it.
    ann = sign_in(app, "ann")
    page = ann.get("/calls/c_fail_a1")
    review_ids = re.findall(r'name="review_id" value="(\d+)"', page.text)
    assert len(review_ids) == 2
    acknowledged = ann.post(
        "/calls/c_fail_a1/acknowledge", data={"csrf_token": token(page.text), "review_id": review_ids[-1]}
    )
    shown = compact(acknowledged.text)
    assert "Acknowledged." in shown and shown.count(">acknowledged<") == 1 and shown.count('class="acknowledge"') == 1
    bob = sign_in(app, "bob")
    page = bob.get("/calls/c_fail_a2")
    sent = bob.post(
        "/calls/c_fail_a2/dispute",
        data={"csrf_token": token(page.text), "check_id": "greeting", "note": "I greeted, the line was bad"},
    )
    assert "Dispute sent" in sent.text and "waiting for a ruling" in sent.text
    again = bob.post(
        "/calls/c_fail_a2/dispute", data={"csrf_token": token(page.text), "check_id": "greeting", "note": "again"}
    )
    assert again.status_code == 409 and "already disputed" in again.text
    disputes = lead.get("/disputes")
    ruled = lead.post(
        "/disputes/1/rule",
        data={"csrf_token": token(disputes.text), "ruling": "overturned", "verdict": "pass", "note": "heard it"},
    )
    assert "Ruling saved" in ruled.text and "overturned" in ruled.text
    assert agent_kpis(db_path)["A002"] == (1.0, 100.0)
    # final: no later review of that verdict, no second ruling
    page = lead.get("/calls/c_fail_a2")
    later = review(lead, "c_fail_a2", page.text, verdict="fail", note="changed my mind")
    assert later.status_code == 409 and "ruled final on dispute 1" in later.text
    assert agent_kpis(db_path)["A002"] == (1.0, 100.0)

    calibration = compact(lead.get("/calibration").text)
    machine = re.search(r'id="machine-agreement">(.*?)</table>', calibration, re.S)
    # two reviewed greeting verdicts, both overruled (machine failed, people passed)
    assert machine and "<td>greeting</td><td>2</td><td>0</td><td>0.0</td><td>2</td><td>0</td>" in machine.group(1)
    between = re.search(r'id="reviewer-agreement">(.*?)</table>', calibration, re.S)
    assert between and "<td>greeting</td><td>1</td><td>0</td><td>0.0</td>" in between.group(1)  # rita vs lee


def test_pages_escape_what_they_show(served: tuple[object, Path]) -> None:
    app, _ = served
    lead = sign_in(app, "lee")
    page = lead.get("/calls/c_fail_a1")
    review(lead, "c_fail_a1", page.text, verdict="pass", note="<b>bold</b>")
    shown = lead.get("/calls/c_fail_a1").text
    assert "&lt;b&gt;bold&lt;/b&gt;" in shown and "<b>bold</b>" not in shown


def test_users_and_serve_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from qa_pipeline.cli import main

    db_path, _ = build(tmp_path / "built")
    assert main(["serve", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().out
    assert main(["serve", "--db", str(db_path), "--users", str(tmp_path / "nobody.json")]) == 2
    assert "no users in" in capsys.readouterr().out
    users = tmp_path / "users.json"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert (
        main(["users", "add", "lee", "--role", "lead", "--db", str(db_path), "--users", str(users), "--password-stdin"])
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    args = ["users", "add", "ann", "--role", "agent", "--agent-id", "A001", "--db", str(db_path), "--users", str(users)]
    assert main([*args, "--password-stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().out
    assert main(["users", "list", "--db", str(db_path), "--users", str(users)]) == 0
    listed = capsys.readouterr().out
    assert "lee" in listed and "lead" in listed and "ann" not in listed
    assert UserStore(users).authenticate("lee", "a long password") is not None
    assert main(["users", "remove", "lee", "--db", str(db_path), "--users", str(users)]) == 0
    assert UserStore(users).all() == []
