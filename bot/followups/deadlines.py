"""Every ticket step has its time limit (data/policies/followups.yml `deadlines`), counted in working days
(bot/followups/workdays.py) from the moment the ticket entered the step's status.

The steps of one status run one after the other (a refund in progress: 7 working days to assess, then 2
to conclude), so the status must end by the last one's deadline. `ticket_deadline` says where a ticket
stands (`ok`, `due_soon` within `warn_hours`, `overdue`); `sweep` gives every overdue ticket its one
delay notice to the patient: which step, the reason staff recorded (their latest note in that status),
(if they marked it for the patient), and the new date (`extension_working_days` after the missed one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot import answers, policies
from bot.followups import records, texts, workdays
from bot.followups.records import Message
from bot.store import db
from bot.store.models import Ticket, TicketEvent, utcnow

STATES = ("ok", "due_soon", "overdue")


@dataclass(frozen=True)
class Step:
    name: str
    status: str
    working_days: int


@dataclass(frozen=True)
class Deadline:
    """Where a ticket stands against the time limit of its current status."""

    number: str
    status: str
    steps: Tuple[str, ...]
    started_at: datetime
    due_at: datetime
    state: str
    new_due_at: Optional[datetime]

    @property
    def label(self) -> str:
        return "、".join(texts.node(f"deadlines.step_names.{name}") for name in self.steps)


def steps_by_kind() -> Dict[str, List[Step]]:
    table = texts.node("deadlines.steps")
    return {
        kind: [Step(str(s["step"]), str(s["status"]), int(s["working_days"])) for s in steps]
        for kind, steps in table.items()
    }


def status_started(ticket: Ticket) -> datetime:
    """When the ticket entered its current status: its latest change to it, or its opening."""
    entered = [e.created_at for e in ticket.events if e.to_status == ticket.status]
    return max(entered) if entered else ticket.created_at


def ticket_deadline(
    ticket: Ticket, now: datetime, calendar: Optional[workdays.WorkCalendar] = None
) -> Optional[Deadline]:
    """The time limit of the ticket's current status, or None when its status has none (closed)."""
    steps = [s for s in steps_by_kind().get(ticket.kind, []) if s.status == ticket.status]
    if not steps:
        return None
    calendar = calendar or workdays.load()
    started = status_started(ticket)
    due = calendar.deadline(started, sum(s.working_days for s in steps))
    warn = timedelta(hours=float(texts.node("deadlines.warn_hours")))
    if now >= due:
        state = "overdue"
        new_due: Optional[datetime] = calendar.deadline(
            due - timedelta(microseconds=1), int(texts.node("deadlines.extension_working_days"))
        )
    else:
        state, new_due = ("due_soon" if due - now <= warn else "ok"), None
    return Deadline(ticket.number, ticket.status, tuple(s.name for s in steps), started, due, state, new_due)


def _reason(ticket: Ticket, since: datetime) -> str:
    notes = [e.note for e in ticket.events if e.note and e.created_at >= since and shown_to_patient(e)]
    if notes:
        return texts.text("deadlines.reason_from_note", note=notes[-1].rstrip("。"))
    return texts.text("deadlines.default_reason")


def shown_to_patient(event: TicketEvent) -> bool:
    """A note staff marked for the patient (the others are internal)."""
    return bool(event.patient_visible)


def overdue_message(ticket: Ticket, deadline: Deadline, snapshot: policies.PolicySnapshot) -> Message:
    if deadline.new_due_at is None:
        raise ValueError(f"ticket {ticket.number} is not overdue")
    calendar = workdays.load()
    return Message(
        texts.text(
            "deadlines.overdue_notice",
            kind=answers.kind_label(ticket.kind, snapshot),
            number=ticket.number,
            step=deadline.label,
            deadline=texts.day_text(calendar.last_day(deadline.due_at)),
            reason=_reason(ticket, deadline.started_at),
            new_deadline=texts.day_text(calendar.last_day(deadline.new_due_at)),
        )
    )


def open_tickets(session: Session, kinds: Sequence[str]) -> List[Ticket]:
    return list(
        session.scalars(
            select(Ticket).where(Ticket.status != "closed", Ticket.kind.in_(kinds)).options(selectinload(Ticket.events))
        )
    )


def sweep(now: Optional[datetime] = None, url: Optional[str] = None) -> int:
    """Schedule the delay notice of every ticket whose current time limit has passed; how many were new."""
    now = now or utcnow()
    snapshot = policies.current(url)
    added = 0
    with db.session_scope(url) as session:
        for ticket in open_tickets(session, list(steps_by_kind())):
            deadline = ticket_deadline(ticket, now)
            if deadline is None or deadline.state != "overdue":
                continue
            key = f"deadline:{ticket.id}:{ticket.status}:{deadline.started_at.timestamp():.0f}"
            row = records.schedule(
                session, ticket.conversation_id, ticket.channel, "deadline_notice", now,
                overdue_message(ticket, deadline, snapshot), ticket_id=ticket.id, dedupe_key=key,
            )
            added += row is not None
    return added
