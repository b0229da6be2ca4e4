"""The retention purge (bot/retention.py): seeded old and new rows, only what is past its period is gone,
on SQLite and PostgreSQL; a dry run counts the same and deletes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import select

from bot import __main__ as cli
from bot import retention, settings
from bot.patient_data import RASA_EVENTS
from bot.store import db, migrate
from bot.store.models import (
    AuditEntry,
    Base,
    ConversationNote,
    FollowUp,
    Handoff,
    LookupMiss,
    NluInboxItem,
    PrivacyNotice,
    Staff,
    StaffToken,
    Tag,
    Ticket,
    TicketCode,
    TicketEvent,
)
from tests.services import fresh_postgres_database

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
PERIODS = settings.Retention(transcript_days=180, closed_ticket_days=3 * 365, lookup_days=30, audit_days=3 * 365)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def seed(url: str) -> None:
    """Conversations, tickets, handoffs, follow-ups and limits on both sides of each period."""
    migrate.upgrade(url)
    SQLTrackerStore.SQLEvent.__table__.create(db.engine_for(url), checkfirst=True)
    conversations = {"old": 200, "recent": 10, "old-open-ticket": 200, "old-open-handoff": 200, "old-kept-ticket": 200}
    with db.session_scope(url) as session:
        staff = Staff(username="li", display_name="李", password_hash="x")
        session.add(staff)
        session.flush()
        for sender, days in conversations.items():
            for offset in (1, 0):
                session.execute(
                    RASA_EVENTS.insert().values(
                        sender_id=sender, type_name="user", timestamp=ago(days + offset).timestamp(), data="{}"
                    )
                )
            session.add(NluInboxItem(conversation_id=sender, event_timestamp=ago(days).timestamp(), text="鼻子歪了", reason="fallback"))
            session.add(ConversationNote(conversation_id=sender, staff_id=staff.id, text="已电话联系"))
            session.add(PrivacyNotice(conversation_id=sender, channel="rest", notice_version="v", shown_at=ago(days)))

        def ticket(number: str, conversation: str, status: str, changed_days: float) -> Ticket:
            row = Ticket(number=number, conversation_id=conversation, kind="refund", category="surgery", phone="13812345678",
                         status=status, created_at=ago(changed_days + 30), updated_at=ago(changed_days))
            row.events.append(TicketEvent(actor="staff:li", note="已联系", created_at=ago(changed_days)))
            session.add(row)
            return row

        gone = ticket("TK-GONE", "long-closed", "closed", 4 * 365)
        ticket("TK-RESOLVED-RECENTLY", "old-kept-ticket", "resolved", 365)
        ticket("TK-OPEN", "old-open-ticket", "in_progress", 4 * 365)
        session.flush()
        session.add(FollowUp(conversation_id="long-closed", kind="ticket_update", status="sent", due_at=ago(4 * 365),
                             payload="{}", ticket_id=gone.id))
        for conversation, status, closed_days in (
            ("old", "closed", 200), ("old-kept-ticket", "closed", 200), ("recent", "closed", 10),
            ("old-open-handoff", "waiting", None),
        ):
            session.add(Handoff(conversation_id=conversation, channel="rest", reason="user_request", priority="normal",
                                status=status, created_at=ago(closed_days or 200), closed_at=closed_days and ago(closed_days)))
        session.add(FollowUp(conversation_id="old", kind="postop_checkin", status="answered", due_at=ago(200), payload="{}"))
        session.add(FollowUp(conversation_id="recent", kind="postop_checkin", status="scheduled", due_at=ago(200), payload="{}"))
        session.add(LookupMiss(key="phone:abc", created_at=ago(40)))
        session.add(LookupMiss(key="phone:def", created_at=ago(1)))
        for kind, target in (("conversation", "old"), ("conversation", "recent"), ("conversation", "old-kept-ticket"),
                             ("ticket", "TK-GONE"), ("ticket", "TK-OPEN")):
            session.add(Tag(target_kind=kind, target=target, tag="投诉", staff_id=staff.id, created_at=ago(200)))
        for number, expired_days in (("TK-GONE", 2), ("TK-OPEN", 0)):
            session.add(TicketCode(ticket_number=number, conversation_id="old", salt="s", code_hash="h",
                                   created_at=ago(expired_days), expires_at=ago(expired_days) + timedelta(minutes=10)))
        for target, days in (("long-ago", 4 * 365), ("last-year", 365)):
            session.add(AuditEntry(actor="li", action="transcript_read", target_kind="conversation", target=target,
                                   client="10.0.0.8", created_at=ago(days)))
        for token, expires_days in (("expired", 1), ("valid", -1)):
            session.add(StaffToken(token_hash=token, staff_id=staff.id, expires_at=ago(expires_days)))


def remaining(url: str) -> Dict[str, List[str]]:
    with db.session_scope(url) as session:
        return {
            "events": sorted(set(session.scalars(select(RASA_EVENTS.c.sender_id)))),
            "nlu_inbox": sorted(session.scalars(select(NluInboxItem.conversation_id))),
            "notes": sorted(session.scalars(select(ConversationNote.conversation_id))),
            "notices": sorted(session.scalars(select(PrivacyNotice.conversation_id))),
            "tickets": sorted(session.scalars(select(Ticket.number))),
            "ticket_events": sorted(str(t) for t in session.scalars(select(TicketEvent.ticket_id))),
            "handoffs": sorted(session.scalars(select(Handoff.conversation_id))),
            "followups": sorted(session.scalars(select(FollowUp.conversation_id))),
            "lookup_misses": sorted(session.scalars(select(LookupMiss.key))),
            "tags": sorted(session.scalars(select(Tag.target))),
            "ticket_codes": sorted(session.scalars(select(TicketCode.ticket_number))),
            "audit_log": sorted(session.scalars(select(AuditEntry.target))),
            "staff_tokens": sorted(session.scalars(select(StaffToken.token_hash))),
        }


# A finished ticket keeps its own rows (and its conversation's handoffs and consent) for the ticket period, but
# not the transcript: that goes after the transcript period like any other.
EXPECTED = {
    "events": ["old-open-handoff", "old-open-ticket", "recent"],
    "nlu_inbox": ["old-open-handoff", "old-open-ticket", "recent"],
    "notes": ["old-open-handoff", "old-open-ticket", "recent"],
    "notices": ["old-kept-ticket", "old-open-handoff", "old-open-ticket", "recent"],
    "tickets": ["TK-OPEN", "TK-RESOLVED-RECENTLY"],
    "handoffs": ["old-kept-ticket", "old-open-handoff", "recent"],
    "followups": ["recent"],
    "lookup_misses": ["phone:def"],
    # A conversation's tags go with the last of it, a ticket's with the ticket.
    "tags": ["TK-OPEN", "old-kept-ticket", "recent"],
    "ticket_codes": ["TK-OPEN"],
    "audit_log": ["last-year"],
    "staff_tokens": ["valid"],
}


def check_purge(url: str) -> None:
    seed(url)
    before = remaining(url)
    with db.session_scope(url) as session:
        counts = retention.purge(session, NOW, PERIODS)
        session.rollback()
    assert remaining(url) == before, "a rolled-back purge deletes nothing"
    with db.session_scope(url) as session:
        assert retention.purge(session, NOW, PERIODS) == counts
    after = remaining(url)
    assert {key: after[key] for key in EXPECTED} == EXPECTED
    assert len(after["ticket_events"]) == 2
    assert counts["events"] == 4 and counts["tickets"] == 1 and counts["ticket_events"] == 1
    assert counts["ticket_followups"] == 1 and counts["followups"] == 1 and counts["handoffs"] == 1
    assert counts["lookup_misses"] == 1 and counts["privacy_notices"] == 1
    assert counts["tags"] == 2 and counts["ticket_codes"] == 1 and counts["audit_log"] == 1 and counts["staff_tokens"] == 1
    with db.session_scope(url) as session:
        again = retention.purge(session, NOW, PERIODS)
    assert not any(again.values()), "a second purge finds nothing more"


def test_only_what_is_past_its_period_is_deleted_on_sqlite(tmp_path: Path) -> None:
    check_purge(f"sqlite:///{tmp_path / 'app.db'}")


def test_only_what_is_past_its_period_is_deleted_on_postgres() -> None:
    with fresh_postgres_database() as url:
        check_purge(url)


@pytest.fixture()
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    seed(url)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url


def test_the_command_counts_with_dry_run_and_deletes_without(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = remaining(seeded)
    assert cli.main(["purge", "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True and dry["tickets"] >= 1 and dry["events"] >= 2
    assert remaining(seeded) == before
    assert cli.main(["purge"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in done.items() if k != "dry_run"} == {k: v for k, v in dry.items() if k != "dry_run"}
    assert "TK-GONE" not in remaining(seeded)["tickets"]


def test_a_shorter_configured_period_deletes_more_and_a_bad_one_is_refused(
    seeded: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRANSCRIPT_RETENTION_DAYS", "0")
    assert cli.main(["purge"]) == 2
    assert "TRANSCRIPT_RETENTION_DAYS must be positive" in capsys.readouterr().err
    monkeypatch.setenv("TRANSCRIPT_RETENTION_DAYS", "5")
    assert cli.main(["purge"]) == 0
    assert "recent" not in remaining(seeded)["events"]


def test_a_database_rasa_never_wrote_to_is_purged_without_transcripts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    with db.session_scope(url) as session:
        session.add(LookupMiss(key="phone:abc", created_at=ago(40)))
    counts = retention.run(url, now=NOW)
    assert counts["events"] == 0 and counts["lookup_misses"] == 1


def test_every_table_holding_a_conversation_or_a_phone_is_purged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    with db.session_scope(url) as session:
        purged = retention.purge(session, NOW, PERIODS)
    holding = [t.name for t in Base.metadata.sorted_tables if {"conversation_id", "phone"} & set(t.columns.keys())]
    assert "tickets" in holding and "handoffs" in holding
    assert [name for name in holding if name not in purged] == [], "add the new table to bot/retention.py"
