"""The console's reads and updates of tickets (tickets are created by the bot, bot/tickets.py)."""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.followups import progress
from bot.store.models import Ticket, TicketEvent, utcnow


class TicketNotFound(LookupError):
    """No ticket has the number (the exception's only argument)."""


def list_tickets(session: Session, conversation_id: Optional[str] = None, status: Optional[str] = None) -> List[Ticket]:
    """Newest first."""
    query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if conversation_id:
        query = query.where(Ticket.conversation_id == conversation_id)
    if status:
        query = query.where(Ticket.status == status)
    return list(session.scalars(query))


def get_ticket(session: Session, number: str) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.number == number)).first()
    if ticket is None:
        raise TicketNotFound(number)
    return ticket


def update_ticket(
    session: Session, number: str, actor: str, status: Optional[str], note: Optional[str], patient_visible: bool = False
) -> Ticket:
    """Change the status and/or add a note; either way one entry in the ticket's history.

    The note is internal to staff unless `patient_visible`: only then does the patient see it in the status."""
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
    session.refresh(ticket)
    return ticket
