"""The staff console in a real browser (headless Chromium via playwright-core) against the running system."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from typing import Callable, Dict, List

from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import Handoff, Ticket, TicketEvent
from tests.conftest import ROOT, STAFF_PASSWORD, STAFF_USER, RunningSystem

SCRIPT = ROOT / "tests" / "browser" / "console.mjs"
SCREENSHOT = ROOT / "results" / "console-queue.png"
LIVE_SCREENSHOT = ROOT / "results" / "console-queue-live.png"
URGENT_ALERT = "紧急：有患者报告危险症状，请立即处理"
MARKUP = "<b>加粗</b><img src=x onerror=alert(1)>还在吗"
FOLLOW_UP = "我等了好久，伤口还是很疼"


def run_console_script(env: dict, signals: Dict[str, Callable[[], object]]) -> List[str]:
    """The lines tests/browser/console.mjs printed; `signals[line]()` runs when it prints that line."""
    node = subprocess.Popen(
        ["node", str(SCRIPT)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(180, node.kill)
    watchdog.start()
    try:
        lines = []
        for line in node.stdout:  # type: ignore[union-attr]
            lines.append(line.strip())
            if lines[-1] in signals:
                signals[lines[-1]]()
        assert node.wait() == 0, node.stderr.read()  # type: ignore[union-attr]
        return lines
    finally:
        watchdog.cancel()
        node.kill()


def test_staff_log_in_claim_reply_update_the_ticket_and_release_in_a_browser(system: RunningSystem) -> None:
    conversation_id = f"browser-{uuid.uuid4().hex[:8]}"
    urgent_id = f"bleeding-live-{uuid.uuid4().hex[:6]}"
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

    env = dict(
        os.environ,
        CONSOLE_URL=system.console_url,
        STAFF_USER=STAFF_USER,
        STAFF_PASSWORD=STAFF_PASSWORD,
        CONVERSATION_ID=conversation_id,
        URGENT_CONVERSATION_ID=urgent_id,
        MARKUP=MARKUP,
        FOLLOW_UP=FOLLOW_UP,
        TICKET_NUMBER=ticket_number,
        REPLY="您好，我是客服小王，马上为您处理。",
        NOTE="已电话联系患者，约明天复诊",
        SCREENSHOT=str(SCREENSHOT),
        LIVE_SCREENSHOT=str(LIVE_SCREENSHOT),
    )
    signals = {
        # Once the queue page listens, a patient reports a red flag: the bot hands them over as urgent.
        "READY": lambda: system.say(urgent_id, "伤口一直流血止不住"),
        # With the conversation open in the console, its patient writes again (the bot stays silent).
        "CLAIMED": lambda: system.say(conversation_id, FOLLOW_UP),
    }
    seen = json.loads(run_console_script(env, signals)[-1])

    assert "用户名或密码错误" in seen["wrongPassword"]
    priorities = [row["priority"] for row in seen["queue"]]
    assert priorities == sorted(priorities, key=["priority-urgent", "priority-high", "priority-normal"].index)
    assert seen["queue"][0]["cells"][:2] == ["紧急", "紧急情况"]
    assert seen["markupShownAsText"] == MARKUP
    assert seen["waitingUpdatesWithoutReload"] and seen["followUpShown"] and seen["replyShown"] and seen["released"]

    live = seen["live"]
    assert live["notReloaded"]
    position = [row["conversation"] for row in live["rows"]].index(urgent_id)
    assert all("priority-urgent" in row["classes"] for row in live["rows"][: position + 1]), live["rows"]
    assert "alert" in live["rows"][position]["classes"] and live["urgentCells"] == "紧急"
    urgent = sum(1 for row in live["rows"] if "priority-urgent" in row["classes"])
    assert live["title"].startswith(f"(!{urgent}/{len(live['rows'])}) 转人工队列"), live["title"]  # the waiting tab
    assert [n["title"] for n in live["notifications"]] == [URGENT_ALERT]
    assert live["tones"] > 0, "no alert sound"
    assert (seen["soundButton"], seen["notifyButton"]) == ("点击开启提示音", "开启桌面通知")
    assert "处理中" in seen["ticketHeading"]

    with session_scope(database) as session:
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)).one()
        assert handoff.status == "closed"
        ticket = session.scalars(select(Ticket).where(Ticket.number == ticket_number)).one()
        assert ticket.status == "in_progress"
        assert (ticket.events[-1].actor, ticket.events[-1].note) == (STAFF_USER, "已电话联系患者，约明天复诊")
    assert system.say(conversation_id, "你好"), "the bot did not answer after release"
