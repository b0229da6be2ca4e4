"""Ticket time limits in working days with the hospital's holidays, the delay notice when one passes, and
every ticket change pushed to the patient, all with a fake clock."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient

from bot import policies
from bot.console import tickets as console_tickets
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.followups import deadlines, records, scheduler, workdays
from bot.store import db, migrate
from bot.store.models import Ticket, TicketEvent
from bot.staff import create_staff

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


CAL = workdays.load()


@pytest.mark.parametrize(
    "start, days, last_day",
    [
        (local(2026, 12, 7, 10), 1, date(2026, 12, 8)),  # Monday → Tuesday
        (local(2026, 12, 4, 16), 1, date(2026, 12, 7)),  # Friday afternoon → Monday
        (local(2026, 12, 5, 9), 1, date(2026, 12, 7)),  # Saturday → Monday
        (local(2026, 12, 7, 10), 7, date(2026, 12, 16)),
        (local(2026, 12, 31, 10), 1, date(2027, 1, 4)),  # New Year's Day is a holiday
        (local(2026, 9, 30, 10), 1, date(2026, 10, 8)),  # the National Day week
        (local(2026, 10, 9, 10), 1, date(2026, 10, 10)),  # Saturday 10 October is worked instead
        (local(2026, 2, 13, 10), 1, date(2026, 2, 14)),  # Saturday before the Spring Festival is worked
        (local(2026, 2, 14, 10), 1, date(2026, 2, 24)),  # then nine days off
    ],
)
def test_working_day_limits_skip_weekends_and_holidays_and_count_make_up_days(start, days, last_day) -> None:
    deadline = CAL.deadline(start, days)
    assert CAL.last_day(deadline) == last_day
    assert deadline == datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)


def test_a_calendar_without_working_days_is_refused() -> None:
    calendar = workdays.WorkCalendar(SHANGHAI, frozenset({1}), frozenset(date(2027, 1, 4) + timedelta(weeks=w) for w in range(20)), frozenset())
    with pytest.raises(ValueError, match="no working day"):
        calendar.deadline(local(2027, 1, 1), 1)
    with pytest.raises(ValueError):
        calendar.deadline(local(2027, 1, 1), 0)


def test_the_step_limits_are_the_ones_the_refund_policy_promises() -> None:
    steps = {s.name: s.working_days for s in deadlines.steps_by_kind()["refund"]}
    assert steps == {"accept": 1, "assess": 7, "conclude": 2, "pay": 10}
    policy = yaml.safe_load((ROOT / "data/policies/refund.yml").read_text(encoding="utf-8"))["refund"]["steps"]
    # The first limit on each numbered line of the published steps (受理, 评估, 结论, 到账).
    promised = [m.group(1) for m in (re.search(r"(\d+) 个工作日内", line) for line in policy.splitlines()) if m]
    assert promised == ["1", "7", "2", "10"]


@pytest.fixture()
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'deadlines.db'}"
    migrate.upgrade(url)
    policies.load(url)
    return url


def open_ticket(url: str, opened: datetime, kind: str = "refund", number: str = "TK202612040001") -> int:
    with db.session_scope(url) as session:
        ticket = Ticket(
            number=number, conversation_id="4711", channel="telegram", kind=kind, category="surgery",
            severity="normal", procedure="双眼皮", phone="13812345678", status="open", created_at=opened,
            updated_at=opened,
        )
        ticket.events.append(TicketEvent(created_at=opened, actor="assistant", to_status="open"))
        session.add(ticket)
        session.flush()
        return ticket.id


def notices(url: str) -> list:
    with db.session_scope(url) as session:
        return [
            records.Message.from_json(row.payload).text
            for row in records.list_followups(session, "4711")
            if row.kind == "deadline_notice"
        ]


def test_a_ticket_is_due_soon_then_overdue_and_the_patient_gets_one_notice_with_the_new_date(url: str) -> None:
    ticket_id = open_ticket(url, local(2026, 12, 4, 16))  # Friday: accept by the end of Monday 7 December
    with db.session_scope(url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert deadlines.ticket_deadline(ticket, local(2026, 12, 5, 12)).state == "ok"
        assert deadlines.ticket_deadline(ticket, local(2026, 12, 7, 9)).state == "due_soon"
        overdue = deadlines.ticket_deadline(ticket, local(2026, 12, 8, 0, 1))
        assert overdue.state == "overdue" and CAL.last_day(overdue.new_due_at) == date(2026, 12, 9)
    assert deadlines.sweep(local(2026, 12, 7, 23, 59), url) == 0
    assert deadlines.sweep(local(2026, 12, 8, 9), url) == 1
    assert deadlines.sweep(local(2026, 12, 8, 10), url) == 0, "a second notice for the same step"
    (text,) = notices(url)
    assert "TK202612040001" in text and "12月7日" in text and "12月9日" in text and "受理" in text
    assert "还没有登记延误原因" in text


def test_the_delay_notice_gives_the_reason_staff_recorded(url: str) -> None:
    ticket_id = open_ticket(url, local(2026, 12, 7, 10))
    with db.session_scope(url) as session:
        console_tickets.update_ticket(session, "TK202612040001", "li", "in_progress", None)
        ticket = session.get(Ticket, ticket_id)
        ticket.events[-1].created_at = local(2026, 12, 7, 11)
    with db.session_scope(url) as session:
        console_tickets.update_ticket(session, "TK202612040001", "li", None, "医生说先别告诉患者", False)
        console_tickets.update_ticket(session, "TK202612040001", "li", None, "需要等待外院病历", True)
        session.get(Ticket, ticket_id).events[-1].created_at = local(2026, 12, 15, 9)
    # In progress since Monday 7 December: assess (7) and conclude (2) by Friday 18 December.
    assert deadlines.sweep(local(2026, 12, 18, 20), url) == 0
    assert deadlines.sweep(local(2026, 12, 19, 1), url) == 1
    (text,) = notices(url)
    assert "原因：需要等待外院病历。" in text and "先别告诉" not in text and "医务部门评估、书面告知结论" in text and "12月22日" in text


def test_a_closed_ticket_has_no_limit_and_gets_no_notice(url: str) -> None:
    open_ticket(url, local(2026, 12, 1, 10))
    with db.session_scope(url) as session:
        console_tickets.update_ticket(session, "TK202612040001", "li", "closed", None)
    assert deadlines.sweep(local(2027, 3, 1, 10), url) == 0


def test_every_status_change_and_note_for_the_patient_is_queued_at_once_and_internal_notes_are_not(url: str) -> None:
    open_ticket(url, local(2026, 12, 7, 10))
    with db.session_scope(url) as session:
        console_tickets.update_ticket(session, "TK202612040001", "li", "in_progress", None)
        console_tickets.update_ticket(session, "TK202612040001", "li", None, "已安排主诊医生周三面诊", True)
        console_tickets.update_ticket(session, "TK202612040001", "li", None, "内部：患者情绪激动", False)
        console_tickets.update_ticket(session, "TK202612040001", "li", "in_progress", None)  # no change
    with db.session_scope(url) as session:
        rows = [r for r in records.list_followups(session, "4711") if r.kind == "ticket_update"]
        texts = [records.Message.from_json(r.payload).text for r in rows]
        assert [(r.channel, r.status) for r in rows] == [("telegram", "scheduled")] * 2
    assert "已登记，等待受理 → 处理中" in texts[0] and "下一步" in texts[0] and "前" in texts[0]
    assert "已安排主诊医生周三面诊" in texts[1] and "→" not in texts[1]
    assert not any("情绪激动" in t for t in texts), "an internal note reached the patient"


def test_the_scheduler_sends_the_delay_notice_when_it_runs_after_the_deadline(url: str) -> None:
    open_ticket(url, local(2026, 12, 4, 16))
    sent = []
    scheduler.run_due(lambda fid, conv, channel, message, now: sent.append((conv, channel, message.text)), now=local(2026, 12, 8, 10), url=url)
    assert len(sent) == 1 and sent[0][:2] == ("4711", "telegram") and "超时" in sent[0][2]


def test_the_console_lists_a_patients_follow_ups_and_the_tickets_near_or_past_their_limit(url: str) -> None:
    open_ticket(url, datetime.now(timezone.utc) - timedelta(days=20))
    open_ticket(url, datetime.now(timezone.utc), number="TK202612040002")
    with db.session_scope(url) as session:
        create_staff(session, "li", "pw-123456")
        console_tickets.update_ticket(session, "TK202612040002", "li", None, "已收到材料", True)
    app = create_app(ConsoleConfig(database_url=url, rasa_url="http://127.0.0.1:9", rasa_token="t"))
    with TestClient(app) as client:
        assert client.get("/api/followups").status_code == 401
        token = client.post("/api/login", json={"username": "li", "password": "pw-123456"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        followups = client.get("/api/followups", params={"conversation_id": "4711"}, headers=headers).json()
        assert [(f["kind"], f["status"], f["ticket_number"]) for f in followups] == [
            ("ticket_update", "scheduled", "TK202612040002")
        ]
        assert client.get("/api/followups", params={"status": "sent"}, headers=headers).json() == []
        assert client.get("/api/followups", params={"status": "nonsense"}, headers=headers).status_code == 422
        late = client.get("/api/followups/deadlines", headers=headers).json()
        assert [(d["number"], d["state"]) for d in late] == [("TK202612040001", "overdue")]
        mine = client.get("/api/followups/deadlines", params={"conversation_id": "4711"}, headers=headers).json()
        assert {d["number"]: d["state"] for d in mine} == {"TK202612040001": "overdue", "TK202612040002": "ok"}
