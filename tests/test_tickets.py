"""bot/tickets.py against real databases: numbers, concurrency, history, and the patient's view."""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, select

from bot import tickets
from bot.console.tickets import update_ticket
from bot.store import db, migrate
from bot.store.models import Ticket, TicketEvent
from tests.services import fresh_postgres_database

PHONE = "13812345678"


def new_ticket(**changes: object) -> tickets.NewTicket:
    values = dict(
        conversation_id="patient-1", channel="rest", kind="refund", category="surgery", severity="normal",
        procedure="双眼皮", surgery_time="上个月15号", description="两边一宽一窄", phone=PHONE,
    )
    values.update(changes)
    return tickets.NewTicket(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        migrate.upgrade(url)
        yield url
    else:
        with fresh_postgres_database() as url:
            migrate.upgrade(url)
            yield url


def test_a_ticket_is_stored_open_with_its_first_history_entry(database: str) -> None:
    moment = datetime(2026, 11, 23, 2, 30, tzinfo=timezone.utc)  # 10:30 in the hospital
    ticket = tickets.open_ticket(new_ticket(), database, now=moment)
    assert ticket.number.startswith("TK20261123") and tickets.NUMBER_PATTERN.match(ticket.number)
    with db.session_scope(database) as session:
        row = session.execute(select(Ticket).where(Ticket.number == ticket.number)).scalar_one()
        assert (row.kind, row.category, row.severity, row.procedure, row.status, row.phone) == (
            "refund", "surgery", "normal", "双眼皮", "open", PHONE,
        )
        assert [(e.from_status, e.to_status) for e in row.events] == [(None, "open")]


def test_numbers_carry_the_hospitals_calendar_day(database: str) -> None:
    late_evening_utc = datetime(2026, 11, 23, 15, 59, tzinfo=timezone.utc)  # 23:59 in the hospital
    after_midnight_utc = datetime(2026, 11, 23, 16, 1, tzinfo=timezone.utc)  # 00:01 the next day
    numbers = [
        tickets.open_ticket(new_ticket(), database, now=late_evening_utc).number,
        tickets.open_ticket(new_ticket(), database, now=late_evening_utc).number,
        tickets.open_ticket(new_ticket(), database, now=after_midnight_utc).number,
    ]
    assert [number[:10] for number in numbers] == ["TK20261123", "TK20261123", "TK20261124"]
    assert len(set(numbers)) == 3


def test_concurrent_openings_get_distinct_numbers_that_do_not_follow_each_other(database: str) -> None:
    moment = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda i: tickets.open_ticket(new_ticket(), database, now=moment).number, range(40)))
    assert len(set(numbers)) == 40 and all(re.fullmatch(r"TK20261123\d{8}", number) for number in numbers)
    ordered = sorted(int(number[10:]) for number in numbers)
    assert all(later - earlier > 1 for earlier, later in zip(ordered, ordered[1:])), "a number leads to the next"
    with db.session_scope(database) as session:
        assert session.execute(select(func.count(TicketEvent.id))).scalar() == 40


def test_the_ticket_is_shown_only_to_the_phone_on_it(database: str) -> None:
    number = tickets.open_ticket(new_ticket(), database).number
    assert tickets.find_for_patient(number, "13900000000", database) is None
    assert tickets.find_for_patient("TK209901010001", PHONE, database) is None
    assert tickets.find_for_patient(number, "1381234567", database) is None
    found = tickets.find_for_patient(number.lower(), " 138 1234 5678 ", database)
    assert found is not None and found.number == number and found.status == "open"


def test_a_failed_lookup_logs_the_phone_masked(database: str, caplog: pytest.LogCaptureFixture) -> None:
    number = tickets.open_ticket(new_ticket(), database).number
    with caplog.at_level(logging.INFO, logger="bot.tickets"):
        tickets.find_for_patient(number, "13900001111", database)
    assert "139****1111" in caplog.text and "13900001111" not in caplog.text
    assert PHONE not in caplog.text


def test_a_conversation_sees_the_tickets_it_opened_with_the_phone_newest_first(database: str) -> None:
    numbers = [
        tickets.open_ticket(new_ticket(), database, now=datetime(2026, 11, day, 3, tzinfo=timezone.utc)).number
        for day in (20, 21, 22, 23)
    ]
    tickets.open_ticket(new_ticket(phone="13900000000"), database)
    latest = tickets.opened_by("patient-1", PHONE, limit=3, url=database)
    assert [t.number for t in latest] == numbers[:0:-1]
    assert [t.number for t in tickets.opened_by("patient-1", PHONE, numbers[1].lower(), url=database)] == [numbers[1]]
    assert tickets.opened_by("patient-1", "12345", url=database) == []


