"""The patient chat widget as the console serves it to hospital pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bot.console.app import create_app


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
