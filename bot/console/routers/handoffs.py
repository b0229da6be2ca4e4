"""The queue of handed-over conversations: list, claim, reply, release."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, List, Optional

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from bot import handoffs, hospital, reply_window
from bot.console import messages, tags
from bot.console.config import ConsoleConfig
from bot.console.deps import SessionScope, current_staff, get_config, get_rasa, get_sessions
from bot.console.rasa_api import RasaClient, RasaUnavailable
from bot.console.schemas import HandoffOut, HandoffStatus, MessageIn, MessageOut
from bot.followups import satisfaction
from bot.roles import Permission
from bot.store.models import Handoff, Staff, utcnow

# Ids are database integers: a larger number names no handoff (and would overflow the driver).
HandoffId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"], dependencies=[Depends(current_staff)])


def handoff_out(handoff: Handoff, now: Optional[datetime] = None) -> HandoffOut:
    end = handoff.claimed_at or handoff.closed_at or now or utcnow()
    return HandoffOut(
        id=handoff.id,
        conversation_id=handoff.conversation_id,
        channel=handoff.channel,
        reason=handoff.reason,
        priority=handoff.priority,
        status=handoff.status,
        created_at=handoff.created_at,
        claimed_at=handoff.claimed_at,
        closed_at=handoff.closed_at,
        assigned_to=handoff.staff.username if handoff.staff else None,
        assigned_to_name=handoff.staff.display_name if handoff.staff else None,
        waiting_seconds=max(0, int((end - handoff.created_at).total_seconds())),
    )


def http_error(error: handoffs.HandoffError) -> HTTPException:
    detail = messages.text(error.key, **error.values)
    if isinstance(error, handoffs.HandoffNotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)
    if isinstance(error, handoffs.NotHolder):
        return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)
    return HTTPException(status.HTTP_409_CONFLICT, detail=detail)


def _rasa_error(what: str, error: RasaUnavailable) -> HTTPException:
    """502: `what` (a key of bot/console/messages.yml) could not be done because Rasa refused or was down."""
    return HTTPException(status.HTTP_502_BAD_GATEWAY, detail=messages.text("rasa_failed", what=messages.text(what), error=error))


@router.get("", response_model=List[HandoffOut])
def list_handoffs(
    status: Optional[HandoffStatus] = None,
    tag: Optional[str] = Query(None, max_length=32, description="only conversations with this tag (bot/console/tags.yml)"),
    sessions: SessionScope = Depends(get_sessions),
) -> List[HandoffOut]:
    """Urgent first, then oldest, each with its conversation's tags. A red flag the patient reported while
    waiting makes a handoff urgent."""
    now = utcnow()
    with sessions() as session:
        handoffs.escalate_red_flags(session)
        found = handoffs.list_handoffs(session, status.value if status else None)
        tagged = tags.tags_of(session, "conversation", [h.conversation_id for h in found])
        return [
            handoff_out(h, now).copy(update={"tags": tagged[h.conversation_id]})
            for h in found
            if tag is None or tag in tagged[h.conversation_id]
        ]


@router.get("/{handoff_id}", response_model=HandoffOut)
def get_handoff(handoff_id: HandoffId, sessions: SessionScope = Depends(get_sessions)) -> HandoffOut:
    try:
        with sessions() as session:
            return handoff_out(handoffs.get_handoff(session, handoff_id))
    except handoffs.HandoffError as error:
        raise http_error(error) from error


@router.post("/{handoff_id}/claim", response_model=HandoffOut)
def claim(
    handoff_id: HandoffId,
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
    rasa: RasaClient = Depends(get_rasa),
) -> HandoffOut:
    """Take the conversation. Of two staff claiming at once exactly one wins; the other gets 409."""
    try:
        with sessions() as session:
            claimed = handoff_out(handoffs.claim(session, handoff_id, staff))
    except handoffs.HandoffError as error:
        raise http_error(error) from error
    try:
        rasa.pause(claimed.conversation_id)
    except RasaUnavailable as error:
        with sessions() as session:
            handoffs.unclaim(session, handoff_id, staff)
        raise _rasa_error("claim_failed", error) from error
    return claimed


@router.post("/{handoff_id}/messages", response_model=MessageOut)
def send_message(
    handoff_id: HandoffId,
    body: MessageIn,
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
    rasa: RasaClient = Depends(get_rasa),
    config: ConsoleConfig = Depends(get_config),
) -> MessageOut:
    """Deliver a reply to the patient on their own channel; only the holder may reply.

    409 when the channel no longer lets the hospital write to the patient (WeChat: 48 hours after their
    last message); nothing is sent then."""
    try:
        with sessions() as session:
            handoff = handoffs.get_handoff(session, handoff_id)
            handoffs.ensure_holder(handoff, staff)
        if not reply_window.is_open(handoff.channel, handoff.conversation_id, url=config.database_url):
            window = reply_window.WINDOWS[handoff.channel]
            detail = messages.text("reply_window_closed", hours=int(window.total_seconds() // 3600))
            raise HTTPException(status.HTTP_409_CONFLICT, detail=detail)
        rasa.send_staff_message(handoff.conversation_id, handoff.channel, body.text, staff.username)
        with sessions() as session:
            handoffs.record_reply(session, handoff_id)
    except handoffs.HandoffError as error:
        raise http_error(error) from error
    except RasaUnavailable as error:
        raise _rasa_error("message_failed", error) from error
    return MessageOut(delivered=True, channel=handoff.channel)


@router.post("/{handoff_id}/release", response_model=HandoffOut)
def release(
    handoff_id: HandoffId,
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
    rasa: RasaClient = Depends(get_rasa),
) -> HandoffOut:
    """Close the handoff and give the conversation back to the bot, telling the patient; the satisfaction
    question follows a little later (bot/followups/satisfaction.py)."""
    try:
        with sessions() as session:
            handoff = handoffs.get_handoff(session, handoff_id)
            if not staff.may(Permission.REASSIGN):
                handoffs.ensure_holder(handoff, staff)
            elif handoff.status == "closed":
                raise handoffs.HandoffConflict("handoff_closed")
        rasa.resume(handoff.conversation_id, handoff.channel, hospital.load().message("released"))
        with sessions() as session:
            closed = handoffs.close(session, handoff_id, staff)
            satisfaction.handoff_released(session, closed)
            return handoff_out(closed)
    except handoffs.HandoffError as error:
        raise http_error(error) from error
    except RasaUnavailable as error:
        raise _rasa_error("release_failed", error) from error
