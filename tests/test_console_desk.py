"""The complaint desk's console API (#18): the ticket list with filters and search, canned replies, internal
notes on a conversation and the reports summary. A real database and the fake Rasa of test_console_api."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.store.db import session_scope
from bot.store.models import Ticket, TicketEvent, utcnow
from tests.test_console_api import client, database, login, make_client, rasa  # noqa: F401 - pytest fixtures

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
