"""Giving work to a colleague: the colleagues one can pick, transferring a held conversation, assigning a ticket.

Both show live: a transfer changes the handoff's holder in the queue's `queue` event (`change: transferred`),
an assignment the ticket's assignee in the `ticket` event (bot/handoff_events.py).
"""

from __future__ import annotations

from typing import List, Optional

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import handoffs
from bot.console import messages, tickets
from bot.console.deps import SessionScope, current_staff, get_sessions
from bot.console.routers.handoffs import HandoffId, http_error, handoff_out
from bot.console.routers.tickets import ticket_detail
from bot.console.schemas import AssignIn, ColleagueOut, HandoffOut, TicketDetail, TransferIn
from bot.store.models import Staff

router = APIRouter(prefix="/api", tags=["assignment"], dependencies=[Depends(current_staff)])


def _colleague(session: Session, username: str) -> Staff:
    """The enabled account named `username`; 422 otherwise (the request names nobody work can go to)."""
    colleague = session.scalars(select(Staff).where(Staff.username == username, Staff.disabled.is_(False))).first()
    if colleague is None:
        detail = messages.text("colleague_not_found", username=username)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=detail)
    return colleague


@router.get("/colleagues", response_model=List[ColleagueOut])
def colleagues(sessions: SessionScope = Depends(get_sessions)) -> List[ColleagueOut]:
    """Every enabled staff account, by display name."""
    with sessions() as session:
        accounts = session.scalars(select(Staff).where(Staff.disabled.is_(False)).order_by(Staff.display_name, Staff.id))
        return [ColleagueOut(username=a.username, display_name=a.display_name) for a in accounts]


@router.post("/handoffs/{handoff_id}/transfer", response_model=HandoffOut)
def transfer(
    handoff_id: HandoffId,
    body: TransferIn,
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
) -> HandoffOut:
    """The holder (or an admin) gives a claimed conversation to a colleague, who replies from then on."""
    try:
        with sessions() as session:
            return handoff_out(handoffs.transfer(session, handoff_id, staff, _colleague(session, body.to)))
    except handoffs.HandoffError as error:
        raise http_error(error) from error


@router.post("/tickets/{number}/assign", response_model=TicketDetail)
def assign(
    number: str, body: AssignIn, staff: Staff = Depends(current_staff), sessions: SessionScope = Depends(get_sessions)
) -> TicketDetail:
    """Assign the ticket to a colleague (or oneself), or to nobody with `"to": null`; noted in its history."""
    try:
        with sessions() as session:
            colleague: Optional[Staff] = _colleague(session, body.to) if body.to else None
            return ticket_detail(tickets.assign_ticket(session, number, staff.username, colleague))
    except tickets.TicketNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=messages.text("ticket_not_found", number=number)) from error
