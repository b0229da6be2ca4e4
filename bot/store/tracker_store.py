"""Rasa's SQL tracker store, waiting for the database instead of dropping the conversation.

Rasa's `SQLTrackerStore` raises on the first `OperationalError`: while the database restarts or
the network blips, the patient's message is not processed (retrieve) or the turn is not stored
(save) and the processor moves on. This subclass retries retrieve and save with a growing pause
for up to `TRACKER_STORE_RETRY_SECONDS` (default 30) in total, so a short outage only delays the
answer. A retried save is safe: Rasa stores only the events the database does not hold yet
(`_additional_events` counts them again on each attempt).

Referenced from endpoints.yml as `bot.store.tracker_store.RetryingSQLTrackerStore`, with the same
`url: ${DATABASE_URL}` as Rasa's `type: SQL`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Awaitable, Callable, Iterable, Optional, Text, TypeVar

from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

from bot.store.db import sqlite_file_engine

logger = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = 30.0
FIRST_PAUSE_SECONDS = 0.25
MAX_PAUSE_SECONDS = 2.0
# Seconds psycopg2 may take to open a connection before it counts as a failed attempt.
CONNECT_TIMEOUT_SECONDS = 3

T = TypeVar("T")


def retry_seconds() -> float:
    raw = os.environ.get("TRACKER_STORE_RETRY_SECONDS", "").strip()
    return float(raw) if raw else DEFAULT_RETRY_SECONDS


def is_transient(error: BaseException) -> bool:
    """A lost or refused connection, which another attempt may not meet."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


async def with_retries(what: str, attempt: Callable[[], Awaitable[T]], budget: float) -> T:
    """`attempt()` until it succeeds, pausing 0.25 s, 0.5 s, … 2 s between tries, for up to `budget` s."""
    deadline = time.monotonic() + budget
    pause = FIRST_PAUSE_SECONDS
    tries = 1
    while True:
        try:
            return await attempt()
        except DBAPIError as error:
            if not is_transient(error) or time.monotonic() + pause > deadline:
                raise
            logger.warning("tracker store: %s failed (try %d: %s); retrying in %.2f s", what, tries, error.orig, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_PAUSE_SECONDS)
        tries += 1


def _resilient_engine(url: URL) -> Engine:
    """Rasa's PostgreSQL engine, plus: a connection attempt to an unreachable server fails within
    a few seconds (to be retried), and a pooled connection the outage broke is replaced before use."""
    kwargs = create_engine_kwargs(url)
    connect_args = {**kwargs.pop("connect_args", {}), "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


class RetryingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose reads and writes outlast a short database outage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "postgresql":
            self.engine = _resilient_engine(self.engine.url)
            self.sessionmaker = sessionmaker(bind=self.engine)
        elif self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.engine = sqlite_file_engine(str(self.engine.url))
            self.sessionmaker = sessionmaker(bind=self.engine)
        self.retry_budget = retry_seconds()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        parent = super(RetryingSQLTrackerStore, self)
        return await with_retries(f"retrieve {sender_id}", lambda: parent.retrieve(sender_id), self.retry_budget)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        parent = super(RetryingSQLTrackerStore, self)
        return await with_retries(
            f"retrieve {conversation_id}", lambda: parent.retrieve_full_tracker(conversation_id), self.retry_budget
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        parent = super(RetryingSQLTrackerStore, self)
        await with_retries(f"save {tracker.sender_id}", lambda: parent.save(tracker), self.retry_budget)

    async def keys(self) -> Iterable[Text]:
        parent = super(RetryingSQLTrackerStore, self)
        return await with_retries("keys", parent.keys, self.retry_budget)
