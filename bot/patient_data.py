"""One patient's data, for the rights PIPL gives them (Art. 45 access and copy, Art. 47 deletion).

A patient is found by the phone on their tickets and/or by conversation ids (a widget, Telegram or
WeChat conversation the hospital identified with them). Their data is every ticket with that phone
(with its history), every conversation of those tickets or given, and in those conversations: Rasa's
stored events (the transcript), handoffs, follow-ups, NLU inbox items, internal notes, privacy notices and
consents; the tags on those conversations and tickets; the one-time codes sent for those tickets or in those
conversations (without their salted hashes); and the ticket lookups that missed against that phone, those
tickets or those conversations (bot/lookup_limit.py).
`export` returns it as one JSON-ready dict, with the audit log's entries about the patient (who read their
conversations or tickets); `delete_all` removes all of it in one transaction and returns how many rows of each
kind went. The audit entries stay (for `AUDIT_RETENTION_DAYS`, bot/retention.py): they record who processed
the data, this deletion included, and hold no content. Every table with a `conversation_id` or `phone` column
is covered (tests/test_patient_data.py checks the models' metadata against `export` and `delete_all`).

`python -m bot patient export --phone 13812345678 [--conversation ID …] [--out FILE]`
`python -m bot patient delete --phone 13812345678 [--conversation ID …] --yes`
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import and_, column, delete, or_, select, table
from sqlalchemy.orm import Session, selectinload

from bot import audit, lookup_limit, phone
from bot.store import db
from bot.console import tags
from bot.store.models import (
    AuditEntry,
    ConversationNote,
    FollowUp,
    Handoff,
    LookupMiss,
    NluInboxItem,
    PrivacyNotice,
    Tag,
    Ticket,
    TicketCode,
)

# Rasa's SQL tracker store: one row per event of a conversation, the event as JSON in `data`.
RASA_EVENTS = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"), column("data"))
CONVERSATION_TABLES = (Handoff, FollowUp, NluInboxItem, ConversationNote, PrivacyNotice)
# What a one-time code row keeps that is no one's data: the salted hash of the code.
CODE_SECRETS = ("salt", "code_hash")


@dataclass(frozen=True)
class Patient:
    phone: Optional[str]
    conversations: Tuple[str, ...]


def _row(obj: Any, leave_out: Sequence[str] = ()) -> Dict[str, Any]:
    return {c.name: getattr(obj, c.key, None) for c in obj.__table__.columns if c.name not in leave_out}


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


def _codes(patient: Patient, ticket_numbers: Sequence[str]) -> Any:
    """A condition: the one-time codes sent for the patient's tickets or in their conversations."""
    return or_(TicketCode.ticket_number.in_(sorted(ticket_numbers)), TicketCode.conversation_id.in_(patient.conversations))


def _audit_entries(session: Session, patient: Patient, ticket_numbers: Sequence[str]) -> List[AuditEntry]:
    """The audit log's entries about the patient's conversations and tickets (not those naming a masked phone:
    138****5678 may be another patient's number too)."""
    about = or_(
        and_(AuditEntry.target_kind == "conversation", AuditEntry.target.in_(patient.conversations)),
        and_(AuditEntry.target_kind == "ticket", AuditEntry.target.in_(sorted(ticket_numbers))),
    )
    return list(session.scalars(select(AuditEntry).where(about).order_by(AuditEntry.id)))


def _miss_keys(patient: Patient, ticket_numbers: Sequence[str]) -> List[str]:
    """The keys of the lookup misses (bot/lookup_limit.py) counted against the patient's phone, tickets and
    conversations."""
    found = list(lookup_limit.keys(phone=patient.phone))
    found += [key for number in ticket_numbers for key in lookup_limit.keys(ticket=number)]
    return found + [key for conversation in patient.conversations for key in lookup_limit.keys(conversation=conversation)]


def export(session: Session, patient: Patient) -> Dict[str, Any]:
    """Everything stored about the patient, as JSON-ready data."""
    tickets = _tickets(session, patient)
    numbers = [t.number for t in tickets]
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
        "tags": [_row(t) for t in session.scalars(select(Tag).where(tags.of_patient(patient.conversations, numbers)))],
        TicketCode.__tablename__: [
            _row(c, leave_out=CODE_SECRETS) for c in session.scalars(select(TicketCode).where(_codes(patient, numbers)))
        ],
        AuditEntry.__tablename__: [_row(e) for e in _audit_entries(session, patient, numbers)],
        LookupMiss.__tablename__: [
            _row(m) for m in session.scalars(select(LookupMiss).where(LookupMiss.key.in_(_miss_keys(patient, numbers))))
        ],
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
    numbers = [t.number for t in tickets]
    counts["tags"] = session.execute(
        delete(Tag).where(tags.of_patient(patient.conversations, numbers)).execution_options(synchronize_session=False)
    ).rowcount
    counts[TicketCode.__tablename__] = session.execute(
        delete(TicketCode).where(_codes(patient, numbers)).execution_options(synchronize_session=False)
    ).rowcount
    for ticket in tickets:
        session.delete(ticket)
    counts["tickets"] = len(tickets)
    result = session.execute(delete(RASA_EVENTS).where(RASA_EVENTS.c.sender_id.in_(patient.conversations)))
    counts["events"] = result.rowcount
    counts[LookupMiss.__tablename__] = session.execute(
        delete(LookupMiss).where(LookupMiss.key.in_(_miss_keys(patient, numbers))).execution_options(synchronize_session=False)
    ).rowcount
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
