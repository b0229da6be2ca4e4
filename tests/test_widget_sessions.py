"""The widget's conversation ids are the server's: an attacker's Socket.IO client that presents another
conversation's id (seen on a console screen, in a log, on a shared device) or a forged token gets a
conversation of its own. It receives none of the patient's messages, cannot write into the patient's
conversation, pause it with a handoff or restart it. Unit checks of bot/widget_sessions.py first."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from typing import Dict, List

import pytest

from bot import widget_sessions
from tests.cluster import SocketPatient
from tests.conftest import RunningSystem, post_json

QUIET_SECONDS = 4.0


def test_a_minted_id_verifies_only_with_its_own_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIDGET_SESSION_SECRET", "a-long-random-secret-of-the-deployment")
    first, second = widget_sessions.new_id(), widget_sessions.new_id()
    assert first != second and widget_sessions.ID_PATTERN.match(first)
    assert widget_sessions.verified(first, widget_sessions.token_for(first)) == first
    assert widget_sessions.verified(first, widget_sessions.token_for(second)) is None
    assert widget_sessions.verified(first, None) is None
    assert widget_sessions.verified("123456789", widget_sessions.token_for("123456789")) is None, "a Telegram chat id"
    token = widget_sessions.token_for(first)
    monkeypatch.setenv("WIDGET_SESSION_SECRET", "another-deployment")
    assert widget_sessions.verified(first, token) is None


def tracker_texts(system: RunningSystem, conversation_id: str) -> List[str]:
    url = f"{system.rasa_url}/conversations/{urllib.parse.quote(conversation_id, safe='')}/tracker?token={system.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.loads(response.read())["events"]
    return [event.get("text") or "" for event in events if event["event"] == "user"]


def handoffs_of(system: RunningSystem, staff: Dict[str, str], conversation_id: str) -> list:
    request = urllib.request.Request(f"{system.console_url}/api/handoffs?status=waiting", headers=staff)
    with urllib.request.urlopen(request, timeout=30) as response:
        return [h for h in json.loads(response.read()) if h["conversation_id"] == conversation_id]


async def attack(system: RunningSystem) -> None:
    patient, attacker = SocketPatient(system.rasa_url), SocketPatient(system.rasa_url)
    staff = system.staff_headers()
    await patient.connect()
    try:
        await patient.say("我想退款")
        await patient.message_containing("退款")
        victim = patient.session_id

        # Another client presents the patient's id without the token, then with a forged one.
        attacker.session_id = victim
        await attacker.connect()
        assert attacker.session_id != victim
        await attacker.close()
        attacker = SocketPatient(system.rasa_url)
        attacker.session_id, attacker.session_token = victim, widget_sessions.token_for(victim)[::-1]
        await attacker.connect()
        assert attacker.session_id != victim

        # Its messages name the patient's conversation, but go to its own.
        await attacker.say("转人工", session_id=victim)
        await attacker.message_containing("人工客服")
        await attacker.say("/restart", session_id=victim)
        assert handoffs_of(system, staff, victim) == [], "the attacker paused the patient's conversation"
        assert len(handoffs_of(system, staff, attacker.session_id)) == 1, "the handoff is the attacker's own"
        assert tracker_texts(system, victim) == ["我想退款"], "the attacker wrote into or restarted it"

        # The patient's replies reach the patient and nobody else.
        await attacker.heard_within(1)
        await patient.say("退款要多久")
        await patient.message_containing("退款")
        assert await attacker.heard_within(QUIET_SECONDS) == [], "the attacker received the patient's replies"

        # The patient's own widget, reloaded with its id and token, resumes the same conversation.
        token = patient.session_token
        await patient.close()
        patient = SocketPatient(system.rasa_url)
        patient.session_id, patient.session_token = victim, token
        await patient.connect()
        assert patient.session_id == victim
    finally:
        await patient.close()
        await attacker.close()


def test_another_client_cannot_join_read_pause_or_restart_a_widget_conversation(system: RunningSystem) -> None:
    asyncio.run(attack(system))


def test_a_rest_client_cannot_reach_a_widget_conversation_through_the_widget(system: RunningSystem) -> None:
    """A Telegram chat id (a number) presented by the widget starts a new widget conversation."""
    telegram_chat = "5551234567"
    post_json(f"{system.rasa_url}/webhooks/rest/webhook", {"sender": telegram_chat, "message": "你好"})

    async def presents_the_chat_id() -> str:
        client = SocketPatient(system.rasa_url)
        client.session_id = telegram_chat
        await client.connect()
        await client.say("转人工", session_id=telegram_chat)
        await client.message_containing("人工客服")
        await client.close()
        return client.session_id or ""

    assert asyncio.run(presents_the_chat_id()).startswith("web-")
    assert "转人工" not in tracker_texts(system, telegram_chat)
