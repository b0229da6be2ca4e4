"""The HTTP SMS sender against a fake provider on loopback (tests/fake_sms.py), and choosing a sender."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from typing import Iterator

import pytest

from bot import sms
from bot.sms.http import HttpSmsSender, HttpSmsSettings
from bot.sms.log import LogSmsSender
from tests.conftest import ROOT, SMS_API_KEY
from tests.fake_sms import FakeSms

API_KEY = SMS_API_KEY
MESSAGE = sms.SmsMessage("13812345678", "您正在查询工单进度，验证码 482913，10 分钟内有效。", {"code": "482913", "minutes": "10"})


@pytest.fixture()
def fake() -> Iterator[FakeSms]:
    server = FakeSms(API_KEY).start()
    try:
        yield server
    finally:
        server.stop()


def sender(url: str, key: str = API_KEY, timeout: float = 2.0) -> HttpSmsSender:
    return HttpSmsSender(HttpSmsSettings(url, key, "某某医院", "SMS_0001", timeout))


def test_a_message_reaches_the_provider_as_json_with_the_key_signature_and_template(fake: FakeSms) -> None:
    sender(fake.url).send(MESSAGE)
    assert fake.messages == [{
        "phone": "13812345678", "sign_name": "某某医院", "template_id": "SMS_0001",
        "template_params": {"code": "482913", "minutes": "10"}, "text": MESSAGE.text,
    }]


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_a_refusal_is_an_sms_error_naming_the_status_and_not_the_number(fake: FakeSms, status: int) -> None:
    fake.fail_with = status
    with pytest.raises(sms.SmsError) as error:
        sender(fake.url, key=API_KEY if status != 401 else "wrong").send(MESSAGE)
    assert f"HTTP {status}" in str(error.value) and "13812345678" not in str(error.value)
    assert fake.messages == []


def test_a_slow_provider_is_an_sms_error_after_the_timeout(fake: FakeSms) -> None:
    fake.delay = 1.0
    with pytest.raises(sms.SmsError, match="unreachable"):
        sender(fake.url, timeout=0.3).send(MESSAGE)


def test_an_unreachable_provider_is_an_sms_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(sms.SmsError, match="unreachable"):
        sender(f"http://127.0.0.1:{port}/sms").send(MESSAGE)


def test_sms_sender_http_needs_its_settings(monkeypatch: pytest.MonkeyPatch, fake: FakeSms) -> None:
    monkeypatch.setenv("SMS_SENDER", "http")
    for name in ("SMS_PROVIDER_URL", "SMS_API_KEY", "SMS_SIGN_NAME", "SMS_TEMPLATE_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMS_PROVIDER_URL", fake.url)
    with pytest.raises(ValueError, match="SMS_API_KEY, SMS_SIGN_NAME, SMS_TEMPLATE_ID"):
        sms.from_environment()
    monkeypatch.setenv("SMS_SIGN_NAME", "某某医院")
    monkeypatch.setenv("SMS_TEMPLATE_ID", "SMS_0001")
    for weak in ("UNSET", "<api-key>", "sms-test-key"):
        monkeypatch.setenv("SMS_API_KEY", weak)
        with pytest.raises(ValueError, match="SMS_API_KEY"):
            sms.from_environment()
    monkeypatch.setenv("SMS_API_KEY", API_KEY)
    sms.from_environment().send(MESSAGE)
    assert len(fake.messages) == 1
    monkeypatch.setenv("SMS_PROVIDER_URL", "ftp://sms.example")
    with pytest.raises(ValueError, match="http"):
        sms.from_environment()
    monkeypatch.setenv("SMS_SENDER", "carrier-pigeon")
    with pytest.raises(ValueError, match="SMS_SENDER"):
        sms.from_environment()


def test_the_log_sender_is_the_default_and_logs_neither_the_number_nor_the_code(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SMS_SENDER", raising=False)
    chosen = sms.from_environment()
    assert isinstance(chosen, LogSmsSender)
    with caplog.at_level(logging.INFO, logger="bot.sms.log"):
        chosen.send(MESSAGE)
    assert "138****5678" in caplog.text and "******" in caplog.text
    assert "13812345678" not in caplog.text and "482913" not in caplog.text
    assert chosen.sent == [MESSAGE]


def test_the_action_server_does_not_start_with_a_half_configured_provider() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMS_")}
    env.update(SMS_SENDER="http", SMS_PROVIDER_URL="https://sms.example/send")
    started = subprocess.run(
        [sys.executable, "-m", "bot.action_server", "--port", "1"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert started.returncode != 0 and "SMS_API_KEY, SMS_SIGN_NAME, SMS_TEMPLATE_ID" in started.stderr
