"""The bot's tables. Rasa's tracker store keeps its own `events` table in the same database."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

Base = declarative_base()

TICKET_KINDS = ("refund", "complaint", "revision", "postop")
TICKET_CATEGORIES = ("surgery", "skin", "dental", "other")
TICKET_SEVERITIES = ("normal", "major")
TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")
HANDOFF_REASONS = ("emergency", "anger", "user_request", "fallback")
HANDOFF_PRIORITIES = ("urgent", "high", "normal")
HANDOFF_STATUSES = ("waiting", "active", "closed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Policy(Base):
    """One published policy document, loaded from data/policies/*.yml."""

    __tablename__ = "policies"

    id = Column(Integer, primary_key=True)
    key = Column(String(100), nullable=False, unique=True)
    procedure = Column(String(32), nullable=True, index=True)
    topic = Column(String(40), nullable=False)
    body = Column(Text, nullable=False)
    source = Column(String(200), nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(20), nullable=False, unique=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(32), nullable=True)
    kind = Column(String(16), nullable=False)
    category = Column(String(16), nullable=False)
    severity = Column(String(16), nullable=False, default="normal")
    procedure = Column(String(32), nullable=True)
    surgery_time = Column(String(100), nullable=True)
    description = Column(Text, nullable=True)
    phone = Column(String(20), nullable=False, index=True)
    status = Column(String(16), nullable=False, default="open")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # The request that opened the ticket (bot.tickets.request_key): a retried request finds its
    # ticket instead of opening a second one.
    request_key = Column(String(64), nullable=True, unique=True)

    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan")


class TicketEvent(Base):
    """A status change or a note on a ticket: the history a patient and staff can follow."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    actor = Column(String(64), nullable=False)
    from_status = Column(String(16), nullable=True)
    to_status = Column(String(16), nullable=True)
    note = Column(Text, nullable=True)

    ticket = relationship("Ticket", back_populates="events")


class Staff(Base):
    __tablename__ = "staff"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(255), nullable=False)
    is_admin = Column(Boolean, nullable=False, default=False)
    disabled = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class StaffToken(Base):
    """A console login. Only the SHA-256 of the bearer token is stored."""

    __tablename__ = "staff_tokens"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    staff_id = Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)

    staff = relationship("Staff")


class LoginFailure(Base):
    """A failed console login, kept for the rate limit (bot/rate_limit.py) shared by every console worker."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_created", "username", "created_at"),
        Index("ix_login_failures_client_created", "client", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False)
    client = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Handoff(Base):
    """A conversation waiting for, or held by, a person."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one open handoff per conversation.
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        Index("ix_handoffs_status_created", "status", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    reason = Column(String(16), nullable=False)
    priority = Column(String(8), nullable=False)
    status = Column(String(8), nullable=False, default="waiting")
    assigned_to = Column(Integer, ForeignKey("staff.id"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)

    staff = relationship("Staff")


__all__ = [
    "Base",
    "Policy",
    "Ticket",
    "TicketEvent",
    "Staff",
    "StaffToken",
    "Handoff",
    "LoginFailure",
]
