"""Short-lived state a messaging channel shares between Rasa instances (table `channel_state`).

Every value has an expiry; an expired row counts as absent and is pruned by `claim`. `url` is the
database (default: DATABASE_URL). Used by the
WeChat channel for its access token, the deliveries it has handled, the numbered choices a patient
may answer and the 48-hour reply window (bot/reply_window.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.store.db import session_scope
from bot.store.models import ChannelState, utcnow


def get(key: str, now: Optional[datetime] = None, url: Optional[str] = None) -> Optional[str]:
    """The value stored under `key`, or None when there is none or it has expired."""
    with session_scope(url) as session:
        row = session.get(ChannelState, key)
        if row is None or row.expires_at <= (now or utcnow()):
            return None
        return row.value


def put(key: str, value: str, ttl: timedelta, now: Optional[datetime] = None, url: Optional[str] = None) -> None:
    """Store `value` under `key` until `ttl` from now, replacing what was there."""
    expires_at = (now or utcnow()) + ttl
    for attempt in range(2):
        try:
            with session_scope(url) as session:
                session.merge(ChannelState(key=key, value=value, expires_at=expires_at))
            return
        except IntegrityError:
            # Another instance inserted the same key between our read and our insert: merge again.
            if attempt:
                raise


def remove(key: str, url: Optional[str] = None) -> None:
    with session_scope(url) as session:
        session.execute(delete(ChannelState).where(ChannelState.key == key))


def claim(key: str, ttl: timedelta, now: Optional[datetime] = None, url: Optional[str] = None) -> bool:
    """True for the first claim of `key` within `ttl`, False for every later one (on any instance)."""
    moment = now or utcnow()
    try:
        with session_scope(url) as session:
            session.execute(delete(ChannelState).where(ChannelState.expires_at <= moment))
            session.add(ChannelState(key=key, value=moment.isoformat(), expires_at=moment + ttl))
            session.flush()
        return True
    except IntegrityError:
        return False


def expiry(key: str, now: Optional[datetime] = None, url: Optional[str] = None) -> Optional[datetime]:
    """When the value under `key` expires, or None when there is none (or it has expired)."""
    with session_scope(url) as session:
        expires_at = session.execute(select(ChannelState.expires_at).where(ChannelState.key == key)).scalar()
    if expires_at is None or expires_at <= (now or utcnow()):
        return None
    return expires_at
