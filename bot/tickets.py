"""Tickets: opening them with an unguessable number, their history, and the patient's view of them.

Ticket numbers are `TK` + the hospital's local date (YYYYMMDD) + 8 random digits, e.g.
TK2026112307315842: digits only, so a patient types it on a phone keypad, and random, so a
number neither reveals the day's volume nor leads to the next patient's ticket. A number
drawn twice collides on the unique index of `tickets.number`, and the opening draws again.
Numbers printed before (a 4-digit daily sequence, TK202611230042) stay valid for lookups.

Opening a ticket outlasts a short database outage: a lost or refused connection is retried
for up to `TICKET_DB_RETRY_SECONDS` (default 30). A retry must not open a second ticket when
the first attempt was in fact committed (the connection broke after the commit, before its
answer), so a ticket carries the key of the request that opened it (`request_key()`: the
conversation and the patient's confirming message); an attempt with a known key returns the
ticket already stored, and two at once collide on the key's unique index.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import selectinload

from bot import hospital, phone
from bot.store import db
from bot.store.models import (
    TICKET_CATEGORIES,
    TICKET_KINDS,
    TICKET_SEVERITIES,
    Ticket,
    TicketEvent,
    utcnow,
)

log = logging.getLogger(__name__)

NUMBER_PREFIX = "TK"
RANDOM_DIGITS = 8
OLD_SEQUENCE_DIGITS = 4
NUMBER_PATTERN = re.compile(rf"^{NUMBER_PREFIX}\d{{8}}(?:\d{{{RANDOM_DIGITS}}}|\d{{{OLD_SEQUENCE_DIGITS}}})$")
MAX_ATTEMPTS = 30
ASSISTANT_ACTOR = "assistant"
DEFAULT_DB_RETRY_SECONDS = 30.0
FIRST_PAUSE_SECONDS = 0.25
MAX_PAUSE_SECONDS = 2.0

# The intent that led to a ticket decides its kind; the latest such intent wins.
KIND_BY_INTENT = {
    "request_refund": "refund",
    "ask_refund_policy": "refund",
    "complain_asymmetry": "complaint",
    "complain_result": "complaint",
    "complain_scar": "complaint",
    "complain_service": "complaint",
    "request_revision": "revision",
    "report_postop_pain": "postop",
    "report_side_effect": "postop",
    "followup_problem": "postop",
    "ask_procedure_info": "consultation",
}
DEFAULT_KIND = "complaint"
# A face-to-face consultation is booked before any procedure: there is no surgery time to ask for.
KINDS_WITHOUT_SURGERY = frozenset({"consultation"})
# An agitated patient or a red flag makes a complaint major-urgent (seed 003).
MAJOR_INTENTS = frozenset({"express_anger", "report_emergency"})


class TicketNumberUnavailable(RuntimeError):
    """No free number could be taken: every draw collided, or the database kept refusing."""


@dataclass(frozen=True)
class NewTicket:
    conversation_id: str
    channel: Optional[str]
    kind: str
    category: str
    severity: str
    procedure: Optional[str]
    surgery_time: Optional[str]
    description: Optional[str]
    phone: str
    request_key: Optional[str] = None

    def __post_init__(self) -> None:
        for value, allowed, name in (
            (self.kind, TICKET_KINDS, "kind"),
            (self.category, TICKET_CATEGORIES, "category"),
            (self.severity, TICKET_SEVERITIES, "severity"),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if not phone.check(self.phone).ok:
            raise ValueError(f"not a mainland mobile number: {phone.mask(self.phone)}")


@dataclass(frozen=True)
class HistoryEntry:
    time: datetime
    actor: str
    from_status: Optional[str]
    to_status: Optional[str]
    note: Optional[str]
    # Staff notes are internal unless staff chose to show them to the patient.
    patient_visible: bool = False


@dataclass(frozen=True)
class TicketView:
    number: str
    conversation_id: str
    channel: Optional[str]
    kind: str
    category: str
    severity: str
    procedure: Optional[str]
    surgery_time: Optional[str]
    description: Optional[str]
    phone: str
    status: str
    created_at: datetime
    history: Tuple[HistoryEntry, ...]


def kind_for_intents(intents: Sequence[str]) -> str:
    """The kind from the latest intent that names one (`request_refund` → `refund`)."""
    for intent in reversed(intents):
        if intent in KIND_BY_INTENT:
            return KIND_BY_INTENT[intent]
    return DEFAULT_KIND


def severity_for(intents: Iterable[str], texts: Iterable[str], major_signs: Iterable[str]) -> str:
    """`major` for anger or a red flag in the conversation, or an evident surgical problem in the patient's words."""
    if MAJOR_INTENTS.intersection(intents):
        return "major"
    signs = [sign for sign in major_signs if sign]
    if any(sign in text for text in texts if text for sign in signs):
        return "major"
    return "normal"


