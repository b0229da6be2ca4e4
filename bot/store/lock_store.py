"""Rasa lock store chosen by `REDIS_URL`.

With `REDIS_URL` set, every Rasa instance (or Sanic worker) shares Redis through
`bot.store.redis_lock.AtomicRedisLockStore`, so several of them can serve the same
conversations; without it, Rasa's `InMemoryLockStore` is enough for a single process.
Referenced from `endpoints.yml` as `bot.store.lock_store.EnvLockStore`.
"""

from __future__ import annotations

import os
from typing import Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.store.redis_lock import AtomicRedisLockStore


class EnvLockStore(LockStore):
    """Delegates to Redis when `REDIS_URL` is set, to memory otherwise."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        super().__init__()
        if os.environ.get("REDIS_URL", "").strip():
            self.delegate: LockStore = AtomicRedisLockStore(endpoint_config)
        else:
            self.delegate = InMemoryLockStore()

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self.delegate.issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        self.delegate.update_lock(conversation_id)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self.delegate.finish_serving(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        self.delegate.cleanup(conversation_id, ticket_number)

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.delegate.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.delegate.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.delegate.save_lock(lock)