def test_a_phone_alone_shows_another_conversation_nothing(database: str) -> None:
    number = tickets.open_ticket(new_ticket(), database).number
    assert tickets.opened_by("attacker", PHONE, url=database) == []
    assert tickets.opened_by("attacker", PHONE, number, url=database) == []


def staff_update(url: str, number: str, status: object, note: object) -> None:
    with db.session_scope(url) as session:
        update_ticket(session, number, "staff:li", status, note)  # type: ignore[arg-type]


def test_status_changes_and_notes_from_the_console_make_the_patients_history(database: str) -> None:
    number = tickets.open_ticket(new_ticket(), database).number
    staff_update(database, number, "in_progress", "已收到材料，医务部评估中")
    staff_update(database, number, None, "已预约 11 月 25 日面诊")
    ticket = tickets.find_for_patient(number, PHONE, database)
    assert ticket is not None and ticket.status == "in_progress"
    assert [(h.from_status, h.to_status, h.note, h.patient_visible) for h in ticket.history] == [
        (None, "open", None, False),
        ("open", "in_progress", "已收到材料，医务部评估中", False),
        (None, None, "已预约 11 月 25 日面诊", False),
    ]


def test_injection_text_is_stored_as_written_and_harms_nothing(database: str) -> None:
    text = "'; DROP TABLE tickets;--"
    number = tickets.open_ticket(new_ticket(description=text, surgery_time=text), database).number
    ticket = tickets.find_for_patient(number, PHONE, database)
    assert ticket is not None and ticket.description == text and ticket.surgery_time == text


def test_a_ticket_needs_a_known_kind_category_severity_and_a_mobile_number() -> None:
    with pytest.raises(ValueError, match="kind"):
        new_ticket(kind="lawsuit")
    with pytest.raises(ValueError, match="category"):
        new_ticket(category="eyes")
    with pytest.raises(ValueError, match="severity"):
        new_ticket(severity="urgent")
    with pytest.raises(ValueError, match="not a mainland mobile number") as refused:
        new_ticket(phone="1381234567")
    assert "1381234567" not in str(refused.value)


def test_the_kind_comes_from_the_latest_intent_that_names_one() -> None:
    assert tickets.kind_for_intents(["greet", "request_refund", "affirm"]) == "refund"
    assert tickets.kind_for_intents(["request_refund", "complain_scar", "inform"]) == "complaint"
    assert tickets.kind_for_intents(["request_revision"]) == "revision"
    assert tickets.kind_for_intents(["report_side_effect", "affirm"]) == "postop"
    assert tickets.kind_for_intents(["greet"]) == "complaint"


def test_anger_a_red_flag_or_an_evident_surgical_problem_make_a_ticket_major() -> None:
    signs = ["感染", "假体移位"]
    assert tickets.severity_for(["complain_result"], ["鼻子太高了"], signs) == "normal"
    assert tickets.severity_for(["express_anger", "request_refund"], ["退钱"], signs) == "major"
    assert tickets.severity_for(["report_emergency"], ["流血不止"], signs) == "major"
    assert tickets.severity_for(["complain_asymmetry"], ["隆鼻三个月假体移位了"], signs) == "major"


def test_ticket_numbers_match_the_documented_format(database: str) -> None:
    number = tickets.open_ticket(new_ticket(), database).number
    assert re.fullmatch(r"TK\d{8}\d{8}", number) and tickets.NUMBER_PATTERN.match(number)


def test_a_number_drawn_twice_is_drawn_again(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([42, 42, 42, 7])
    monkeypatch.setattr(tickets.secrets, "randbelow", lambda _: next(draws))
    moment = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    first = tickets.open_ticket(new_ticket(), database, now=moment).number
    second = tickets.open_ticket(new_ticket(), database, now=moment).number
    assert (first, second) == ("TK2026112300000042", "TK2026112300000007")


def test_a_ticket_with_a_number_of_the_old_daily_sequence_is_still_found(database: str) -> None:
    with db.session_scope(database) as session:
        moment = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
        session.add(Ticket(
            number="TK202611230042", conversation_id="old", channel="rest", kind="refund", category="skin",
            severity="normal", phone=PHONE, status="open", created_at=moment, updated_at=moment,
        ))
    found = tickets.find_for_patient("tk202611230042", PHONE, database)
    assert found is not None and found.number == "TK202611230042"
    assert tickets.opener_of("TK202611230042", PHONE, database) == "old"
