"""action_handoff with a real rasa_sdk Tracker and a real (temporary SQLite) database."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.handoff import ActionHandoff
from bot import handoffs, hospital
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import Handoff

SHANGHAI_10AM = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Shanghai
SHANGHAI_1030PM = datetime(2026, 11, 24, 14, 30, tzinfo=timezone.utc)  # Tuesday 22:30 in Shanghai


@pytest.fixture()
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture()
def clock(monkeypatch):
    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(handoffs, "utcnow", lambda: moment)

    set_to(SHANGHAI_10AM)
    return set_to


def tracker(sender: str, intent: str, channel: str = "socketio") -> Tracker:
    message = {"text": "…", "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "…", "parse_data": message, "input_channel": channel},
    ]
    return Tracker(sender, {}, message, events, False, None, {}, "action_listen")


def hand_over(sender: str, intent: str, channel: str = "socketio") -> tuple:
    dispatcher = CollectingDispatcher()
    events = ActionHandoff().run(dispatcher, tracker(sender, intent, channel), {})
    return events, " ".join(m["text"] for m in dispatcher.messages)


def open_handoffs(url: str, conversation_id: Optional[str] = None) -> List[Handoff]:
    with session_scope(url) as session:
        query = select(Handoff).where(Handoff.status != "closed")
        if conversation_id:
            query = query.where(Handoff.conversation_id == conversation_id)
        return list(session.scalars(query))


@pytest.mark.parametrize(
    "intent, reason, priority",
    [
        ("report_emergency", "emergency", "urgent"),
        ("express_anger", "anger", "high"),
        ("request_human", "user_request", "normal"),
        ("nlu_fallback", "fallback", "normal"),
    ],
)
def test_the_patients_intent_decides_reason_and_priority_and_the_bot_pauses(
    database, clock, intent, reason, priority
) -> None:
    events, _ = hand_over("patient-1", intent, channel="telegram")

    assert events == [ConversationPaused()]
    [handoff] = open_handoffs(database)
    assert (handoff.conversation_id, handoff.channel) == ("patient-1", "telegram")
    assert (handoff.reason, handoff.priority, handoff.status) == (reason, priority, "waiting")


def test_in_working_hours_the_patient_hears_their_place_and_the_expected_wait(database, clock) -> None:
    hand_over("first", "request_human")
    _, text = hand_over("second", "request_human")

    assert "第 2 位" in text
    assert "10 分钟" in text  # 2 patients × 5 minutes (data/policies/hospital.yml)
    assert hospital.load().on_call_line in text


def test_an_emergency_goes_ahead_of_everyone_already_waiting(database, clock) -> None:
    hand_over("calm-1", "request_human")
    hand_over("angry", "express_anger")
    _, text = hand_over("bleeding", "report_emergency")

    assert "第" not in text and "分钟" not in text  # no queue position or wait estimate for an emergency
    assert "值班医护团队" in text and hospital.load().on_call_line in text
    _, text = hand_over("calm-2", "request_human")
    assert "第 4 位" in text


def test_out_of_hours_the_handoff_is_queued_and_the_patient_told_when_staff_answer(database, clock) -> None:
    clock(SHANGHAI_1030PM)
    events, text = hand_over("night-owl", "request_human")

    assert events == [ConversationPaused()]
    assert len(open_handoffs(database, "night-owl")) == 1
    assert "下班时间" in text
    assert "11月25日 09:00" in text
    assert "120" in text and hospital.load().on_call_line in text


def test_asking_again_reuses_the_open_handoff_and_raises_its_priority(database, clock) -> None:
    hand_over("worried", "request_human")
    hand_over("worried", "report_emergency")
    hand_over("worried", "request_human")

    [handoff] = open_handoffs(database, "worried")
    assert (handoff.reason, handoff.priority) == ("emergency", "urgent")


def test_next_opening_skips_days_without_service() -> None:
    weekdays_only = hospital.parse(
        {
            "hospital": {
                "timezone": "Asia/Shanghai", "hotline": "1", "on_call_line": "2", "crisis_line": "3",
                "address": "路 1 号", "hotline_hours": "工作日", "clinic_hours": "工作日",
            },
            "staff_service": {"days": [1, 2, 3, 4, 5], "opens": "09:00", "closes": "18:00", "minutes_per_waiting_patient": 3},
            "handoff_messages": {"opens_at_format": "{month}/{day} {time}"},
        }
    )
    friday_evening = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)  # 19:00 Friday in Shanghai
    assert not weekdays_only.is_staffed(friday_evening)
    assert weekdays_only.opens_at_text(weekdays_only.next_opening(friday_evening)) == "11/30 09:00"
