"""The complaint desk's console API (#18): the ticket list with filters and search, canned replies, internal
notes on a conversation and the reports summary. A real database and the fake Rasa of test_console_api."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, text

from bot import hospital, patient_data, reports
from bot.console import replies
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import FollowUp, Ticket, TicketEvent, utcnow
from tests.services import fresh_postgres_database
from tests.test_console_api import client, database, login, make_client, rasa  # noqa: F401 - pytest fixtures

# Rasa's tracker store table (rasa/core/tracker_store.py SQLTrackerStore.SQLEvent), on either database.
RASA_EVENTS = Table(
    "events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False), Column("timestamp", Float), Column("intent_name", String(255)),
    Column("action_name", String(255)), Column("data", Text),
)
LONG_AGO = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)


def add_ticket(url: str, number: str, created_at: datetime = LONG_AGO, **fields: str) -> None:
    values = dict(conversation_id="c-" + number, kind="complaint", category="surgery", severity="normal",
                  phone="13800138000", status="open")
    values.update(fields)
    with session_scope(url) as session:
        session.add(Ticket(number=number, created_at=created_at, updated_at=created_at, **values,
                           events=[TicketEvent(actor="bot", to_status=values["status"], created_at=created_at)]))


def numbers(client, headers, query: str) -> list:  # noqa: F811 - the fixture passed on
    response = client.get(f"/api/tickets{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [t["number"] for t in response.json()]


def test_the_ticket_list_filters_by_kind_category_severity_status_and_overdue_and_finds_numbers_and_phones(
    client, database  # noqa: F811
) -> None:
    now = utcnow()
    add_ticket(database, "TK202611020001", kind="refund", category="skin", phone="13912345678")
    add_ticket(database, "TK202611020002", severity="major", category="dental", created_at=now)
    add_ticket(database, "TK202611020003", kind="postop", status="closed", phone="13700001111")
    li = login(client, "li")

    assert numbers(client, li, "?kind=refund") == ["TK202611020001"]
    assert numbers(client, li, "?category=dental&severity=major") == ["TK202611020002"]
    assert numbers(client, li, "?status=closed") == ["TK202611020003"]
    # The refund opened a month ago is past its first step's limit; the major one opened now is not; closed has none.
    assert numbers(client, li, "?overdue=true") == ["TK202611020001"]
    assert numbers(client, li, "?overdue=false") == ["TK202611020002", "TK202611020003"]
    assert numbers(client, li, "?q=139****5678") == ["TK202611020001"]
    assert numbers(client, li, "?q=1111") == ["TK202611020003"]
    assert numbers(client, li, "?q=tk202611020002") == ["TK202611020002"]
    assert sorted(numbers(client, li, "?q=TK2026110200")) == ["TK202611020001", "TK202611020002", "TK202611020003"]
    listed = client.get("/api/tickets?q=13912345678", headers=li).json()
    assert [(t["number"], t["phone_masked"], t["overdue"]) for t in listed] == [("TK202611020001", "139****5678", True)]
    assert numbers(client, li, "?q=%25") == []
    assert client.get("/api/tickets?kind=lost", headers=li).status_code == 422
    assert client.get("/api/tickets?severity=huge", headers=li).status_code == 422
    assert client.get("/api/tickets?q=" + "9" * 41, headers=li).status_code == 422


def test_canned_replies_are_found_by_a_few_characters_with_the_hospitals_facts_and_the_senders_name(
    client,  # noqa: F811
) -> None:
    facts = hospital.load().facts()
    li = login(client, "li")
    everything = client.get("/api/replies", headers=li).json()
    assert len(everything) == len(replies.load()) >= 10
    assert all("{" not in reply["text"] for reply in everything)
    found = client.get("/api/replies", params={"q": "/肿胀"}, headers=li).json()
    assert [r["key"] for r in found] == ["swelling"]
    assert facts["on_call_line"] in found[0]["text"] and found[0]["topic_label"] == "术后护理"
    hello = client.get("/api/replies", params={"q": "HELLO"}, headers=li).json()
    assert [r["key"] for r in hello] == ["hello"] and "李护士" in hello[0]["text"]
    assert facts["address"] in client.get("/api/replies?q=revisit", headers=li).json()[0]["text"]
    assert client.get("/api/replies?q=没有这样的回复", headers=li).json() == []
    assert client.get("/api/replies?q=" + "x" * 41, headers=li).status_code == 422
    assert client.get("/api/replies").status_code == 401


def test_a_reply_naming_a_fact_nobody_fills_in_or_lacking_its_text_is_refused() -> None:
    known = tuple(hospital.load().facts()) + ("staff_name",)
    good = {"topics": {"t": {"label": "标签", "replies": [{"key": "a", "title": "标题", "text": "拨打 {hotline}"}]}}}
    assert [r.key for r in replies.parse(good, known)] == ["a"]
    with pytest.raises(replies.RepliesFileError, match="wechat_id"):
        replies.parse({"topics": {"t": {"replies": [{"key": "a", "title": "x", "text": "加 {wechat_id}"}]}}}, known)
    with pytest.raises(replies.RepliesFileError, match="lacks"):
        replies.parse({"topics": {"t": {"replies": [{"key": "a", "title": "x"}]}}}, known)
    with pytest.raises(replies.RepliesFileError, match="twice"):
        replies.parse({"topics": {"t": {"replies": [good["topics"]["t"]["replies"][0]] * 2}}}, known)
    with pytest.raises(replies.RepliesFileError, match="topics"):
        replies.parse(["not", "a", "mapping"], known)


def test_internal_notes_on_a_conversation_are_kept_for_colleagues_and_never_reach_the_patient(
    client, database, rasa  # noqa: F811
) -> None:
    li, wang = login(client, "li"), login(client, "wang")
    first = client.post("/api/conversation-notes", headers=li, json={"conversation_id": "web-1", "text": " 患者情绪激动，先安抚 "})
    assert first.status_code == 201, first.text
    client.post("/api/conversation-notes", headers=wang, json={"conversation_id": "web-1", "text": "已联系主诊医生"})
    client.post("/api/conversation-notes", headers=wang, json={"conversation_id": "web-2", "text": "别的会话"})
    notes = client.get("/api/conversation-notes?conversation_id=web-1", headers=li).json()
    assert [(n["staff_name"], n["text"]) for n in notes] == [("李护士", "患者情绪激动，先安抚"), ("王医生", "已联系主诊医生")]
    assert rasa.appended() == []  # nothing went to Rasa, so nothing to the patient
    assert client.get("/api/conversation-notes?conversation_id=web-3", headers=li).json() == []
    for bad in ({"conversation_id": "web-1", "text": "  "}, {"conversation_id": "web-1", "text": "长" * 2001},
                {"conversation_id": "", "text": "x"}, {"text": "x"}):
        assert client.post("/api/conversation-notes", headers=li, json=bad).status_code == 422
    assert client.get("/api/conversation-notes", headers=li).status_code == 422
    assert client.get("/api/conversation-notes?conversation_id=web-1").status_code == 401
    assert client.post("/api/conversation-notes", json={"conversation_id": "web-1", "text": "x"}).status_code == 401

    with session_scope(database) as session:
        RASA_EVENTS.create(session.connection())
        patient = patient_data.find(session, None, ["web-1"])
        assert [n["text"] for n in patient_data.export(session, patient)["conversation_notes"]][0] == "患者情绪激动，先安抚"
        assert patient_data.delete_all(session, patient)["conversation_notes"] == 2
    assert client.get("/api/conversation-notes?conversation_id=web-1", headers=li).json() == []


# Shanghai time = UTC+8: 2026-11-02 23:30 local is 15:30 UTC; 2026-11-03 00:30 local is 16:30 UTC on the 2nd.
def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone(timedelta(hours=8))).astimezone(timezone.utc)


def seed_report(url: str) -> None:
    """Two days of a small hospital: conversations, a fallback, handoffs with known waits, tickets resolved."""
    from bot.store.models import Handoff, NluInboxItem  # noqa: PLC0415 - only the report's seed needs them

    with session_scope(url) as session:
        RASA_EVENTS.create(session.connection())
        rows = [
            ("web-a", "user", at(2, 9), "greet"), ("web-a", "bot", at(2, 9), None), ("web-a", "user", at(2, 9, 1), "ask_price"),
            ("web-b", "user", at(2, 23, 30), "nlu_fallback"), ("web-b", "bot", at(2, 23, 30), None),
            ("web-b", "user", at(3, 0, 30), "ask_price"),  # after local midnight: the 3rd
            ("web-c", "user", at(1, 23, 59), "greet"),  # the day before the range
        ]
        session.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, intent_name) VALUES (:s, :k, :t, :i)"),
            [{"s": s, "k": k, "t": t.timestamp(), "i": i} for s, k, t, i in rows],
        )
        for number, (reason, priority, created, claimed, answered) in enumerate((
            ("emergency", "urgent", at(2, 10), at(2, 10, 1), 30),  # 60 s to claim, first reply 30 s later
            ("emergency", "urgent", at(3, 10), at(3, 10, 3), 90),  # 180 s, 90 s
            ("user_request", "normal", at(2, 11), at(2, 11, 10), 300),  # 600 s, 300 s
            ("user_request", "normal", at(2, 15), at(2, 15, 10), None),  # 600 s, released without a reply
            ("anger", "high", at(3, 12), None, None),
        )):
            replied = claimed + timedelta(seconds=answered) if answered else None
            session.add(Handoff(conversation_id=f"web-h{number}", channel="socketio", reason=reason, priority=priority,
                                status="closed" if claimed else "waiting", created_at=created, claimed_at=claimed,
                                first_reply_at=replied))
        session.add(NluInboxItem(conversation_id="web-b", event_timestamp=at(2, 23, 30).timestamp(), text="嗯嗯",
                                 reason="fallback", created_at=at(2, 23, 31)))
    add_ticket(url, "TK1", created_at=at(2, 9), kind="complaint", category="surgery", severity="major", procedure="隆鼻")
    add_ticket(url, "TK2", created_at=at(2, 23, 50), kind="refund", category="skin", procedure="光子嫩肤")
    add_ticket(url, "TK3", created_at=at(3, 8), kind="complaint", category="dental", procedure="隆鼻")
    add_ticket(url, "TK0", created_at=at(1, 8), kind="refund", category="other")  # before the range
    with session_scope(url) as session:
        from sqlalchemy import select  # noqa: PLC0415

        first = session.scalars(select(Ticket).where(Ticket.number == "TK1")).one()
        first.events.append(TicketEvent(actor="li", from_status="open", to_status="resolved", created_at=at(3, 9)))
        first.status = "resolved"
        # Satisfaction questions: after two released handoffs (scored 5 and 2), after TK1 resolved (unanswered),
        # one sent the day before the range (scored 1) and one not sent yet.
        for conversation, sent_at, score, ticket in (("web-h2", at(2, 11, 40), "5", None), ("web-h3", at(2, 16), "2", None),
                                                     ("c-TK1", at(3, 9, 10), None, first), ("web-c", at(1, 12), "1", None),
                                                     ("web-b", None, None, None)):
            session.add(FollowUp(conversation_id=conversation, channel="socketio", kind="satisfaction_survey",
                                 status="answered" if score else "sent" if sent_at else "scheduled",
                                 due_at=sent_at or at(3, 20), sent_at=sent_at, payload="{}", ticket=ticket, answer=score))


def check_report(report: dict) -> None:
    assert (report["from"], report["to"], report["timezone"]) == ("2026-11-02", "2026-11-03", "Asia/Shanghai")
    assert report["days"] == [
        {"day": "2026-11-02", "conversations": 2, "patient_messages": 3, "bot_messages": 2},
        {"day": "2026-11-03", "conversations": 1, "patient_messages": 1, "bot_messages": 0},
    ]
    assert report["intents"] == [{"intent": "ask_price", "count": 2}, {"intent": "greet", "count": 1},
                                 {"intent": "nlu_fallback", "count": 1}]
    assert report["fallback"] == {"patient_messages": 4, "fallbacks": 1, "rate": 0.25}
    assert report["nlu_inbox"] == {"open": 1, "added": 1}
    handoffs = report["handoffs"]
    assert handoffs["total"] == 5 and handoffs["waiting_unclaimed"] == 1
    assert handoffs["by_reason"] == [{"reason": "emergency", "count": 2}, {"reason": "anger", "count": 1},
                                     {"reason": "user_request", "count": 2}, {"reason": "fallback", "count": 0}]
    assert handoffs["by_priority"][0] == {"priority": "urgent", "count": 2, "claimed": 2,
                                          "wait": {"median_seconds": 120, "p90_seconds": 180},
                                          "answered": 2, "first_response": {"median_seconds": 60, "p90_seconds": 90}}
    assert handoffs["by_priority"][2]["wait"] == {"median_seconds": 600, "p90_seconds": 600}
    assert (handoffs["by_priority"][2]["answered"], handoffs["by_priority"][2]["first_response"]) == (
        1, {"median_seconds": 300, "p90_seconds": 300})
    assert handoffs["by_priority"][1] == {"priority": "high", "count": 1, "claimed": 0,
                                          "wait": {"median_seconds": None, "p90_seconds": None},
                                          "answered": 0, "first_response": {"median_seconds": None, "p90_seconds": None}}
    assert handoffs["emergencies"] == {"count": 2, "claimed": 2, "time_to_claim": {"median_seconds": 120, "p90_seconds": 180}}
    tickets = report["tickets"]
    assert (tickets["opened"], tickets["resolved"]) == (3, 1)
    assert tickets["by_kind"][:2] == [{"kind": "refund", "count": 1}, {"kind": "complaint", "count": 2}]
    assert tickets["by_category"] == [{"category": "surgery", "count": 1}, {"category": "skin", "count": 1},
                                      {"category": "dental", "count": 1}, {"category": "other", "count": 0}]
    assert tickets["by_severity"] == [{"severity": "normal", "count": 2}, {"severity": "major", "count": 1}]
    assert tickets["by_procedure"] == [{"procedure": "隆鼻", "count": 2}, {"procedure": "光子嫩肤", "count": 1}]
    assert tickets["per_day"] == [{"day": "2026-11-02", "opened": 2, "resolved": 0},
                                  {"day": "2026-11-03", "opened": 1, "resolved": 1}]
    assert tickets["time_to_resolution"] == {"median_seconds": 86400, "p90_seconds": 86400}
    surveys = report["satisfaction"]
    assert (surveys["sent"], surveys["answered"], surveys["response_rate"], surveys["mean_score"]) == (3, 2, 0.6667, 3.5)
    assert surveys["distribution"] == [{"score": 1, "count": 0}, {"score": 2, "count": 1}, {"score": 3, "count": 0},
                                       {"score": 4, "count": 0}, {"score": 5, "count": 1}]
    assert surveys["per_day"] == [
        {"day": "2026-11-02", "sent": 2, "answered": 2, "response_rate": 1.0, "mean_score": 3.5},
        {"day": "2026-11-03", "sent": 1, "answered": 0, "response_rate": 0.0, "mean_score": None},
    ]
    assert surveys["by_source"] == [
        {"source": "handoff", "sent": 2, "answered": 2, "response_rate": 1.0, "mean_score": 3.5},
        {"source": "ticket", "sent": 1, "answered": 0, "response_rate": 0.0, "mean_score": None},
    ]


def test_the_report_counts_a_seeded_range_in_the_hospitals_days(client, database) -> None:  # noqa: F811
    seed_report(database)
    li = login(client, "boss")  # the reports are for supervisors and admins (bot/roles.py)
    response = client.get("/api/reports/summary?from=2026-11-02&to=2026-11-03", headers=li)
    assert response.status_code == 200, response.text
    check_report(response.json())
    reversed_range = client.get("/api/reports/summary?from=2026-11-03&to=2026-11-02", headers=li)
    assert (reversed_range.status_code, reversed_range.json()["detail"]) == (400, "报表的结束日期（to）早于开始日期（from）")
    assert client.get("/api/reports/summary?from=2025-01-01&to=2026-11-02", headers=li).status_code == 400
    for edge in ("from=0001-01-01&to=0001-01-02", "from=9999-12-30&to=9999-12-31", "to=0001-01-01"):
        assert client.get(f"/api/reports/summary?{edge}", headers=li).status_code == 400
    assert client.get("/api/reports/summary?from=11/02/2026", headers=li).status_code == 422
    assert client.get("/api/reports/summary?from=2026-11-02&to=2026-11-03").status_code == 401
    assert len(client.get("/api/reports/summary", headers=li).json()["days"]) == 30


def test_the_report_gives_the_same_figures_on_postgresql() -> None:
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        seed_report(url)
        with session_scope(url) as session:
            check_report(reports.summary(session, reports.Period(date(2026, 11, 2), date(2026, 11, 3))))


def test_the_demo_month_fills_every_report_figure_and_is_replaced_on_each_run(client, database) -> None:  # noqa: F811
    from bot import report_demo  # noqa: PLC0415

    today = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    written = report_demo.seed(database, days=30, random_seed=7, today=today)
    assert report_demo.seed(database, days=30, random_seed=7, today=today) == written  # replaced, not doubled
    li = login(client, "boss")
    report = client.get("/api/reports/summary?from=2026-11-01&to=2026-11-30", headers=li).json()
    assert sum(day["conversations"] for day in report["days"]) == written["conversations"] > 30 * 25
    assert all(day["conversations"] > 0 and day["patient_messages"] >= day["conversations"] for day in report["days"])
    assert report["handoffs"]["total"] == written["handoffs"] and report["tickets"]["opened"] == written["tickets"]
    assert report["nlu_inbox"]["added"] == written["nlu_inbox"] and 0.03 < report["fallback"]["rate"] < 0.15
    assert all(row["count"] > 0 for row in report["tickets"]["by_category"] + report["handoffs"]["by_reason"])
    urgent = report["handoffs"]["by_priority"][0]["wait"]
    assert 15 <= urgent["median_seconds"] <= urgent["p90_seconds"] <= 240
    assert 0 < report["tickets"]["resolved"] < report["tickets"]["opened"]
    first = report["handoffs"]["by_priority"][0]["first_response"]
    assert 20 <= first["median_seconds"] <= first["p90_seconds"] < urgent["p90_seconds"]
    # Satisfaction questions after the released handoffs (not emergencies) and the finished tickets, half answered.
    surveys = report["satisfaction"]
    assert (surveys["sent"], surveys["answered"]) == (written["surveys"], written["survey_answers"])
    assert surveys["sent"] > 100 and 0.4 < surveys["response_rate"] < 0.7 and 3.5 < surveys["mean_score"] < 4.6
    assert all(row["count"] > 0 for row in surveys["distribution"])
    assert all(group["sent"] > 0 for group in surveys["by_source"])
