"""The console's login rate limit: too many failed logins for one username, or from one client
address, within a window block further attempts for a while.

Failures are rows of `login_failures`, so every console worker (and every console instance on the
same database) counts the same attempts; an in-memory counter would give an attacker one budget
per worker. Limits: `LOGIN_MAX_FAILURES_PER_USER` (default 5) per username and
`LOGIN_MAX_FAILURES_PER_CLIENT` (default 20; a hospital's front desks often share one address)
per client, within `LOGIN_FAILURE_WINDOW_MINUTES` (default 15).

`reserve` checks the limits and counts the attempt in one transaction that no other attempt for the same
username or client can interleave with (PostgreSQL: advisory locks held until the commit; SQLite: the
database's write lock, taken by the transaction's first statement), before the password is checked. So a
burst of parallel guesses gets no more than the limit: the attempts after it find the earlier ones counted.
A successful login then forgets the username's failures, its own reservation included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.settings import positive_number
from bot.store.models import LoginFailure, utcnow

DEFAULT_MAX_PER_USER = 5
DEFAULT_MAX_PER_CLIENT = 20
DEFAULT_WINDOW_MINUTES = 15.0
# The first key of PostgreSQL's two-key advisory locks taken by `reserve` (the second: a hash of the username
# or client), so they cannot meet another use of advisory locks.
ADVISORY_LOCK_SPACE = 14_001
_USERNAME_LENGTH = LoginFailure.__table__.c.username.type.length
_CLIENT_LENGTH = LoginFailure.__table__.c.client.type.length


@dataclass(frozen=True)
class Limits:
    per_user: int
    per_client: int
    window: timedelta

    @classmethod
    def from_environment(cls) -> "Limits":
        return cls(
            per_user=int(positive_number("LOGIN_MAX_FAILURES_PER_USER", DEFAULT_MAX_PER_USER)),
            per_client=int(positive_number("LOGIN_MAX_FAILURES_PER_CLIENT", DEFAULT_MAX_PER_CLIENT)),
            window=timedelta(minutes=positive_number("LOGIN_FAILURE_WINDOW_MINUTES", DEFAULT_WINDOW_MINUTES)),
        )


def _key(value: str, length: int) -> str:
    return value[:length]


def _seconds_blocked(session: Session, column, value: str, limit: int, limits: Limits, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """Seconds until fewer than `limit` failures of `value` lie within the window (0: not blocked)."""
    recent = session.scalars(
        select(LoginFailure.created_at)
        .where(column == value, LoginFailure.created_at > now - limits.window)
        .order_by(LoginFailure.created_at.desc())
        .limit(limit)
    ).all()
    if len(recent) < limit:
        return 0
    return max(1, math.ceil((recent[-1] + limits.window - now).total_seconds()))


def retry_after(
    session: Session, username: str, client: str, limits: Optional[Limits] = None, now: Optional[datetime] = None
) -> int:
    """Seconds the caller must wait before trying to log in as `username` from `client`; 0 if it may now."""
    limits = limits or Limits.from_environment()
    now = now or utcnow()
    return max(
        _seconds_blocked(session, LoginFailure.username, _key(username, _USERNAME_LENGTH), limits.per_user, limits, now),
        _seconds_blocked(session, LoginFailure.client, _key(client, _CLIENT_LENGTH), limits.per_client, limits, now),
    )


def _serialize(session: Session, username: str, client: str, limits: Limits, now: datetime) -> None:
    """Make the rest of this transaction wait for any other attempt on the same username or client."""
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted((f"user:{username}", f"client:{client}")):  # one order everywhere: no deadlock
            session.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_SPACE, func.hashtext(key))))
    # On SQLite this write, the transaction's first statement, takes the database's write lock until the commit.
    session.execute(delete(LoginFailure).where(LoginFailure.created_at <= now - limits.window))


def reserve(
    session: Session, username: str, client: str, limits: Optional[Limits] = None, now: Optional[datetime] = None
) -> int:
    """Before a password is checked: the seconds the caller must wait (nothing is counted then), or 0 after
    counting this attempt as a failure (a successful login forgets it). Call it first in its transaction and
    commit right after: the check and the count are one step for concurrent attempts."""
    limits = limits or Limits.from_environment()
    now = now or utcnow()
    username, client = _key(username, _USERNAME_LENGTH), _key(client, _CLIENT_LENGTH)
    _serialize(session, username, client, limits, now)
    wait = retry_after(session, username, client, limits, now)
    if not wait:
        record_failure(session, username, client, limits, now)
    return wait


def record_failure(
    session: Session, username: str, client: str, limits: Optional[Limits] = None, now: Optional[datetime] = None
) -> None:
    """Count a failed login; failures older than the window are forgotten."""
    limits = limits or Limits.from_environment()
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.created_at <= now - limits.window))
    session.add(
        LoginFailure(username=_key(username, _USERNAME_LENGTH), client=_key(client, _CLIENT_LENGTH), created_at=now)
    )
    session.flush()


def forget_user(session: Session, username: str) -> None:
    """A successful login clears the username's failures (the client's stay counted)."""
    session.execute(delete(LoginFailure).where(LoginFailure.username == _key(username, _USERNAME_LENGTH)))
