"""The bot's tables. Rasa's tracker store keeps its own `events` table in the same database."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from bot.roles import Permission, Role, permissions

Base = declarative_base()

TICKET_KINDS = ("refund", "complaint", "revision", "postop", "consultation")
TICKET_CATEGORIES = ("surgery", "skin", "dental", "other")
TICKET_SEVERITIES = ("normal", "major")
TICKET_STATUSES = ("open", "in_progress", "resolved", "closed")
HANDOFF_REASONS = ("emergency", "anger", "user_request", "fallback")
HANDOFF_PRIORITIES = ("urgent", "high", "normal")
HANDOFF_STATUSES = ("waiting", "active", "closed")
# Why a patient message is in the NLU inbox (bot/nlu_inbox.py), and what a trainer decided about it.
NLU_INBOX_REASONS = ("fallback", "low_confidence", "handoff", "flagged")
NLU_INBOX_STATUSES = ("open", "confirmed", "corrected", "dismissed")
# What the hospital sends of its own accord (bot/followups/), and where each one stands.
FOLLOWUP_KINDS = ("postop_checkin", "ticket_update", "deadline_notice", "satisfaction_survey")
FOLLOWUP_STATUSES = ("scheduled", "sent", "answered", "failed", "cancelled")
TAG_TARGETS = ("conversation", "ticket")
# How a patient agreed to the privacy notice: the widget's button, a reply in the ticket form, an integration.
PRIVACY_AGREEMENTS = ("button", "reply", "integration")
# What the audit log records (bot/audit.py), and what it was done to.
AUDIT_ACTIONS = ("transcript_read", "ticket_read", "phone_revealed", "patient_export", "patient_delete")
AUDIT_TARGETS = ("conversation", "ticket", "patient")


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
    # The colleague working the ticket (the console's assignment), if any.
    assigned_to = Column(Integer, ForeignKey("staff.id"), nullable=True, index=True)

    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan")
    assignee = relationship("Staff")


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
    # Whether the patient sees the note when looking the ticket up; staff notes are internal by default.
    patient_visible = Column(Boolean, nullable=False, default=False, server_default=false())

    ticket = relationship("Ticket", back_populates="events")


class Staff(Base):
    __tablename__ = "staff"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(255), nullable=False)
    # bot/roles.py: agent, supervisor, admin or trainer, and what each may do.
    role = Column(String(16), nullable=False, default=Role.AGENT.value, server_default=Role.AGENT.value)
    # A disabled account cannot log in and its tokens stop working (python -m bot staff disable).
    disabled = Column(Boolean, nullable=False, default=False)
    # The password is a one-time password from `python -m bot staff reset`: nothing but changing it is allowed.
    must_change_password = Column(Boolean, nullable=False, default=False, server_default=false())
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def may(self, permission: Permission) -> bool:
        """Whether this account's role allows `permission`."""
        return permission in permissions(self.role)


class StaffToken(Base):
    """A console login. Only the SHA-256 of the bearer token is stored."""

    __tablename__ = "staff_tokens"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    staff_id = Column(Integer, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)

    staff = relationship("Staff")


