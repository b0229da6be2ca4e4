"""The patient chat widget: served by the console, used in headless Chromium on a phone-sized screen."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.console.app import create_app
from tests.conftest import ROOT, RunningSystem

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "results"


@pytest.fixture()
def console(monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("RASA_PORT", "5123")
    return TestClient(create_app())


def test_the_demo_page_embeds_the_widget_with_one_script_tag(console: TestClient) -> None:
    page = console.get("/")
    assert page.status_code == 200
    assert "医" in page.text
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/widget.js" async>']


def test_the_widget_and_its_assets_load_from_any_hospital_site(console: TestClient) -> None:
    for path, kind in [
        ("/widget.js", "javascript"),
        ("/widget/widget.css", "css"),
        ("/widget/socket.io.min.js", "javascript"),
    ]:
        response = console.get(path, headers={"Origin": "https://www.some-hospital.example"})
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"]
        assert response.headers["access-control-allow-origin"] == "*"


def test_the_widget_finds_rasa_on_the_host_the_browser_used(console: TestClient) -> None:
    config = console.get("/widget/config.json", headers={"Host": "hospital.example:8000"}).json()
    assert config == {"socketUrl": "http://hospital.example:5123"}


def _browser_tools() -> str:
    node = shutil.which("node")
    if not node or not CHROMIUM.exists() or not (ROOT / "node_modules" / "playwright-core").exists():
        pytest.fail("the widget test needs node, npm packages (npm ci) and /usr/bin/chromium: run `make test`")
    return node


def test_a_patient_chats_on_a_phone_reloads_and_keeps_the_conversation(system: RunningSystem) -> None:
    """tests/browser/widget.mjs: IME-safe Chinese input, reply, quick replies, reload, network drop."""
    node = _browser_tools()
    SCREENSHOTS.mkdir(exist_ok=True)
    run = subprocess.run(
        [node, "tests/browser/widget.mjs"],
        cwd=ROOT,
        env=dict(
            os.environ,
            DEMO_URL=f"{system.console_url}/",
            RASA_URL=system.rasa_url,
            RASA_TOKEN=system.token,
            SCREENSHOTS=str(SCREENSHOTS),
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert "退款" in seen["refundReply"]
    assert seen["reconnectingNotice"] == "网络已断开，重新连接中…"
    assert (SCREENSHOTS / "widget-phone-chat.png").stat().st_size > 0

    # Before and after the reload and the network drop, Rasa saw one conversation.
    with urllib.request.urlopen(f"{system.rasa_url}/conversations/{seen['sessionId']}/tracker?token={system.token}") as r:
        tracker = json.loads(r.read())
    said = [e.get("text") for e in tracker["events"] if e["event"] == "user"]
    assert "我想退款" in said
    assert said.count("你们医院的电话是多少") == 1, "the message typed while offline was sent exactly once"
    assert tracker["latest_input_channel"] == "socketio"


def test_make_run_prints_the_demo_page_url(system: RunningSystem) -> None:
    demo_url = f"{system.console_url}/"
    assert f"Demo hospital page with the patient chat widget: {demo_url}\n" in system.printed(demo_url)
