"""The review application in headless Chromium (Debian's chromium and chromedriver, as the report's test):
a lead reviews, an agent disputes, the lead rules; the KPI views and calibration follow. Screenshots go to
$QA_SCREENSHOT_DIR when set (docs/review/ holds the ones docs/review.md shows)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from qa_pipeline.kpis.database import open_reader
from qa_pipeline.serve.app import create_app
from tests.conftest import free_port
from tests.test_report import chromium, wait_for  # noqa: F401  (the fixture)
from tests.test_serve import PASSWORDS, build

DURATION_JS = (
    "var a = document.getElementById('recording'); return a.readyState >= 1 && isFinite(a.duration) ? a.duration : 0"
)
PLAYING_JS = "var a = document.getElementById('recording'); return !a.paused && a.currentTime > 0"


@pytest.fixture
def served_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The application on a real HTTP server (uvicorn, in a thread), over the test database."""
    db_path, users_path = build(tmp_path)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(db_path, users_path, sample_share=0.0), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="the server to start")
    try:
        yield f"http://127.0.0.1:{port}", db_path
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def agent_pass_rate(db_path: Path, agent_id: str) -> float:
    with open_reader(db_path) as db:
        _, [(rate,)] = db.query("SELECT qa_pass_rate FROM kpi_agent WHERE agent_id = ?", [agent_id])
    return float(rate)


def sign_in(driver: webdriver.Chrome, url: str, name: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    driver.find_element(By.ID, "sign-in").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "header .who"), what=f"{name} to be signed in")


def shot(driver: webdriver.Chrome, name: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    time.sleep(0.2)
    driver.save_screenshot(str(directory / f"{name}.png"))


def test_lead_reviews_agent_disputes_lead_rules_in_chromium(
    chromium: webdriver.Chrome,  # noqa: F811
    served_url: tuple[str, Path],
    tmp_path: Path,
) -> None:
    driver = chromium
    url, db_path = served_url
    shots = Path(os.environ.get("QA_SCREENSHOT_DIR") or tmp_path / "shots")
    driver.set_window_size(1300, 1000)

    # The lead: the queue, its first call, the audio from a verdict's evidence, an overrule with a note.
    sign_in(driver, url, "lee")
    assert driver.find_element(By.ID, "progress").text == "0 of 2 calls due reviewed"
    shot(driver, "review-queue", shots)
    driver.find_element(By.CSS_SELECTOR, "tr.queue-row a").click()
    wait_for(lambda: driver.find_elements(By.ID, "recording"), what="the call page")
    assert driver.find_element(By.TAG_NAME, "h1").text == "c_fail_a1"
    duration = wait_for(
        lambda: driver.execute_script(DURATION_JS),
        what="the recording's metadata",
    )
    assert abs(float(duration) - 66.94) < 0.5  # call_001.wav, muted where personal data was said, as Opus
    greeting = driver.find_element(By.ID, "check-greeting")
    greeting.find_element(By.CSS_SELECTOR, "button.play").click()  # evidence at 0.5 s: plays from 0.0 s
    wait_for(
        lambda: driver.execute_script(PLAYING_JS),
        timeout_s=10,
        what="the recording to play from the verdict's seconds",
    )
    driver.execute_script("document.getElementById('recording').pause()")
    assert float(driver.execute_script("return document.getElementById('recording').currentTime")) < 3.0
    assert agent_pass_rate(db_path, "A001") == 0.5
    form = greeting.find_element(By.CSS_SELECTOR, "form.review")
    Select(form.find_element(By.NAME, "verdict")).select_by_visible_text("pass")
    form.find_element(By.NAME, "note").send_keys("the agent said 您好 at 0.5 s; the ASR dropped it")
    shot(driver, "review-call", shots)
    form.find_element(By.CSS_SELECTOR, "button.overrule").click()
    wait_for(lambda: driver.find_elements(By.ID, "saved"), what="the review to be saved")
    verdict = driver.find_element(By.CSS_SELECTOR, "#check-greeting .verdict")
    assert verdict.text == "pass"
    assert agent_pass_rate(db_path, "A001") == 1.0  # the KPI view uses the verdict in force

    # The agent: only their own calls; a dispute of a verdict.
    sign_in(driver, url, "bob")
    listed = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#my-calls tr.my-call a")]
    assert listed == ["c_fail_a2"]
    driver.get(f"{url}/calls/c_fail_a1")
    assert driver.find_element(By.ID, "refusal").text == "call c_fail_a1 was taken by another agent"
    driver.get(f"{url}/calls/c_fail_a2")
    form = driver.find_element(By.CSS_SELECTOR, "#check-greeting form.dispute")
    form.find_element(By.NAME, "note").send_keys("I greeted the customer; the line was bad")
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(lambda: driver.find_elements(By.ID, "saved"), what="the dispute to be sent")
    assert "waiting for a ruling" in driver.find_element(By.ID, "check-greeting").text
    shot(driver, "review-agent-dispute", shots)

    # The lead rules: overturned; the KPI view and the calibration follow.
    sign_in(driver, url, "lee")
    driver.get(f"{url}/calibration")
    assert "greeting" in driver.find_element(By.ID, "machine-agreement").text  # the overrule above: 1 of 1
    assert "1 0 0.0 1 0" in driver.find_element(By.ID, "machine-agreement").text
    driver.get(f"{url}/disputes")
    form = driver.find_element(By.CSS_SELECTOR, "#dispute-1 form.rule")
    Select(form.find_element(By.NAME, "ruling")).select_by_value("overturned")
    Select(form.find_element(By.NAME, "verdict")).select_by_visible_text("pass")
    form.find_element(By.NAME, "note").send_keys("greeting heard in the recording")
    shot(driver, "review-disputes", shots)
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(lambda: driver.find_elements(By.ID, "saved"), what="the ruling")
    assert "overturned: pass by lee" in driver.find_element(By.ID, "dispute-1").text
    assert agent_pass_rate(db_path, "A002") == 1.0
    driver.get(f"{url}/calibration")
    assert "2 0 0.0 2 0" in driver.find_element(By.ID, "machine-agreement").text  # now 2 reviewed, 2 overruled
    shot(driver, "review-calibration", shots)
    severe = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    # the one error: the refusal of the other agent's call, as it should be
    assert severe == [
        f"{url}/calls/c_fail_a1 - Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
