"""What the hospital sends of its own accord (bot/followups): a patient's schedule, and the tickets whose
time limit is near or has passed."""

from __future__ import annotations

from typing import List, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, status

from bot.console.config import ConsoleConfig
from bot.console.deps import SessionScope, current_staff, get_config, get_sessions
from bot import policies, procedures
from bot.console import messages
from bot.console.schemas import FollowUpOut, FollowUpStatus, PostopPlanIn, TicketDeadlineOut
from bot.followups import checkins, deadlines, records
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


@router.post("/postop", response_model=List[FollowUpOut])
def plan_postop_checkins(
    body: PostopPlanIn, config: ConsoleConfig = Depends(get_config), sessions: SessionScope = Depends(get_sessions)
) -> List[FollowUpOut]:
    """Record a patient's procedure and its day: the check-ins still ahead, replacing those scheduled before."""
    procedure = procedures.recognize(body.procedure, policies.current(config.database_url))
    if procedure != body.procedure:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=messages.text("unknown_procedure", procedure=body.procedure))
    with sessions() as session:
        rows = checkins.plan(
            session, body.conversation_id, body.channel, procedure, body.surgery_date, body.tier.value
        )
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
