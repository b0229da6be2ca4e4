"""A patient's full phone number on request (supervisors and admins), and the audit log that records it (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, status

from bot import audit
from bot.console import messages, tickets
from bot.console.deps import SessionScope, audited, get_sessions, permitted
from bot.console.schemas import AuditEntryOut, PhoneOut
from bot.roles import Permission
from bot.store.models import AUDIT_ACTIONS

router = APIRouter(prefix="/api", tags=["audit"])


@router.get(
    "/tickets/{number}/phone",
    response_model=PhoneOut,
    dependencies=[Depends(permitted(Permission.REVEAL_PHONE)), Depends(audited("phone_revealed", "ticket", "number"))],
)
def reveal_phone(number: str, sessions: SessionScope = Depends(get_sessions)) -> PhoneOut:
    """The ticket's full phone number, for calling the patient back; written to the audit log."""
    try:
        with sessions() as session:
            return PhoneOut(number=number, phone=tickets.get_ticket(session, number).phone)
    except tickets.TicketNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=messages.text("ticket_not_found", number=number)) from error


@router.get("/audit", response_model=List[AuditEntryOut], dependencies=[Depends(permitted(Permission.READ_AUDIT))])
def audit_log(
    actor: Optional[str] = Query(None, max_length=64, description="a staff username, or cli:<user>"),
    action: Optional[str] = Query(None, description=" · ".join(AUDIT_ACTIONS)),
    target: Optional[str] = Query(None, max_length=255, description="a conversation id, a ticket number or a masked phone"),
    since: Optional[datetime] = Query(None, description="from this time (ISO 8601)"),
    until: Optional[datetime] = Query(None, description="before this time (ISO 8601)"),
    before_id: Optional[int] = Query(None, ge=1, le=2**31 - 1, description="the next page: entries older than this id"),
    sessions: SessionScope = Depends(get_sessions),
) -> List[AuditEntryOut]:
    """Who read which transcript or ticket, revealed which phone, exported or deleted which patient's data;
    newest first, at most 200 a page."""
    if action is not None and action not in AUDIT_ACTIONS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=messages.text("unknown_audit_action", action=action))
    where = audit.AuditFilter(actor=actor, action=action, target=target, since=since, until=until, before_id=before_id)
    with sessions() as session:
        return [
            AuditEntryOut(
                id=e.id,
                actor=e.actor,
                action=e.action,
                target_kind=e.target_kind,
                target=e.target,
                client=e.client,
                created_at=e.created_at,
            )
            for e in audit.entries(session, where)
        ]
