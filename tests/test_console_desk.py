"""The complaint desk's console API (#18): the ticket list with filters and search, canned replies, internal
notes on a conversation and the reports summary. A real database and the fake Rasa of test_console_api."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from bot import hospital, patient_data
from bot.console import replies
from bot.store.db import session_scope
from bot.store.models import Ticket, TicketEvent, utcnow
from tests.test_console_api import client, database, login, make_client, rasa  # noqa: F401 - pytest fixtures

# Rasa's tracker store table, as the patient's export and deletion read it.
RASA_EVENTS_TABLE = ("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255)"
                     " NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)")
LONG_AGO = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)


def add_ticket(url: str, number: str, created_at: datetime = LONG_AGO, **fields: str) -> None:
    values = dict(conversation_id="c-" + number, kind="complaint", category="surgery", severity="normal",
                  phone="13800138000", status="open")
    values.update(fields)
    with session_scope(url) as session:
        session.add(Ticket(number=number, created_at=created_at, updated_at=created_at, **values,
                           events=[TicketEvent(actor="bot", to_status=values["status"], created_at=created_at)]))


def numbers(client, headers, query: str) -> list:  # noqa: F811 - the fixture passed on
    response = client.get(f"/api/tickets{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [t["number"] for t in response.json()]


def test_the_ticket_list_filters_by_kind_category_severity_status_and_overdue_and_finds_numbers_and_phones(
    client, database  # noqa: F811
) -> None:
    now = utcnow()
    add_ticket(database, "TK202611020001", kind="refund", category="skin", phone="13912345678")
    add_ticket(database, "TK202611020002", severity="major", category="dental", created_at=now)
    add_ticket(database, "TK202611020003", kind="postop", status="closed", phone="13700001111")
    li = login(client, "li")

    assert numbers(client, li, "?kind=refund") == ["TK202611020001"]
    assert numbers(client, li, "?category=dental&severity=major") == ["TK202611020002"]
    assert numbers(client, li, "?status=closed") == ["TK202611020003"]
    # The refund opened a month ago is past its first step's limit; the major one opened now is not; closed has none.
    assert numbers(client, li, "?overdue=true") == ["TK202611020001"]
    assert numbers(client, li, "?overdue=false") == ["TK202611020002", "TK202611020003"]
    assert numbers(client, li, "?q=139****5678") == ["TK202611020001"]
    assert numbers(client, li, "?q=1111") == ["TK202611020003"]
    assert numbers(client, li, "?q=tk202611020002") == ["TK202611020002"]
    assert sorted(numbers(client, li, "?q=TK2026110200")) == ["TK202611020001", "TK202611020002", "TK202611020003"]
    listed = client.get("/api/tickets?q=13912345678", headers=li).json()
    assert [(t["number"], t["phone_masked"], t["overdue"]) for t in listed] == [("TK202611020001", "139****5678", True)]
    assert numbers(client, li, "?q=%25") == []
    assert client.get("/api/tickets?kind=lost", headers=li).status_code == 422
    assert client.get("/api/tickets?severity=huge", headers=li).status_code == 422
    assert client.get("/api/tickets?q=" + "9" * 41, headers=li).status_code == 422


def test_canned_replies_are_found_by_a_few_characters_with_the_hospitals_facts_and_the_senders_name(
    client,  # noqa: F811
) -> None:
    facts = hospital.load().facts()
    li = login(client, "li")
    everything = client.get("/api/replies", headers=li).json()
    assert len(everything) == len(replies.load()) >= 10
    assert all("{" not in reply["text"] for reply in everything)
    found = client.get("/api/replies", params={"q": "/肿胀"}, headers=li).json()
    assert [r["key"] for r in found] == ["swelling"]
    assert facts["on_call_line"] in found[0]["text"] and found[0]["topic_label"] == "术后护理"
    hello = client.get("/api/replies", params={"q": "HELLO"}, headers=li).json()
    assert [r["key"] for r in hello] == ["hello"] and "李护士" in hello[0]["text"]
    assert facts["address"] in client.get("/api/replies?q=revisit", headers=li).json()[0]["text"]
    assert client.get("/api/replies?q=没有这样的回复", headers=li).json() == []
    assert client.get("/api/replies?q=" + "x" * 41, headers=li).status_code == 422
    assert client.get("/api/replies").status_code == 401


def test_a_reply_naming_a_fact_nobody_fills_in_or_lacking_its_text_is_refused() -> None:
    known = tuple(hospital.load().facts()) + ("staff_name",)
    good = {"topics": {"t": {"label": "标签", "replies": [{"key": "a", "title": "标题", "text": "拨打 {hotline}"}]}}}
    assert [r.key for r in replies.parse(good, known)] == ["a"]
    with pytest.raises(replies.RepliesFileError, match="wechat_id"):
        replies.parse({"topics": {"t": {"replies": [{"key": "a", "title": "x", "text": "加 {wechat_id}"}]}}}, known)
    with pytest.raises(replies.RepliesFileError, match="lacks"):
        replies.parse({"topics": {"t": {"replies": [{"key": "a", "title": "x"}]}}}, known)
    with pytest.raises(replies.RepliesFileError, match="twice"):
        replies.parse({"topics": {"t": {"replies": [good["topics"]["t"]["replies"][0]] * 2}}}, known)
    with pytest.raises(replies.RepliesFileError, match="topics"):
        replies.parse(["not", "a", "mapping"], known)


def test_internal_notes_on_a_conversation_are_kept_for_colleagues_and_never_reach_the_patient(
    client, database, rasa  # noqa: F811
) -> None:
    li, wang = login(client, "li"), login(client, "wang")
    first = client.post("/api/conversation-notes", headers=li, json={"conversation_id": "web-1", "text": " 患者情绪激动，先安抚 "})
    assert first.status_code == 201, first.text
    client.post("/api/conversation-notes", headers=wang, json={"conversation_id": "web-1", "text": "已联系主诊医生"})
    client.post("/api/conversation-notes", headers=wang, json={"conversation_id": "web-2", "text": "别的会话"})
    notes = client.get("/api/conversation-notes?conversation_id=web-1", headers=li).json()
    assert [(n["staff_name"], n["text"]) for n in notes] == [("李护士", "患者情绪激动，先安抚"), ("王医生", "已联系主诊医生")]
    assert rasa.appended() == []  # nothing went to Rasa, so nothing to the patient
    assert client.get("/api/conversation-notes?conversation_id=web-3", headers=li).json() == []
    for bad in ({"conversation_id": "web-1", "text": "  "}, {"conversation_id": "web-1", "text": "长" * 2001},
                {"conversation_id": "", "text": "x"}, {"text": "x"}):
        assert client.post("/api/conversation-notes", headers=li, json=bad).status_code == 422
    assert client.get("/api/conversation-notes", headers=li).status_code == 422
    assert client.get("/api/conversation-notes?conversation_id=web-1").status_code == 401
    assert client.post("/api/conversation-notes", json={"conversation_id": "web-1", "text": "x"}).status_code == 401

    with session_scope(database) as session:
        session.execute(text(RASA_EVENTS_TABLE))
        patient = patient_data.find(session, None, ["web-1"])
        assert [n["text"] for n in patient_data.export(session, patient)["conversation_notes"]][0] == "患者情绪激动，先安抚"
        assert patient_data.delete_all(session, patient)["conversation_notes"] == 2
    assert client.get("/api/conversation-notes?conversation_id=web-1", headers=li).json() == []
