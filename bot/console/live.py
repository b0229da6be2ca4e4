"""The live queue as server-sent events (GET /api/events): what bot/handoff_events.py finds changed,
pushed to the console's pages, so browsers do not poll.

Each stream looks at the database every POLL_SECONDS (handoffs are opened and escalated by other
processes, and several console instances may run) and writes only when something changed, plus a
comment every HEARTBEAT_SECONDS so proxies keep the connection open. At each heartbeat the stream also
checks that its staff token is still valid: a logout or an expired login ends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import AsyncIterator

from fastapi import Request
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from bot import staff as accounts
from bot.handoff_events import LiveEvent, Snapshot, current_snapshot, events_between, queue_event
from bot.store.db import session_scope

# Half a second: an emergency is in every open page within a second (docs/console.md, the measured push latency).
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
HEARTBEAT = ": heartbeat\n\n"
# No caching; nginx must pass each event on at once instead of buffering the response.
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

logger = logging.getLogger(__name__)


def frame(event: LiveEvent) -> str:
    """One event in the text/event-stream format (the JSON is one line)."""
    return f"event: {event.name}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n"


def _logged_out(database_url: str, token: str) -> bool:
    try:
        with session_scope(database_url) as session:
            return accounts.staff_for_token(session, token) is None
    except OperationalError:
        return False  # the database, not the login, is gone for now


async def stream(request: Request, database_url: str, token: str, snapshot: Snapshot) -> AsyncIterator[str]:
    """The queue's counts at once, then the events between consecutive snapshots, until the client leaves
    or its login ends."""
    yield frame(queue_event(snapshot))
    next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
    while not await request.is_disconnected():
        await asyncio.sleep(POLL_SECONDS)
        try:
            latest = await run_in_threadpool(current_snapshot, database_url)
        except OperationalError as error:
            logger.warning("live queue: database unavailable: %s", error.orig)
        else:
            for event in events_between(snapshot, latest):
                yield frame(event)
            snapshot = latest
        if time.monotonic() >= next_heartbeat:
            if await run_in_threadpool(_logged_out, database_url, token):
                return
            yield HEARTBEAT
            next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
