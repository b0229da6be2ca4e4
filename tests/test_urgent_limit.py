"""At most three urgent handoffs an hour per client: a script cannot flood the on-call queue, and the
patient beyond the limit still gets 120 and the on-call line (actions/handoff.py, bot/handoffs.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.handoff import ActionHandoff
from bot import handoffs
from bot.store.db import session_scope
from bot.store.models import Handoff
from tests.test_handoff import SHANGHAI_10AM, clock, database  # noqa: F401 - fixtures


def hand_over(sender: str, intent: str, client: Optional[str]) -> tuple:
    message = {"text": "…", "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    user = {"event": "user", "text": "…", "parse_data": message, "input_channel": "socketio"}
    if client:
        user["metadata"] = {"client": client}
    tracker = Tracker(sender, {}, message, [{"event": "action", "name": "action_listen"}, user], False, None, {},
                      "action_listen")
    dispatcher = CollectingDispatcher()
    events = ActionHandoff().run(dispatcher, tracker, {})
    return events, " ".join(m["text"] for m in dispatcher.messages)


def urgent_handoffs(url: str) -> List[Handoff]:
    with session_scope(url) as session:
        return list(session.scalars(select(Handoff).where(Handoff.priority == "urgent")))


def test_a_fourth_emergency_from_one_client_within_the_hour_is_not_queued_but_gets_the_safety_text(
    database, clock
) -> None:
    for n in range(3):
        events, text = hand_over(f"web-{n}", "report_emergency", "web:6.6.6.6")
        assert events == [ConversationPaused()] and "通知值班医护团队" in text
    events, text = hand_over("web-3", "report_emergency", "web:6.6.6.6")
    assert events == [], "the conversation is not paused: nobody will take it"
    assert "120" in text and "400-000-0120" in text and "不再重复排队" in text
    assert len(urgent_handoffs(database)) == 3
    assert all(h.client_hash and "6.6.6.6" not in h.client_hash for h in urgent_handoffs(database))

    events, _ = hand_over("web-9", "report_emergency", "web:7.7.7.7")
    assert events == [ConversationPaused()], "another client is not limited"
    events, _ = hand_over("web-0", "report_emergency", "web:6.6.6.6")
    assert events == [ConversationPaused()], "a conversation already urgent is served as before"
    events, _ = hand_over("web-4", "request_human", "web:6.6.6.6")
    assert events == [ConversationPaused()], "an ordinary handoff is not limited"

    clock(SHANGHAI_10AM + timedelta(hours=1, minutes=1))
    events, _ = hand_over("web-5", "report_emergency", "web:6.6.6.6")
    assert events == [ConversationPaused()], "an hour later the client may ask again"


def test_the_limit_is_a_setting(database, clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("URGENT_HANDOFFS_PER_CLIENT_PER_HOUR", "1")
    assert hand_over("tg-1", "report_emergency", "tg:42")[0] == [ConversationPaused()]
    assert hand_over("tg-2", "report_emergency", "tg:42")[0] == []
    assert len(urgent_handoffs(database)) == 1


def test_without_a_client_every_emergency_is_queued(database, clock) -> None:
    for n in range(5):
        assert hand_over(f"rest-{n}", "report_emergency", None)[0] == [ConversationPaused()]
    assert handoffs.client_hash(None) is None
