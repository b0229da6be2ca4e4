"""The satisfaction question: asked once after staff finish with a patient, and the patient's score.

When staff release a handoff (the console's release) or move a ticket to resolved or closed (the console's ticket
update), one `satisfaction_survey` follow-up is scheduled for the conversation, after a short delay
(data/policies/followups.yml `satisfaction`), in the same transaction as the change. At most one per handoff and
per ticket (`dedupe_key`), and at most one per conversation within `min_hours_between`. Never after an emergency
handoff, nor for a conversation with an emergency still open, nor for a patient who asked to stop follow-ups
(`followup_stop`): checked when it is scheduled and again when it falls due (`sweep`), which also holds it back
while a person holds the conversation.

The answer is a button's payload, `/rate_service{"satisfaction_score":"5"}`: the score (1 to 5) is stored on the
latest survey sent (`status` answered, `answer` the score).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from bot.followups import records, texts
from bot.followups.records import Message
from bot.handoffs import RASA_EVENTS
from bot.store import db
from bot.store.models import FollowUp, Handoff, Ticket, utcnow

KIND = "satisfaction_survey"
SCORES = (1, 2, 3, 4, 5)
FINISHED_TICKET_STATUSES = ("resolved", "closed")
EMERGENCY = "emergency"
STOP_INTENT = "followup_stop"


@dataclass(frozen=True)
class Rated:
    """What a score did: the survey it answered (None: none was waiting), and whether it is a low score."""

    followup: Optional[FollowUp]
    low: bool


def question() -> Message:
    buttons = tuple(
        {"title": str(b["title"]), "payload": str(b["payload"])} for b in texts.node("satisfaction.buttons")
    )
    return Message(texts.text("satisfaction.question"), buttons)


def parse_score(value: object) -> Optional[int]:
    """The score 1–5 a payload carries, or None for anything else."""
    try:
        score = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return score if score in SCORES else None


def is_low(score: int) -> bool:
    return score in {int(s) for s in texts.node("satisfaction.low_scores")}


def thanks(score: int) -> Message:
    """The reply to a score: thanks, and for a low score an offer of a person or a complaint."""
    if not is_low(score):
        return Message(texts.text("satisfaction.thanks"))
    buttons = tuple(
        {"title": str(b["title"]), "payload": str(b["payload"])} for b in texts.node("satisfaction.low_buttons")
    )
    return Message(texts.text("satisfaction.thanks_low"), buttons)


def _delay(source: str) -> timedelta:
    return timedelta(minutes=float(texts.node(f"satisfaction.delay_minutes.{source}")))


def emergency_open(session: Session, conversation_id: str) -> bool:
    return (
        session.scalar(
            select(Handoff.id).where(
                Handoff.conversation_id == conversation_id, Handoff.status != "closed", Handoff.reason == EMERGENCY
            )
        )
        is not None
    )


def person_holds(session: Session, conversation_id: str) -> bool:
    """Whether a handoff of the conversation is waiting for or held by a person."""
    return (
        session.scalar(select(Handoff.id).where(Handoff.conversation_id == conversation_id, Handoff.status != "closed"))
        is not None
    )


def asked_to_stop(session: Session, conversation_id: str) -> bool:
    """Whether the patient ever said to stop follow-ups in this conversation (Rasa's stored intents)."""
    if not inspect(session.connection()).has_table("events"):
        return False
    return (
        session.scalar(
            select(RASA_EVENTS.c.sender_id).where(
                RASA_EVENTS.c.sender_id == conversation_id,
                RASA_EVENTS.c.type_name == "user",
                RASA_EVENTS.c.intent_name == STOP_INTENT,
            ).limit(1)
        )
        is not None
    )


def _asked_recently(session: Session, conversation_id: str, due_at: datetime) -> bool:
    window = timedelta(hours=float(texts.node("satisfaction.min_hours_between")))
    return (
        session.scalar(
            select(func.count(FollowUp.id)).where(
                FollowUp.conversation_id == conversation_id,
                FollowUp.kind == KIND,
                FollowUp.status != "cancelled",
                FollowUp.due_at > due_at - window,
                FollowUp.due_at < due_at + window,
            )
        )
        or 0
    ) > 0


def _schedule(
    session: Session,
    conversation_id: str,
    channel: Optional[str],
    source: str,
    key: str,
    now: Optional[datetime],
    ticket: Optional[Ticket] = None,
) -> Optional[FollowUp]:
    due_at = (now or utcnow()) + _delay(source)
    if emergency_open(session, conversation_id) or asked_to_stop(session, conversation_id):
        return None
    if _asked_recently(session, conversation_id, due_at):
        return None
    return records.schedule(
        session, conversation_id, channel, KIND, due_at, question(),
        ticket_id=ticket.id if ticket is not None else None,
        procedure=ticket.procedure if ticket is not None else None,
        dedupe_key=f"{KIND}:{key}",
    )


def handoff_released(session: Session, handoff: Handoff, now: Optional[datetime] = None) -> Optional[FollowUp]:
    """Schedule the question after staff released `handoff`; None when none is to be asked (after an emergency)."""
    if handoff.reason == EMERGENCY:
        return None
    return _schedule(session, handoff.conversation_id, handoff.channel, "handoff", f"handoff:{handoff.id}", now)


def ticket_changed(session: Session, ticket: Ticket, now: Optional[datetime] = None) -> Optional[FollowUp]:
    """Schedule the question when staff moved `ticket` to resolved or closed; None otherwise."""
    if ticket.status not in FINISHED_TICKET_STATUSES:
        return None
    return _schedule(session, ticket.conversation_id, ticket.channel, "ticket", f"ticket:{ticket.id}", now, ticket)


def sweep(now: Optional[datetime] = None, url: Optional[str] = None) -> int:
    """Before the scheduler sends what is due: cancel the due questions of conversations with an emergency open
    or whose patient asked to stop, and hold back those of conversations a person holds. How many were cancelled."""
    now = now or utcnow()
    cancelled = 0
    with db.session_scope(url) as session:
        due = session.scalars(
            select(FollowUp).where(FollowUp.kind == KIND, FollowUp.status == "scheduled", FollowUp.due_at <= now)
        ).all()
        for row in due:
            if emergency_open(session, row.conversation_id) or asked_to_stop(session, row.conversation_id):
                row.status = "cancelled"
                cancelled += 1
            elif person_holds(session, row.conversation_id):
                row.due_at = now + _delay("handoff")
    return cancelled


def answer(session: Session, conversation_id: str, score: int, now: Optional[datetime] = None) -> Rated:
    """Record `score` on the conversation's latest question sent and not yet answered."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    latest = records.latest_sent(session, conversation_id, KIND)
    if latest is not None:
        records.mark_answered(latest, str(score), now)
    return Rated(latest, is_low(score))
