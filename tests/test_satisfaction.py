"""The satisfaction question (#18): asked once after staff release a handoff or finish a ticket, never after an
emergency or a patient's stop, answered with a button whose score reaches the reports, the CSV and the weekly report;
a low score is offered a person or a complaint. The console's API with the fake Rasa of test_console_api, the
scheduler with a stand-in delivery, the action with a real tracker."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import satisfaction as satisfaction_actions
from bot.followups import satisfaction, scheduler, texts
from bot.management import weekly
from bot.store.db import session_scope
from bot.store.models import FollowUp, Ticket, TicketEvent, utcnow
from tests.test_console_api import add_handoff, add_rasa_events, client, database, login, make_client, rasa  # noqa: F401
from tests.test_console_desk import add_ticket

SCORE_PAYLOAD = '/rate_service{"satisfaction_score":"%s"}'


def surveys(url: str, conversation: Optional[str] = None) -> List[FollowUp]:
    with session_scope(url) as session:
        query = select(FollowUp).where(FollowUp.kind == "satisfaction_survey").order_by(FollowUp.id)
        if conversation:
            query = query.where(FollowUp.conversation_id == conversation)
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def release(client, url: str, conversation: str, priority: str = "normal") -> None:  # noqa: F811
    handoff_id = add_handoff(url, conversation, priority=priority)
    li = login(client, "li")
    assert client.post(f"/api/handoffs/{handoff_id}/claim", headers=li).status_code == 200
    assert client.post(f"/api/handoffs/{handoff_id}/release", headers=li).status_code == 200


def move(client, number: str, status: str) -> None:  # noqa: F811
    response = client.patch(f"/api/tickets/{number}", json={"status": status}, headers=login(client, "li"))
    assert response.status_code == 200, response.text


def test_the_question_has_five_buttons_from_very_satisfied_to_very_dissatisfied_with_the_score_in_the_payload() -> None:
    question = satisfaction.question()
    assert "满意" in question.text
    assert [b["title"] for b in question.buttons] == ["非常满意", "满意", "一般", "不满意", "很不满意"]
    assert [b["payload"] for b in question.buttons] == [SCORE_PAYLOAD % score for score in (5, 4, 3, 2, 1)]
    # Telegram's inline keyboard carries at most 64 bytes of callback data.
    assert all(len(b["payload"].encode("utf-8")) <= 64 for b in question.buttons)


def test_a_released_handoff_asks_once_ten_minutes_later_and_a_second_release_that_day_does_not(client, database) -> None:  # noqa: F811
    before = utcnow()
    release(client, database, "web-1")
    [asked] = surveys(database)
    assert (asked.conversation_id, asked.channel, asked.status, asked.ticket_id) == ("web-1", "socketio", "scheduled", None)
    delay = timedelta(minutes=texts.node("satisfaction.delay_minutes.handoff"))
    assert before + delay <= asked.due_at <= utcnow() + delay
    assert json.loads(asked.payload)["buttons"][0]["payload"] == SCORE_PAYLOAD % 5
    release(client, database, "web-1")  # the patient asked for a person again the same day
    assert len(surveys(database)) == 1
    release(client, database, "web-2")
    assert [s.conversation_id for s in surveys(database)] == ["web-1", "web-2"]


def test_a_ticket_resolved_then_closed_asks_once_and_other_changes_ask_nothing(client, database) -> None:  # noqa: F811
    add_ticket(database, "TK1", channel="telegram", procedure="隆鼻")
    move(client, "TK1", "in_progress")
    assert surveys(database) == []
    move(client, "TK1", "resolved")
    move(client, "TK1", "closed")
    [asked] = surveys(database)
    assert (asked.conversation_id, asked.channel, asked.procedure) == ("c-TK1", "telegram", "隆鼻")
    with session_scope(database) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "TK1")).one()
        assert asked.ticket_id == ticket.id
        # In the same transaction as the ticket's own progress messages, which come first.
        updates = session.scalars(select(FollowUp).where(FollowUp.kind == "ticket_update")).all()
        assert len(updates) == 3 and all(u.due_at < asked.due_at for u in updates)


def test_dedupe_keys_keep_one_question_per_handoff_and_per_ticket_even_days_apart(database) -> None:  # noqa: F811
    add_ticket(database, "TK2")
    first = datetime(2026, 12, 1, 2, tzinfo=timezone.utc)
    with session_scope(database) as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == "TK2")).one()
        ticket.status = "resolved"
        assert satisfaction.ticket_changed(session, ticket, now=first) is not None
        ticket.status = "closed"
        assert satisfaction.ticket_changed(session, ticket, now=first + timedelta(days=5)) is None
    assert len(surveys(database)) == 1


def test_no_question_after_an_emergency_nor_with_one_open_nor_after_the_patient_said_stop(client, database) -> None:  # noqa: F811
    release(client, database, "red-flag", priority="urgent")
    add_handoff(database, "c-TK3", priority="urgent")  # an emergency still open while staff close the ticket
    add_ticket(database, "TK3")
    move(client, "TK3", "resolved")
    add_rasa_events(database, [("stopped", "user", 1.0, "followup_stop")])
    release(client, database, "stopped")
    assert surveys(database) == []


def test_when_due_the_question_gives_way_to_an_emergency_or_a_stop_and_waits_while_a_person_holds_it(
    client, database  # noqa: F811
) -> None:
    for conversation in ("calm", "emergency", "stop", "held"):
        release(client, database, conversation)
    add_handoff(database, "emergency", priority="urgent")  # a red flag in the ten minutes before the question
    add_handoff(database, "held", priority="normal")
    add_rasa_events(database, [("stop", "user", 2.0, "followup_stop")])
    sent: List[str] = []
    later = utcnow() + timedelta(minutes=11)
    result = scheduler.run_due(lambda _id, conversation, *_: sent.append(conversation), now=later, url=database)
    assert sent == ["calm"] and result.sent == 1
    by_conversation = {s.conversation_id: s for s in surveys(database)}
    assert by_conversation["emergency"].status == by_conversation["stop"].status == "cancelled"
    assert by_conversation["held"].status == "scheduled" and by_conversation["held"].due_at > later


def run_action(sender: str, score: Any) -> tuple:
    payload = SCORE_PAYLOAD % score
    entities = [{"entity": "satisfaction_score", "value": str(score)}]
    latest = {"text": payload, "intent": {"name": "rate_service", "confidence": 1.0}, "entities": entities}
    events = [{"event": "user", "text": payload, "parse_data": latest, "input_channel": "socketio"}]
    tracker = Tracker(sender, {}, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(satisfaction_actions.ActionSatisfactionAnswer().run(dispatcher, tracker, {}))
    return dispatcher.messages


def send_due(url: str) -> None:
    scheduler.run_due(lambda *args: None, now=utcnow() + timedelta(minutes=11), url=url)


@pytest.fixture()
def url(database, monkeypatch) -> str:  # noqa: F811
    monkeypatch.setenv("DATABASE_URL", database)
    return database


def test_a_score_is_recorded_on_the_question_and_thanked(client, url) -> None:  # noqa: F811
    release(client, url, "web-5")
    send_due(url)
    [said] = run_action("web-5", 5)
    assert "谢谢" in said["text"] and not said.get("buttons")
    [answered] = surveys(url)
    assert (answered.status, answered.answer) == ("answered", "5") and answered.answered_at is not None
    # A second press of a button finds nothing waiting: the score stays as it was.
    [again] = run_action("web-5", 1)
    assert "已经评价过" in again["text"]
    assert surveys(url)[0].answer == "5"


def test_a_low_score_is_offered_a_person_or_a_complaint_kindly(client, url) -> None:  # noqa: F811
    release(client, url, "web-6")
    send_due(url)
    [said] = run_action("web-6", 2)
    assert "很抱歉" in said["text"] and "工作人员" in said["text"]
    assert [b["payload"] for b in said["buttons"]] == ["/request_human", "/complain_service"]
    assert surveys(url)[0].answer == "2"


@pytest.mark.parametrize("score", ["0", "6", "五", "", "3.5"])
def test_a_payload_with_no_score_from_1_to_5_records_nothing(client, url, score) -> None:  # noqa: F811
    release(client, url, "web-7")
    send_due(url)
    [said] = run_action("web-7", score)
    assert "请点选" in said["text"]
    assert surveys(url)[0].status == "sent"


def test_the_answers_reach_the_summary_api_and_the_weekly_report(client, url) -> None:  # noqa: F811
    for conversation, score in (("a", 5), ("b", 4), ("c", 1), ("d", None)):
        release(client, url, conversation)
    add_ticket(url, "TK9")
    move(client, "TK9", "resolved")
    send_due(url)
    for conversation, score in (("a", 5), ("b", 4), ("c", 1), ("c-TK9", 4)):
        run_action(conversation, score)
    today = datetime.now(timezone(timedelta(hours=8))).date()
    report = client.get(f"/api/reports/summary?from={today}&to={today}", headers=login(client, "boss")).json()
    figures = report["satisfaction"]
    assert (figures["sent"], figures["answered"], figures["response_rate"], figures["mean_score"]) == (5, 4, 0.8, 3.5)
    assert [d["count"] for d in figures["distribution"]] == [1, 0, 0, 2, 1]
    assert figures["per_day"] == [{"day": today.isoformat(), "sent": 5, "answered": 4, "response_rate": 0.8, "mean_score": 3.5}]
    assert figures["by_source"] == [
        {"source": "handoff", "sent": 4, "answered": 3, "response_rate": 0.75, "mean_score": 3.33},
        {"source": "ticket", "sent": 1, "answered": 1, "response_rate": 1.0, "mean_score": 4.0},
    ]
    with session_scope(url) as session:
        markdown = weekly.render(session, today - timedelta(days=today.weekday()))
    section = markdown.split("## 满意度")[1].split("##")[0]
    assert "| 合计 | 5 | 4 | 80.0% | 3.50 |" in section and "| 工单解决后 | 1 | 1 | 100.0% | 4.00 |" in section
    assert "评分分布：5 分 1 份、4 分 2 份、3 分 0 份、2 分 0 份、1 分 1 份。" in section


def test_the_weekly_report_says_when_no_question_was_sent(database) -> None:  # noqa: F811
    with session_scope(database) as session:
        markdown = weekly.render(session, date(2026, 11, 2))
    assert "本周没有发出满意度调查。" in markdown and "| 满意度调查回复率 | — | — |" in markdown


def test_a_ticket_event_without_a_status_change_asks_nothing(client, database) -> None:  # noqa: F811
    add_ticket(database, "TK4", status="resolved")
    response = client.patch("/api/tickets/TK4", json={"note": "已回电"}, headers=login(client, "li"))
    assert response.status_code == 200
    with session_scope(database) as session:
        assert session.scalars(select(TicketEvent).where(TicketEvent.note == "已回电")).one()
    assert surveys(database) == []


def test_rate_service_is_a_payload_of_the_buttons_only_never_learned_from_typed_words() -> None:
    import yaml

    root = Path(__file__).resolve().parent.parent
    nlu = "\n".join(path.read_text(encoding="utf-8") for path in (root / "data" / "nlu").rglob("*.yml"))
    assert "rate_service" not in nlu
    rules = yaml.safe_load((root / "data" / "rules" / "satisfaction.yml").read_text(encoding="utf-8"))["rules"]
    assert rules[0]["steps"] == [{"intent": "rate_service"}, {"action": "action_satisfaction_answer"}]
