"""A Telegram patient handed to a person: the staff reply from the console arrives by the Bot API's sendMessage."""

from __future__ import annotations

import json
import time
import urllib.request

from tests.conftest import RunningSystem, post_json
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import chat_id, message, send


def test_a_staff_reply_reaches_a_telegram_patient(system: RunningSystem, fake_telegram: FakeTelegram) -> None:
    chat = chat_id()
    assert send(system, {"message": message(chat, text="转人工")}) == 200
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "人工客服" in p["text"])

    staff = system.staff_headers()
    request = urllib.request.Request(f"{system.console_url}/api/handoffs?status=waiting", headers=staff)
    with urllib.request.urlopen(request, timeout=30) as response:
        queue = json.loads(response.read())
    [handoff] = [h for h in queue if h["conversation_id"] == f"tg-{chat}"]
    assert handoff["channel"] == "telegram"

    console = f"{system.console_url}/api/handoffs/{handoff['id']}"
    post_json(f"{console}/claim", {}, staff)
    sent_at = time.monotonic()
    post_json(f"{console}/messages", {"text": "您好，我是客服小王，请讲。"}, staff)
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "客服小王" in p["text"], timeout=10)
    assert time.monotonic() - sent_at < 10
    post_json(f"{console}/release", {}, staff)
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "继续为您解答" in p["text"])
