"""What the hospital sends of its own accord (bot/followups): a patient's schedule, and the tickets whose
time limit is near or has passed."""

from __future__ import annotations

from typing import List, Optional

from fastapi import APIRouter, Depends, Query

from bot.console.deps import SessionScope, current_staff, get_sessions
from bot.console.schemas import FollowUpOut, FollowUpStatus, TicketDeadlineOut
from bot.followups import deadlines, records
from bot.followups.records import Message
from bot.store.models import FollowUp, utcnow

router = APIRouter(prefix="/api/followups", tags=["followups"], dependencies=[Depends(current_staff)])


def followup_out(row: FollowUp) -> FollowUpOut:
    return FollowUpOut(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        kind=row.kind,
        due_at=row.due_at,
        status=row.status,
        text=Message.from_json(row.payload).text,
        ticket_number=row.ticket.number if row.ticket is not None else None,
        procedure=row.procedure,
        sent_at=row.sent_at,
        answer=row.answer,
        last_error=row.last_error,
    )


@router.get("", response_model=List[FollowUpOut])
def list_followups(
    conversation_id: Optional[str] = Query(None, max_length=255),
    status: Optional[FollowUpStatus] = None,
    sessions: SessionScope = Depends(get_sessions),
) -> List[FollowUpOut]:
    """Earliest due first."""
    with sessions() as session:
        rows = records.list_followups(session, conversation_id, status.value if status else None)
        return [followup_out(row) for row in rows]


@router.get("/deadlines", response_model=List[TicketDeadlineOut])
def ticket_deadlines(
    conversation_id: Optional[str] = Query(None, max_length=255), sessions: SessionScope = Depends(get_sessions)
) -> List[TicketDeadlineOut]:
    """Open tickets whose time limit is within the warning hours (`due_soon`) or has passed (`overdue`),
    overdue first, then the nearest; with `conversation_id`, that patient's tickets in any state."""
    now = utcnow()
    out: List[TicketDeadlineOut] = []
    with sessions() as session:
        for ticket in deadlines.open_tickets(session, list(deadlines.steps_by_kind())):
            if conversation_id and ticket.conversation_id != conversation_id:
                continue
            deadline = deadlines.ticket_deadline(ticket, now)
            if deadline is None or (deadline.state == "ok" and not conversation_id):
                continue
            out.append(
                TicketDeadlineOut(
                    number=ticket.number,
                    conversation_id=ticket.conversation_id,
                    kind=ticket.kind,
                    status=ticket.status,
                    steps=deadline.label,
                    due_at=deadline.due_at,
                    state=deadline.state,
                    new_due_at=deadline.new_due_at,
                )
            )
    return sorted(out, key=lambda d: (d.state != "overdue", d.due_at))
