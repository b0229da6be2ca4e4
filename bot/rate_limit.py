"""The console's login rate limit: too many failed logins for one username, or from one client
address, within a window block further attempts for a while.

Failures are rows of `login_failures`, so every console worker (and every console instance on the
same database) counts the same attempts; an in-memory counter would give an attacker one budget
per worker. Limits: `LOGIN_MAX_FAILURES_PER_USER` (default 5) per username and
`LOGIN_MAX_FAILURES_PER_CLIENT` (default 20; a hospital's front desks often share one address)
per client, within `LOGIN_FAILURE_WINDOW_MINUTES` (default 15).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.settings import positive_number
from bot.store.models import LoginFailure, utcnow

DEFAULT_MAX_PER_USER = 5
DEFAULT_MAX_PER_CLIENT = 20
DEFAULT_WINDOW_MINUTES = 15.0
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
