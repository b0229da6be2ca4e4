"""A ticket looked up from a conversation that did not open it: the one-time code sent to the phone on
the ticket, as the action server runs the form's validation, its question and the lookup."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from actions import tickets as ticket_actions
from bot import sms, tickets
from bot.sms.log import LogSmsSender
from tests.test_actions_tickets import (  # noqa: F401 - fixtures
    PHONE,
    action,
    database,
    domain,
    loop,
    run,
    slot,
    slot_values,
    user,
)

STRANGER = "patient-2"


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch) -> LogSmsSender:
    sender = LogSmsSender()
    monkeypatch.setattr(sms, "current", lambda: sender)
    return sender


class FailingSender:
    def send(self, message: sms.SmsMessage) -> None:
        raise sms.SmsError("provider answered HTTP 503")


def open_ticket(conversation: str = "owner") -> str:
    new = tickets.NewTicket(conversation, "rest", "refund", "surgery", "normal", "双眼皮", "上个月", "不满意", PHONE)
    return tickets.open_ticket(new).number


def asked_with(number: str, phone: str = PHONE) -> List[Dict[str, Any]]:
    """The patient asks for the ticket's status with its number and a phone; the form starts."""
    message = user(f"查询工单 {number} {phone}", "check_ticket_status", ticket_number=number, phone_number=phone)
    return [action("action_listen"), message, slot("ticket_number", number), slot("status_phone", phone)]


def activated(number: str) -> List[Dict[str, Any]]:
    return asked_with(number) + [loop("ticket_status_form")]


def asking_code(number: str) -> List[Dict[str, Any]]:
    """The form has asked for the code (its question sent the SMS)."""
    return activated(number) + [slot("requested_slot", "status_code"), action("action_listen")]


def answer(events: List[Dict[str, Any]], text: str) -> List[Dict[str, Any]]:
    return events + [user(text, "inform"), slot("status_code", text)]


def ask_code(domain, events, sender: str = STRANGER):
    return run(ticket_actions.ActionAskStatusCode(), events, domain, "ticket_status_form", sender=sender)


def lookup_after_code(domain, events, sender: str = STRANGER):
    done = events + [loop(None), slot("requested_slot", None)]
    return run(ticket_actions.ActionTicketStatus(), done, domain, "ticket_status_form", sender=sender)


def the_code(sent: LogSmsSender) -> str:
    return sent.sent[-1].template_params["code"]


def test_another_conversation_sees_the_ticket_only_with_the_code_sent_to_its_phone(domain, database, sent) -> None:
    number = open_ticket()
    validated, texts, _ = run(ticket_actions.ValidateTicketStatusForm(), asked_with(number), domain, sender=STRANGER)
    assert "requested_slot" not in slot_values(validated), "the form goes on to ask for the code"
    assert texts == [] and sent.sent == []

    _, texts, _ = ask_code(domain, activated(number))
    assert len(sent.sent) == 1 and sent.sent[0].phone == PHONE
    code = the_code(sent)
    assert code in sent.sent[0].text and "10 分钟" in sent.sent[0].text
    assert "138****5678" in texts[0] and code not in texts[0] and number not in texts[0]

    nothing, _, _ = lookup_after_code(domain, asking_code(number))
    assert "ticket_status_text" not in slot_values(nothing), "no ticket without the code"

    events, texts, _ = run(
        ticket_actions.ValidateTicketStatusForm(), answer(asking_code(number), f"验证码 {code}"), domain, sender=STRANGER
    )
    assert slot_values(events)["status_code"] == code and texts == []
    shown, _, _ = lookup_after_code(domain, asking_code(number) + [slot("status_code", code)])
    assert slot_values(shown)["ticket_lookup"] == "found" and number in slot_values(shown)["ticket_status_text"]

    again, _, _ = lookup_after_code(domain, asking_code(number) + [slot("status_code", code)])
    assert "ticket_status_text" not in slot_values(again), "one code shows the ticket once"


def test_the_conversation_that_opened_the_ticket_needs_no_code(domain, database, sent) -> None:
    number = open_ticket("owner")
    validated, _, _ = run(ticket_actions.ValidateTicketStatusForm(), asked_with(number), domain, sender="owner")
    assert slot_values(validated)["requested_slot"] is None and sent.sent == []


def test_a_wrong_phone_gets_no_code(domain, database, sent) -> None:
    number = open_ticket()
    validated, _, _ = run(
        ticket_actions.ValidateTicketStatusForm(), asked_with(number, "13900000000"), domain, sender=STRANGER
    )
    assert slot_values(validated)["requested_slot"] is None and sent.sent == []


def test_a_wrong_code_is_refused_counted_as_a_miss_and_asked_again_without_a_new_sms(domain, database, sent) -> None:
    number = open_ticket()
    ask_code(domain, activated(number))
    wrong = "000000" if the_code(sent) != "000000" else "111111"
    for attempt in range(4):
        events, texts, _ = run(
            ticket_actions.ValidateTicketStatusForm(), answer(asking_code(number), wrong), domain, sender=STRANGER
        )
        assert slot_values(events)["status_code"] is None and "验证码不对" in texts[0]
        _, texts, _ = ask_code(domain, asking_code(number))
        assert len(sent.sent) == 1 and "138****5678" in texts[0]
    events, _, _ = run(
        ticket_actions.ValidateTicketStatusForm(), answer(asking_code(number), wrong), domain, sender=STRANGER
    )
    assert slot_values(events)["requested_slot"] is None, "the fifth miss stops the lookup"
    _, texts, messages = lookup_after_code(domain, asking_code(number))
    assert "不能再查询" in texts[0] and messages[0]["buttons"][0]["payload"] == "/request_human"


def test_an_answer_without_a_code_is_asked_again_and_costs_nothing(domain, database, sent) -> None:
    number = open_ticket()
    ask_code(domain, activated(number))
    events, texts, _ = run(
        ticket_actions.ValidateTicketStatusForm(), answer(asking_code(number), "还没收到"), domain, sender=STRANGER
    )
    assert slot_values(events)["status_code"] is None and "6 位数字验证码" in texts[0]
    events, _, _ = run(
        ticket_actions.ValidateTicketStatusForm(), answer(asking_code(number), the_code(sent)), domain, sender=STRANGER
    )
    assert slot_values(events)["status_code"] == the_code(sent)


def test_when_the_sms_cannot_be_sent_the_patient_is_told_and_offered_a_person(
    domain, database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sms, "current", lambda: FailingSender())
    number = open_ticket()
    events, texts, messages = ask_code(domain, activated(number))
    assert slot_values(events) == {"requested_slot": None}
    assert "没能发出" in texts[0] and messages[0]["buttons"][0]["payload"] == "/request_human"
    shown, texts, _ = lookup_after_code(domain, activated(number))
    assert "ticket_status_text" not in slot_values(shown) and texts == []


def test_codes_for_one_ticket_stop_after_three_an_hour(domain, database, sent) -> None:
    number = open_ticket()
    for attempt in range(3):
        ask_code(domain, activated(number), sender=f"c-{attempt}")
    events, texts, _ = ask_code(domain, activated(number), sender="c-9")
    assert len(sent.sent) == 3 and slot_values(events) == {"requested_slot": None} and "3 次" in texts[0]
