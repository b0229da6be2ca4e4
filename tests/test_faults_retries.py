"""The retries behind tests/test_faults.py, one at a time: a ticket whose commit answer is lost,
the same request twice at once, and the tracker store waiting out a database outage."""

from __future__ import annotations

import asyncio
import threading
from typing import List

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot import policies, tickets
from bot.store import migrate
from bot.store import tracker_store
from tests.services import fresh_postgres_database

PHONE = "13812345678"


def new_ticket(key: str) -> tickets.NewTicket:
    return tickets.NewTicket(
        conversation_id="p-1", channel="rest", kind="refund", category="surgery", severity="normal",
        procedure="双眼皮", surgery_time="上个月", description="不对称", phone=PHONE, request_key=key,
    )


def stored_numbers(url: str) -> List[str]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT number FROM tickets ORDER BY id")).scalars())
    finally:
        engine.dispose()


def connection_lost() -> OperationalError:
    return OperationalError("COMMIT", {}, ConnectionError("server closed the connection unexpectedly"))


def test_a_commit_whose_answer_is_lost_is_not_repeated(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection breaks after the database committed the ticket: the retry finds it by its key."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    insert = tickets._insert
    lost = {"answers": 1}

    def committed_but_answer_lost(*args, **kwargs):  # type: ignore[no-untyped-def]
        view = insert(*args, **kwargs)
        if lost["answers"]:
            lost["answers"] -= 1
            raise connection_lost()
        return view

    monkeypatch.setattr(tickets, "_insert", committed_but_answer_lost)
    key = tickets.request_key("p-1", "message-7")
    first = tickets.open_ticket(new_ticket(key), url=url)
    again = tickets.open_ticket(new_ticket(key), url=url)
    assert lost["answers"] == 0
    assert stored_numbers(url) == [first.number] == [again.number]


def test_an_unreachable_database_is_retried_until_it_answers(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    insert = tickets._insert
    refusals = {"left": 3}

    def refused_three_times(*args, **kwargs):  # type: ignore[no-untyped-def]
        if refusals["left"]:
            refusals["left"] -= 1
            raise connection_lost()
        return insert(*args, **kwargs)

    monkeypatch.setattr(tickets, "_insert", refused_three_times)
    ticket = tickets.open_ticket(new_ticket(tickets.request_key("p-1", "m")), url=url, retry_seconds=10)
    assert stored_numbers(url) == [ticket.number]


def test_a_database_down_longer_than_the_retry_budget_is_reported(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)

    def always_refused(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise connection_lost()

    monkeypatch.setattr(tickets, "_insert", always_refused)
    with pytest.raises(OperationalError):
        tickets.open_ticket(new_ticket(tickets.request_key("p-1", "m")), url=url, retry_seconds=0.6)
    assert stored_numbers(url) == []


def test_the_same_request_from_eight_threads_at_once_opens_one_ticket_on_postgres() -> None:
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        key = tickets.request_key("p-1", "message-1")
        numbers: List[str] = []
        barrier = threading.Barrier(8)

        def open_it() -> None:
            barrier.wait()
            numbers.append(tickets.open_ticket(new_ticket(key), url=url).number)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(numbers) == 8 and len(set(numbers)) == 1
        assert stored_numbers(url) == numbers[:1]


def test_the_tracker_store_waits_out_an_outage_and_gives_up_on_other_errors() -> None:
    calls = {"n": 0}

    async def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 4:
            raise connection_lost()
        return "tracker"

    assert asyncio.run(tracker_store.with_retries("retrieve p-1", flaky, budget=10)) == "tracker"
    assert calls["n"] == 4

    async def broken() -> str:
        calls["n"] += 1
        raise IntegrityError("INSERT", {}, ValueError("not a connection problem"))

    calls["n"] = 0
    with pytest.raises(IntegrityError):
        asyncio.run(tracker_store.with_retries("save p-1", broken, budget=10))
    assert calls["n"] == 1

    async def down() -> str:
        raise connection_lost()

    with pytest.raises(OperationalError):
        asyncio.run(tracker_store.with_retries("save p-1", down, budget=0.5))


def test_the_action_server_answers_from_the_policies_it_read_while_the_database_is_away(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    policies.load(url)
    cache = policies.PolicyCache(url)
    before = cache.snapshot()
    assert before.get("prompts.ask.phone_number")

    def unreachable(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise connection_lost()

    monkeypatch.setattr(policies.db, "session_scope", unreachable)
    assert cache.snapshot() is before
    with pytest.raises(OperationalError):
        policies.PolicyCache(url).snapshot()