def local_day(moment: Optional[datetime] = None) -> date:
    """The hospital's calendar day (data/policies/hospital.yml), which ticket numbers carry."""
    return hospital.load().local(moment or utcnow()).date()


def _new_number(day: date) -> str:
    """A fresh random number of the day (unique only once stored: the unique index decides)."""
    return f"{NUMBER_PREFIX}{day:%Y%m%d}{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"


def request_key(conversation_id: str, message_ref: str) -> str:
    """The key of one request to open a ticket: the conversation and the message that confirmed it."""
    return hashlib.sha256(f"{conversation_id}\n{message_ref}".encode("utf-8")).hexdigest()


def db_retry_seconds() -> float:
    raw = os.environ.get("TICKET_DB_RETRY_SECONDS", "").strip()
    return float(raw) if raw else DEFAULT_DB_RETRY_SECONDS


def _error_text(error: Exception) -> str:
    return str(getattr(error, "orig", error)).lower()


def _is_key_collision(error: Exception) -> bool:
    return isinstance(error, IntegrityError) and "request_key" in _error_text(error)


def _is_contention(error: Exception) -> bool:
    """The number was drawn already, or another writer holds SQLite's lock: try again at once."""
    text = _error_text(error)
    if isinstance(error, IntegrityError):
        return "number" in text
    return "locked" in text or "busy" in text


def _is_connection_lost(error: Exception) -> bool:
    """The database is unreachable or dropped the connection: try again after a pause."""
    if isinstance(error, IntegrityError):
        return False
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and bool(error.connection_invalidated))


def _stored_for_key(key: str, url: Optional[str]) -> Optional[TicketView]:
    with db.session_scope(url) as session:
        ticket = session.execute(
            select(Ticket).where(Ticket.request_key == key).options(selectinload(Ticket.events))
        ).scalar_one_or_none()
        return _view(ticket) if ticket is not None else None


def _view(ticket: Ticket) -> TicketView:
    return TicketView(
        number=ticket.number,
        conversation_id=ticket.conversation_id,
        channel=ticket.channel,
        kind=ticket.kind,
        category=ticket.category,
        severity=ticket.severity,
        procedure=ticket.procedure,
        surgery_time=ticket.surgery_time,
        description=ticket.description,
        phone=ticket.phone,
        status=ticket.status,
        created_at=ticket.created_at,
        history=tuple(
            HistoryEntry(e.created_at, e.actor, e.from_status, e.to_status, e.note, bool(e.patient_visible))
            for e in ticket.events
        ),
    )


def _insert(new: NewTicket, moment: datetime, url: Optional[str]) -> TicketView:
    with db.session_scope(url) as session:
        ticket = Ticket(
            number=_new_number(local_day(moment)),
            conversation_id=new.conversation_id,
            channel=new.channel,
            kind=new.kind,
            category=new.category,
            severity=new.severity,
            procedure=new.procedure,
            surgery_time=new.surgery_time,
            description=new.description,
            phone=phone.check(new.phone).number,
            status="open",
            created_at=moment,
            updated_at=moment,
            request_key=new.request_key,
        )
        ticket.events.append(TicketEvent(created_at=moment, actor=ASSISTANT_ACTOR, to_status="open"))
        session.add(ticket)
        session.flush()
        return _view(ticket)


