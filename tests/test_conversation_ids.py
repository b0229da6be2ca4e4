"""Conversation ids are namespaced per channel (#14): no channel can address another channel's patient,
and the conversations stored before the prefixes are renamed with everything that names them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from alembic import command
from sqlalchemy import create_engine, text

from bot import conversation_ids
from bot.channels import rest
from bot.store import migrate
from tests.services import fresh_postgres_database

EVENTS = (
    "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,"
    " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_a_rest_caller_cannot_write_into_a_telegram_wechat_or_widget_conversation() -> None:
    for sender, channel in (("tg-123456", "telegram"), ("wx-oPatient", "wechat"), ("web-" + "a" * 32, "socketio")):
        problem = rest.parse_request(json.dumps({"sender": sender, "message": "你好"}).encode())
        assert isinstance(problem, rest.RequestProblem), sender
        assert problem.error == "reserved_sender" and channel in problem.message
    accepted = rest.parse_request(json.dumps({"sender": "123456", "message": "你好"}).encode())
    assert isinstance(accepted, rest.RestRequest) and accepted.sender == "123456"


def test_a_channel_sends_to_its_own_address_of_the_conversation() -> None:
    assert conversation_ids.of("telegram", "123456") == "tg-123456"
    assert conversation_ids.address("telegram", "tg-123456") == "123456"
    assert conversation_ids.address("wechat", conversation_ids.of("wechat", "oAbc-1")) == "oAbc-1"
    assert conversation_ids.address("telegram", "123456") == "123456", "a conversation from before the prefixes"


def _before_the_prefixes(url: str) -> None:
    migrate.upgrade(url, "0013")
    engine = create_engine(url, future=True)
    rows = [
        ("123456", "user", {"input_channel": "telegram", "text": "我要转人工"}),
        ("oWeChatPatient", "user", {"input_channel": "wechat", "text": "你好"}),
        ("alice", "user", {"input_channel": "rest", "text": "你好"}),
        ("123456", "bot", {"text": "好的"}),
    ]
    with engine.begin() as conn:
        conn.execute(text(EVENTS))
        for number, (sender, kind, data) in enumerate(rows, start=1):
            conn.execute(
                text("INSERT INTO events (id, sender_id, type_name, timestamp, data) VALUES (:i, :s, :t, 1.0, :d)"),
                {"i": number, "s": sender, "t": kind, "d": json.dumps(data)},
            )
        for conversation, channel in (("777", "telegram"), ("123456", "telegram"), ("alice", "rest")):
            conn.execute(text(
                "INSERT INTO handoffs (conversation_id, channel, reason, priority, status, created_at)"
                " VALUES (:c, :ch, 'user_request', 'normal', 'waiting', :t)"
            ), {"c": conversation, "ch": channel, "t": NOW})
        conn.execute(text(
            "INSERT INTO channel_state (key, value, expires_at) VALUES ('wechat:window:oWeChatPatient', 'open', :t)"
        ), {"t": NOW + timedelta(hours=48)})
    engine.dispose()


def _ids(url: str) -> dict:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return {
                "events": sorted(set(conn.execute(text("SELECT sender_id FROM events")).scalars())),
                "handoffs": sorted(conn.execute(text("SELECT conversation_id FROM handoffs")).scalars()),
                "windows": sorted(conn.execute(text("SELECT key FROM channel_state")).scalars()),
            }
    finally:
        engine.dispose()


def _renamed_and_back(url: str) -> None:
    _before_the_prefixes(url)
    migrate.upgrade(url)
    assert _ids(url) == {
        "events": ["alice", "tg-123456", "wx-oWeChatPatient"],
        "handoffs": ["alice", "tg-123456", "tg-777"],
        "windows": ["wechat:window:wx-oWeChatPatient"],
    }
    command.downgrade(migrate.alembic_config(url), "0013")
    assert _ids(url) == {
        "events": ["123456", "alice", "oWeChatPatient"],
        "handoffs": ["123456", "777", "alice"],
        "windows": ["wechat:window:oWeChatPatient"],
    }


def test_stored_telegram_and_wechat_conversations_get_their_prefix_and_rest_ones_keep_their_id(tmp_path) -> None:
    _renamed_and_back(f"sqlite:///{tmp_path / 'app.db'}")


def test_stored_conversations_get_their_prefix_on_postgres() -> None:
    with fresh_postgres_database() as url:
        _renamed_and_back(url)
