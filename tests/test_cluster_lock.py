"""The Redis lock store every Rasa instance of a cluster shares (deploy/endpoints.yml), on the real Redis.

Rasa's own `RedisLockStore` changes a lock by read-modify-write; two instances issuing tickets for one
conversation at the same moment overwrite each other, and two messages end up processed together.
"""

from __future__ import annotations

import threading
import uuid
from typing import Iterator, List

import pytest
from rasa.core.lock_store import LockStore

from bot.store.lock_store import EnvLockStore
from bot.store.redis_lock import AtomicRedisLockStore, redis_lock_store_from_url
from tests.services import redis_url

TICKETS_PER_INSTANCE = 40


@pytest.fixture()
def redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = redis_url()
    monkeypatch.setenv("REDIS_URL", url)
    yield url


def issue_at_once(stores: List[LockStore], conversation_id: str) -> List[int]:
    """Every store (one per Rasa instance) issues tickets for one conversation from its own thread."""
    issued: List[int] = []
    start = threading.Barrier(len(stores))

    def issue(store: LockStore) -> None:
        start.wait()
        for _ in range(TICKETS_PER_INSTANCE):
            issued.append(store.issue_ticket(conversation_id))

    threads = [threading.Thread(target=issue, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return issued


@pytest.mark.parametrize("store_class", [AtomicRedisLockStore, EnvLockStore], ids=["deploy", "make-run"])
def test_two_instances_issuing_tickets_at_once_never_share_or_lose_one(redis: str, store_class: type) -> None:
    """Both endpoints files: deploy/endpoints.yml's store, and endpoints.yml's with REDIS_URL set."""
    conversation_id = f"lock-{uuid.uuid4().hex}"
    stores = [store_class(), store_class()]
    try:
        issued = issue_at_once(stores, conversation_id)

        assert sorted(issued) == list(range(2 * TICKETS_PER_INSTANCE)), "a ticket was issued twice"
        lock = stores[0].get_lock(conversation_id)
        assert lock is not None and len(lock.tickets) == 2 * TICKETS_PER_INSTANCE, "a ticket was lost"
    finally:
        stores[0].delete_lock(conversation_id)


def test_the_last_ticket_served_deletes_the_lock_and_a_waiting_one_keeps_it(redis: str) -> None:
    conversation_id = f"lock-{uuid.uuid4().hex}"
    store = AtomicRedisLockStore()
    first, second = store.issue_ticket(conversation_id), store.issue_ticket(conversation_id)

    store.cleanup(conversation_id, first)
    lock = store.get_lock(conversation_id)
    assert lock is not None and not lock.is_locked(second), "the waiting message cannot go on"

    store.cleanup(conversation_id, second)
    assert store.get_lock(conversation_id) is None


def test_it_reads_the_same_redis_database_as_the_single_instance_lock_store(redis: str) -> None:
    atomic, plain = AtomicRedisLockStore(), redis_lock_store_from_url(redis)
    assert atomic.red.connection_pool.connection_kwargs == plain.red.connection_pool.connection_kwargs
    assert atomic.key_prefix == plain.key_prefix
