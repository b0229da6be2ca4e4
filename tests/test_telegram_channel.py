"""The Telegram channel's pieces without Rasa: configuration, keyboards, and the set-webhook command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Iterator

import pytest
from rasa.shared.exceptions import RasaException

from bot.channels.telegram import TelegramConfig, TelegramInput, TelegramOutput
from tests.conftest import ROOT, TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET
from tests.fake_telegram import FakeTelegram


@pytest.fixture()
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram(TELEGRAM_TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def telegram_env(monkeypatch: pytest.MonkeyPatch, fake: FakeTelegram) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", TELEGRAM_WEBHOOK_SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE", fake.url)


def test_without_a_token_the_channel_is_off_and_has_no_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    channel = TelegramInput.from_credentials(None)
    assert channel.name() == "telegram"
    assert channel.get_output_channel() is None


@pytest.mark.parametrize("secret", ["", "x", "fifteen-chars15", "has spaces", "x" * 257])
def test_a_token_without_a_usable_webhook_secret_refuses_to_start(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    with pytest.raises(RasaException, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramInput.from_credentials(None)


def test_buttons_become_an_inline_keyboard_whose_presses_send_the_payload(fake: FakeTelegram, telegram_env: None) -> None:
    config = TelegramConfig.from_env()
    assert config is not None
    long_payload = '/inform{"procedure":"双眼皮","surgery_time":"上个月十五号左右做的"}'
    buttons = [
        {"title": "是的", "payload": "/affirm"},
        {"title": "双眼皮", "payload": long_payload},
    ]

    async def send() -> None:
        async with config.bot() as bot:
            await TelegramOutput(bot).send_text_with_buttons("77", "您做的是双眼皮吗？", buttons)

    asyncio.run(send())
    [call] = fake.wait_for("sendMessage", lambda p: p["chat_id"] == "77")
    assert call.params["text"] == "您做的是双眼皮吗？"
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [["是的"], ["双眼皮"]]
    # Telegram limits callback data to 64 bytes: a longer payload falls back to the button's title.
    assert [row[0]["callback_data"] for row in keyboard] == ["/affirm", "双眼皮"]


def test_a_long_staff_reply_is_split_into_messages_telegram_accepts(fake: FakeTelegram, telegram_env: None) -> None:
    config = TelegramConfig.from_env()
    assert config is not None
    text = "术后护理说明。" * 1000

    async def send() -> None:
        async with config.bot() as bot:
            await TelegramOutput(bot).send_text_message("78", text)

    asyncio.run(send())
    parts = [c.params["text"] for c in fake.calls if c.method == "sendMessage"]
    assert all(len(part) <= 4096 for part in parts)
    assert "".join(parts) == text


def test_set_webhook_command_registers_the_url_with_the_secret(fake: FakeTelegram) -> None:
    env = dict(
        os.environ,
        TELEGRAM_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET,
        TELEGRAM_API_BASE=fake.url,
    )
    url = "https://hospital.example/webhooks/telegram/webhook"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "telegram", "set-webhook", url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "@hospital_test_bot" in done.stdout
    [call] = [c for c in fake.calls if c.method == "setWebhook"]
    assert call.params["url"] == url
    assert call.params["secret_token"] == TELEGRAM_WEBHOOK_SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query"]


def test_set_webhook_command_reports_a_rejected_token(fake: FakeTelegram) -> None:
    env = dict(
        os.environ, TELEGRAM_TOKEN="999:WRONG", TELEGRAM_WEBHOOK_SECRET=TELEGRAM_WEBHOOK_SECRET, TELEGRAM_API_BASE=fake.url
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "telegram", "set-webhook", "https://hospital.example/webhooks/telegram/webhook"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1
    assert "refused" in done.stderr
    assert "999:WRONG" not in done.stderr + done.stdout
    assert not [c for c in fake.calls if c.method == "setWebhook"]