def open_ticket(
    new: NewTicket, url: Optional[str] = None, now: Optional[datetime] = None, retry_seconds: Optional[float] = None
) -> TicketView:
    """Store a ticket with status `open` and its first history entry; returns it with its number.

    With `new.request_key`, the ticket that key already opened is returned instead of a new one.
    """
    moment = now or utcnow()
    deadline = time.monotonic() + (db_retry_seconds() if retry_seconds is None else retry_seconds)
    pause, contended = FIRST_PAUSE_SECONDS, 0
    while True:
        try:
            stored = _stored_for_key(new.request_key, url) if new.request_key else None
            if stored is not None:
                log.info("ticket %s was already opened for this request", stored.number)
                return stored
            view = _insert(new, moment, url)
            log.info(
                "opened ticket %s kind=%s category=%s severity=%s phone=%s",
                view.number, view.kind, view.category, view.severity, phone.mask(view.phone),
            )
            return view
        except DBAPIError as error:
            if _is_key_collision(error):
                continue
            if _is_contention(error):
                contended += 1
                if contended >= MAX_ATTEMPTS:
                    raise TicketNumberUnavailable(f"no ticket number after {MAX_ATTEMPTS} attempts") from error
                log.debug("ticket number taken or database busy (attempt %d), retrying", contended)
                time.sleep(random.uniform(0.005, 0.05))
                continue
            if not _is_connection_lost(error) or time.monotonic() + pause > deadline:
                raise
            log.warning("database unavailable while opening a ticket (%s); retrying in %.2f s", error.orig, pause)
            time.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)


def _matches_phone(ticket_phone: str, given: Optional[str]) -> bool:
    checked = phone.check(given)
    return checked.ok and checked.number == ticket_phone


def find_for_patient(number: Optional[str], given_phone: Optional[str], url: Optional[str] = None) -> Optional[TicketView]:
    """The ticket, only when the phone on it matches; None alike for a wrong phone and an unknown number."""
    wanted = (number or "").strip().upper()
    if not NUMBER_PATTERN.match(wanted):
        return None
    with db.session_scope(url) as session:
        ticket = session.execute(
            select(Ticket).where(Ticket.number == wanted).options(selectinload(Ticket.events))
        ).scalar_one_or_none()
        if ticket is None or not _matches_phone(ticket.phone, given_phone):
            log.info("ticket lookup %s with phone %s: no match", wanted, phone.mask(given_phone))
            return None
        return _view(ticket)


def opener_of(number: Optional[str], given_phone: Optional[str], url: Optional[str] = None) -> Optional[str]:
    """The conversation that opened ticket `number`, only when the phone on it matches; else None."""
    wanted = (number or "").strip().upper()
    checked = phone.check(given_phone)
    if not NUMBER_PATTERN.match(wanted) or not checked.ok:
        return None
    with db.session_scope(url) as session:
        return session.execute(
            select(Ticket.conversation_id).where(Ticket.number == wanted, Ticket.phone == checked.number)
        ).scalar_one_or_none()


def opened_by(
    conversation_id: str,
    given_phone: Optional[str],
    number: Optional[str] = None,
    limit: int = 3,
    url: Optional[str] = None,
) -> List[TicketView]:
    """The tickets this conversation opened with this phone (only ticket `number`, when given), newest first.

    A phone alone proves nothing (anyone may know it); the conversation that opened a ticket, on a
    channel whose ids the server issues, is the patient who opened it.
    """
    checked = phone.check(given_phone)
    if not checked.ok or not conversation_id:
        return []
    query = select(Ticket).where(Ticket.phone == checked.number, Ticket.conversation_id == conversation_id)
    if number:
        query = query.where(Ticket.number == number.strip().upper())
    with db.session_scope(url) as session:
        rows = session.execute(
            query
            .options(selectinload(Ticket.events))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        ).scalars()
        return [_view(ticket) for ticket in rows]
