"""The smaller findings of issue #14 (finding 7): the widget's origins, secret lengths, the console's security
headers and the compose layout's console allow-list."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sanic import Sanic

from bot import launcher, settings, widget_sessions
from bot.channels.socketio import SocketIOInput
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from tests.conftest import ROOT, served

HOSPITAL = "https://www.hospital.example"


@pytest.fixture()
def socketio_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The widget's Socket.IO channel alone, in a Sanic app under uvicorn, admitting HOSPITAL's pages."""
    monkeypatch.setenv("ALLOWED_ORIGINS", HOSPITAL)

    async def ignore(_message: object) -> None:
        return None

    app = Sanic("widget_origins")
    app.blueprint(SocketIOInput().blueprint(ignore))
    with served(app) as server:
        yield f"http://127.0.0.1:{server.config.port}/socket.io/?EIO=4&transport=polling"


def test_the_widget_channel_admits_the_hospitals_pages_and_refuses_other_sites(socketio_url: str) -> None:
    admitted = httpx.get(socketio_url, headers={"Origin": HOSPITAL})
    assert admitted.status_code == 200 and '"sid"' in admitted.text
    assert admitted.headers.get_list("access-control-allow-origin") == [HOSPITAL]
    for other in ("https://evil.example", "http://127.0.0.1:8000", "null"):
        refused = httpx.get(socketio_url, headers={"Origin": other})
        assert refused.status_code == 400 and "not an accepted origin" in refused.text
        assert "access-control-allow-origin" not in refused.headers


def test_rasa_is_started_without_cors_for_every_origin() -> None:
    for command in launcher.commands(settings.load()).values():
        assert "--cors" not in command
    for layout in ("systemd/hospital-assistant-rasa@.service", "compose/compose.yaml", "helm/rasa-values.yaml"):
        assert "--cors" not in (ROOT / "deploy" / layout).read_text(encoding="utf-8"), layout


def test_allowed_origins_default_to_the_console_and_refuse_a_wildcard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_PORT", "8123")
    assert settings.allowed_origins() == ["http://127.0.0.1:8123", "http://localhost:8123"]
    monkeypatch.setenv("ALLOWED_ORIGINS", f"{HOSPITAL}/, https://m.hospital.example:8443")
    assert settings.allowed_origins() == [HOSPITAL, "https://m.hospital.example:8443"]
    for wrong in ("*", "https://www.hospital.example/chat", "www.hospital.example"):
        monkeypatch.setenv("ALLOWED_ORIGINS", wrong)
        with pytest.raises(ValueError, match="ALLOWED_ORIGINS"):
            settings.allowed_origins()


@pytest.mark.parametrize("name", ["RASA_TOKEN", "ACTION_SERVER_TOKEN", "WIDGET_SESSION_SECRET"])
def test_a_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    read = {
        "RASA_TOKEN": settings.rasa_token,
        "ACTION_SERVER_TOKEN": settings.action_server_token,
        "WIDGET_SESSION_SECRET": lambda: widget_sessions.token_for(widget_sessions.new_id()),
    }[name]
    monkeypatch.setenv(name, "x" * (settings.MIN_SECRET_LENGTH - 1))
    with pytest.raises(ValueError, match="too short"):
        read()
    monkeypatch.setenv(name, "x" * settings.MIN_SECRET_LENGTH)
    assert read()


@pytest.fixture()
def console(tmp_path) -> TestClient:
    config = ConsoleConfig(database_url=f"sqlite:///{tmp_path / 'c.db'}", rasa_url="http://rasa.test", rasa_token="secret")
    return TestClient(create_app(config, RasaClient(config, transport=httpx.MockTransport(lambda r: httpx.Response(200)))))


def test_console_pages_scripts_and_api_answers_carry_security_headers(console: TestClient) -> None:
    for path in ("/console/", "/console/login", "/console/reports", "/console/static/console.js", "/api/handoffs", "/"):
        headers = console.get(path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
    policy = console.get("/console/").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "content-security-policy" not in console.get("/").headers  # the hospital's demo page: its own policy


def test_console_pages_need_no_inline_script_or_style_attribute_the_policy_would_block() -> None:
    for template in (ROOT / "bot" / "console" / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        scripts = re.findall(r"<script[^>]*>", text)
        assert all(re.search(r'src="/console/', tag) for tag in scripts), template.name
        assert not re.search(r"\son[a-z]+=", text) and "javascript:" not in text, template.name


def test_the_compose_console_allow_list_leaves_out_dockers_networks() -> None:
    conf = (ROOT / "deploy" / "compose" / "nginx.conf").read_text(encoding="utf-8")
    allowed = [line.split()[1].rstrip(";") for line in conf.splitlines() if line.strip().startswith("allow ")]
    assert allowed and "172.16.0.0/12" not in allowed and "0.0.0.0/0" not in allowed


def test_the_example_settings_ask_for_secrets_of_at_least_the_minimum_length() -> None:
    for example in (Path("deploy/hospital-assistant.env.example"), Path("deploy/compose/hospital-assistant.env.example")):
        text = (ROOT / example).read_text(encoding="utf-8")
        assert f"{settings.MIN_SECRET_LENGTH}-256 characters" in text and "ALLOWED_ORIGINS=" in text
