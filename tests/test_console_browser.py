"""The staff console in a real browser (headless Chromium via playwright-core) against the running system."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Handoff, Ticket, TicketEvent
from tests.conftest import ROOT, STAFF_PASSWORD, STAFF_USER, RunningSystem

SCRIPT = ROOT / "tests" / "browser" / "console.mjs"
SCREENSHOT = ROOT / "results" / "console-queue.png"
MARKUP = "<b>加粗</b><img src=x onerror=alert(1)>还在吗"


def test_staff_log_in_claim_reply_update_the_ticket_and_release_in_a_browser(system: RunningSystem) -> None:
    conversation_id = f"browser-{uuid.uuid4().hex[:8]}"
    system.say(f"bleeding-{uuid.uuid4().hex[:6]}", "伤口一直流血止不住")
    system.say(f"angry-{uuid.uuid4().hex[:6]}", "我要去卫健委投诉你们")
    system.say(conversation_id, "转人工")
    assert system.say(conversation_id, MARKUP) == []  # paused: the bot stays silent
    ticket_number = "TK" + uuid.uuid4().hex[:12].upper()
    database = system.env["DATABASE_URL"]
    with session_scope(database) as session:
        session.add(
            Ticket(number=ticket_number, conversation_id=conversation_id, channel="rest", kind="complaint",
                   category="surgery", severity="normal", procedure="双眼皮", phone="13800138000",
                   description="双眼皮一宽一窄", events=[TicketEvent(actor="bot", to_status="open")])
        )
    SCREENSHOT.parent.mkdir(exist_ok=True)

    run = subprocess.run(
        ["node", str(SCRIPT)],
        cwd=ROOT,
        env=dict(
            os.environ,
            CONSOLE_URL=system.console_url,
            STAFF_USER=STAFF_USER,
            STAFF_PASSWORD=STAFF_PASSWORD,
            CONVERSATION_ID=conversation_id,
            MARKUP=MARKUP,
            TICKET_NUMBER=ticket_number,
            REPLY="您好，我是客服小王，马上为您处理。",
            NOTE="已电话联系患者，约明天复诊",
            SCREENSHOT=str(SCREENSHOT),
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])

    assert "用户名或密码错误" in seen["wrongPassword"]
    priorities = [row["priority"] for row in seen["queue"]]
    assert priorities == sorted(priorities, key=["priority-urgent", "priority-high", "priority-normal"].index)
    assert seen["queue"][0]["cells"][:2] == ["紧急", "紧急情况"]
    assert seen["markupShownAsText"] == MARKUP
    assert seen["waitingUpdatesWithoutReload"] and seen["replyShown"] and seen["released"]
    assert "处理中" in seen["ticketHeading"]

    with session_scope(database) as session:
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)).one()
        assert handoff.status == "closed"
        ticket = session.scalars(select(Ticket).where(Ticket.number == ticket_number)).one()
        assert ticket.status == "in_progress"
        assert (ticket.events[-1].actor, ticket.events[-1].note) == (STAFF_USER, "已电话联系患者，约明天复诊")
    assert system.say(conversation_id, "你好"), "the bot did not answer after release"
