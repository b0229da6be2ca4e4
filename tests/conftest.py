"""Shared fixtures: free ports, and the whole system started as `make run` starts it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest
import uvicorn

from tests.fake_sms import FakeSms
from tests.fake_telegram import FakeTelegram
from tests.fake_wechat import FakeWeChat
from tests.wechat_messages import APP_ID, APP_SECRET, ENCODING_AES_KEY, WECHAT_TOKEN

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "current.tar.gz"
TELEGRAM_TOKEN = "123:TEST"
TELEGRAM_WEBHOOK_SECRET = "test-webhook-secret"
SMS_API_KEY = "sms-test-key-4f9c2a71"
STAFF_USER = "console-admin"
STAFF_PASSWORD = "console-admin-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(app: Any) -> Iterator[uvicorn.Server]:
    """An ASGI app under uvicorn in a thread on a free loopback port (`server.config.port`), stopped after."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post_json(url: str, payload: object, headers: Dict[str, str] | None = None, timeout: float = 30) -> object:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


class RunningSystem:
    """The launcher's processes on private ports and a private database."""

    def __init__(self, tmp: Path, env: Optional[Dict[str, str]] = None) -> None:
        self.rasa_port, self.actions_port, self.console_port = free_port(), free_port(), free_port()
        self.token = "test-token-" + str(self.rasa_port)
        self.env = dict(
            os.environ,
            DATABASE_URL=f"sqlite:///{tmp / 'system.db'}",
            RASA_PORT=str(self.rasa_port),
            ACTIONS_PORT=str(self.actions_port),
            CONSOLE_PORT=str(self.console_port),
            RASA_TOKEN=self.token,
            STAFF_BOOTSTRAP_USER=STAFF_USER,
            STAFF_BOOTSTRAP_PASSWORD=STAFF_PASSWORD,
        )
        self.env.update(env or {})
        self.log = open(tmp / "system.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def staff_headers(self) -> Dict[str, str]:
        """Authorization for the console API as the bootstrap admin (STAFF_USER)."""
        token = post_json(f"{self.console_url}/api/login", {"username": STAFF_USER, "password": STAFF_PASSWORD})
        return {"Authorization": f"Bearer {token['access_token']}"}

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"launcher exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.rasa_url}/status?token={self.token}", timeout=2) as r:
                    rasa_ready = bool(json.loads(r.read()).get("model_file"))
                with urllib.request.urlopen(f"{self.console_url}/health", timeout=2):
                    if rasa_ready:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError("the system did not become ready")

    def printed(self, expected: str, timeout: float = 30) -> str:
        """What `python -m bot run` printed, once it contains `expected` (it prints after the servers answer)."""
        deadline = time.monotonic() + timeout
        while True:
            output = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
            if expected in output or time.monotonic() > deadline:
                return output
            time.sleep(0.5)

    def say(self, sender: str, message: str) -> list:
        return post_json(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message})

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.log.close()


@pytest.fixture(scope="session")
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fake Telegram Bot API on loopback; the `system` fixture's Telegram channel talks to it."""
    fake = FakeTelegram(TELEGRAM_TOKEN).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def fake_wechat() -> Iterator[FakeWeChat]:
    """A fake WeChat Official Account API on loopback; the `system` fixture's WeChat channel talks to it."""
    fake = FakeWeChat(APP_ID, APP_SECRET).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def fake_sms() -> Iterator[FakeSms]:
    """A fake SMS provider on loopback; the `system` fixture's action server sends its one-time codes there."""
    fake = FakeSms(SMS_API_KEY).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def system(
    tmp_path_factory: pytest.TempPathFactory, fake_telegram: FakeTelegram, fake_wechat: FakeWeChat, fake_sms: FakeSms
) -> Iterator[RunningSystem]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' (make test does)")
    channels = dict(
        TELEGRAM_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET,
        TELEGRAM_API_BASE=fake_telegram.url,
        WECHAT_TOKEN=WECHAT_TOKEN,
        WECHAT_APP_ID=APP_ID,
        WECHAT_APP_SECRET=APP_SECRET,
        WECHAT_ENCODING_AES_KEY=ENCODING_AES_KEY,
        WECHAT_API_BASE=fake_wechat.url,
        SMS_SENDER="http",
        SMS_PROVIDER_URL=fake_sms.url,
        SMS_API_KEY=SMS_API_KEY,
        SMS_SIGN_NAME="测试医院",
        SMS_TEMPLATE_ID="SMS_TICKET_CODE",
        # Every test patient writes from 127.0.0.1: the per-client urgent limit would stop the emergency tests'
        # fourth patient (tests/test_urgent_limit.py tests the limit itself).
        URGENT_HANDOFFS_PER_CLIENT_PER_HOUR="100000",
        # ...and the whole suite's patients, one caller, send far more than a hospital integration's 1200 a
        # minute (tests/test_channel_rates.py tests the rates themselves).
        REST_MESSAGES_PER_MINUTE_PER_CLIENT="1000000",
        MESSAGES_PER_MINUTE_PER_CLIENT="1000000",
    )
    running = RunningSystem(tmp_path_factory.mktemp("system"), env=channels)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
