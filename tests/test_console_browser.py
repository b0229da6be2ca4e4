"""The staff console in a real browser (headless Chromium via playwright-core) against the running system:
the queue and a conversation (tests/browser/console.mjs), the NLU inbox (tests/browser/nlu.mjs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Dict, List, Optional

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from sqlalchemy import select

from bot import nlu_inbox
from bot.store.db import session_scope
from bot.store.models import Handoff, Ticket, TicketEvent
from tests.conftest import ROOT, STAFF_PASSWORD, STAFF_USER, RunningSystem, post_json

SCRIPT = ROOT / "tests" / "browser" / "console.mjs"
SCREENSHOT = ROOT / "results" / "console-queue.png"
LIVE_SCREENSHOT = ROOT / "results" / "console-queue-live.png"
URGENT_ALERT = "紧急：有患者报告危险症状，请立即处理"
MARKUP = "<b>加粗</b><img src=x onerror=alert(1)>还在吗"
FOLLOW_UP = "我等了好久，伤口还是很疼"


def run_console_script(env: dict, signals: Dict[str, Callable[[], object]]) -> List[str]:
    """The lines tests/browser/console.mjs printed; `signals[line]()` runs when it prints that line."""
    return run_script(SCRIPT, env, signals)


def run_script(script: Path, env: dict, signals: Optional[Dict[str, Callable[[], object]]] = None) -> List[str]:
    """The lines a tests/browser/ script printed; `signals[line]()` runs when it prints that line."""
    signals = signals or {}
    node = subprocess.Popen(
        ["node", str(script)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
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


NLU_SCRIPT = ROOT / "tests" / "browser" / "nlu.mjs"
NLU_SCREENSHOT = ROOT / "results" / "console-nlu.png"
# Vague enough to be misunderstood, and in no training or hold-out set (the export leaves those out).
MISUNDERSTOOD = "呃呃呃那个啥来着"
# Messages the model may not understand; the test sends the first one the running model does not (if any).
VAGUE = ["随便问问", "我想了解一下那个东西", "那个那个就是那个", "额", "嗯…怎么说呢", "就那个事儿", "啊这"]


def misunderstood_by_the_model(system: RunningSystem) -> Optional[str]:
    """A message of VAGUE that the running model sends to the inbox by itself (it falls back or is unsure)."""
    for text in VAGUE:
        parsed = post_json(f"{system.rasa_url}/model/parse?token={system.token}", {"text": text})
        candidate = nlu_inbox.read_event("parse", 0.0, {"text": text, "parse_data": parsed})
        if candidate is not None and candidate.reason:
            return text
    return None


def expected_inbox(system: RunningSystem, conversation_id: str) -> Dict[str, str]:
    """text → reason the inbox must show for the conversation, from what the running Rasa stored: the flagged
    message, and whatever its NLU did not understand (bot/nlu_inbox.py's rules, applied to the tracker)."""
    tracker = json.loads(urllib.request.urlopen(
        f"{system.rasa_url}/conversations/{conversation_id}/tracker?token={system.token}", timeout=30
    ).read())
    messages = [e for e in tracker["events"] if e["event"] == "user"]
    expected = {}
    for event in messages:
        candidate = nlu_inbox.read_event(conversation_id, event["timestamp"], event)
        if candidate is not None and candidate.reason:
            expected[candidate.text] = candidate.reason
    with session_scope(system.env["DATABASE_URL"]) as session:
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)).one()
        if handoff.reason == "fallback":
            before = [e for e in messages if e["timestamp"] <= handoff.created_at.timestamp()]
            expected[before[-1]["text"]] = "handoff"
    expected[MISUNDERSTOOD] = "flagged"
    return expected


def test_a_nurse_flags_a_misunderstood_message_a_trainer_corrects_it_and_the_export_has_it(system: RunningSystem, tmp_path) -> None:
    conversation_id = f"nlu-{uuid.uuid4().hex[:8]}"
    vague = misunderstood_by_the_model(system)
    for text in (MISUNDERSTOOD, vague or VAGUE[0], "转人工"):
        system.say(conversation_id, text)
    database = system.env["DATABASE_URL"]
    with session_scope(database) as session:
        handoff_id = session.scalars(select(Handoff.id).where(Handoff.conversation_id == conversation_id)).one()
    accounts = dict(system.env, STAFF_PASSWORD="nurse-and-trainer-password")
    for args in (["nurse-" + conversation_id[-4:], "--name", "护士"], ["trainer-" + conversation_id[-4:], "--role", "trainer"]):
        made = subprocess.run([sys.executable, "-m", "bot", "staff", "add", *args], cwd=ROOT, env=accounts,
                              capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
    NLU_SCREENSHOT.parent.mkdir(exist_ok=True)

    env = dict(
        os.environ,
        CONSOLE_URL=system.console_url,
        NURSE_USER="nurse-" + conversation_id[-4:],
        NURSE_PASSWORD=accounts["STAFF_PASSWORD"],
        TRAINER_USER="trainer-" + conversation_id[-4:],
        TRAINER_PASSWORD=accounts["STAFF_PASSWORD"],
        HANDOFF_ID=str(handoff_id),
        CONVERSATION_ID=conversation_id,
        MISUNDERSTOOD=MISUNDERSTOOD,
        CORRECT_INTENT="out_of_scope",
        SCREENSHOT=str(NLU_SCREENSHOT),
    )
    seen = json.loads(run_script(NLU_SCRIPT, env)[-1])

    assert not seen["nurseSeesLink"] and "训练员" in seen["nurseInbox"]
    assert seen["flagButton"] == "标记为误解" and seen["flagged"] and seen["botLinesHaveNoFlag"]
    assert seen["trainerLink"] == "NLU 收件箱"
    shown = {row["text"]: row["reason"] for row in seen["open"]}
    assert shown == expected_inbox(system, conversation_id)
    if vague is not None:  # collected from Rasa's events by itself
        assert shown[vague] in ("fallback", "low_confidence", "handoff"), shown
    flagged = next(row for row in seen["open"] if row["text"] == MISUNDERSTOOD)
    assert flagged["reasonShown"].startswith("工作人员标记为误解") and flagged["confidence"].endswith("%")
    assert seen["verdict"].startswith("已更正：与医院服务无关（out_of_scope）"), seen["verdict"]

    out = tmp_path / "reviewed.yml"
    exported = subprocess.run([sys.executable, "-m", "bot", "nlu", "export", "--out", str(out)], cwd=ROOT,
                              env=dict(os.environ, DATABASE_URL=database), capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr
    assert "Wrote 1 example of 1 intent " in exported.stdout, exported.stdout
    examples = RasaYAMLReader().read(str(out)).intent_examples
    assert [(m.get("text"), m.get("intent")) for m in examples] == [(MISUNDERSTOOD, "out_of_scope")]
