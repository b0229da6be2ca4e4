"""Bad input wherever it enters: Rasa's REST webhook, Telegram, the ticket form and the console API.

Never a 5xx, never a traceback, always a sentence saying what to do.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
from sqlalchemy import create_engine, text

from bot.message_guard import MAX_MESSAGE_CHARS
from tests.conftest import ROOT, TELEGRAM_WEBHOOK_SECRET, RunningSystem
from tests.fake_telegram import FakeTelegram

LONG_MESSAGE = ("我做完双眼皮两个月了还是肿，" * 1500)[:20_000]


def raw_post(url: str, body: bytes, headers: Dict[str, str] | None = None) -> Tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")


def webhook(system: RunningSystem, body: bytes) -> Tuple[int, Any]:
    status, content = raw_post(f"{system.rasa_url}/webhooks/rest/webhook", body)
    assert "Traceback" not in content and "<html" not in content.lower()
    return status, json.loads(content)


def tracker_texts(system: RunningSystem, sender: str) -> list:
    with urllib.request.urlopen(f"{system.rasa_url}/conversations/{sender}/tracker?token={system.token}", timeout=30) as r:
        return [e.get("text") for e in json.loads(r.read())["events"] if e.get("event") == "user"]


# ---------------------------------------------------------------- the REST webhook


@pytest.mark.parametrize(
    "body, error, words",
    [
        (b"", "not_json", "UTF-8 JSON"),
        (b'{"sender": "p", ', "not_json", "UTF-8 JSON"),
        (b'{"sender":"p","message":"\xff\xfe\xe4\xbd"}', "not_json", "UTF-8 JSON"),
        (b"[1, 2]", "not_object", "JSON 对象"),
        (b'"just a string"', "not_object", "JSON 对象"),
        (b'{"sender": "p"}', "missing_field", "message"),
        ('{"message": "你好"}'.encode(), "missing_field", "sender"),
        ('{"sender": {"x": 1}, "message": "你好"}'.encode(), "bad_field", "sender"),
        ('{"sender": "a\\nb", "message": "你好"}'.encode(), "bad_field", "sender"),
        (json.dumps({"sender": "p" * 256, "message": "你好"}).encode(), "sender_too_long", "255"),
        ('{"sender": "p", "message": "你好", "metadata": "x"}'.encode(), "bad_field", "metadata"),
    ],
)
def test_a_request_that_is_no_patient_message_gets_400_with_the_reason(system: RunningSystem, body, error, words) -> None:
    status, answer = webhook(system, body)
    assert status == 400
    assert answer["error"] == error and words in answer["message"]


@pytest.mark.parametrize("message", ["", "   \t\n ", "\u0000\u0007\u200b\u202e", 123, None, {"text": "你好"}, ["你好"]])
def test_a_message_without_text_is_answered_with_what_to_do(system: RunningSystem, message) -> None:
    sender = f"p-{uuid.uuid4()}"
    status, replies = webhook(system, json.dumps({"sender": sender, "message": message}).encode())
    assert status == 200
    assert [r["recipient_id"] for r in replies] == [sender]
    assert "没有收到文字内容" in replies[0]["text"]


def test_twenty_thousand_characters_are_refused_at_once_with_the_limit_named(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    status, replies = webhook(system, json.dumps({"sender": sender, "message": LONG_MESSAGE}).encode())
    assert status == 200
    assert "20000 个字" in replies[0]["text"] and f"{MAX_MESSAGE_CHARS} 个字" in replies[0]["text"]
    status, replies = webhook(system, json.dumps({"sender": sender, "message": "你好"}).encode())
    assert "您好" in replies[0]["text"]
    assert tracker_texts(system, sender) == ["你好"]


def test_control_and_invisible_characters_are_removed_before_rasa_reads_the_message(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    status, replies = webhook(system, json.dumps({"sender": sender, "message": "\u0000你\u200b好\u001b[31m\r\n"}).encode())
    assert status == 200 and "您好" in replies[0]["text"]
    assert tracker_texts(system, sender) == ["你好[31m"]


def test_the_client_cannot_pretend_to_be_another_channel(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    webhook(system, json.dumps({"sender": sender, "message": "你好", "input_channel": "telegram"}).encode())
    with urllib.request.urlopen(f"{system.rasa_url}/conversations/{sender}/tracker?token={system.token}", timeout=30) as r:
        channels = {e.get("input_channel") for e in json.loads(r.read())["events"] if e.get("event") == "user"}
    assert channels == {"rest"}


# ---------------------------------------------------------------- injection in slots and queries


def test_sql_and_markup_in_the_ticket_form_are_asked_again_and_harm_nothing(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    for message in ("我想退款", "是", "双眼皮", "上个月15号"):
        system.say(sender, message)
    answer = "\n".join(r.get("text", "") for r in system.say(sender, "x'); DROP TABLE tickets; --"))
    assert "不要包含" in answer and "已经填写的其他信息都保留着" in answer
    # Markup is refused the same way, or read as a question and answered, and the form asks again.
    answer = "\n".join(r.get("text", "") for r in system.say(sender, "<script>alert(1)</script>"))
    assert "不要包含" in answer or "请简单描述" in answer
    engine = create_engine(system.env["DATABASE_URL"], future=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tickets WHERE conversation_id = :c"), {"c": sender}).scalar() == 0
    engine.dispose()
    assert "手机号" in "\n".join(r.get("text", "") for r in system.say(sender, "两边眼皮一宽一窄"))


def test_injection_in_a_ticket_lookup_finds_nothing_and_breaks_nothing(system: RunningSystem) -> None:
    sender = f"p-{uuid.uuid4()}"
    system.say(sender, "查询工单")
    answer = "\n".join(r.get("text", "") for r in system.say(sender, "TK202601010001' OR '1'='1 13800138000"))
    assert "没有找到" in answer
    assert re.search(r"TK\d{12}", answer.replace("TK202601010001", "")) is None


# ---------------------------------------------------------------- Telegram


def telegram(system: RunningSystem, update: Dict[str, Any]) -> int:
    body = json.dumps({"update_id": uuid.uuid4().int % 10**9, **update}, ensure_ascii=False).encode()
    status, _ = raw_post(
        f"{system.rasa_url}/webhooks/telegram/webhook", body, {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_WEBHOOK_SECRET}
    )
    return status


def text_message(chat: int, content: str) -> Dict[str, Any]:
    return {
        "message": {
            "message_id": chat, "date": int(time.time()), "text": content,
            "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": False, "first_name": "患者"},
        }
    }


@pytest.mark.parametrize("content, words", [(LONG_MESSAGE, "20000 个字"), ("\u200b\u0007", "没有收到文字内容")])
def test_a_telegram_message_that_cannot_be_read_gets_a_note(
    system: RunningSystem, fake_telegram: FakeTelegram, content: str, words: str
) -> None:
    chat = uuid.uuid4().int % 10**9
    assert telegram(system, text_message(chat, content)) == 200
    fake_telegram.wait_for("sendMessage", lambda params: str(params.get("chat_id")) == str(chat))
    assert [words in params["text"] for params in fake_telegram.sent_to(chat)] == [True]


# ---------------------------------------------------------------- the console


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        (b'{"username": "li", ', "application/json", 422),
        (b'{"username":"\xff\xfe","password":"x"}', "application/json", 400),
        (b"[]", "application/json", 422),
        (b'{"username": "", "password": ""}', "application/json", 422),
        (json.dumps({"username": "a" * 10_000, "password": "b"}).encode(), "application/json", 422),
        (b"username=li&password=x", "application/x-www-form-urlencoded", 422),
    ],
)
def test_the_console_answers_bad_bodies_with_a_chinese_reason(system: RunningSystem, body, content_type, expected) -> None:
    status, content = raw_post(f"{system.console_url}/api/login", body, {"Content-Type": content_type})
    assert status == expected, content
    assert json.loads(content)["detail"].startswith("请求内容无效")


def test_the_console_never_answers_5xx_to_odd_paths_and_ids(system: RunningSystem) -> None:
    import httpx

    headers = system.staff_headers()
    with httpx.Client(base_url=system.console_url, headers=headers, timeout=30) as client:
        answers = {
            "handoff id not a number": client.get("/api/handoffs/abc").status_code,
            "handoff id too big": client.post(f"/api/handoffs/{10**30}/claim").status_code,
            "ticket number with SQL": client.get("/api/tickets/TK1' OR '1'='1").status_code,
            "unknown status": client.get("/api/tickets", params={"status": "<b>"}).status_code,
            "empty reply": client.post("/api/handoffs/1/messages", json={"text": "  "}).status_code,
            "huge reply": client.post("/api/handoffs/1/messages", json={"text": "字" * 5000}).status_code,
            "patch nothing": client.patch("/api/tickets/TK1", json={}).status_code,
        }
    assert answers == {
        "handoff id not a number": 422,
        "handoff id too big": 422,
        "ticket number with SQL": 404,
        "unknown status": 422,
        "empty reply": 422,
        "huge reply": 422,
        "patch nothing": 422,
    }


def test_console_and_widget_scripts_insert_text_never_markup() -> None:
    """A patient's `<img onerror=…>` must show as text to staff and patients (tests/test_console_browser.py
    checks it in a browser); no script may use an HTML sink at all."""
    scripts = [ROOT / "bot/console/static/console.js", ROOT / "bot/console/static/widget/widget.js"]
    sinks = re.compile(r"\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write")
    assert {str(path.relative_to(ROOT)): sinks.findall(Path(path).read_text()) for path in scripts} == {
        "bot/console/static/console.js": [],
        "bot/console/static/widget/widget.js": [],
    }
