"""The privacy notice and consent (bot/privacy.py, actions/consent.py), and clearing a widget conversation
(bot/widget_sessions.py): what a patient is told and asked, what is recorded.

The ticket form runs as the action server runs it (real rasa_sdk trackers, the project's domain, a temporary
SQLite database); the notice page and the widget's texts come from the console app."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import httpx
import pytest
from fastapi.testclient import TestClient
from rasa.core.tracker_store import SQLTrackerStore
from rasa_sdk.events import ActionExecutionRejected
from sqlalchemy import select

from actions import consent
from actions import tickets as ticket_actions
from bot import privacy, settings, widget_sessions
from bot.console.app import create_app
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.patient_data import RASA_EVENTS
from bot.store.db import engine_for, session_scope
from bot.store.models import PrivacyNotice
from tests.test_actions_tickets import action, database, domain, loop, refund_form_until, run, slot, slot_values, user  # noqa: F401

PHONE = "13812345678"


def booking_started() -> List[Dict[str, Any]]:
    """“我想预约面诊”: the booking form starts at once, with no offer that asked for consent."""
    return [
        action("action_listen"),
        user("我想预约面诊", "ask_procedure_info", procedure="隆鼻"),
        slot("procedure", "隆鼻"),
        action("action_policy_answer"),
        slot("policy_followup", "book_consultation"),
        action("utter_policy_answer"),
        action("ticket_form"),
        loop("ticket_form"),
    ]


def asked_for_consent() -> List[Dict[str, Any]]:
    return booking_started() + [slot("requested_slot", consent.SLOT), action("action_listen")]


def rows(url: str) -> List[PrivacyNotice]:
    with session_scope(url) as session:
        found = list(session.scalars(select(PrivacyNotice).order_by(PrivacyNotice.id)))
        session.expunge_all()
        return found


def test_a_form_started_without_a_consent_offer_asks_first_with_the_link_and_two_buttons(domain, database) -> None:
    events, texts, _ = run(ticket_actions.ValidateTicketForm(), booking_started(), domain)
    assert slot_values(events).get("requested_slot") in (None, consent.SLOT)
    assert domain["forms"]["ticket_form"]["required_slots"][0] == consent.SLOT
    assert texts == []
    _, texts, messages = run(consent.ActionAskPrivacyConsent(), asked_for_consent(), domain)
    assert settings.privacy_notice_url() in texts[0] and "敏感个人信息" in texts[0] and "不同意" in texts[0]
    assert [(b["title"], b["payload"]) for b in messages[0]["buttons"]] == [("同意并继续", "/affirm"), ("不同意", "/deny")]
    assert rows(database) == []


def test_agreeing_in_the_form_records_the_consent_and_goes_on_to_the_procedure(domain, database) -> None:
    said = asked_for_consent() + [user("同意", "affirm"), slot(consent.SLOT, True)]
    events, texts, _ = run(ticket_actions.ValidateTicketForm(), said, domain, sender="tg-1")
    assert slot_values(events)[consent.SLOT] is True and texts == []
    [row] = rows(database)
    assert (row.conversation_id, row.notice_version, row.agreed_by) == ("tg-1", privacy.version(), "reply")
    assert row.agreed_at is not None and row.channel == "rest"


def test_saying_no_stops_the_form_and_records_nothing(domain, database) -> None:
    said = asked_for_consent() + [user("不同意", "deny")]
    events, _, _ = run(ticket_actions.ValidateTicketForm(), said, domain)
    assert ActionExecutionRejected(ticket_actions.TICKET_FORM) in events
    assert rows(database) == []


def test_a_phone_given_before_agreeing_is_not_kept(domain, database) -> None:
    said = asked_for_consent() + [user(PHONE, "inform", phone_number=PHONE), slot("phone_number", PHONE)]
    events, _, _ = run(ticket_actions.ValidateTicketForm(), said, domain)
    assert slot_values(events).get("phone_number") is None
    assert slot_values(events).get(consent.SLOT) is None


def test_a_patient_who_agreed_in_the_widget_is_not_asked_again(domain, database) -> None:
    privacy.agree("web-1", "socketio", "button")
    events, _, _ = run(ticket_actions.ValidateTicketForm(), booking_started(), domain, sender="web-1")
    assert slot_values(events)[consent.SLOT] is True
    [row] = rows(database)
    assert row.agreed_by == "button"


def test_accepting_an_offer_that_asked_for_consent_is_agreeing_and_the_form_does_not_ask(domain, database) -> None:
    for offer in consent.CONSENT_OFFERS:
        assert "敏感个人信息" in domain["responses"][offer][0]["text"] and "即表示您同意" in domain["responses"][offer][0]["text"]
    accepted = [e for e in refund_form_until("procedure") if (e["event"], e.get("name")) != ("slot", consent.SLOT)][:-2]
    events, texts, _ = run(ticket_actions.ValidateTicketForm(), accepted, domain, sender="offer-1")
    assert slot_values(events)[consent.SLOT] is True and texts == []
    [row] = rows(database)
    assert (row.conversation_id, row.agreed_by) == ("offer-1", "reply")


def test_a_yes_to_something_else_is_not_taken_for_consent(domain, database) -> None:
    said = booking_started()[:-2] + [action("utter_anything_else"), action("action_listen"), user("好的", "affirm"),
                                     action("ticket_form"), loop("ticket_form")]
    events, _, _ = run(ticket_actions.ValidateTicketForm(), said, domain)
    assert slot_values(events).get(consent.SLOT) is None and rows(database) == []


def test_the_notice_is_given_once_per_conversation_and_version_and_consent_is_kept_with_it(database, monkeypatch) -> None:
    assert privacy.first_notice("42", "telegram") is True
    assert privacy.first_notice("42", "telegram") is False
    assert privacy.has_agreed("42") is False
    privacy.agree("42", "telegram", "reply")
    privacy.agree("42", "telegram", "button")
    [row] = rows(database)
    assert row.shown_at <= row.agreed_at and row.agreed_by == "reply"
    monkeypatch.setattr(privacy, "version", lambda: "2099-01-01")
    assert privacy.has_agreed("42") is False, "a new notice version needs a new agreement"
    assert privacy.first_notice("42", "telegram") is True


def test_an_unknown_way_of_agreeing_is_refused(database) -> None:
    with pytest.raises(ValueError):
        privacy.agree("42", "telegram", "guessed")
    assert rows(database) == []


def test_the_telegram_notice_says_it_is_a_cross_border_transfer_and_the_others_do_not(monkeypatch) -> None:
    monkeypatch.setenv("PRIVACY_NOTICE_URL", "https://hospital.example/privacy")
    monkeypatch.setenv("TRANSCRIPT_RETENTION_DAYS", "90")
    telegram, rest = privacy.short_notice("telegram"), privacy.short_notice("rest")
    assert "境外" in telegram and "出境" in telegram and "境外" not in rest
    assert "https://hospital.example/privacy" in rest and "保存 90 天" in rest


def test_the_full_notice_is_a_public_page_and_the_widget_gets_its_texts(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("PRIVACY_NOTICE_URL", raising=False)
    config = ConsoleConfig(database_url=f"sqlite:///{tmp_path / 'c.db'}", rasa_url="http://rasa.test", rasa_token="secret")
    client = TestClient(create_app(config, RasaClient(config, transport=httpx.MockTransport(lambda r: httpx.Response(404)))))
    page = client.get("/privacy")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for section in privacy.full_notice()["sections"]:
        assert section["title"] in page.text and section["text"] in page.text
    assert "境外传输" in page.text and "180 天" in page.text
    texts = client.get("/widget/privacy.json").json()
    assert texts["version"] == privacy.version() and texts["agree"] == "同意并继续"
    assert texts["url"] == "http://testserver/privacy" and texts["url"] in texts["notice"]
    assert client.get("/widget/privacy.json").headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("deletes", [False, True])
def test_a_cleared_widget_conversation_is_ended_and_its_transcript_deleted_when_configured(
    database, monkeypatch, deletes: bool
) -> None:
    monkeypatch.setenv("WIDGET_CLEAR_DELETES_TRANSCRIPT", "true" if deletes else "")
    SQLTrackerStore.SQLEvent.__table__.create(engine_for(database), checkfirst=True)
    with session_scope(database) as session:
        for sender in ("web-cleared", "web-other"):
            session.execute(RASA_EVENTS.insert().values(sender_id=sender, type_name="user", timestamp=1.0, data="{}"))
    widget_sessions.end("web-cleared")
    assert widget_sessions.ended("web-cleared") and not widget_sessions.ended("web-other")
    with session_scope(database) as session:
        senders = sorted(session.scalars(select(RASA_EVENTS.c.sender_id)))
    assert senders == (["web-other"] if deletes else ["web-cleared", "web-other"])


def test_with_a_model_trained_before_the_consent_question_the_form_keeps_the_phone(domain, database) -> None:
    """Until the model is retrained, Rasa's domain has no consent slot in the form: nothing is gated."""
    older = {**domain, "forms": {"ticket_form": {"required_slots": [
        s for s in domain["forms"]["ticket_form"]["required_slots"] if s != consent.SLOT]}}}
    said = [e for e in refund_form_until("phone_number", procedure="双眼皮") if (e["event"], e.get("name")) != ("slot", consent.SLOT)]
    events, _, _ = run(ticket_actions.ValidateTicketForm(), said + [user(PHONE, "inform"), slot("phone_number", PHONE)], older)
    assert slot_values(events)["phone_number"] == PHONE
