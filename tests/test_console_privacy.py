"""Phones masked in the console, revealed only to roles that may and only on request, and the audit log of
who read which transcript or ticket (issue #14, finding 6)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bot import logging_filter
from bot import staff as accounts
from bot.roles import Role
from bot.store.db import session_scope
from bot.store.models import ConversationNote, Staff, Ticket, TicketEvent
from tests.test_console_api import PASSWORD, FakeRasa, add_rasa_events, login, make_client, prepare, rasa  # noqa: F401 - fixtures

NUMBER = "TK202612070001"
PHONE = "13812345678"
# The forms the bot accepts (bot/phone.py check) as a patient may write them.
WRITTEN = ("+86 138 1234 5678", "8613812345678", "138-1234-5678", "１３８１２３４５６７８", "＋８６ １３８－１２３４－５６７８")


@pytest.fixture()
def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    prepare(url)
    with session_scope(url) as session:
        accounts.create_staff(session, "chief", PASSWORD, "张主管", role=Role.SUPERVISOR)
        session.add(Ticket(
            number=NUMBER, conversation_id="web-patient", kind="complaint", category="surgery", procedure="隆鼻",
            phone=PHONE, description=f"鼻子歪了，回电 {WRITTEN[0]}",
            events=[TicketEvent(actor="li", note=f"已致电 {WRITTEN[2]}")],
        ))
        li = session.query(Staff).filter_by(username="li").one()
        session.add(ConversationNote(conversation_id="web-patient", staff_id=li.id, text=f"患者留了 {WRITTEN[3]}"))
    return url


@pytest.fixture()
def client(make_client) -> TestClient:  # noqa: F811 - the fixture of tests/test_console_api.py
    return make_client()


def _no_phone_in(body: str) -> None:
    for written in (PHONE, *WRITTEN, "1234 5678", "1234-5678", "１２３４５６７８"):
        assert written not in body, written


def test_no_staff_api_answer_carries_a_full_phone(client, rasa: FakeRasa) -> None:  # noqa: F811
    rasa.events["web-patient"] = [
        {"event": "user", "text": f"我的手机是 {written}", "timestamp": 1 + i} for i, written in enumerate(WRITTEN)
    ]
    for username in ("li", "chief", "boss"):
        headers = login(client, username)
        for path in (
            f"/api/tickets/{NUMBER}",
            "/api/tickets?conversation_id=web-patient",
            "/api/conversations/web-patient",
            "/api/conversation-notes?conversation_id=web-patient",
        ):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text)
            _no_phone_in(response.text)
    ticket = client.get(f"/api/tickets/{NUMBER}", headers=login(client, "li")).json()
    assert ticket["phone_masked"] == "138****5678" and "phone" not in ticket
    assert "138****5678" in ticket["description"] and "138****5678" in ticket["history"][0]["note"]
    lines = client.get("/api/conversations/web-patient", headers=login(client, "li")).json()
    assert [line["text"] for line in lines] == ["我的手机是 138****5678"] * len(WRITTEN)


def test_only_a_supervisor_or_admin_reveals_a_phone_and_it_is_audited(client) -> None:
    agent = login(client, "li")
    refused = client.get(f"/api/tickets/{NUMBER}/phone", headers=agent)
    assert refused.status_code == 403
    _no_phone_in(refused.text)
    revealed = client.get(f"/api/tickets/{NUMBER}/phone", headers=login(client, "chief"))
    assert revealed.status_code == 200 and revealed.json() == {"number": NUMBER, "phone": PHONE}
    assert client.get("/api/tickets/TK000000000000/phone", headers=login(client, "chief")).status_code == 404

    log = client.get("/api/audit?action=phone_revealed", headers=login(client, "boss")).json()
    assert [(e["actor"], e["target_kind"], e["target"], e["client"]) for e in log] == [
        ("chief", "ticket", "TK000000000000", "testclient"),
        ("chief", "ticket", NUMBER, "testclient"),
    ]


def test_reading_a_transcript_or_a_ticket_is_written_to_the_audit_log_which_only_admins_read(client, rasa) -> None:  # noqa: F811
    li = login(client, "li")
    assert client.get("/api/conversations/web-patient", headers=li).status_code == 200
    assert client.get(f"/api/tickets/{NUMBER}", headers=li).status_code == 200
    assert client.get("/api/tickets", headers=li).status_code == 200  # a list of masked summaries: not a read of one

    for username in ("li", "chief"):
        assert client.get("/api/audit", headers=login(client, username)).status_code == 403
    boss = login(client, "boss")
    log = client.get("/api/audit", headers=boss).json()
    assert [(e["actor"], e["action"], e["target_kind"], e["target"]) for e in log] == [
        ("li", "ticket_read", "ticket", NUMBER),
        ("li", "transcript_read", "conversation", "web-patient"),
    ]
    assert all(e["created_at"] and e["client"] == "testclient" for e in log)
    assert [e["action"] for e in client.get("/api/audit?actor=li&target=web-patient", headers=boss).json()] == [
        "transcript_read"
    ]
    older = client.get(f"/api/audit?before_id={log[0]['id']}", headers=boss).json()
    assert [e["id"] for e in older] == [log[1]["id"]]
    assert client.get("/api/audit?action=bogus", headers=boss).status_code == 422


def test_the_audit_page_is_served_and_linked_for_admins_only(client) -> None:
    page = client.get("/console/audit")
    assert page.status_code == 200 and 'data-permission="read_audit"' in page.text and "/console/static/audit.js" in page.text


@pytest.mark.parametrize("written", WRITTEN + ("13812345678",))
def test_log_lines_mask_every_form_of_a_number_the_bot_accepts(written: str) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "patient wrote %s", (f"号码 {written} 谢谢",), None)
    logging_filter.mask_record(record, {})
    assert record.getMessage() == "patient wrote 号码 138****5678 谢谢"


def test_masking_leaves_timestamps_ticket_numbers_and_longer_digit_runs_alone() -> None:
    from bot import phone

    text = "at 1733600000.123456, ticket TK202612070001, order 13812345678901, 2026-12-07 13:45"
    assert phone.mask_text(text) == text


def test_a_patients_export_and_deletion_by_command_are_in_the_audit_log(client, database, monkeypatch, tmp_path) -> None:
    from bot.__main__ import main

    add_rasa_events(database, [("someone-else", "user", 1.0, None)])  # Rasa's events table
    with session_scope(database) as session:
        session.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('web-patient', 'user', 2, :data)"),
            {"data": json.dumps({"event": "user", "text": "鼻子歪了", "timestamp": 2})},
        )
    monkeypatch.setenv("DATABASE_URL", database)
    assert main(["patient", "export", "--phone", PHONE, "--out", str(tmp_path / "export.json")]) == 0
    assert main(["patient", "delete", "--phone", PHONE, "--yes"]) == 0
    log = client.get("/api/audit?target=138****5678", headers=login(client, "boss")).json()
    assert [(e["action"], e["target_kind"], e["client"]) for e in log] == [
        ("patient_delete", "patient", "cli"),
        ("patient_export", "patient", "cli"),
    ]
    assert all(e["actor"].startswith("cli:") for e in log)


def test_only_an_admin_exports_or_deletes_a_patients_data_in_the_console_and_it_is_audited(client, database) -> None:
    add_rasa_events(database, [("someone-else", "user", 1.0, None)])  # Rasa's events table
    for username in ("li", "chief"):
        assert client.get(f"/api/patients/export?phone={PHONE}", headers=login(client, username)).status_code == 403
    boss = login(client, "boss")
    exported = client.get(f"/api/patients/export?phone={PHONE}", headers=boss)
    assert exported.status_code == 200 and exported.json()["phone"] == PHONE  # the patient's own copy, unmasked
    assert [t["number"] for t in exported.json()["tickets"]] == [NUMBER]
    assert client.get("/api/patients/export", headers=boss).status_code == 422
    assert client.get("/api/patients/export?phone=123", headers=boss).status_code == 422

    assert client.post("/api/patients/delete", headers=boss, json={"phone": PHONE}).status_code == 409
    deleted = client.post("/api/patients/delete", headers=boss, json={"phone": PHONE, "confirm": True})
    assert deleted.status_code == 200 and deleted.json()["tickets"] == 1
    assert client.get(f"/api/tickets/{NUMBER}", headers=boss).status_code == 404
    log = client.get("/api/audit?target=138****5678", headers=boss).json()
    assert [(e["actor"], e["action"], e["client"]) for e in log] == [
        ("boss", "patient_delete", "testclient"),
        ("boss", "patient_export", "testclient"),
    ]
