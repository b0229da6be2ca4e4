"""Handing a conversation to a person: the queue of handoffs, claiming and releasing them.

A handoff is opened by the bot (actions/handoff.py) and worked by staff in the console.
Each conversation has at most one open (waiting or active) handoff; asking again reuses it,
raising its priority if the new reason is more urgent. One client (bot/client_identity.py) opens at
most `URGENT_HANDOFFS_PER_CLIENT_PER_HOUR` (3) urgent handoffs an hour, so a script cannot flood the
on-call queue; beyond that the patient is still told to call 120 and the on-call line, and nothing is queued.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from sqlalchemy import case, column, func, inspect, or_, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import KeyedError
from bot.hospital import Hospital
from bot.roles import Permission
from bot.settings import positive_number
from bot.store.db import session_scope
from bot.store.models import Handoff, Staff, utcnow

log = logging.getLogger(__name__)

URGENT = "urgent"
URGENT_WINDOW = timedelta(hours=1)
PRIORITY_RANK = {URGENT: 0, "high": 1, "normal": 2}

# The latest user intent decides why the patient is handed over and how urgently.
REASON_BY_INTENT = {
    "report_emergency": ("emergency", "urgent"),
    "express_anger": ("anger", "high"),
    "request_human": ("user_request", "normal"),
    "nlu_fallback": ("fallback", "normal"),
}
DEFAULT_REASON = ("user_request", "normal")
RED_FLAG_INTENT = "report_emergency"

# Rasa's SQL tracker store table (rasa.core.tracker_store.SQLTrackerStore), in the same database.
RASA_EVENTS = table(
    "events", column("sender_id"), column("type_name"), column("intent_name"), column("timestamp")
)


class HandoffError(KeyedError):
    """A handoff operation that cannot be done."""


class HandoffNotFound(HandoffError):
    pass


class HandoffConflict(HandoffError):
    """The handoff is not in a state that allows the operation (already claimed, closed, …)."""


class NotHolder(HandoffError):
    """Only the staff member holding the handoff may do this."""


def reason_for_intent(intent: Optional[str]) -> Tuple[str, str]:
    return REASON_BY_INTENT.get(intent or "", DEFAULT_REASON)


def _rank():  # type: ignore[no-untyped-def]
    return case(PRIORITY_RANK, value=Handoff.priority, else_=len(PRIORITY_RANK))


def client_hash(client: Optional[str]) -> Optional[str]:
    """What a handoff keeps of the client that asked: a SHA-256, never the address itself."""
    return hashlib.sha256(client.encode("utf-8")).hexdigest() if client else None


def _open_of(session: Session, conversation_id: str) -> Optional[Handoff]:
    return session.scalars(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status != "closed")
    ).first()


def open_handoff(
    session: Session, conversation_id: str, channel: str, reason: str, priority: str, client: Optional[str] = None
) -> Handoff:
    """The conversation's open handoff, created or, if the new priority is higher, upgraded."""
    current = _open_of(session, conversation_id)
    if current is None:
        current = Handoff(
            conversation_id=conversation_id, channel=channel, reason=reason, priority=priority,
            client_hash=client_hash(client), created_at=utcnow(),
        )
        session.add(current)
    elif PRIORITY_RANK[priority] < PRIORITY_RANK[current.priority]:
        current.reason, current.priority = reason, priority
        current.client_hash = client_hash(client) or current.client_hash
    session.flush()
    return current


def urgent_limit_reached(session: Session, conversation_id: str, client: Optional[str], now: datetime) -> bool:
    """Whether an urgent request would add to the client's urgent handoffs of the last hour beyond the limit.

    Asking again in a conversation whose handoff is already urgent adds nothing and is never limited."""
    if not client:
        return False
    current = _open_of(session, conversation_id)
    if current is not None and current.priority == URGENT:
        return False
    recent = session.scalar(
        select(func.count(Handoff.id)).where(
            Handoff.client_hash == client_hash(client),
            Handoff.priority == URGENT,
            Handoff.created_at > now - URGENT_WINDOW,
        )
    )
    return int(recent or 0) >= int(positive_number("URGENT_HANDOFFS_PER_CLIENT_PER_HOUR", 3))


def queue_position(session: Session, handoff: Handoff) -> int:
    """1 for the next conversation staff will take; an active handoff is already being served."""
    if handoff.status != "waiting":
        return 1
    rank = PRIORITY_RANK[handoff.priority]
    ahead = session.scalar(
        select(func.count(Handoff.id)).where(
            Handoff.status == "waiting",
            Handoff.id != handoff.id,
            or_(
                _rank() < rank,
                (_rank() == rank) & (Handoff.created_at < handoff.created_at),
                (_rank() == rank) & (Handoff.created_at == handoff.created_at) & (Handoff.id < handoff.id),
            ),
        )
    )
    return int(ahead or 0) + 1


@dataclass(frozen=True)
class Notice:
    """What the patient is told after being handed over (`handoff_id` None: nothing was queued)."""

    handoff_id: Optional[int]
    reason: str
    priority: str
    position: int
    staffed: bool
    text: str


