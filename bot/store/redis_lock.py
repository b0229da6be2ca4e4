"""Rasa's Redis lock store, safe when several Rasa instances receive one conversation at once.

Rasa Open Source's `RedisLockStore` changes a conversation's ticket lock by reading it, changing it
in Python and writing it back (`LockStore.issue_ticket`, `finish_serving`, `update_lock`,
`cleanup`). Two instances doing that at the same moment overwrite each other: both get the same
ticket and process the conversation together, or one deletes the lock the other just joined, and
the patient's message is lost (RasaHQ/rasa#9213; the fix, `ConcurrentRedisLockStore`, was reverted
from Open Source). Here each of those steps is one Redis transaction (WATCH / MULTI / EXEC, retried
when another instance changed the lock meanwhile); reading, waiting and the ticket logic stay Rasa's.

Referenced from deploy/endpoints.yml as `bot.store.redis_lock.AtomicRedisLockStore`, configured by
`REDIS_URL`; `bot.store.lock_store.EnvLockStore` (endpoints.yml) uses it when `REDIS_URL` is set.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Optional, Text, Tuple, TypeVar
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

T = TypeVar("T")
Change = Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]]


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


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        url = os.environ.get("REDIS_URL", "").strip()
        if not url:
            raise ValueError("AtomicRedisLockStore needs REDIS_URL (redis://[:password@]host[:port][/db])")
        configured = redis_lock_store_from_url(url)
        LockStore.__init__(self)
        self.red, self.key_prefix = configured.red, configured.key_prefix

    def _change(self, conversation_id: Text, change: Change[T]) -> T:
        """Apply `change` to the stored lock atomically; a returned None lock deletes it."""
        key = self.key_prefix + conversation_id

        def transaction(pipe) -> T:  # type: ignore[no-untyped-def]
            stored = pipe.get(key)
            lock, result = change(TicketLock.from_dict(json.loads(stored)) if stored else None)
            pipe.multi()
            if lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps())
            return result

        return self.red.transaction(transaction, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        def without_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, without_expired)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def finished(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finished)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Finish the ticket, and delete the lock if no one waits, in one step."""

        def finished(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, finished)
