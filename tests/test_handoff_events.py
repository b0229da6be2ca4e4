"""The live queue's events (bot/handoff_events.py): the pure step between two snapshots, and a snapshot of a
real database."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from bot import staff as accounts
from bot.handoff_events import HandoffState, Snapshot, current_snapshot, events_between, handoff_changes, queue_event
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import Handoff, utcnow
from tests.test_console_api import add_handoff, add_rasa_events

WAITING = HandoffState(1, "c1", "waiting", "normal", "user_request", None)
URGENT = HandoffState(2, "c2", "waiting", "urgent", "emergency", None)


def snapshot(*states: HandoffState, messages: Optional[dict] = None) -> Snapshot:
    return Snapshot({s.id: s for s in states}, messages or {})


def test_nothing_changed_means_no_event() -> None:
    before = snapshot(WAITING, URGENT, messages={"c1": 10.0})
    assert events_between(before, snapshot(WAITING, URGENT, messages={"c1": 10.0})) == []


def test_each_kind_of_change_is_named() -> None:
    held = replace(WAITING, id=3, conversation_id="c3", status="active", assigned_to="li")
    gone = replace(WAITING, id=4, conversation_id="c4")
    angry = replace(WAITING, id=5, conversation_id="c5", priority="high", reason="anger")
    before = snapshot(WAITING, held, gone, angry)
    after = snapshot(
        replace(WAITING, status="active", assigned_to="wang"),
        replace(held, status="waiting", assigned_to=None),
        replace(angry, priority="urgent", reason="emergency"),
        URGENT,
    )
    assert [(c["change"], c["id"], c["status"]) for c in handoff_changes(before, after)] == [
        ("claimed", 1, "active"),
        ("new", 2, "waiting"),
        ("unclaimed", 3, "waiting"),
        ("closed", 4, "closed"),
        ("escalated", 5, "waiting"),
    ]


def test_a_change_that_is_no_claim_or_escalation_is_an_update() -> None:
    before = snapshot(WAITING)
    after = snapshot(replace(WAITING, priority="high", reason="anger"))
    assert [c["change"] for c in handoff_changes(before, after)] == ["updated"]


def test_escalation_is_reported_even_when_the_handoff_was_claimed_at_the_same_time() -> None:
    after = snapshot(replace(WAITING, status="active", priority="urgent", reason="emergency", assigned_to="li"))
    assert [c["change"] for c in handoff_changes(snapshot(WAITING), after)] == ["escalated"]


def test_the_queue_event_carries_the_counts_and_the_changes() -> None:
    held = replace(URGENT, id=3, conversation_id="c3", status="active", assigned_to="li")
    before = snapshot(WAITING, held)
    after = snapshot(WAITING, held, URGENT)
    (event,) = events_between(before, after)
    assert event.name == "queue"
    assert event.data == {
        "waiting": 2,
        "urgent_waiting": 1,
        "changes": [
            {"change": "new", "id": 2, "conversation_id": "c2", "status": "waiting", "priority": "urgent",
             "reason": "emergency", "assigned_to": None}
        ],
    }
    assert queue_event(after).data == {"waiting": 2, "urgent_waiting": 1, "changes": []}


def test_a_patient_writing_in_an_open_handoff_is_a_message_event() -> None:
    before = snapshot(WAITING, URGENT, messages={"c1": 10.0})
    after = snapshot(WAITING, URGENT, messages={"c1": 12.5, "c2": 11.0})
    assert [(e.name, e.data) for e in events_between(before, after)] == [
        ("message", {"conversation_id": "c1", "handoff_id": 1}),
        ("message", {"conversation_id": "c2", "handoff_id": 2}),
    ]


def test_a_new_handoff_is_announced_by_its_queue_event_not_by_a_message_event() -> None:
    after = snapshot(WAITING, messages={"c1": 10.0})
    assert [e.name for e in events_between(snapshot(), after)] == ["queue"]


def test_a_snapshot_holds_the_open_handoffs_their_holder_and_the_last_patient_message(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrate.upgrade(url)
    assert current_snapshot(url) == Snapshot({}, {})  # no handoff, and no Rasa events table yet

    waiting = add_handoff(url, "waiting")
    held = add_handoff(url, "held", "high")
    closed = add_handoff(url, "closed")
    with session_scope(url) as session:
        li = accounts.create_staff(session, "li", "correct horse battery", "李护士")
        session.get(Handoff, held).status, session.get(Handoff, held).assigned_to = "active", li.id
        session.get(Handoff, closed).status = "closed"
    add_rasa_events(url, [("waiting", "user", 100.0, "greet"), ("waiting", "user", 200.0, "greet"),
                          ("waiting", "bot", 300.0, None), ("closed", "user", 400.0, "greet")])

    taken = current_snapshot(url)
    assert taken.handoffs == {
        waiting: HandoffState(waiting, "waiting", "waiting", "normal", "user_request", None),
        held: HandoffState(held, "held", "active", "high", "anger", "li"),
    }
    assert taken.last_patient_message == {"waiting": 200.0}


def test_a_red_flag_written_while_waiting_is_escalated_by_the_snapshot(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrate.upgrade(url)
    handoff_id = add_handoff(url, "p", minutes_ago=5)
    before = current_snapshot(url)
    add_rasa_events(url, [("p", "user", utcnow().timestamp(), "report_emergency")])

    after = current_snapshot(url)
    assert [(e.name, e.data.get("changes", [{}])[0].get("change")) for e in events_between(before, after)] == [
        ("queue", "escalated"),
        ("message", None),
    ]
    assert after.handoffs[handoff_id].priority == "urgent"