def request_handoff(
    hospital: Hospital,
    conversation_id: str,
    channel: str,
    intent: Optional[str],
    now: Optional[datetime] = None,
    database_url: Optional[str] = None,
    client: Optional[str] = None,
) -> Notice:
    """Queue the conversation for a person and word the honest answer for the patient.

    An urgent handoff (an emergency) is told that the on-call team was alerted, never a queue position or a wait.
    A client over its urgent limit is told to call 120 and the on-call line, and nothing is queued.
    """
    now = now or utcnow()
    reason, priority = reason_for_intent(intent)
    for attempt in range(2):
        try:
            with session_scope(database_url) as session:
                if priority == URGENT and urgent_limit_reached(session, conversation_id, client, now):
                    log.warning("urgent handoff of %s not queued: its client's limit is reached", conversation_id)
                    text = hospital.message("urgent_limited")
                    return Notice(None, reason, priority, 0, hospital.is_staffed(now), text)
                handoff = open_handoff(session, conversation_id, channel, reason, priority, client)
                position = queue_position(session, handoff)
                handoff_id, reason, priority = handoff.id, handoff.reason, handoff.priority
            break
        except IntegrityError:
            # Another message of the same conversation opened it at the same moment: reuse that one.
            if attempt:
                raise
    staffed = hospital.is_staffed(now)
    if priority == URGENT:
        text = hospital.message("urgent")
    elif staffed:
        text = hospital.message("queued", position=position, wait_minutes=hospital.expected_wait_minutes(position))
    else:
        opens_at = hospital.opens_at_text(hospital.next_opening(now))
        text = hospital.message("after_hours", position=position, opens_at=opens_at)
    return Notice(handoff_id, reason, priority, position, staffed, text)


def escalate_red_flags(session: Session) -> List[int]:
    """Make a handoff urgent when the patient reported a red flag after it was opened.

    Rasa itself raises the handoff in the same turn (bot/rasa_runtime.py runs the emergency rule for a
    paused conversation); this is the net for a turn whose `action_handoff` failed (the action server
    away): Rasa still classified and stored the message. Returns the ids of escalated handoffs.
    """
    if not inspect(session.connection()).has_table("events"):
        return []
    candidates = list(
        session.scalars(select(Handoff).where(Handoff.status != "closed", Handoff.priority != "urgent"))
    )
    if not candidates:
        return []
    latest = dict(
        session.execute(
            select(RASA_EVENTS.c.sender_id, func.max(RASA_EVENTS.c.timestamp))
            .where(
                RASA_EVENTS.c.type_name == "user",
                RASA_EVENTS.c.intent_name == RED_FLAG_INTENT,
                RASA_EVENTS.c.sender_id.in_([h.conversation_id for h in candidates]),
            )
            .group_by(RASA_EVENTS.c.sender_id)
        ).all()
    )
    escalated = []
    for handoff in candidates:
        reported_at = latest.get(handoff.conversation_id)
        if reported_at is not None and reported_at > handoff.created_at.timestamp():
            handoff.reason, handoff.priority = REASON_BY_INTENT[RED_FLAG_INTENT]
            escalated.append(handoff.id)
    session.flush()
    return escalated


def list_handoffs(session: Session, status: Optional[str] = None) -> List[Handoff]:
    """Urgent first, then oldest."""
    query = select(Handoff).order_by(_rank(), Handoff.created_at, Handoff.id)
    if status:
        query = query.where(Handoff.status == status)
    return list(session.scalars(query))


def get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffNotFound("handoff_not_found", handoff_id=handoff_id)
    return handoff


def claim(session: Session, handoff_id: int, staff: Staff) -> Handoff:
    """Take a waiting handoff. Atomic: of two staff claiming at once exactly one wins."""
    taken = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="active", assigned_to=staff.id, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    handoff = get_handoff(session, handoff_id)
    session.refresh(handoff)
    if taken.rowcount != 1:
        if handoff.status == "active":
            if handoff.staff is None:
                raise HandoffConflict("handoff_claimed")
            raise HandoffConflict("handoff_claimed_by", holder=handoff.staff.display_name)
        raise HandoffConflict("handoff_closed")
    return handoff


def unclaim(session: Session, handoff_id: int, staff: Staff) -> None:
    """Put a handoff `staff` just claimed back in the queue (the claim could not take effect)."""
    session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "active", Handoff.assigned_to == staff.id)
        .values(status="waiting", assigned_to=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )


def ensure_holder(handoff: Handoff, staff: Staff) -> None:
    if handoff.status != "active":
        raise HandoffConflict("handoff_claim_first" if handoff.status == "waiting" else "handoff_closed")
    if handoff.assigned_to != staff.id:
        raise NotHolder("handoff_not_holder")


def transfer(session: Session, handoff_id: int, staff: Staff, colleague: Staff) -> Handoff:
    """Give an active handoff held by `staff` (a supervisor or an admin may move any) to `colleague`; the bot stays paused."""
    handoff = get_handoff(session, handoff_id)
    if not staff.may(Permission.REASSIGN):
        ensure_holder(handoff, staff)
    elif handoff.status != "active":
        raise HandoffConflict("handoff_claim_first" if handoff.status == "waiting" else "handoff_closed")
    if colleague.id == handoff.assigned_to:
        raise HandoffConflict("handoff_already_with", holder=colleague.display_name)
    moved = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "active", Handoff.assigned_to == handoff.assigned_to)
        .values(assigned_to=colleague.id)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise HandoffConflict("handoff_closed")
    session.refresh(handoff)
    return handoff


def record_reply(session: Session, handoff_id: int) -> None:
    """Note the first time a person answered the patient of this handoff (the reports' first-response time)."""
    session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.first_reply_at.is_(None))
        .values(first_reply_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def close(session: Session, handoff_id: int, staff: Staff) -> Handoff:
    """Close a handoff held by `staff` (a supervisor or an admin may close any open one)."""
    handoff = get_handoff(session, handoff_id)
    if not staff.may(Permission.REASSIGN):
        ensure_holder(handoff, staff)
    elif handoff.status == "closed":
        raise HandoffConflict("handoff_closed")
    closed = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == handoff.status, Handoff.status != "closed")
        .values(status="closed", closed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        raise HandoffConflict("handoff_closed")
    session.refresh(handoff)
    return handoff
