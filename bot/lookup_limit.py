"""The limit on ticket lookups that miss: a ticket number and a phone that do not belong together.

A miss counts against the phone, the ticket number, the client (the address or account the channel
vouches for, never one the message names) and the conversation, as rows of `lookup_misses`. Every
action server and every new conversation therefore sees the same count: a fresh widget session,
`/restart` or another Rasa instance does not give an attacker a new budget. While any of them has
reached its limit within the window, lookups with it stop and the patient is sent to a person.

Keys hold a SHA-256 of their value, so the table stores no phone numbers. Limits (environment):
`LOOKUP_MAX_MISSES_PER_PHONE` (5), `..._PER_TICKET` (5), `..._PER_CLIENT` (20: a hospital's front
desk or a family may share an address), `..._PER_CONVERSATION` (5), within
`LOOKUP_MISS_WINDOW_HOURS` (24).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Dict, Optional, Tuple

from sqlalchemy import delete, func, select

from bot.settings import positive_number
from bot.store import db
from bot.store.models import LookupMiss, utcnow

DEFAULT_LIMITS = {"phone": 5, "ticket": 5, "client": 20, "conversation": 5}
DEFAULT_WINDOW_HOURS = 24.0


@dataclass(frozen=True)
class Limits:
    per_kind: Dict[str, int]
    window: timedelta

    @classmethod
    def from_environment(cls) -> "Limits":
        return cls(
            per_kind={
                kind: int(positive_number(f"LOOKUP_MAX_MISSES_PER_{kind.upper()}", default))
                for kind, default in DEFAULT_LIMITS.items()
            },
            window=timedelta(hours=positive_number("LOOKUP_MISS_WINDOW_HOURS", DEFAULT_WINDOW_HOURS)),
        )


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()}"


def keys(
    phone: Optional[str] = None,
    ticket: Optional[str] = None,
    client: Optional[str] = None,
    conversation: Optional[str] = None,
) -> Tuple[str, ...]:
    """The keys one lookup counts against; a value that is missing counts against nothing."""
    values = {"phone": phone, "ticket": (ticket or "").strip().upper(), "client": client, "conversation": conversation}
    return tuple(_key(kind, value) for kind, value in values.items() if value)


def _limit_of(key: str, limits: Limits) -> int:
    return limits.per_kind[key.split(":", 1)[0]]


def blocked(lookup_keys: Tuple[str, ...], url: Optional[str] = None, limits: Optional[Limits] = None) -> bool:
    """Whether any of the keys has used up its misses within the window."""
    limits = limits or Limits.from_environment()
    if not lookup_keys:
        return False
    since = utcnow() - limits.window
    with db.session_scope(url) as session:
        counts = dict(
            session.execute(
                select(LookupMiss.key, func.count())
                .where(LookupMiss.key.in_(lookup_keys), LookupMiss.created_at > since)
                .group_by(LookupMiss.key)
            ).all()
        )
    return any(count >= _limit_of(key, limits) for key, count in counts.items())


def record_miss(lookup_keys: Tuple[str, ...], url: Optional[str] = None, limits: Optional[Limits] = None) -> None:
    """Count one miss against every key; misses older than the window are forgotten."""
    limits = limits or Limits.from_environment()
    now = utcnow()
    with db.session_scope(url) as session:
        session.execute(delete(LookupMiss).where(LookupMiss.created_at <= now - limits.window))
        session.add_all(LookupMiss(key=key, created_at=now) for key in lookup_keys)
