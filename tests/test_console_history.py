"""Beside a transcript (#18): the patient's other conversations (earlier sessions of the same channel identity,
and conversations whose tickets carry the same phone), their tickets and follow-ups."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.store.db import session_scope
from bot.store.models import FollowUp, utcnow
from tests.test_console_api import add_handoff, add_rasa_events, client, database, login, make_client, rasa  # noqa: F401
from tests.test_console_desk import LONG_AGO, add_ticket

START = LONG_AGO.timestamp()


def test_the_patients_other_conversations_tickets_and_followups_are_found_by_channel_identity_and_phone(
    client, database  # noqa: F811
) -> None:
    add_ticket(database, "TK202611020001", conversation_id="tg-42", phone="13912345678")
    add_ticket(database, "TK202611020002", conversation_id="web-old", phone="13912345678", kind="refund",
               created_at=LONG_AGO - timedelta(days=3))
    add_ticket(database, "TK202611020003", conversation_id="web-other", phone="13700001111")
    add_rasa_events(database, [
        ("tg-42", "session_started", START, None), ("tg-42", "user", START + 1, "greet"),
        ("tg-42", "session_started", START + 86400, None), ("tg-42", "user", START + 86401, "request_human"),
        ("tg-42", "user", START + 86402, "inform"), ("web-old", "user", START - 5, "complain"),
        ("web-other", "user", START, "greet"),
    ])
    earlier = add_handoff(database, "web-old")
    current = add_handoff(database, "tg-42", channel="telegram")
    with session_scope(database) as session:
        session.add(FollowUp(conversation_id="web-old", kind="ticket_update", due_at=utcnow(),
                             payload=json.dumps({"text": "您的退款已受理"})))
        session.add(FollowUp(conversation_id="web-other", kind="ticket_update", due_at=utcnow(),
                             payload=json.dumps({"text": "别的患者"})))
    li = login(client, "li")

    found = client.get("/api/patient-history", params={"conversation_id": "tg-42"}, headers=li)
    assert found.status_code == 200, found.text
    body = found.json()
    assert [(c["conversation_id"], c["linked_by"], c["sessions"], c["patient_messages"]) for c in body["conversations"]] == [
        ("tg-42", "same", 2, 3), ("web-old", "phone", 0, 1)]
    assert [h["id"] for h in body["conversations"][0]["handoffs"]] == [current]
    assert [h["id"] for h in body["conversations"][1]["handoffs"]] == [earlier]
    assert body["conversations"][0]["last_message_at"].startswith("2026-11-03T02:00:02")
    assert [t["number"] for t in body["tickets"]] == ["TK202611020001", "TK202611020002"]
    assert body["tickets"][0]["phone_masked"] == "139****5678" and "13912345678" not in found.text
    assert [f["text"] for f in body["followups"]] == ["您的退款已受理"]

    alone = client.get("/api/patient-history", params={"conversation_id": "nobody-yet"}, headers=li).json()
    assert alone == {"conversations": [{"conversation_id": "nobody-yet", "linked_by": "same", "sessions": 0,
                                        "patient_messages": 0, "first_message_at": None, "last_message_at": None,
                                        "handoffs": []}], "tickets": [], "followups": []}
    assert client.get("/api/patient-history", headers=li).status_code == 422
    assert client.get("/api/patient-history", params={"conversation_id": "x" * 256}, headers=li).status_code == 422
    assert client.get("/api/patient-history", params={"conversation_id": "tg-42"}).status_code == 401
