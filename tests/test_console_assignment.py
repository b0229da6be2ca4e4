"""Assignment (#18): a held conversation transferred to a colleague, tickets assigned and filtered by assignee,
and both changes in the live stream's events; the first staff reply recorded for the reports."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.handoff_events import HandoffState, Snapshot, TicketState, current_snapshot, events_between
from bot.store.db import session_scope
from bot.store.models import FollowUp, Handoff
from tests.test_console_api import add_handoff, client, database, login, make_client, rasa  # noqa: F401 - fixtures
from tests.test_console_desk import add_ticket, numbers


def test_the_holder_transfers_a_conversation_and_only_the_colleague_may_reply_then(client, database, rasa) -> None:  # noqa: F811
    handoff_id = add_handoff(database, "web-transfer")
    li, wang, boss = login(client, "li"), login(client, "wang"), login(client, "boss")
    assert client.post(f"/api/handoffs/{handoff_id}/transfer", headers=li, json={"to": "wang"}).status_code == 409  # not claimed
    assert client.post(f"/api/handoffs/{handoff_id}/claim", headers=li).status_code == 200
    assert client.post(f"/api/handoffs/{handoff_id}/transfer", headers=wang, json={"to": "wang"}).status_code == 403
    unknown = client.post(f"/api/handoffs/{handoff_id}/transfer", headers=li, json={"to": "nobody"})
    assert unknown.status_code == 422 and "nobody" in unknown.json()["detail"]
    assert client.post(f"/api/handoffs/{handoff_id}/transfer", headers=li, json={"to": "li"}).status_code == 409
    assert client.post(f"/api/handoffs/{handoff_id}/transfer", headers=li, json={"to": ""}).status_code == 422

    moved = client.post(f"/api/handoffs/{handoff_id}/transfer", headers=li, json={"to": "wang"})
    assert moved.status_code == 200 and moved.json()["assigned_to_name"] == "王医生"
    assert moved.json()["status"] == "active"
    assert client.post(f"/api/handoffs/{handoff_id}/messages", headers=li, json={"text": "还在吗"}).status_code == 403
    assert client.post(f"/api/handoffs/{handoff_id}/messages", headers=wang, json={"text": "我是王医生"}).status_code == 200
    # An admin may move a conversation someone else holds (e.g. the holder went home).
    assert client.post(f"/api/handoffs/{handoff_id}/transfer", headers=boss, json={"to": "li"}).json()["assigned_to"] == "li"
    assert [e["text"] for _, _, events in rasa.appended() for e in events if e.get("event") == "bot"] == ["我是王医生"]
    assert {c["username"]: c["display_name"] for c in client.get("/api/colleagues", headers=li).json()} == {
        "boss": "主管", "li": "李护士", "wang": "王医生"}


def test_the_first_staff_reply_is_recorded_once(client, database) -> None:  # noqa: F811
    handoff_id = add_handoff(database, "web-first")
    li = login(client, "li")
    client.post(f"/api/handoffs/{handoff_id}/claim", headers=li)
    with session_scope(database) as session:
        assert session.get(Handoff, handoff_id).first_reply_at is None
    client.post(f"/api/handoffs/{handoff_id}/messages", headers=li, json={"text": "您好"})
    with session_scope(database) as session:
        first = session.get(Handoff, handoff_id).first_reply_at
    client.post(f"/api/handoffs/{handoff_id}/messages", headers=li, json={"text": "请描述一下"})
    with session_scope(database) as session:
        assert first is not None and session.get(Handoff, handoff_id).first_reply_at == first


def test_tickets_are_assigned_noted_internally_and_filtered_by_assignee(client, database) -> None:  # noqa: F811
    add_ticket(database, "TK202611020001")
    add_ticket(database, "TK202611020002")
    add_ticket(database, "TK202611020003")
    li, wang = login(client, "li"), login(client, "wang")
    assigned = client.post("/api/tickets/TK202611020001/assign", headers=li, json={"to": "wang"})
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["assigned_to"], assigned.json()["assigned_to_name"]) == ("wang", "王医生")
    assert assigned.json()["history"][-1]["note"] == "指派给 王医生"
    assert assigned.json()["history"][-1]["patient_visible"] is False
    client.post("/api/tickets/TK202611020002/assign", headers=li, json={"to": "li"})

    assert numbers(client, wang, "?assignee=me") == ["TK202611020001"]
    assert numbers(client, li, "?assignee=me") == ["TK202611020002"]
    assert numbers(client, li, "?assignee=wang") == ["TK202611020001"]
    assert numbers(client, li, "?assignee=none") == ["TK202611020003"]
    assert numbers(client, li, "?assignee=nobody") == []
    assert client.get("/api/tickets?assignee=" + "x" * 65, headers=li).status_code == 422

    released = client.post("/api/tickets/TK202611020001/assign", headers=wang, json={"to": None})
    assert released.json()["assigned_to"] is None and released.json()["history"][-1]["note"] == "取消指派"
    assert client.post("/api/tickets/TK202611020001/assign", headers=li, json={"to": "nobody"}).status_code == 422
    assert client.post("/api/tickets/TK404/assign", headers=li, json={"to": "li"}).status_code == 404
    with session_scope(database) as session:
        assert session.scalars(select(FollowUp)).all() == []  # the patient is told nothing about who works the ticket


def test_a_new_major_ticket_and_an_assignment_are_live_events(client, database) -> None:  # noqa: F811
    add_ticket(database, "TK202611020001")
    before = current_snapshot(database)
    add_ticket(database, "TK202611020009", severity="major", kind="complaint")
    add_ticket(database, "TK202611020008", status="closed")
    client.post("/api/tickets/TK202611020001/assign", headers=login(client, "li"), json={"to": "wang"})
    events = events_between(before, current_snapshot(database))
    assert [e.name for e in events] == ["ticket"]
    assert [(c["change"], c["number"], c["severity"], c["assigned_to"]) for c in events[0].data["changes"]] == [
        ("assigned", "TK202611020001", "normal", "wang"),
        ("new", "TK202611020009", "major", None),
    ]


def test_a_transfer_and_a_finished_ticket_are_named_in_the_events() -> None:
    held = HandoffState(1, "c1", "active", "normal", "user_request", "li")
    ticket = TicketState("TK1", "refund", "normal", "open", None)
    before = Snapshot({1: held}, {}, {"TK1": ticket})
    after = Snapshot({1: replace(held, assigned_to="wang")}, {}, {})
    events = {e.name: e.data["changes"] for e in events_between(before, after)}
    assert [(c["change"], c["assigned_to"]) for c in events["queue"]] == [("transferred", "wang")]
    assert [(c["change"], c["number"]) for c in events["ticket"]] == [("closed", "TK1")]
