"""One patient's data, for the rights PIPL gives them (Art. 45 access and copy, Art. 47 deletion).

A patient is found by the phone on their tickets and/or by conversation ids (a widget, Telegram or
WeChat conversation the hospital identified with them). Their data is every ticket with that phone
(with its history), every conversation of those tickets or given, and in those conversations: Rasa's
stored events (the transcript), handoffs, follow-ups, NLU inbox items, privacy notices and consents; and
the ticket lookups that missed with that phone. `export` returns it as one JSON-ready dict; `delete`
removes all of it in one transaction and returns how many rows of each kind went.

`python -m bot patient export --phone 13812345678 [--conversation ID …] [--out FILE]`
`python -m bot patient delete --phone 13812345678 [--conversation ID …] --yes`
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import column, delete, select, table
from sqlalchemy.orm import Session, selectinload

from bot import audit, lookup_limit, phone
from bot.store import db
from bot.console import tags
from bot.store.models import ConversationNote, FollowUp, Handoff, LookupMiss, NluInboxItem, PrivacyNotice, Tag, Ticket

# Rasa's SQL tracker store: one row per event of a conversation, the event as JSON in `data`.
RASA_EVENTS = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"), column("data"))
CONVERSATION_TABLES = (Handoff, FollowUp, NluInboxItem, ConversationNote, PrivacyNotice)


@dataclass(frozen=True)
class Patient:
    phone: Optional[str]
    conversations: Tuple[str, ...]


def _row(obj: Any) -> Dict[str, Any]:
    return {c.name: getattr(obj, c.key, None) for c in obj.__table__.columns}


def find(session: Session, given_phone: Optional[str], conversations: Sequence[str] = ()) -> Patient:
    """The patient's phone (checked) and every conversation of theirs: given, or on a ticket with the phone."""
    checked = phone.check(given_phone).number if given_phone else None
    if given_phone and not checked:
        raise ValueError("not a mainland mobile number")
    found = set(conversations)
    if checked:
        found.update(session.scalars(select(Ticket.conversation_id).where(Ticket.phone == checked)))
    return Patient(checked, tuple(sorted(found)))


def _tickets(session: Session, patient: Patient) -> List[Ticket]:
    wanted = [Ticket.conversation_id.in_(patient.conversations)]
    if patient.phone:
        wanted.append(Ticket.phone == patient.phone)
    query = select(Ticket).options(selectinload(Ticket.events))
    return list(session.scalars(query.where(wanted[0] if len(wanted) == 1 else (wanted[0] | wanted[1]))))


def export(session: Session, patient: Patient) -> Dict[str, Any]:
    """Everything stored about the patient, as JSON-ready data."""
    tickets = _tickets(session, patient)
    events = session.execute(
        select(RASA_EVENTS.c.sender_id, RASA_EVENTS.c.data)
        .where(RASA_EVENTS.c.sender_id.in_(patient.conversations))
        .order_by(RASA_EVENTS.c.sender_id, RASA_EVENTS.c.id)
    ).all()
    return {
        "phone": patient.phone,
        "conversations": {
            conversation: [json.loads(data) for sender, data in events if sender == conversation]
            for conversation in patient.conversations
        },
        "tickets": [{**_row(t), "history": [_row(e) for e in t.events]} for t in tickets],
        "tags": [_row(t) for t in session.scalars(select(Tag).where(tags.of_patient(patient.conversations, [t.number for t in tickets])))],
        **{
            model.__tablename__: [
                _row(row) for row in session.scalars(select(model).where(model.conversation_id.in_(patient.conversations)))
            ]
            for model in CONVERSATION_TABLES
        },
    }


def delete_transcript(session: Session, conversation_id: str) -> int:
    """Delete the conversation's stored events (Rasa's tracker store); how many went."""
    return session.execute(delete(RASA_EVENTS).where(RASA_EVENTS.c.sender_id == conversation_id)).rowcount


def delete_all(session: Session, patient: Patient) -> Dict[str, int]:
    """Delete everything `export` returns; how many rows of each table went."""
    counts: Dict[str, int] = {}
    for model in CONVERSATION_TABLES:
        result = session.execute(delete(model).where(model.conversation_id.in_(patient.conversations)))
        counts[model.__tablename__] = result.rowcount
    tickets = _tickets(session, patient)
    counts["tags"] = session.execute(
        delete(Tag).where(tags.of_patient(patient.conversations, [t.number for t in tickets])).execution_options(synchronize_session=False)
    ).rowcount
    for ticket in tickets:
        session.delete(ticket)
    counts["tickets"] = len(tickets)
    result = session.execute(delete(RASA_EVENTS).where(RASA_EVENTS.c.sender_id.in_(patient.conversations)))
    counts["events"] = result.rowcount
    if patient.phone:
        result = session.execute(delete(LookupMiss).where(LookupMiss.key.in_(lookup_limit.keys(phone=patient.phone))))
        counts["lookup_misses"] = result.rowcount
    session.flush()
    return counts


def record_access(session: Session, action: str, patient: Patient, actor: str, client: str) -> None:
    """The export or deletion (`patient_export`, `patient_delete`) in the audit log (bot/audit.py), naming the
    patient by their masked phone (or their conversations)."""
    target = phone.mask(patient.phone) if patient.phone else ", ".join(patient.conversations)
    audit.record(session, actor, action, "patient", target, client)


def command(action: str, given_phone: Optional[str], conversations: Sequence[str], out: Optional[str], yes: bool) -> int:
    """`python -m bot patient export|delete`; prints the export (or writes it to `out`) and the deleted counts."""
    if not given_phone and not conversations:
        print("give --phone and/or --conversation", file=sys.stderr)
        return 2
    if action == "delete" and not yes:
        print("deleting a patient's data cannot be undone: add --yes (export it first)", file=sys.stderr)
        return 2
    with db.session_scope() as session:
        try:
            patient = find(session, given_phone, conversations)
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        record_access(session, f"patient_{action}", patient, audit.command_actor(), "cli")
        if action == "export":
            text = json.dumps(export(session, patient), ensure_ascii=False, indent=2, default=str)
            if out:
                with open(out, "w", encoding="utf-8") as handle:
                    handle.write(text)
            else:
                print(text)
            return 0
        print(json.dumps(delete_all(session, patient), sort_keys=True))
    return 0
