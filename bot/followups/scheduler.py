"""The follow-up scheduler: sends every due follow-up once, whatever restarts and however many instances run.

Each tick (`run_due`) first lets the ticket deadlines add their delay notices (bot/followups/deadlines.py) and the
due satisfaction questions give way to an emergency, a patient's stop or a person holding the conversation
(bot/followups/satisfaction.py), then takes the due follow-ups one by one. Taking one is a compare-and-set on its
row: `locked_until` (a lease) is set only if nobody holds an unexpired lease and it is still `scheduled` (on
PostgreSQL the candidates are read with `SELECT … FOR UPDATE SKIP LOCKED`, so instances do not even wait for each
other). Only the instance whose update changed the row delivers it; when it dies mid-delivery the lease runs out
(`LEASE_SECONDS`) and another instance takes it over, and the delivery's own check (the message's
`followup_id` already in the conversation, bot/followups/delivery.py) keeps it from being sent twice.

A failed delivery stays `scheduled` with its next attempt after a growing pause; after
`MAX_ATTEMPTS` it becomes `failed` and the console shows it. `serve()` runs the ticks with
APScheduler (started by `python -m bot run`); `python -m bot followups run --now …` runs one tick. The same
scheduler runs the retention purge (bot/retention.py) every night at 03:30 hospital time.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional

from sqlalchemy import or_, select, update

from bot import hospital, retention
from bot.followups import deadlines, satisfaction
from bot.followups.delivery import Deliverer, DeliveryFailed
from bot.followups.records import Message
from bot.store import db
from bot.store.models import FollowUp, utcnow

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
MAX_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 30
BATCH = 50
DEFAULT_POLL_SECONDS = 3.0
# When the nightly retention purge runs, in the hospital's time zone.
PURGE_HOUR, PURGE_MINUTE = 3, 30

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class TickResult:
    sent: int
    failed: int
    retried: int


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def _candidates(url: Optional[str], now: datetime, wall: datetime) -> List[int]:
    with db.session_scope(url) as session:
        query = (
            select(FollowUp.id)
            .where(
                FollowUp.status == "scheduled",
                FollowUp.due_at <= now,
                or_(FollowUp.locked_until.is_(None), FollowUp.locked_until < wall),
            )
            .order_by(FollowUp.due_at, FollowUp.id)
            .limit(BATCH)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(session.scalars(query))


def _claim(url: Optional[str], followup_id: int, wall: datetime, instance: str) -> bool:
    """Take the lease on one follow-up; True only for the one instance whose update changed the row."""
    with db.session_scope(url) as session:
        result = session.execute(
            update(FollowUp)
            .where(
                FollowUp.id == followup_id,
                FollowUp.status == "scheduled",
                or_(FollowUp.locked_until.is_(None), FollowUp.locked_until < wall),
            )
            .values(locked_until=wall + timedelta(seconds=LEASE_SECONDS), locked_by=instance)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def _finish(url: Optional[str], followup_id: int, instance: str, wall: datetime, error: Optional[str]) -> str:
    """Record the delivery's outcome (only while this instance holds the lease); the new status."""
    with db.session_scope(url) as session:
        row = session.get(FollowUp, followup_id)
        if row is None or row.locked_by != instance or row.status != "scheduled":
            return row.status if row is not None else "cancelled"
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", wall, None
        else:
            row.attempts += 1
            row.last_error = error[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.locked_until = wall + timedelta(seconds=FIRST_RETRY_SECONDS * 2 ** (row.attempts - 1))
        row.locked_by = None if row.status == "scheduled" else row.locked_by
        return row.status


def _load(url: Optional[str], followup_id: int):  # type: ignore[no-untyped-def]
    with db.session_scope(url) as session:
        row = session.get(FollowUp, followup_id)
        return row.conversation_id, row.channel, Message.from_json(row.payload)


def run_due(
    deliver: Deliverer,
    now: Optional[datetime] = None,
    url: Optional[str] = None,
    instance: Optional[str] = None,
    clock: Clock = utcnow,
) -> TickResult:
    """One tick: add the delay notices of tickets overdue at `now`, then deliver every follow-up due at `now`.

    `now` decides what is due (time travel for tests and demos); `clock` is the real time the leases use."""
    now = now or clock()
    instance = instance or instance_name()
    deadlines.sweep(now, url)
    satisfaction.sweep(now, url)
    sent = failed = retried = 0
    for followup_id in _candidates(url, now, clock()):
        wall = clock()
        if not _claim(url, followup_id, wall, instance):
            continue
        conversation_id, channel, message = _load(url, followup_id)
        try:
            deliver(followup_id, conversation_id, channel, message, now)
            error = None
        except DeliveryFailed as problem:
            error = str(problem)
            log.warning("follow-up %s not delivered: %s", followup_id, problem)
        status = _finish(url, followup_id, instance, clock(), error)
        sent += status == "sent"
        failed += status == "failed"
        retried += status == "scheduled"
    return TickResult(sent=sent, failed=failed, retried=retried)


def poll_seconds() -> float:
    raw = os.environ.get("FOLLOWUP_POLL_SECONDS", "").strip()
    return float(raw) if raw else DEFAULT_POLL_SECONDS


def serve(deliver: Deliverer, url: Optional[str] = None) -> int:
    """Run a tick every `FOLLOWUP_POLL_SECONDS` (default 3) until SIGINT or SIGTERM."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=timezone.utc)
    instance = instance_name()

    def tick() -> None:
        result = run_due(deliver, url=url, instance=instance)
        if result.sent or result.failed or result.retried:
            log.info("follow-ups: %d sent, %d failed, %d to retry", result.sent, result.failed, result.retried)

    scheduler.add_job(
        tick, "interval", seconds=poll_seconds(), max_instances=1, coalesce=True, next_run_time=datetime.now(timezone.utc)
    )

    def purge() -> None:
        log.info("retention purge: %s", retention.run(url=url))

    scheduler.add_job(purge, "cron", hour=PURGE_HOUR, minute=PURGE_MINUTE, timezone=hospital.load().timezone, coalesce=True)

    def stop(_signum: int, _frame: object) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    log.info("follow-up scheduler %s started (every %.1f s)", instance, poll_seconds())
    scheduler.start()
    return 0
