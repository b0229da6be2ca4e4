"""One-time codes that prove a ticket is the patient's when they look it up from another conversation.

A conversation that gives a ticket's number and the phone on it, but did not open the ticket, gets
a 6-digit code by SMS to that phone (bot/sms/). The right code, within `TICKET_CODE_MINUTES` (10), in
at most `TICKET_CODE_MAX_TRIES` (5) tries, shows the ticket once. A code belongs to one ticket and one
conversation; a new code voids the earlier ones of that pair. At most `TICKET_CODES_PER_HOUR` (3) are
sent for one ticket in an hour, so nobody can flood a patient's phone. Only a salted SHA-256 of a code
is stored; rows are forgotten a day after they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Optional

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.settings import positive_number
from bot.store import db
from bot.store.models import TicketCode, utcnow

CODE_DIGITS = 6
_CODE_IN_TEXT = re.compile(rf"(?<!\d)\d{{{CODE_DIGITS}}}(?!\d)")
_SPACES = re.compile(r"[\s\-]")
SEND_WINDOW = timedelta(hours=1)
KEEP_AFTER_EXPIRY = timedelta(days=1)


class Check(str, Enum):
    VERIFIED = "verified"
    WRONG = "wrong"
    # No live code: none was sent, it expired, or its tries are used up.
    EXPIRED = "expired"


class TooManyCodes(RuntimeError):
    """This ticket's codes for the hour are sent already."""


@dataclass(frozen=True)
class CodeLimits:
    lifetime: timedelta
    max_tries: int
    per_hour: int

    @classmethod
    def from_environment(cls) -> "CodeLimits":
        return cls(
            lifetime=timedelta(minutes=positive_number("TICKET_CODE_MINUTES", 10)),
            max_tries=int(positive_number("TICKET_CODE_MAX_TRIES", 5)),
            per_hour=int(positive_number("TICKET_CODES_PER_HOUR", 3)),
        )

    @property
    def minutes(self) -> int:
        return int(self.lifetime.total_seconds() // 60)


def code_in(text: Optional[str]) -> Optional[str]:
    """The one 6-digit code in what the patient typed ("验证码 482 913", full-width digits), else None."""
    normalised = _SPACES.sub("", unicodedata.normalize("NFKC", text or ""))
    found = _CODE_IN_TEXT.findall(normalised)
    return found[0] if len(found) == 1 else None


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode("utf-8")).hexdigest()


def _normal(number: str) -> str:
    return number.strip().upper()


def _live(number: str, conversation: str, now: datetime, limits: CodeLimits):  # type: ignore[no-untyped-def]
    return (
        select(TicketCode)
        .where(
            TicketCode.ticket_number == _normal(number),
            TicketCode.conversation_id == conversation,
            TicketCode.verified_at.is_(None),
            TicketCode.expires_at > now,
            TicketCode.tries < limits.max_tries,
        )
        .order_by(TicketCode.id.desc())
        .limit(1)
    )


def forget_expired(session: Session, now: datetime) -> int:
    """Delete the codes that expired more than KEEP_AFTER_EXPIRY ago (past the hour the send limit counts and
    the time a verified code shows its ticket); how many went."""
    expired = delete(TicketCode).where(TicketCode.expires_at <= now - KEEP_AFTER_EXPIRY)
    return session.execute(expired.execution_options(synchronize_session=False)).rowcount


def pending(
    number: str, conversation: str, url: Optional[str] = None, limits: Optional[CodeLimits] = None,
    now: Optional[datetime] = None,
) -> bool:
    """Whether this conversation holds a live code for the ticket (sent, not expired, tries left)."""
    limits = limits or CodeLimits.from_environment()
    with db.session_scope(url) as session:
        return session.execute(_live(number, conversation, now or utcnow(), limits)).first() is not None


def issue(
    number: str, conversation: str, url: Optional[str] = None, limits: Optional[CodeLimits] = None,
    now: Optional[datetime] = None,
) -> str:
    """A new code for the ticket and conversation (earlier ones of the pair are void); TooManyCodes
    when the ticket's codes for the hour are used up."""
    limits = limits or CodeLimits.from_environment()
    now = now or utcnow()
    number = _normal(number)
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(16)
    with db.session_scope(url) as session:
        forget_expired(session, now)
        sent = session.execute(
            select(func.count()).where(TicketCode.ticket_number == number, TicketCode.created_at > now - SEND_WINDOW)
        ).scalar_one()
        if sent >= limits.per_hour:
            raise TooManyCodes(f"{sent} codes sent for {number} within the hour")
        void(number, conversation, session=session, now=now)
        session.add(
            TicketCode(
                ticket_number=number, conversation_id=conversation, salt=salt, code_hash=_hash(salt, code),
                created_at=now, expires_at=now + limits.lifetime,
            )
        )
    return code


def void(
    number: str, conversation: str, url: Optional[str] = None, session: Optional[Session] = None,
    now: Optional[datetime] = None,
) -> None:
    """End the live codes of the ticket and conversation (a newer one was sent, or the SMS failed)."""
    statement = (
        update(TicketCode)
        .where(
            TicketCode.ticket_number == _normal(number),
            TicketCode.conversation_id == conversation,
            TicketCode.verified_at.is_(None),
        )
        .values(expires_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if session is not None:
        session.execute(statement)
        return
    with db.session_scope(url) as own:
        own.execute(statement)


def verify(
    number: str, conversation: str, code: str, url: Optional[str] = None, limits: Optional[CodeLimits] = None,
    now: Optional[datetime] = None,
) -> Check:
    """Check a code against the live one of the ticket and conversation; every wrong one uses a try."""
    limits = limits or CodeLimits.from_environment()
    now = now or utcnow()
    with db.session_scope(url) as session:
        row = session.execute(_live(number, conversation, now, limits).with_for_update()).scalar_one_or_none()
        if row is None:
            return Check.EXPIRED
        if hmac.compare_digest(row.code_hash, _hash(row.salt, code)):
            row.verified_at = now
            return Check.VERIFIED
        row.tries += 1
        return Check.WRONG


def take_verified(
    number: str, conversation: str, url: Optional[str] = None, limits: Optional[CodeLimits] = None,
    now: Optional[datetime] = None,
) -> bool:
    """Whether a code for the ticket was verified in this conversation and not yet used to show it;
    marks it used, so one code shows the ticket once."""
    limits = limits or CodeLimits.from_environment()
    now = now or utcnow()
    with db.session_scope(url) as session:
        taken = session.execute(
            update(TicketCode)
            .where(
                TicketCode.ticket_number == _normal(number),
                TicketCode.conversation_id == conversation,
                TicketCode.verified_at.is_not(None),
                TicketCode.verified_at > now - limits.lifetime,
                TicketCode.shown_at.is_(None),
            )
            .values(shown_at=now)
            .execution_options(synchronize_session=False)
        )
        return taken.rowcount > 0
