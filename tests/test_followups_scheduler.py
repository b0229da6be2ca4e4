"""The follow-up scheduler: each due follow-up reaches the patient once, with a fake clock, across a crash
and with two schedulers on one PostgreSQL database."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional

import httpx
import pytest

from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.followups import records, scheduler
from bot.followups.delivery import DeliveryFailed, RasaDeliverer
from bot.followups.records import Message
from bot.store import db, migrate
from bot.store.models import FollowUp
from tests.services import fresh_postgres_database

START = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class Recorder:
    """A deliverer that remembers what it delivered (thread-safe), optionally slow or failing."""

    def __init__(self, pause: float = 0.0, fail: bool = False) -> None:
        self.delivered: List[int] = []
        self.pause, self.fail = pause, fail
        self._lock = threading.Lock()

    def __call__(self, followup_id: int, conversation_id: str, channel: Optional[str], message: Message, now: datetime) -> None:
        if self.fail:
            raise DeliveryFailed("Rasa answered 502")
        time.sleep(self.pause)
        with self._lock:
            self.delivered.append(followup_id)


@pytest.fixture()
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'followups.db'}"
    migrate.upgrade(url)
    return url


def add(url: str, due: datetime, conversation: str = "c1", count: int = 1) -> List[int]:
    with db.session_scope(url) as session:
        rows = [
            records.schedule(session, conversation, "telegram", "ticket_update", due, Message(f"第 {i} 条"))
            for i in range(count)
        ]
        return [row.id for row in rows]


def statuses(url: str) -> Dict[int, str]:
    with db.session_scope(url) as session:
        return {row.id: row.status for row in records.list_followups(session)}


def test_a_follow_up_goes_out_at_its_time_and_only_once(sqlite_url: str) -> None:
    clock, deliver = FakeClock(START), Recorder()
    (early,) = add(sqlite_url, START + timedelta(hours=1))
    (late,) = add(sqlite_url, START + timedelta(days=3))
    assert scheduler.run_due(deliver, url=sqlite_url, clock=clock).sent == 0
    clock.advance(hours=1)
    assert scheduler.run_due(deliver, url=sqlite_url, clock=clock).sent == 1
    assert scheduler.run_due(deliver, url=sqlite_url, clock=clock).sent == 0
    assert deliver.delivered == [early]
    # Time travel: what is due at a given moment, whatever the clock says.
    scheduler.run_due(deliver, now=START + timedelta(days=3), url=sqlite_url, clock=clock)
    assert deliver.delivered == [early, late]
    assert statuses(sqlite_url) == {early: "sent", late: "sent"}


def test_a_failing_delivery_is_retried_with_pauses_then_marked_failed(sqlite_url: str) -> None:
    clock = FakeClock(START)
    (followup,) = add(sqlite_url, START)
    failing = Recorder(fail=True)
    assert scheduler.run_due(failing, url=sqlite_url, clock=clock).retried == 1
    assert scheduler.run_due(failing, url=sqlite_url, clock=clock).retried == 0, "retried before its pause ended"
    for _ in range(scheduler.MAX_ATTEMPTS - 1):
        clock.advance(hours=2)
        scheduler.run_due(failing, url=sqlite_url, clock=clock)
    assert statuses(sqlite_url) == {followup: "failed"}
    with db.session_scope(sqlite_url) as session:
        assert "502" in session.get(FollowUp, followup).last_error


def test_a_cancelled_follow_up_is_not_sent(sqlite_url: str) -> None:
    add(sqlite_url, START)
    with db.session_scope(sqlite_url) as session:
        assert records.cancel_scheduled(session, "c1", "ticket_update") == 1
    deliver = Recorder()
    scheduler.run_due(deliver, now=START, url=sqlite_url)
    assert deliver.delivered == []


class FakeRasa:
    """Rasa's tracker events endpoint for one conversation: appends bot events, returns the tracker."""

    def __init__(self) -> None:
        self.events: List[dict] = []
        self.posts: List[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts.append(request)
            self.events.extend(json.loads(request.content))
            return httpx.Response(200, json={"events": self.events})
        return httpx.Response(200, json={"events": self.events})

    def client(self) -> RasaClient:
        config = ConsoleConfig(database_url="", rasa_url="http://rasa", rasa_token="t")
        return RasaClient(config, transport=httpx.MockTransport(self.handle))


def test_a_scheduler_killed_after_rasa_took_the_message_does_not_make_the_next_one_send_it_again(sqlite_url: str) -> None:
    rasa, clock = FakeRasa(), FakeClock(START)
    (followup,) = add(sqlite_url, START)
    deliver = RasaDeliverer(rasa.client())

    def killed_after_delivery(*args: object) -> None:
        deliver(*args)  # type: ignore[arg-type]
        raise KeyboardInterrupt("the process died before recording the delivery")

    with pytest.raises(KeyboardInterrupt):
        scheduler.run_due(killed_after_delivery, url=sqlite_url, instance="first", clock=clock)
    assert statuses(sqlite_url) == {followup: "scheduled"}
    assert scheduler.run_due(deliver, url=sqlite_url, instance="second", clock=clock).sent == 0, "taken during the lease"
    clock.advance(seconds=scheduler.LEASE_SECONDS + 1)
    assert scheduler.run_due(deliver, url=sqlite_url, instance="second", clock=clock).sent == 1
    assert len(rasa.posts) == 1
    assert statuses(sqlite_url) == {followup: "sent"}


def test_the_message_reaches_rasa_with_the_patient_channel_and_buttons(sqlite_url: str) -> None:
    rasa = FakeRasa()
    with db.session_scope(sqlite_url) as session:
        records.schedule(
            session, "chat-7", "telegram", "postop_checkin", START,
            Message("恢复得怎么样？", ({"title": "挺好的", "payload": "挺好的"},)),
        )
    scheduler.run_due(RasaDeliverer(rasa.client()), now=START, url=sqlite_url)
    (post,) = rasa.posts
    assert post.url.path == "/conversations/chat-7/tracker/events"
    assert post.url.params["output_channel"] == "telegram" and post.url.params["execute_side_effects"] == "true"
    (event,) = json.loads(post.content)
    assert event["text"] == "恢复得怎么样？" and event["data"]["buttons"][0]["title"] == "挺好的"


def run_two_schedulers(url: str, count: int) -> Counter:
    add(url, START, count=count)
    deliver = Recorder(pause=0.002)
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        barrier.wait()
        for _ in range(5):
            scheduler.run_due(deliver, now=START, url=url, instance=name)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(deliver.delivered)


def test_two_schedulers_on_one_postgresql_database_send_each_follow_up_once() -> None:
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        delivered = run_two_schedulers(url, 120)
        assert len(delivered) == 120 and set(delivered.values()) == {1}
        assert set(statuses(url).values()) == {"sent"}


def test_two_schedulers_on_one_sqlite_file_send_each_follow_up_once(sqlite_url: str) -> None:
    delivered = run_two_schedulers(sqlite_url, 60)
    assert len(delivered) == 60 and set(delivered.values()) == {1}
