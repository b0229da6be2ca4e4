"""Ticket progress pushed to the patient: every status change and every note staff let the patient see
becomes a `ticket_update` follow-up, due at once, stored in the same transaction as the change."""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy.orm import Session

from bot import answers, policies
from bot.followups import deadlines, records, texts, workdays
from bot.followups.records import Message
from bot.store.models import FollowUp, Ticket, TicketEvent, utcnow


def update_message(ticket: Ticket, event: TicketEvent, snapshot: policies.PolicySnapshot) -> Optional[Message]:
    """What the patient is told about this change, or None when it is nothing the patient sees."""
    note = event.note if event.note and deadlines.shown_to_patient(event) else None
    if event.to_status is None and note is None:
        return None
    kind = answers.kind_label(ticket.kind, snapshot)
    if event.to_status is not None:
        first = texts.text(
            "ticket_update.status_changed",
            kind=kind,
            number=ticket.number,
            from_status=answers.status_label(event.from_status or "", snapshot),
            to_status=answers.status_label(event.to_status, snapshot),
        )
    else:
        first = texts.text(
            "ticket_update.note_added", kind=kind, number=ticket.number, status=answers.status_label(ticket.status, snapshot)
        )
    parts: List[str] = [first]
    if note is not None:
        parts.append(texts.text("ticket_update.note", note=note))
    if event.to_status is not None:
        next_step = answers.status_next_step(ticket.kind, event.to_status, snapshot)
        if next_step:
            parts.append(texts.text("ticket_update.next_step", next_step=next_step))
        deadline = deadlines.ticket_deadline(ticket, event.created_at or utcnow())
        if deadline is not None:
            day = texts.day_text(workdays.load().last_day(deadline.due_at))
            parts.append(texts.text("ticket_update.deadline", deadline=day))
    parts.append(texts.text("ticket_update.closing"))
    return Message("\n".join(parts))


def ticket_changed(session: Session, ticket: Ticket, event: TicketEvent) -> Optional[FollowUp]:
    """Schedule the patient's message about `event` (already added to `ticket`), due now, in `session`."""
    url = session.get_bind().url.render_as_string(hide_password=False)
    message = update_message(ticket, event, policies.current(url))
    if message is None:
        return None
    return records.schedule(
        session, ticket.conversation_id, ticket.channel, "ticket_update", utcnow(), message, ticket_id=ticket.id
    )
