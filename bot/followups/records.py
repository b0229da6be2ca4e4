"""Follow-ups as durable records: create, list, cancel and answer them (table `followups`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.models import FOLLOWUP_KINDS, FOLLOWUP_STATUSES, FollowUp, utcnow

MAX_TEXT_CHARS = 4000


@dataclass(frozen=True)
class Message:
    """What the patient receives: a text and, optionally, quick-reply buttons (`title`, `payload`)."""

    text: str
    buttons: Sequence[Dict[str, str]] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a follow-up needs a text")
        if len(self.text) > MAX_TEXT_CHARS:
            raise ValueError(f"a follow-up text has at most {MAX_TEXT_CHARS} characters")

    def to_json(self) -> str:
        body: Dict[str, Any] = {"text": self.text}
        if self.buttons:
            body["buttons"] = [dict(b) for b in self.buttons]
        return json.dumps(body, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> "Message":
        body = json.loads(raw)
        return cls(text=body["text"], buttons=tuple(body.get("buttons") or ()))


def schedule(
    session: Session,
    conversation_id: str,
    channel: Optional[str],
    kind: str,
    due_at: datetime,
    message: Message,
    ticket_id: Optional[int] = None,
    procedure: Optional[str] = None,
    dedupe_key: Optional[str] = None,
) -> Optional[FollowUp]:
    """Store a follow-up in state `scheduled`; with a `dedupe_key` already used, store nothing and return None."""
    if kind not in FOLLOWUP_KINDS:
        raise ValueError(f"kind must be one of {FOLLOWUP_KINDS}, got {kind!r}")
    if not conversation_id:
        raise ValueError("a follow-up needs the patient's conversation")
    row = FollowUp(
        conversation_id=conversation_id,
        channel=channel,
        kind=kind,
        status="scheduled",
        due_at=due_at,
        payload=message.to_json(),
        ticket_id=ticket_id,
        procedure=procedure,
        dedupe_key=dedupe_key,
        attempts=0,
        created_at=utcnow(),
    )
    if dedupe_key is None:
        session.add(row)
        session.flush()
        return row
    if session.scalar(select(FollowUp.id).where(FollowUp.dedupe_key == dedupe_key)) is not None:
        return None
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def list_followups(
    session: Session, conversation_id: Optional[str] = None, status: Optional[str] = None
) -> List[FollowUp]:
    """By due time, earliest first."""
    if status is not None and status not in FOLLOWUP_STATUSES:
        raise ValueError(f"status must be one of {FOLLOWUP_STATUSES}, got {status!r}")
    query = select(FollowUp).order_by(FollowUp.due_at, FollowUp.id)
    if conversation_id:
        query = query.where(FollowUp.conversation_id == conversation_id)
    if status:
        query = query.where(FollowUp.status == status)
    return list(session.scalars(query))


def cancel_scheduled(session: Session, conversation_id: str, kind: str) -> int:
    """Cancel the conversation's scheduled follow-ups of one kind; how many were cancelled."""
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.conversation_id == conversation_id, FollowUp.kind == kind, FollowUp.status == "scheduled")
        .values(status="cancelled")
    )
    return int(result.rowcount or 0)


def latest_sent(session: Session, conversation_id: str, kind: str) -> Optional[FollowUp]:
    """The conversation's most recently sent follow-up of this kind (the one a reply answers)."""
    return session.scalars(
        select(FollowUp)
        .where(FollowUp.conversation_id == conversation_id, FollowUp.kind == kind, FollowUp.status == "sent")
        .order_by(FollowUp.sent_at.desc(), FollowUp.id.desc())
        .limit(1)
    ).first()


def mark_answered(row: FollowUp, answer: str, now: Optional[datetime] = None) -> None:
    row.status = "answered"
    row.answer = answer[:MAX_TEXT_CHARS]
    row.answered_at = now or utcnow()
