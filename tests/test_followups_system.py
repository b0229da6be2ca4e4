"""Ticket progress as a Telegram patient meets it: the whole system (`python -m bot run` starts the follow-up
scheduler), the patient on the fake Telegram Bot API, staff on the console API."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from datetime import timedelta

from sqlalchemy import create_engine, text

from bot.store.models import utcnow
from tests.conftest import ROOT, STAFF_PASSWORD, STAFF_USER, RunningSystem
from tests.test_console_browser import run_script
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import chat_id, message, send

# The scheduler looks every FOLLOWUP_POLL_SECONDS (3 s by default); the message must arrive well within this.
DELIVERY_SECONDS = 15


def patch(system: RunningSystem, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{system.console_url}{path}",
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", **system.staff_headers()},
        method="PATCH",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def get(system: RunningSystem, path: str) -> list:
    request = urllib.request.Request(f"{system.console_url}{path}", headers=system.staff_headers())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def say(system: RunningSystem, fake: FakeTelegram, chat: int, words: str, expected: str) -> None:
    before = len(fake.sent_to(chat))
    assert send(system, {"message": message(chat, text=words)}) == 200
    fake.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and expected in p["text"])
    assert len(fake.sent_to(chat)) > before


def open_refund_ticket_on_telegram(system: RunningSystem, fake: FakeTelegram, chat: int) -> str:
    say(system, fake, chat, "我想退款", "需要我为您登记吗")
    say(system, fake, chat, "是", "哪个项目")
    say(system, fake, chat, "双眼皮", "什么时候做的")
    say(system, fake, chat, "上个月15号", "描述")
    say(system, fake, chat, "两边一宽一窄，和设计的不一样", "手机号")
    say(system, fake, chat, "13812345678", "138****5678")
    say(system, fake, chat, "是", "TK")
    engine = create_engine(system.env["DATABASE_URL"], future=True)
    with engine.connect() as conn:
        number = conn.execute(text("SELECT number FROM tickets WHERE conversation_id = :c"), {"c": f"tg-{chat}"}).scalar_one()
    engine.dispose()
    return number


def test_a_ticket_moved_to_in_progress_in_the_console_reaches_the_telegram_patient_within_seconds(
    system: RunningSystem, fake_telegram: FakeTelegram
) -> None:
    chat = chat_id()
    number = open_refund_ticket_on_telegram(system, fake_telegram, chat)
    started = time.monotonic()
    patch(system, f"/api/tickets/{number}", {"status": "in_progress"})
    fake_telegram.wait_for(
        "sendMessage",
        lambda p: str(p["chat_id"]) == str(chat) and number in p["text"] and "处理中" in p["text"],
        timeout=DELIVERY_SECONDS,
    )
    seconds = time.monotonic() - started
    update = next(p["text"] for p in fake_telegram.sent_to(chat) if "【工单进展】" in p["text"])
    assert "下一步" in update and "前" in update
    time.sleep(4)  # one more scheduler round: still exactly one message
    assert sum("【工单进展】" in p["text"] for p in fake_telegram.sent_to(chat)) == 1
    followups = get(system, f"/api/followups?conversation_id=tg-{chat}")
    assert [(f["kind"], f["status"], f["channel"]) for f in followups] == [("ticket_update", "sent", "telegram")]
    print(f"ticket update reached Telegram {seconds:.1f} s after the console's change")


def test_a_ticket_past_its_acceptance_limit_shows_overdue_and_the_patient_is_told_why_and_the_new_date(
    system: RunningSystem, fake_telegram: FakeTelegram
) -> None:
    chat = chat_id()
    number = open_refund_ticket_on_telegram(system, fake_telegram, chat)
    # As if opened three weeks ago and never accepted.
    engine = create_engine(system.env["DATABASE_URL"], future=True)
    with engine.begin() as conn:
        weeks_ago = utcnow() - timedelta(days=21)
        conn.execute(text("UPDATE tickets SET created_at = :t WHERE number = :n"), {"t": weeks_ago, "n": number})
        conn.execute(
            text("UPDATE ticket_events SET created_at = :t WHERE ticket_id = (SELECT id FROM tickets WHERE number = :n)"),
            {"t": weeks_ago, "n": number},
        )
    engine.dispose()
    fake_telegram.wait_for(
        "sendMessage",
        lambda p: str(p["chat_id"]) == str(chat) and "【工单时限说明】" in p["text"] and number in p["text"],
        timeout=DELIVERY_SECONDS,
    )
    notice = next(p["text"] for p in fake_telegram.sent_to(chat) if "【工单时限说明】" in p["text"])
    assert "原因" in notice and "新的完成时间" in notice and "受理" in notice
    late = get(system, "/api/followups/deadlines")
    assert {"number": number, "state": "overdue"}.items() <= next(d for d in late if d["number"] == number).items()
    browser_env = dict(
        os.environ, CONSOLE_URL=system.console_url, STAFF_USER=STAFF_USER, STAFF_PASSWORD=STAFF_PASSWORD,
        TICKET_NUMBER=number, SCREENSHOT=str(ROOT / "results" / "console-deadlines.png"),
    )
    seen = json.loads(run_script(ROOT / "tests" / "browser" / "followups.mjs", browser_env)[-1])
    assert "已超时" in seen["text"] and "deadline-overdue" in seen["className"] and "新时间" in seen["text"]
