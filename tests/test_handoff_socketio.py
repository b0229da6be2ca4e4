"""A widget patient (Socket.IO) asks for a person, a staff member answers from the console, then gives the
conversation back: the whole system as `make run` starts it."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import socketio

from tests.conftest import ROOT, RunningSystem, post_json

SILENCE_SECONDS = 4.0
REPLY_TIMEOUT_SECONDS = 30.0
MAX_DELIVERY_SECONDS = 3.0
RESULTS = ROOT / "results"


def get_json(url: str, headers: Dict[str, str]) -> object:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


class WidgetPatient:
    """What the web widget does: a Socket.IO session with a persistent session id."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url
        self.session_id = f"widget-{uuid.uuid4().hex}"
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self._received)

    async def _received(self, message: dict) -> None:
        await self.inbox.put((time.perf_counter(), message.get("text", "")))

    async def connect(self) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda session_id: confirmed.set_result(session_id))
        await self.client.connect(self.rasa_url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.session_id})
        assert await asyncio.wait_for(confirmed, 10) == self.session_id

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def next_message(self, timeout: float = REPLY_TIMEOUT_SECONDS) -> tuple:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def message_containing(self, needle: str) -> tuple:
        deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
        while True:
            received_at, text = await self.next_message(max(0.1, deadline - time.monotonic()))
            if needle in text:
                return received_at, text

    async def silence(self, seconds: float = SILENCE_SECONDS) -> List[str]:
        """Whatever arrives within `seconds` (the test expects nothing)."""
        await asyncio.sleep(seconds)
        heard = []
        while not self.inbox.empty():
            heard.append(self.inbox.get_nowait()[1])
        return heard


def find_handoff(system: RunningSystem, headers: Dict[str, str], conversation_id: str) -> Optional[dict]:
    queue = get_json(f"{system.console_url}/api/handoffs?status=waiting", headers)
    return next((h for h in queue if h["conversation_id"] == conversation_id), None)


async def conversation(system: RunningSystem) -> float:
    patient = WidgetPatient(system.rasa_url)
    staff = system.staff_headers()
    await patient.connect()
    try:
        await patient.say("转人工")
        _, notice = await patient.message_containing("位")
        assert "人工客服" in notice
        handoff = find_handoff(system, staff, patient.session_id)
        assert handoff is not None and (handoff["channel"], handoff["reason"]) == ("socketio", "user_request")

        await patient.say("你好，有人吗？")
        assert await patient.silence() == [], "the bot answered a paused conversation"
        await patient.say("伤口一直流血止不住")
        assert await patient.silence() == [], "the bot answered a paused conversation"
        handoff = find_handoff(system, staff, patient.session_id)
        assert (handoff["priority"], handoff["reason"]) == ("urgent", "emergency"), "a red flag while waiting"

        console = f"{system.console_url}/api/handoffs/{handoff['id']}"
        assert post_json(f"{console}/claim", {}, staff)["status"] == "active"
        sent_at = time.perf_counter()
        post_json(f"{console}/messages", {"text": "您好，我是值班护士，请问哪里不舒服？"}, staff)
        received_at, _ = await patient.message_containing("值班护士")
        delay = received_at - sent_at

        await patient.say("我双眼皮术后第三天还是很肿")
        assert await patient.silence() == [], "the bot answered while a person held the conversation"
        transcript = get_json(f"{system.console_url}/api/conversations/{patient.session_id}", staff)
        assert ("patient", "我双眼皮术后第三天还是很肿") in [(line["role"], line["text"]) for line in transcript]
        assert ("staff", "您好，我是值班护士，请问哪里不舒服？") in [(line["role"], line["text"]) for line in transcript]

        assert post_json(f"{console}/release", {}, staff)["status"] == "closed"
        await patient.message_containing("继续为您解答")
        await patient.say("你好")
        _, answer = await patient.next_message()
        assert "在线助手" in answer, f"not the greeting after the release: {answer}"
        assert await patient.silence() == [], "more than the greeting after the release"
        return delay
    finally:
        await patient.client.disconnect()


def test_a_widget_patient_is_answered_by_staff_and_the_bot_resumes_after_release(system: RunningSystem) -> None:
    delay = asyncio.run(conversation(system))

    RESULTS.mkdir(exist_ok=True)
    Path(RESULTS / "handoff_delivery.txt").write_text(
        f"staff reply API call -> Socket.IO bot_uttered at the patient: {delay * 1000:.0f} ms\n"
    )
    print(f"\nstaff reply -> patient: {delay * 1000:.0f} ms")
    assert delay < MAX_DELIVERY_SECONDS
