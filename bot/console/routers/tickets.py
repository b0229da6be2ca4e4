"""The patient's tickets: list, one with its history, change status and add notes."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, status

from bot import phone
from bot.console import messages, tickets
from bot.console import tags as tag_names
from bot.console.deps import SessionScope, audited, current_staff, get_sessions
from bot.console.schemas import (
    TicketCategory,
    TicketDetail,
    TicketEventOut,
    TicketKind,
    TicketOut,
    TicketSeverity,
    TicketStatus,
    TicketUpdate,
)
from bot.store.models import Staff, Ticket, utcnow

router = APIRouter(prefix="/api/tickets", tags=["tickets"], dependencies=[Depends(current_staff)])


def ticket_out(ticket: Ticket, now: Optional[datetime] = None) -> TicketOut:
    return TicketOut(
        number=ticket.number,
        conversation_id=ticket.conversation_id,
        kind=ticket.kind,
        category=ticket.category,
        severity=ticket.severity,
        procedure=ticket.procedure,
        status=ticket.status,
        created_at=ticket.created_at,
        phone_masked=phone.mask(ticket.phone),
        overdue=tickets.is_overdue(ticket, now or utcnow()),
        assigned_to=ticket.assignee.username if ticket.assignee else None,
        assigned_to_name=ticket.assignee.display_name if ticket.assignee else None,
    )


def ticket_detail(ticket: Ticket) -> TicketDetail:
    history = [
        TicketEventOut(
            time=e.created_at,
            actor=e.actor,
            from_status=e.from_status,
            to_status=e.to_status,
            note=e.note,
            patient_visible=bool(e.patient_visible),
        )
        for e in ticket.events
    ]
    return TicketDetail(
        **ticket_out(ticket).dict(),
        channel=ticket.channel,
        surgery_time=ticket.surgery_time,
        description=ticket.description,
        updated_at=ticket.updated_at,
        history=history,
    )


@router.get("", response_model=List[TicketOut])
def list_tickets(
    conversation_id: Optional[str] = None,
    status: Optional[TicketStatus] = None,
    kind: Optional[TicketKind] = None,
    category: Optional[TicketCategory] = None,
    severity: Optional[TicketSeverity] = None,
    overdue: Optional[bool] = None,
    q: Optional[str] = Query(None, max_length=40, description="a ticket number, a masked phone 138****5678 or a phone's last digits"),
    assignee: Optional[str] = Query(None, max_length=64, description="`me`, `none` (nobody) or a colleague's username"),
    tag: Optional[str] = Query(None, max_length=32, description="a tag of bot/console/tags.yml"),
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
) -> List[TicketOut]:
    """Newest first (at most 500): by conversation, status, kind, category, severity, overdue, assignee, number or phone."""
    where = tickets.TicketFilter(
        conversation_id=conversation_id,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        category=category.value if category else None,
        severity=severity.value if severity else None,
        overdue=overdue,
        search=q,
        assignee=staff.username if assignee == tickets.MINE else assignee,
        tag=tag,
    )
    now = utcnow()
    with sessions() as session:
        found = tickets.list_tickets(session, where, now)
        tagged = tag_names.tags_of(session, "ticket", [t.number for t in found])
        return [ticket_out(t, now).copy(update={"tags": tagged[t.number]}) for t in found]


@router.get("/{number}", response_model=TicketDetail, dependencies=[Depends(audited("ticket_read", "ticket", "number"))])
def get_ticket(number: str, sessions: SessionScope = Depends(get_sessions)) -> TicketDetail:
    """The ticket with its history; the phone masked (GET /api/tickets/{number}/phone reveals it). Each read is
    written to the audit log."""
    try:
        with sessions() as session:
            return ticket_detail(tickets.get_ticket(session, number))
    except tickets.TicketNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=messages.text("ticket_not_found", number=number)) from error


@router.patch("/{number}", response_model=TicketDetail)
def update_ticket(
    number: str,
    body: TicketUpdate,
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
) -> TicketDetail:
    try:
        with sessions() as session:
            ticket = tickets.update_ticket(
                session, number, staff.username, body.status.value if body.status else None, body.note, body.patient_visible
            )
            return ticket_detail(ticket)
    except tickets.TicketNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=messages.text("ticket_not_found", number=number)) from error
