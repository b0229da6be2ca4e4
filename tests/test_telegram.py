"""Telegram as a patient meets it: updates posted to Rasa's webhook, replies through a fake Bot API."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional

import pytest

from bot import service_texts
from tests.conftest import TELEGRAM_WEBHOOK_SECRET, RunningSystem, post_json
from tests.fake_telegram import FakeTelegram

_ids = itertools.count(int(time.time()))


def chat_id() -> int:
    """A fresh private chat, so tests never see each other's conversations."""
    return next(_ids)


def message(chat: int, **content: Any) -> Dict[str, Any]:
    return {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private", "first_name": "患者"},
        "from": {"id": chat, "is_bot": False, "first_name": "患者"},
        **content,
    }


def post_update(system: RunningSystem, body: bytes, secret: Optional[str] = TELEGRAM_WEBHOOK_SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(
        f"{system.rasa_url}/webhooks/telegram/webhook", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def send(system: RunningSystem, update: Dict[str, Any], secret: Optional[str] = TELEGRAM_WEBHOOK_SECRET) -> int:
    return post_update(system, json.dumps({"update_id": next(_ids), **update}, ensure_ascii=False).encode(), secret)


def texts_to(fake: FakeTelegram, chat: int) -> List[str]:
    return [params["text"] for params in fake.sent_to(chat)]


def test_a_text_message_gets_a_chinese_reply_by_send_message(system: RunningSystem, fake_telegram: FakeTelegram) -> None:
    chat = chat_id()
    assert send(system, {"message": message(chat, text="我想退款")}) == 200
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "退款" in p["text"])


def test_start_greets_the_patient(system: RunningSystem, fake_telegram: FakeTelegram) -> None:
    chat = chat_id()
    assert send(system, {"message": message(chat, text="/start")}) == 200
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "您好" in p["text"])


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
def test_an_update_without_the_webhook_secret_is_refused(
    system: RunningSystem, fake_telegram: FakeTelegram, secret: Optional[str]
) -> None:
    chat = chat_id()
    assert send(system, {"message": message(chat, text="我想退款")}, secret=secret) == 403
    time.sleep(3)
    assert texts_to(fake_telegram, chat) == []


def test_a_button_press_answers_the_callback_and_sends_the_payload(
    system: RunningSystem, fake_telegram: FakeTelegram
) -> None:
    chat = chat_id()
    query = {
        "id": f"cb-{chat}",
        "from": {"id": chat, "is_bot": False, "first_name": "患者"},
        "chat_instance": "1",
        "data": "/greet",
        "message": message(chat, text="请选择：", **{"from": {"id": 4242, "is_bot": True, "first_name": "医院助手"}}),
    }
    assert send(system, {"callback_query": query}) == 200
    fake_telegram.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == f"cb-{chat}")
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "您好" in p["text"])


def test_a_sticker_gets_a_polite_chinese_explanation(system: RunningSystem, fake_telegram: FakeTelegram) -> None:
    chat = chat_id()
    sticker = {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512, "is_animated": False,
               "is_video": False, "type": "regular"}
    assert send(system, {"message": message(chat, sticker=sticker)}) == 200
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat))
    assert texts_to(fake_telegram, chat) == [service_texts.text("message_problems.unsupported_content")]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"update_id": "x", "message": {"text": "hi"}}', json.dumps({"message": {}}).encode()],
    ids=["bad-json", "not-an-object", "message-without-chat", "no-update-id"],
)
def test_malformed_updates_are_acknowledged_so_telegram_does_not_retry(system: RunningSystem, body: bytes) -> None:
    assert post_update(system, body) == 200


def test_an_edited_message_is_acknowledged_and_not_answered(system: RunningSystem, fake_telegram: FakeTelegram) -> None:
    chat = chat_id()
    edited = message(chat, text="我想退款", edit_date=int(time.time()))
    assert send(system, {"edited_message": edited}) == 200
    time.sleep(3)
    assert texts_to(fake_telegram, chat) == []


def test_a_staff_reply_during_handoff_reaches_the_telegram_user(
    system: RunningSystem, fake_telegram: FakeTelegram
) -> None:
    chat = chat_id()
    assert send(system, {"message": message(chat, text="我要转人工")}) == 200
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat))
    staff_text = "您好，我是值班护士小王，请问伤口现在还疼吗？"
    post_json(
        f"{system.rasa_url}/conversations/tg-{chat}/tracker/events"
        f"?token={system.token}&output_channel=telegram&execute_side_effects=true",
        [{"event": "bot", "text": staff_text}],
    )
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and p["text"] == staff_text)


def test_make_run_prints_the_telegram_webhook(system: RunningSystem) -> None:
    webhook = f"Telegram webhook: {system.rasa_url}/webhooks/telegram/webhook"
    assert webhook in system.printed(webhook)
