"""The console's reads and updates of tickets (tickets are created by the bot, bot/tickets.py)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from bot.followups import deadlines, progress, satisfaction
from bot.console import messages, tags
from bot.store.models import Staff, Ticket, TicketEvent, utcnow

# What staff type to find a patient's tickets by phone: the masked form (138****5678), its two ends, or the last digits.
_MASKED_PHONE = re.compile(r"^(\d{3})\*+(\d{4})$")
_DIGITS = re.compile(r"^\d{4,11}$")
# A list is for reading, not for export: at most this many tickets, newest first.
LIST_LIMIT = 500
# The assignee filter's words besides a colleague's username: the caller's own tickets, and nobody's.
MINE = "me"
UNASSIGNED = "none"


class TicketNotFound(LookupError):
    """No ticket has the number (the exception's only argument)."""


@dataclass(frozen=True)
class TicketFilter:
    """What the console's ticket list narrows by; every field left None matches every ticket."""

    conversation_id: Optional[str] = None
    status: Optional[str] = None
    kind: Optional[str] = None
    category: Optional[str] = None
    severity: Optional[str] = None
    overdue: Optional[bool] = None
    search: Optional[str] = None
    # A staff username, or UNASSIGNED for the tickets nobody was assigned.
    assignee: Optional[str] = None
    tag: Optional[str] = None


def search_condition(search: str) -> ColumnElement:
    """A ticket number (or its beginning), a masked phone 138****5678, or a phone's last 4 to 11 digits."""
    term = unicodedata.normalize("NFKC", search).strip().replace(" ", "")
    masked = _MASKED_PHONE.match(term)
    if masked:
        return Ticket.phone.like(f"{masked.group(1)}%{masked.group(2)}")
    prefix = re.sub(r"[^0-9A-Z]", "", term.upper())
    if not prefix:
        return false()
    number = Ticket.number.like(f"{prefix}%")
    if _DIGITS.match(term):
        return or_(number, Ticket.phone.like(f"%{term}"))
    return number


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    deadline = deadlines.ticket_deadline(ticket, now)
    return deadline is not None and deadline.state == "overdue"


def list_tickets(session: Session, where: TicketFilter = TicketFilter(), now: Optional[datetime] = None) -> List[Ticket]:
    """Newest first, at most LIST_LIMIT, with their history loaded (their time limits need it)."""
    query = select(Ticket).options(selectinload(Ticket.events), selectinload(Ticket.assignee)).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    for column, value in (
        (Ticket.conversation_id, where.conversation_id),
        (Ticket.status, where.status),
        (Ticket.kind, where.kind),
        (Ticket.category, where.category),
        (Ticket.severity, where.severity),
    ):
        if value:
            query = query.where(column == value)
    if where.assignee == UNASSIGNED:
        query = query.where(Ticket.assigned_to.is_(None))
    elif where.assignee:
        query = query.where(Ticket.assignee.has(Staff.username == where.assignee))
    if where.tag:
        query = query.where(tags.tagged("ticket", Ticket.number, where.tag))
    if where.search and where.search.strip():
        query = query.where(search_condition(where.search))
    found = list(session.scalars(query.limit(LIST_LIMIT if where.overdue is None else None)))
    if where.overdue is None:
        return found
    moment = now or utcnow()
    return [t for t in found if is_overdue(t, moment) == where.overdue][:LIST_LIMIT]


def get_ticket(session: Session, number: str) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.number == number)).first()
    if ticket is None:
        raise TicketNotFound(number)
    return ticket


def update_ticket(
    session: Session, number: str, actor: str, status: Optional[str], note: Optional[str], patient_visible: bool = False
) -> Ticket:
    """Change the status and/or add a note; either way one entry in the ticket's history.

    The note is internal to staff unless `patient_visible`: only then does the patient see it in the status.
    The patient is told (a `ticket_update` follow-up) and, when the ticket is resolved or closed, asked how
    satisfied they are (bot/followups/satisfaction.py), in the same transaction."""
    ticket = get_ticket(session, number)
    new_status = status if status and status != ticket.status else None
    if new_status is None and note is None:
        return ticket
    ticket.events.append(
        TicketEvent(
            actor=actor,
            from_status=ticket.status if new_status else None,
            to_status=new_status,
            note=note,
            patient_visible=bool(note) and patient_visible,
        )
    )
    if new_status:
        ticket.status = new_status
    ticket.updated_at = utcnow()
    session.flush()
    progress.ticket_changed(session, ticket, ticket.events[-1])
    if new_status:
        satisfaction.ticket_changed(session, ticket)
    session.refresh(ticket)
    return ticket


def assign_ticket(session: Session, number: str, actor: str, colleague: Optional[Staff]) -> Ticket:
    """Assign the ticket to `colleague` (None: to nobody), written in its history as an internal entry."""
    ticket = get_ticket(session, number)
    new_id = colleague.id if colleague else None
    if ticket.assigned_to == new_id:
        return ticket
    note = messages.text("ticket_assigned", name=colleague.display_name) if colleague else messages.text("ticket_unassigned")
    ticket.assigned_to = new_id
    ticket.events.append(TicketEvent(actor=actor, note=note, patient_visible=False))
    ticket.updated_at = utcnow()
    session.flush()
    session.refresh(ticket)
    return ticket
