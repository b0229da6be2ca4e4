"""The audit log: who read a transcript or a ticket, revealed a phone number, exported or deleted a patient's
data, which object, when and from which address (table `audit_log`). Staff read the log through
`GET /api/audit` (admins only, bot/roles.py)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import AUDIT_ACTIONS, AUDIT_TARGETS, AuditEntry

# A page of the log: newest first, at most this many entries.
PAGE_SIZE = 200
_LENGTHS = {name: AuditEntry.__table__.c[name].type.length for name in ("actor", "target", "client")}


def _fit(name: str, value: str) -> str:
    return value[: _LENGTHS[name]]


def command_actor() -> str:
    """The actor of a command run on the server: `cli:` and the operating-system user."""
    return f"cli:{getpass.getuser()}"


def record(session: Session, actor: str, action: str, target_kind: str, target: str, client: str) -> AuditEntry:
    """Write one entry; `action` and `target_kind` are among AUDIT_ACTIONS and AUDIT_TARGETS."""
    if action not in AUDIT_ACTIONS or target_kind not in AUDIT_TARGETS:
        raise ValueError(f"unknown audit action or target: {action!r}, {target_kind!r}")
    entry = AuditEntry(
        actor=_fit("actor", actor),
        action=action,
        target_kind=target_kind,
        target=_fit("target", target),
        client=_fit("client", client),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    actor: Optional[str] = None
    action: Optional[str] = None
    target: Optional[str] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None
    # Entries older than this id: the next page.
    before_id: Optional[int] = None


def entries(session: Session, where: AuditFilter = AuditFilter()) -> List[AuditEntry]:
    """Newest first, at most PAGE_SIZE."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_SIZE)
    for column, value in (
        (AuditEntry.actor, where.actor),
        (AuditEntry.action, where.action),
        (AuditEntry.target, where.target),
    ):
        if value:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(AuditEntry.created_at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.created_at < where.until)
    if where.before_id is not None:
        query = query.where(AuditEntry.id < where.before_id)
    return list(session.scalars(query))
