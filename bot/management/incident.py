"""`python -m bot report incident <ticket>`: the written report seed 003 asks for on each major-urgent complaint.

Facts only, from the database: the ticket and the patient's account, a timeline (the ticket's history, the
conversation's handoffs, notes and what was sent to the patient), an excerpt of the conversation, the actions
staff took, and the headings the supervisor completes (cause, responsibility, outcome, improvements). Phone
numbers are masked everywhere.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import List, Optional, Tuple

from sqlalchemy import column, inspect, select, table
from sqlalchemy.orm import Session, selectinload

from bot import hospital, phone
from bot.console.rasa_api import transcript
from bot.console.tickets import get_ticket
from bot.followups import deadlines
from bot.management.texts import label, local, node, none, separator, table_row, text
from bot.store.models import ConversationNote, FollowUp, Handoff, Ticket, utcnow

# Rasa's tracker store table: each event's JSON is in `data`.
RASA_EVENT_DATA = table("events", column("id"), column("sender_id"), column("data"))
# How many of the conversation's last messages the report quotes.
EXCERPT_MESSAGES = 20
BOT_ACTOR = "bot"


def _masked(value: Optional[str]) -> str:
    return phone.mask_text(value) if value else none()


def _timeline(session: Session, ticket: Ticket) -> List[Tuple[datetime, str]]:
    entries = [(ticket.created_at, text("incident.events.opened", kind=label("kind", ticket.kind), severity=label("severity", ticket.severity)))]
    for event in ticket.events:
        if event.actor == BOT_ACTOR and not event.note:
            continue  # the opening, already listed
        if event.to_status:
            entries.append((event.created_at, text("incident.events.status", actor=event.actor,
                                                   from_status=label("status", event.from_status), to_status=label("status", event.to_status))))
        if event.note:
            kind = "note_patient" if event.patient_visible else "note_internal"
            entries.append((event.created_at, text(f"incident.events.{kind}", actor=event.actor, note=_masked(event.note))))
    handoffs = session.scalars(
        select(Handoff).options(selectinload(Handoff.staff)).where(Handoff.conversation_id == ticket.conversation_id)
    ).all()
    for handoff in handoffs:
        entries.append((handoff.created_at, text("incident.events.handoff_opened", reason=label("reason", handoff.reason),
                                                 priority=label("priority", handoff.priority))))
        if handoff.claimed_at:
            staff = handoff.staff.display_name if handoff.staff else none()
            entries.append((handoff.claimed_at, text("incident.events.handoff_claimed", staff=staff)))
        if handoff.first_reply_at:
            entries.append((handoff.first_reply_at, text("incident.events.handoff_replied")))
        if handoff.closed_at:
            entries.append((handoff.closed_at, text("incident.events.handoff_closed")))
    notes = session.scalars(
        select(ConversationNote).options(selectinload(ConversationNote.staff)).where(ConversationNote.conversation_id == ticket.conversation_id)
    ).all()
    for note in notes:
        entries.append((note.created_at, text("incident.events.conversation_note", staff=note.staff.display_name, text=_masked(note.text))))
    followups = session.scalars(
        select(FollowUp).where(FollowUp.conversation_id == ticket.conversation_id, FollowUp.sent_at.isnot(None))
    ).all()
    for followup in followups:
        entries.append((followup.sent_at, text("incident.events.followup", kind=label("followup", followup.kind),
                                               status=label("followup_status", followup.status))))
    return sorted(entries, key=lambda entry: entry[0])


def _excerpt(session: Session, conversation_id: str) -> List[str]:
    if not inspect(session.connection()).has_table("events"):
        return [text("incident.transcript_none")]
    rows = session.execute(
        select(RASA_EVENT_DATA.c.data).where(RASA_EVENT_DATA.c.sender_id == conversation_id).order_by(RASA_EVENT_DATA.c.id)
    ).scalars().all()
    events = [json.loads(row) for row in rows if row]
    lines = transcript(events)[-EXCERPT_MESSAGES:]
    if not lines:
        return [text("incident.transcript_none")]
    return [
        text("incident.transcript_line", time=local(line["time"]), role=label("role", line["role"]),
             text=_masked(line["text"]).replace("\n", " "))
        for line in lines
    ]


def render(session: Session, number: str, now: Optional[datetime] = None) -> str:
    """The report on ticket `number` (TicketNotFound when there is none)."""
    now = now or utcnow()
    ticket = get_ticket(session, number)
    deadline = deadlines.ticket_deadline(ticket, now)
    facts = {
        "kind": label("kind", ticket.kind), "category": label("category", ticket.category),
        "severity": label("severity", ticket.severity), "procedure": ticket.procedure or none(),
        "surgery_time": ticket.surgery_time or none(), "phone": phone.mask(ticket.phone), "channel": ticket.channel or none(),
        "conversation": ticket.conversation_id, "status": label("status", ticket.status),
        "assignee": ticket.assignee.display_name if ticket.assignee else none(), "created": local(ticket.created_at),
        "deadline": f"{label('deadline', deadline.state)} · {local(deadline.due_at)}" if deadline else none(),
    }
    staff_actions = [e for e in ticket.events if e.actor != BOT_ACTOR]
    actions = [
        f"- {local(e.created_at)} {e.actor}："
        + (f"{label('status', e.from_status)} → {label('status', e.to_status)}" if e.to_status else "")
        + (f" {_masked(e.note)}" if e.note else "")
        for e in staff_actions
    ]
    excerpt = _excerpt(session, ticket.conversation_id)
    lines = [
        text("incident.title", number=ticket.number), "",
        *([text("incident.not_major", severity=label("severity", ticket.severity)), ""] if ticket.severity != "major" else []),
        text("incident.meta", generated=local(now), timezone=str(hospital.load().timezone), number=ticket.number), "",
        text("incident.facts"), "", text("incident.facts_header"), separator(2),
        *(table_row(text(f"incident.fact_rows.{key}"), value) for key, value in facts.items()), "",
        text("incident.story"), "", "> " + (_masked(ticket.description).replace("\n", "\n> ") if ticket.description else text("incident.story_none")), "",
        text("incident.timeline"), "", text("incident.timeline_header"), separator(2),
        *(table_row(local(moment), event) for moment, event in _timeline(session, ticket)), "",
        text("incident.transcript", count=EXCERPT_MESSAGES), "", *excerpt, "",
        text("incident.actions"), "", *(actions or [text("incident.actions_none")]), "",
        text("incident.to_fill"), "", *(f"- {item}" for item in node("incident.to_fill_items")),
    ]
    return "\n".join(lines) + "\n"
