"""What changed in the handoff queue and the open tickets: snapshots of both and the events between two of them.

The console's live stream (bot/console/live.py) takes a snapshot twice a second and sends staff the
events computed here. Handoffs are opened and escalated by other processes (the action server, any
console instance), so the database is the only place every change shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Set

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from bot import handoffs
from bot.store.db import session_scope
from bot.store.models import Handoff, Staff, Ticket

# How a handoff changed between two snapshots (the `change` of a queue event's entries).
NEW = "new"  # opened
ESCALATED = "escalated"  # became urgent
CLAIMED = "claimed"  # taken by a staff member
UNCLAIMED = "unclaimed"  # back in the queue (a claim that could not pause the bot)
CLOSED = "closed"  # released to the bot, or gone (a ticket: resolved or closed)
TRANSFERRED = "transferred"  # an active handoff given to another colleague
ASSIGNED = "assigned"  # a ticket given to a colleague, or to nobody
UPDATED = "updated"  # anything else: reason, a lower priority; a ticket's status or severity
# The ticket statuses the live stream follows: work not yet done.
OPEN_TICKET_STATUSES = ("open", "in_progress")


@dataclass(frozen=True)
class HandoffState:
    """The fields of an open handoff that staff need to see change."""

    id: int
    conversation_id: str
    status: str
    priority: str
    reason: str
    assigned_to: Optional[str]  # the holder's username


@dataclass(frozen=True)
class TicketState:
    """The fields of an open ticket that staff need to see change."""

    number: str
    kind: str
    severity: str
    status: str
    assigned_to: Optional[str]  # the assignee's username


@dataclass(frozen=True)
class Snapshot:
    handoffs: Mapping[int, HandoffState] = field(default_factory=dict)  # the open handoffs by id
    # The Rasa timestamp of the newest patient message per open conversation that has one.
    last_patient_message: Mapping[str, float] = field(default_factory=dict)
    tickets: Mapping[str, TicketState] = field(default_factory=dict)  # the open tickets by number


@dataclass(frozen=True)
class LiveEvent:
    """One server-sent event: `queue` or `message`, with its JSON data."""

    name: str
    data: Dict[str, Any]


def take_snapshot(session: Session) -> Snapshot:
    rows = session.execute(
        select(Handoff.id, Handoff.conversation_id, Handoff.status, Handoff.priority, Handoff.reason, Staff.username)
        .outerjoin(Staff, Handoff.assigned_to == Staff.id)
        .where(Handoff.status != "closed")
    ).all()
    states = {row[0]: HandoffState(*row) for row in rows}
    return Snapshot(
        states, _last_patient_messages(session, {s.conversation_id for s in states.values()}), _open_tickets(session)
    )


def _open_tickets(session: Session) -> Dict[str, TicketState]:
    rows = session.execute(
        select(Ticket.number, Ticket.kind, Ticket.severity, Ticket.status, Staff.username)
        .outerjoin(Staff, Ticket.assigned_to == Staff.id)
        .where(Ticket.status.in_(OPEN_TICKET_STATUSES))
    ).all()
    return {row[0]: TicketState(*row) for row in rows}


def _last_patient_messages(session: Session, conversation_ids: Set[str]) -> Dict[str, float]:
    if not conversation_ids or not inspect(session.connection()).has_table("events"):
        return {}
    events = handoffs.RASA_EVENTS.c
    return dict(
        session.execute(
            select(events.sender_id, func.max(events.timestamp))
            .where(events.type_name == "user", events.sender_id.in_(sorted(conversation_ids)))
            .group_by(events.sender_id)
        ).all()
    )


def current_snapshot(database_url: str) -> Snapshot:
    """The queue now, after making urgent the handoffs whose patient reported a red flag while waiting
    (a paused conversation runs no actions, so nothing else notices it until someone lists the queue)."""
    with session_scope(database_url) as session:
        handoffs.escalate_red_flags(session)
        return take_snapshot(session)


def _change(before: HandoffState, after: HandoffState) -> Optional[str]:
    if after.priority == "urgent" and before.priority != "urgent":
        return ESCALATED
    if (before.status, after.status) == ("waiting", "active"):
        return CLAIMED
    if (before.status, after.status) == ("active", "waiting"):
        return UNCLAIMED
    if after.status == "active" and before.assigned_to != after.assigned_to:
        return TRANSFERRED
    return UPDATED if before != after else None


def _entry(change: str, state: HandoffState) -> Dict[str, Any]:
    return {"change": change, **asdict(state)}


def handoff_changes(before: Snapshot, after: Snapshot) -> List[Dict[str, Any]]:
    """Each handoff that was opened, changed or closed between the snapshots, by id; a closed one with
    its last open state and `status: closed`."""
    entries = []
    for handoff_id in sorted(set(before.handoffs) | set(after.handoffs)):
        old, new = before.handoffs.get(handoff_id), after.handoffs.get(handoff_id)
        if old is None and new is not None:
            entries.append(_entry(NEW, new))
        elif new is None and old is not None:
            entries.append(_entry(CLOSED, replace(old, status="closed")))
        elif old is not None and new is not None:
            change = _change(old, new)
            if change:
                entries.append(_entry(change, new))
    return entries


def queue_event(snapshot: Snapshot, changes: Optional[List[Dict[str, Any]]] = None) -> LiveEvent:
    """The queue's counts (what a page title shows) and the handoffs that changed."""
    waiting = [h for h in snapshot.handoffs.values() if h.status == "waiting"]
    return LiveEvent(
        "queue",
        {
            "waiting": len(waiting),
            "urgent_waiting": sum(1 for h in waiting if h.priority == "urgent"),
            "changes": changes or [],
        },
    )


def message_events(before: Snapshot, after: Snapshot) -> List[LiveEvent]:
    """A `message` event per open handoff whose patient wrote since the earlier snapshot. A handoff that
    is new in `after` gets none: its queue event already says so."""
    events = []
    for handoff_id, state in sorted(after.handoffs.items()):
        newest = after.last_patient_message.get(state.conversation_id)
        previous = before.last_patient_message.get(state.conversation_id)
        if handoff_id in before.handoffs and newest is not None and (previous is None or newest > previous):
            events.append(LiveEvent("message", {"conversation_id": state.conversation_id, "handoff_id": handoff_id}))
    return events


def ticket_changes(before: Snapshot, after: Snapshot) -> List[Dict[str, Any]]:
    """Each open ticket that was opened, assigned, changed or done between the snapshots, by number."""
    entries = []
    for number in sorted(set(before.tickets) | set(after.tickets)):
        old, new = before.tickets.get(number), after.tickets.get(number)
        if old is None and new is not None:
            entries.append({"change": NEW, **asdict(new)})
        elif new is None and old is not None:
            entries.append({"change": CLOSED, **asdict(old)})
        elif old is not None and new is not None and old != new:
            entries.append({"change": ASSIGNED if old.assigned_to != new.assigned_to else UPDATED, **asdict(new)})
    return entries


def events_between(before: Snapshot, after: Snapshot) -> List[LiveEvent]:
    """What to tell staff about the step from `before` to `after`: nothing if nothing changed.

    `ticket` `{"changes": [{"change", "number", "kind", "severity", "status", "assigned_to"}]}` when open tickets
    were opened (`new`; a major-urgent one is alerted like an urgent handoff), assigned, updated or done (`closed`)."""
    changes = handoff_changes(before, after)
    tickets = ticket_changes(before, after)
    return (
        ([queue_event(after, changes)] if changes else [])
        + message_events(before, after)
        + ([LiveEvent("ticket", {"changes": tickets})] if tickets else [])
    )
