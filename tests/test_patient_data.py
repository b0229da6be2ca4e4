"""A patient's data exported and then deleted (PIPL), verified in the database: tickets with their history,
handoffs, the conversations Rasa stored, and nothing of another patient."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select

from bot import __main__ as cli
from bot import audit, handoffs, lookup_limit, patient_data, ticket_codes, tickets
from bot.patient_data import RASA_EVENTS
from bot.store import db, migrate
from bot.store.models import AuditEntry, Base, Handoff, LookupMiss, Ticket, TicketCode, TicketEvent

PHONE, OTHER = "13812345678", "13987654321"


def save_conversation(path: Path, sender: str, text: str) -> None:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker.from_events(sender, [UserUttered(text), BotUttered("好的")])
    asyncio.run(store.save(tracker))
    store.engine.dispose()


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "app.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    for sender, number, text in (("web-mine", PHONE, "我想退款"), ("web-theirs", OTHER, "鼻子歪了")):
        new = tickets.NewTicket(sender, "socketio", "refund", "surgery", "normal", "隆鼻", "上个月", text, number)
        ticket = tickets.open_ticket(new, url)
        with db.session_scope(url) as session:
            row = session.scalars(select(Ticket).where(Ticket.number == ticket.number)).one()
            row.events.append(TicketEvent(actor="staff:li", note="已联系"))
        save_conversation(path, sender, text)
        with db.session_scope(url) as session:
            handoffs.open_handoff(session, sender, "socketio", "user_request", "normal")
            audit.record(session, "li", "transcript_read", "conversation", sender, "10.0.0.8")
            audit.record(session, "li", "ticket_read", "ticket", ticket.number, "10.0.0.8")
        # A lookup of the ticket from another device: a one-time code sent there.
        ticket_codes.issue(ticket.number, f"web-device-{number}", url)
        # Someone's miss: the right ticket number with a wrong phone, from yet another conversation.
        lookup_limit.record_miss(lookup_limit.keys(ticket=ticket.number, conversation=f"web-guess-{number}"), url)
    return url


def count(url: str, query) -> int:  # type: ignore[no-untyped-def]
    with db.session_scope(url) as session:
        return session.execute(query).scalar()


def test_a_patients_data_is_exported_then_deleted_and_nothing_of_theirs_remains(database: str, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    assert cli.main(["patient", "export", "--phone", PHONE, "--out", str(out)]) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert [t["description"] for t in exported["tickets"]] == ["我想退款"]
    assert [h["note"] for h in exported["tickets"][0]["history"]] == [None, "已联系"]
    assert [e.get("text") for e in exported["conversations"]["web-mine"] if e["event"] == "user"] == ["我想退款"]
    assert [h["conversation_id"] for h in exported["handoffs"]] == ["web-mine"]
    assert "鼻子歪了" not in out.read_text(encoding="utf-8"), "another patient's data was exported"
    assert [c["conversation_id"] for c in exported["ticket_codes"]] == [f"web-device-{PHONE}"]
    assert [m["key"] for m in exported["lookup_misses"]] == list(lookup_limit.keys(ticket=exported["tickets"][0]["number"]))
    assert "code_hash" not in exported["ticket_codes"][0] and "salt" not in exported["ticket_codes"][0]
    my_ticket = exported["tickets"][0]["number"]
    assert [(e["action"], e["target"]) for e in exported["audit_log"]] == [
        ("transcript_read", "web-mine"), ("ticket_read", my_ticket)
    ]

    assert cli.main(["patient", "delete", "--phone", PHONE]) == 2, "deleting needs --yes"
    assert cli.main(["patient", "delete", "--phone", PHONE, "--yes"]) == 0

    assert count(database, select(func.count()).select_from(Ticket).where(Ticket.phone == PHONE)) == 0
    assert count(database, select(func.count()).select_from(TicketEvent)) == 2, "only the other ticket's history"
    assert count(database, select(func.count()).select_from(Handoff).where(Handoff.conversation_id == "web-mine")) == 0
    mine = select(func.count()).select_from(RASA_EVENTS).where(RASA_EVENTS.c.sender_id == "web-mine")
    assert count(database, mine) == 0
    theirs = select(func.count()).select_from(RASA_EVENTS).where(RASA_EVENTS.c.sender_id == "web-theirs")
    assert count(database, theirs) > 0
    assert count(database, select(func.count()).select_from(Ticket).where(Ticket.phone == OTHER)) == 1
    assert count(database, select(TicketCode.conversation_id)) == f"web-device-{OTHER}", "only the other's code"
    misses_of_mine = select(func.count()).select_from(LookupMiss).where(LookupMiss.key.in_(lookup_limit.keys(ticket=my_ticket)))
    assert count(database, misses_of_mine) == 0
    assert count(database, select(func.count()).select_from(LookupMiss)) == 3, "the guessers' conversations are not hers"
    kept = select(func.count()).select_from(AuditEntry).where(AuditEntry.target.in_(["web-mine", my_ticket]))
    assert count(database, kept) == 2, "the record of who read the deleted data stays"


def test_every_table_holding_a_conversation_or_a_phone_is_exported_and_deleted(database: str) -> None:
    holding = [t.name for t in Base.metadata.sorted_tables if {"conversation_id", "phone"} & set(t.columns.keys())]
    with db.session_scope(database) as session:
        patient = patient_data.find(session, PHONE)
        exported = patient_data.export(session, patient)
        deleted = patient_data.delete_all(session, patient)
        session.rollback()
    assert "tickets" in holding and "ticket_codes" in holding
    assert [name for name in holding if name not in exported] == [], "add the new table to bot/patient_data.py export"
    assert [name for name in holding if name not in deleted] == [], "add the new table to bot/patient_data.py delete_all"
