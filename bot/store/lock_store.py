"""Rasa lock store chosen by `REDIS_URL`.

With `REDIS_URL` set, every Rasa instance shares Rasa's own `RedisLockStore`, so
several instances can serve the same conversations; without it, Rasa's
`InMemoryLockStore` is enough for a single instance. Referenced from
`endpoints.yml` as `bot.store.lock_store.EnvLockStore`.
"""

from __future__ import annotations

import os
from typing import Optional, Text
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


def redis_lock_store_from_url(url: str) -> RedisLockStore:
    """Build Rasa's Redis lock store from a `redis://[:password@]host[:port][/db]` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"REDIS_URL must start with redis:// or rediss://, got {parts.scheme!r}")
    db_path = parts.path.lstrip("/")
    return RedisLockStore(
        host=parts.hostname or "localhost",
        port=parts.port or 6379,
        db=int(db_path) if db_path else 1,
        username=parts.username or None,
        password=parts.password or None,
        use_ssl=parts.scheme == "rediss",
    )


class EnvLockStore(LockStore):
    """Delegates to Redis when `REDIS_URL` is set, to memory otherwise."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        url = os.environ.get("REDIS_URL", "").strip()
        self.delegate: LockStore = redis_lock_store_from_url(url) if url else InMemoryLockStore()

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.delegate.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.delegate.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.delegate.save_lock(lock)
