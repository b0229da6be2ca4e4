"""A widget patient (Socket.IO) asks for a person, a staff member answers from the console, then gives the
conversation back: the whole system as `make run` starts it."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path
from typing import Dict, Optional

from tests.cluster import SocketPatient
from tests.conftest import ROOT, RunningSystem, post_json

SILENCE_SECONDS = 4.0
MAX_DELIVERY_SECONDS = 3.0
RESULTS = ROOT / "results"


def get_json(url: str, headers: Dict[str, str]) -> object:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def find_handoff(system: RunningSystem, headers: Dict[str, str], conversation_id: str) -> Optional[dict]:
    queue = get_json(f"{system.console_url}/api/handoffs?status=waiting", headers)
    return next((h for h in queue if h["conversation_id"] == conversation_id), None)


async def conversation(system: RunningSystem) -> float:
    patient = SocketPatient(system.rasa_url)
    staff = system.staff_headers()
    await patient.connect()
    try:
        await patient.say("转人工")
        notice = await patient.message_containing("位")
        assert "人工客服" in notice["text"]
        handoff = find_handoff(system, staff, patient.session_id)
        assert handoff is not None and (handoff["channel"], handoff["reason"]) == ("socketio", "user_request")

        await patient.say("你好，有人吗？")
        assert await patient.heard_within(SILENCE_SECONDS) == [], "the bot answered a paused conversation"
        await patient.say("伤口一直流血止不住")
        emergency = "\n".join(await patient.heard_within(SILENCE_SECONDS))
        assert "120" in emergency and "值班医护团队" in emergency, "an emergency while paused gets 120 at once"
        await patient.say("好的")
        assert await patient.heard_within(SILENCE_SECONDS) == [], "the bot answered a paused conversation"
        handoff = find_handoff(system, staff, patient.session_id)
        assert (handoff["priority"], handoff["reason"]) == ("urgent", "emergency"), "a red flag while waiting"

        console = f"{system.console_url}/api/handoffs/{handoff['id']}"
        assert post_json(f"{console}/claim", {}, staff)["status"] == "active"
        sent_at = time.perf_counter()
        post_json(f"{console}/messages", {"text": "您好，我是值班护士，请问哪里不舒服？"}, staff)
        delay = (await patient.message_containing("值班护士"))["received_at"] - sent_at

        await patient.say("我双眼皮术后第三天还是很肿")
        while_held = await patient.heard_within(SILENCE_SECONDS)
        assert while_held == [], "the bot answered while a person held the conversation"
        transcript = get_json(f"{system.console_url}/api/conversations/{patient.session_id}", staff)
        assert ("patient", "我双眼皮术后第三天还是很肿") in [(line["role"], line["text"]) for line in transcript]
        assert ("staff", "您好，我是值班护士，请问哪里不舒服？") in [(line["role"], line["text"]) for line in transcript]

        assert post_json(f"{console}/release", {}, staff)["status"] == "closed"
        await patient.message_containing("继续为您解答")
        await patient.say("你好")
        answer = (await patient.next_message())["text"]
        assert "在线助手" in answer, f"not the greeting after the release: {answer}"
        assert await patient.heard_within(SILENCE_SECONDS) == [], "more than the greeting after the release"
        return delay
    finally:
        await patient.close()


def test_a_widget_patient_is_answered_by_staff_and_the_bot_resumes_after_release(system: RunningSystem) -> None:
    delay = asyncio.run(conversation(system))

    RESULTS.mkdir(exist_ok=True)
    Path(RESULTS / "handoff_delivery.txt").write_text(
        f"staff reply API call -> Socket.IO bot_uttered at the patient: {delay * 1000:.0f} ms\n"
    )
    print(f"\nstaff reply -> patient: {delay * 1000:.0f} ms")
    assert delay < MAX_DELIVERY_SECONDS
