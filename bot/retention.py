"""Deleting patient data past its retention period (PIPL Art. 19): `python -m bot purge [--dry-run]`.

The periods are settings (bot/settings.py `retention`). What goes, in one transaction:

- **Transcripts**: Rasa's stored events of a conversation whose last event is older than
  `TRANSCRIPT_RETENTION_DAYS`, with its NLU inbox items and internal notes; not while the conversation
  has an open handoff or a ticket that is not finished (resolved or closed).
- **Finished tickets** (resolved or closed) last changed more than `CLOSED_TICKET_RETENTION_DAYS` ago, with
  their history and follow-ups.
- **Handoffs and follow-ups** of a conversation that has no ticket left: closed handoffs and follow-ups
  no longer scheduled, older than the transcript period (a conversation's handoffs stay while one of its
  tickets does).
- **Privacy notices and consents, and conversation tags** of a conversation of which nothing else is left (no
  stored event, no ticket), after the transcript period; **ticket tags** as soon as their ticket is gone.
- **Rate-limit records**: ticket lookup misses and failed staff logins older than `LOOKUP_RETENTION_DAYS`,
  and expired channel state.
- **One-time codes** of ticket lookups a day after they expired (bot/ticket_codes.py `forget_expired`: a code
  lives 10 minutes; the day covers the hourly send limit), and **expired console logins** (staff tokens).
- **The audit log** (bot/audit.py) after `AUDIT_RETENTION_DAYS` (3 years): its entries name what was read (a
  conversation id, a ticket number, a masked phone), by whom and from which address, never content, and a
  patient's deletion keeps them: they are the record of who processed the data.

Every table with a `conversation_id` or `phone` column is purged here (tests/test_retention.py checks the
models' metadata against `purge`'s counts), and exported and deleted per patient (bot/patient_data.py).

The follow-up scheduler runs it once a day (bot/followups/scheduler.py); `--dry-run` counts in a transaction
it then rolls back.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence

from sqlalchemy import and_, delete, exists, func, inspect, or_, select, true
from sqlalchemy.orm import Session

from bot import settings, ticket_codes
from bot.patient_data import RASA_EVENTS
from bot.store import db
from bot.store.models import (
    AuditEntry,
    ChannelState,
    ConversationNote,
    FollowUp,
    Handoff,
    LoginFailure,
    LookupMiss,
    NluInboxItem,
    PrivacyNotice,
    StaffToken,
    Tag,
    Ticket,
    TicketCode,
    TicketEvent,
    utcnow,
)

FINISHED_TICKET = ("resolved", "closed")


def _old_conversations(session: Session, before: datetime) -> List[str]:
    """Conversations whose last stored event is older than `before` and that nobody still works on."""
    unfinished_ticket = exists().where(Ticket.conversation_id == RASA_EVENTS.c.sender_id, Ticket.status.not_in(FINISHED_TICKET))
    open_handoff = exists().where(Handoff.conversation_id == RASA_EVENTS.c.sender_id, Handoff.status != "closed")
    query = (
        select(RASA_EVENTS.c.sender_id)
        .where(~unfinished_ticket, ~open_handoff)
        .group_by(RASA_EVENTS.c.sender_id)
        .having(func.max(RASA_EVENTS.c.timestamp) < before.timestamp())
    )
    return list(session.scalars(query))


def _delete(session: Session, model: object, *where: object) -> int:
    return session.execute(delete(model).where(*where).execution_options(synchronize_session=False)).rowcount


def _in_chunks(values: Sequence[object], size: int = 500) -> List[Sequence[object]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _no_ticket_left(conversation: object) -> object:
    """No ticket (after this purge's deletions) belongs to the conversation."""
    return ~exists().where(Ticket.conversation_id == conversation)


def _nothing_left(conversation: object, has_transcripts: bool) -> object:
    """No stored event and no ticket (after this purge's deletions) names the conversation."""
    no_events = ~exists().where(RASA_EVENTS.c.sender_id == conversation) if has_transcripts else true()
    return and_(no_events, _no_ticket_left(conversation))


def purge(session: Session, now: datetime, retention: settings.Retention) -> Dict[str, int]:
    """Delete what is past its period at `now`; how many rows of each kind went."""
    transcript_cutoff = now - timedelta(days=retention.transcript_days)
    ticket_cutoff = now - timedelta(days=retention.closed_ticket_days)
    lookup_cutoff = now - timedelta(days=retention.lookup_days)
    counts: Dict[str, int] = dict.fromkeys(
        ("events", NluInboxItem.__tablename__, ConversationNote.__tablename__, "tickets", TicketEvent.__tablename__,
         "ticket_followups"), 0
    )
    # Rasa creates its `events` table when it first starts; before that there are no transcripts.
    has_transcripts = inspect(session.get_bind()).has_table(RASA_EVENTS.name)
    old_conversations = _old_conversations(session, transcript_cutoff) if has_transcripts else []
    for chunk in _in_chunks(old_conversations):
        counts["events"] += _delete(session, RASA_EVENTS, RASA_EVENTS.c.sender_id.in_(chunk))
        for model in (NluInboxItem, ConversationNote):
            counts[model.__tablename__] += _delete(session, model, model.conversation_id.in_(chunk))
    old_tickets = select(Ticket.id).where(Ticket.status.in_(FINISHED_TICKET), Ticket.updated_at < ticket_cutoff)
    for chunk in _in_chunks(list(session.scalars(old_tickets))):
        counts[TicketEvent.__tablename__] += _delete(session, TicketEvent, TicketEvent.ticket_id.in_(chunk))
        counts["ticket_followups"] += _delete(session, FollowUp, FollowUp.ticket_id.in_(chunk))
        counts["tickets"] += _delete(session, Ticket, Ticket.id.in_(chunk))
    counts[Handoff.__tablename__] = _delete(
        session, Handoff,
        Handoff.status == "closed", Handoff.closed_at < transcript_cutoff, _no_ticket_left(Handoff.conversation_id),
    )
    counts["followups"] = _delete(
        session, FollowUp,
        FollowUp.status != "scheduled", FollowUp.due_at < transcript_cutoff, FollowUp.ticket_id.is_(None),
        _no_ticket_left(FollowUp.conversation_id),
    )
    counts[PrivacyNotice.__tablename__] = _delete(
        session, PrivacyNotice,
        PrivacyNotice.shown_at < transcript_cutoff, _nothing_left(PrivacyNotice.conversation_id, has_transcripts),
    )
    conversation_gone = and_(
        Tag.target_kind == "conversation", Tag.created_at < transcript_cutoff, _nothing_left(Tag.target, has_transcripts)
    )
    ticket_gone = and_(Tag.target_kind == "ticket", ~exists().where(Ticket.number == Tag.target))
    counts[Tag.__tablename__] = _delete(session, Tag, or_(conversation_gone, ticket_gone))
    counts[TicketCode.__tablename__] = ticket_codes.forget_expired(session, now)
    counts[LookupMiss.__tablename__] = _delete(session, LookupMiss, LookupMiss.created_at < lookup_cutoff)
    counts[LoginFailure.__tablename__] = _delete(session, LoginFailure, LoginFailure.created_at < lookup_cutoff)
    counts[ChannelState.__tablename__] = _delete(session, ChannelState, ChannelState.expires_at <= now)
    counts[StaffToken.__tablename__] = _delete(session, StaffToken, StaffToken.expires_at <= now)
    audit_cutoff = now - timedelta(days=retention.audit_days)
    counts[AuditEntry.__tablename__] = _delete(session, AuditEntry, AuditEntry.created_at < audit_cutoff)
    session.flush()
    return counts


def run(url: Optional[str] = None, now: Optional[datetime] = None, dry_run: bool = False) -> Dict[str, int]:
    """One purge in one transaction, with the configured periods; `dry_run` rolls it back (exact counts)."""
    with db.session_scope(url) as session:
        counts = purge(session, now or utcnow(), settings.retention())
        if dry_run:
            session.rollback()
        return counts


def command(dry_run: bool) -> int:
    """`python -m bot purge [--dry-run]`: prints how many rows of each kind went (or would go)."""
    try:
        counts = run(dry_run=dry_run)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps({"dry_run": dry_run, **counts}, sort_keys=True))
    return 0