class AuditEntry(Base):
    """Who read or revealed which patient's data, when and from where (bot/audit.py); admins read the log."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_kind", "target"),)

    id = Column(Integer, primary_key=True)
    # A staff username, or `cli:<user>` for a command run on the server.
    actor = Column(String(64), nullable=False, index=True)
    # AUDIT_ACTIONS
    action = Column(String(32), nullable=False)
    # AUDIT_TARGETS: a conversation (its id), a ticket (its number) or a patient (a masked phone).
    target_kind = Column(String(16), nullable=False)
    target = Column(String(255), nullable=False)
    client = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


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


class LookupMiss(Base):
    """A ticket lookup whose number and phone did not match, kept for the limit of bot/lookup_limit.py.

    `key` names what the miss counts against: a phone (hashed), a ticket number, a client or a
    conversation, so a new conversation or a restart does not start a fresh budget.
    """

    __tablename__ = "lookup_misses"
    __table_args__ = (Index("ix_lookup_misses_key_created", "key", "created_at"),)

    id = Column(Integer, primary_key=True)
    key = Column(String(96), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class TicketCode(Base):
    """A one-time code sent to the phone on a ticket, for a lookup from a conversation that did not
    open it (bot/ticket_codes.py). Only a salted SHA-256 of the code is kept."""

    __tablename__ = "ticket_codes"
    __table_args__ = (Index("ix_ticket_codes_ticket_conversation", "ticket_number", "conversation_id"),)

    id = Column(Integer, primary_key=True)
    ticket_number = Column(String(32), nullable=False)
    conversation_id = Column(String(255), nullable=False)
    salt = Column(String(32), nullable=False)
    code_hash = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)
    tries = Column(Integer, nullable=False, default=0)
    # The right code was given; the ticket is then shown once (`shown_at`).
    verified_at = Column(UTCDateTime, nullable=True)
    shown_at = Column(UTCDateTime, nullable=True)


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
    # When a person first answered the patient (the first-response time of the reports).
    first_reply_at = Column(UTCDateTime, nullable=True)
    # SHA-256 of the client that asked (bot/client_identity.py), for the limit on urgent handoffs per client.
    client_hash = Column(String(64), nullable=True, index=True)

    staff = relationship("Staff")


class ConversationNote(Base):
    """A note staff leave on a conversation for colleagues: shown only in the console, never sent to the patient."""

    __tablename__ = "conversation_notes"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    staff = relationship("Staff")


class Tag(Base):
    """A tag staff put on a conversation or a ticket (the tag names are in bot/console/tags.yml)."""

    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("target_kind", "target", "tag", name="uq_tags_target_tag"),
        Index("ix_tags_tag_target", "tag", "target_kind"),
    )

    id = Column(Integer, primary_key=True)
    # TAG_TARGETS: a conversation (its id) or a ticket (its number).
    target_kind = Column(String(16), nullable=False)
    target = Column(String(255), nullable=False)
    tag = Column(String(32), nullable=False)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ChannelState(Base):
    """Short-lived state a messaging channel shares between Rasa instances, with an expiry.

    The WeChat channel (bot/channels/wechat.py) keeps here its API access token, the deliveries it has
    already handled (so WeChat's retries are answered once, also after a restart), the numbered choices
    a patient may answer with a number, and when each patient last wrote (the 48-hour window).
    A row whose `expires_at` has passed counts as absent.
    """

    __tablename__ = "channel_state"

    key = Column(String(191), primary_key=True)
    value = Column(Text, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False, index=True)


class NluInboxItem(Base):
    """A patient message the NLU may have misunderstood, waiting for (or reviewed by) a trainer.

    One row per Rasa `user` event, identified as Rasa identifies it: conversation and timestamp.
    """

    __tablename__ = "nlu_inbox"
    __table_args__ = (
        UniqueConstraint("conversation_id", "event_timestamp", name="uq_nlu_inbox_conversation_timestamp"),
        Index("ix_nlu_inbox_status_timestamp", "status", "event_timestamp"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    # The `timestamp` of the event in Rasa's tracker store (seconds since the epoch).
    event_timestamp = Column(Float(precision=53), nullable=False)
    text = Column(Text, nullable=False)
    # The classifier's best intent other than nlu_fallback, its confidence, and Rasa's full retrieval
    # intent (ask_procedure_info/price) when the intent has sub-intents.
    predicted_intent = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    predicted_response_key = Column(String(128), nullable=True)
    reason = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default="open")
    flagged_by = Column(Integer, ForeignKey("staff.id"), nullable=True)
    reviewed_intent = Column(String(64), nullable=True)
    reviewed_procedure = Column(String(32), nullable=True)
    reviewed_by = Column(Integer, ForeignKey("staff.id"), nullable=True)
    reviewed_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    flagger = relationship("Staff", foreign_keys=[flagged_by])
    reviewer = relationship("Staff", foreign_keys=[reviewed_by])


class CollectCursor(Base):
    """How far a collector has read Rasa's `events` table (the NLU inbox: `nlu_inbox`): the last event's id
    (the table's only ordered index) and timestamp."""

    __tablename__ = "collect_cursors"

    name = Column(String(64), primary_key=True)
    last_event_id = Column(Integer, nullable=False)
    last_timestamp = Column(Float(precision=53), nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class FollowUp(Base):
    """A message the hospital sends of its own accord: who, on which channel, what, when, and where it stands.

    `payload` is the message as JSON (`text`, optional `buttons`), rendered when the follow-up is created.
    `locked_until` / `locked_by` are the lease of the scheduler instance delivering it (or, after a failed
    attempt, the earliest time of the next one); `dedupe_key` makes a follow-up that must exist once (a
    ticket step's delay notice) unique.
    """

    __tablename__ = "followups"
    __table_args__ = (
        Index("ix_followups_status_due", "status", "due_at"),
        Index("ix_followups_conversation", "conversation_id", "status"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    channel = Column(String(32), nullable=True)
    kind = Column(String(24), nullable=False)
    status = Column(String(16), nullable=False, default="scheduled")
    due_at = Column(UTCDateTime, nullable=False)
    payload = Column(Text, nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True, index=True)
    procedure = Column(String(32), nullable=True)
    dedupe_key = Column(String(128), nullable=True, unique=True)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(Text, nullable=True)
    locked_until = Column(UTCDateTime, nullable=True)
    locked_by = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime, nullable=True)
    answered_at = Column(UTCDateTime, nullable=True)
    answer = Column(Text, nullable=True)

    ticket = relationship("Ticket")


class PrivacyNotice(Base):
    """The privacy notice a conversation was given, and whether and how the patient agreed to it.

    One row per conversation and notice version (bot/privacy.py): `shown_at` when a channel sent it (or,
    for the widget, which shows it itself, when the patient agreed), `agreed_at` and `agreed_by`
    (PRIVACY_AGREEMENTS) once they agreed. Kept as the hospital's record of notice and consent.
    """

    __tablename__ = "privacy_notices"
    __table_args__ = (UniqueConstraint("conversation_id", "notice_version", name="uq_privacy_notices_version"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    notice_version = Column(String(32), nullable=False)
    shown_at = Column(UTCDateTime, nullable=False, default=utcnow)
    agreed_at = Column(UTCDateTime, nullable=True)
    agreed_by = Column(String(16), nullable=True)


__all__ = [
    "Base",
    "Policy",
    "Ticket",
    "TicketEvent",
    "Staff",
    "StaffToken",
    "AuditEntry",
    "Handoff",
    "Tag",
    "ChannelState",
    "LoginFailure",
    "LookupMiss",
    "TicketCode",
    "NluInboxItem",
    "CollectCursor",
    "FollowUp",
    "PrivacyNotice",
]
