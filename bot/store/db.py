"""Engine and sessions (SQLAlchemy 1.4 in 2.0 style), one engine per database URL and process."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot import settings

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _configure_sqlite(engine: Engine) -> None:
    """Wait for another process's write instead of failing, and enforce foreign keys."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def sqlite_file_engine(url: str) -> Engine:
    """An engine for a SQLite file that keeps its connections open.

    SQLAlchemy 1.4 gives file databases a `NullPool`: every session opened the file again and ran the
    pragmas (the tracker store opened it 41 times for 20 turns). A `QueuePool` reuses connections;
    several processes still share the file through WAL (bot/store/migrate.py) and the busy timeout.
    """
    engine = create_engine(
        url, future=True, poolclass=QueuePool, pool_size=5, max_overflow=10, connect_args={"check_same_thread": False}
    )
    _configure_sqlite(engine)
    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        return sqlite_file_engine(url)
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: Optional[str] = None) -> Engine:
    return engine_for(url or settings.database_url())


@lru_cache(maxsize=8)
def _session_factory(url: str) -> sessionmaker:
    return sessionmaker(bind=engine_for(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session: Session = _session_factory(url or settings.database_url())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
