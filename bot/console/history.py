"""What the console shows beside a transcript: the same patient's other conversations, tickets and follow-ups.

A patient is recognised by the conversation id their channel gives them (a Telegram chat or a WeChat openid
keeps its id across sessions, so earlier sessions are part of the same conversation) and by the phone on
their tickets: every conversation that opened a ticket with one of those phones is the same patient's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional, Set

from sqlalchemy import case, func, inspect, select
from sqlalchemy.orm import Session, selectinload

from bot.handoffs import RASA_EVENTS
from bot.store.models import FollowUp, Handoff, Ticket

# How a conversation is linked to the one being read.
SAME = "same"  # the conversation itself (its earlier sessions and handoffs)
PHONE = "phone"  # another conversation that opened a ticket with the same phone
# At most this many linked conversations are read (a phone shared by a whole family stays readable).
MAX_CONVERSATIONS = 20


@dataclass
class ConversationSummary:
    conversation_id: str
    linked_by: str
    sessions: int = 0
    patient_messages: int = 0
    first_message_at: Optional[datetime] = None
    last_message_at: Optional[datetime] = None
    handoffs: List[Handoff] = field(default_factory=list)


@dataclass
class PatientHistory:
    conversations: List[ConversationSummary]
    tickets: List[Ticket]  # newest first, of every linked conversation
    followups: List[FollowUp]  # earliest due first, of the other linked conversations


def linked_conversations(session: Session, conversation_id: str) -> List[str]:
    """The conversation first, then the others whose tickets carry one of its tickets' phones."""
    phones = select(Ticket.phone).where(Ticket.conversation_id == conversation_id).scalar_subquery()
    others = session.scalars(
        select(Ticket.conversation_id)
        .where(Ticket.phone.in_(phones), Ticket.conversation_id != conversation_id)
        .group_by(Ticket.conversation_id)
        .order_by(func.max(Ticket.created_at).desc())
        .limit(MAX_CONVERSATIONS - 1)
    ).all()
    return [conversation_id, *others]


def _moment(timestamp: Optional[float]) -> Optional[datetime]:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc) if timestamp is not None else None


def _message_counts(session: Session, ids: List[str]) -> Dict[str, tuple]:
    """Per conversation: sessions started, patient messages, first and last message time (Rasa's events)."""
    if not inspect(session.connection()).has_table("events"):
        return {}
    events = RASA_EVENTS.c
    is_user = events.type_name == "user"
    rows = session.execute(
        select(
            events.sender_id,
            func.sum(case((events.type_name == "session_started", 1), else_=0)),
            func.sum(case((is_user, 1), else_=0)),
            func.min(case((is_user, events.timestamp))),
            func.max(case((is_user, events.timestamp))),
        )
        .where(events.sender_id.in_(ids))
        .group_by(events.sender_id)
    ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def patient_history(session: Session, conversation_id: str) -> PatientHistory:
    ids = linked_conversations(session, conversation_id)
    counts = _message_counts(session, ids)
    handoffs: Dict[str, List[Handoff]] = {}
    for handoff in session.scalars(select(Handoff).where(Handoff.conversation_id.in_(ids)).order_by(Handoff.created_at.desc())):
        handoffs.setdefault(handoff.conversation_id, []).append(handoff)
    summaries = []
    for linked in ids:
        sessions, messages, first, last = counts.get(linked, (0, 0, None, None))
        summaries.append(
            ConversationSummary(
                linked, SAME if linked == conversation_id else PHONE, int(sessions or 0), int(messages or 0),
                _moment(first), _moment(last), handoffs.get(linked, []),
            )
        )
    tickets = list(
        session.scalars(
            select(Ticket)
            .options(selectinload(Ticket.events), selectinload(Ticket.assignee))
            .where(Ticket.conversation_id.in_(ids))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )
    others: Set[str] = set(ids) - {conversation_id}
    followups = list(
        session.scalars(
            select(FollowUp).where(FollowUp.conversation_id.in_(sorted(others))).order_by(FollowUp.due_at, FollowUp.id)
        )
    ) if others else []
    return PatientHistory(summaries, tickets, followups)
