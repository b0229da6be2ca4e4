"""Booking a face-to-face consultation: offered after a pre-operative answer, asked for directly
("我想预约面诊"), and opened as a `consultation` ticket the console lists like every ticket."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from rasa_sdk.executor import CollectingDispatcher

from actions import policy as policy_actions
from actions import tickets as ticket_actions
from tests.test_actions_policy import asked, topic_answer
from tests.test_actions_tickets import (  # noqa: F401
    PHONE,
    action,
    database,
    domain,
    loop,
    run,
    slot,
    slot_values,
    stored,
    user,
)


def consultation_form_until(requested: str, **filled: Any) -> List[Dict[str, Any]]:
    """A price question whose consultation offer was accepted, the form asking for `requested`."""
    events = [
        action("action_listen"),
        asked("打一次瘦脸针大概多少钱", "ask_procedure_info", "price", procedure="肉毒素"),
        slot("procedure", "肉毒素"),
        action("action_policy_answer"),
        slot("policy_followup", "offer_consultation"),
        action("utter_policy_answer"),
        action("utter_offer_consultation"),
        action("action_listen"),
        user("帮我预约面诊", "affirm"),
        loop("ticket_form"),
        slot("privacy_consent", True),
    ]
    events += [slot(name, value) for name, value in filled.items()]
    return events + [slot("requested_slot", requested), action("action_listen")]


def test_a_pre_op_answer_offers_a_consultation(domain, database) -> None:
    values = topic_answer(
        domain,
        asked("打一次瘦脸针大概要多少钱", "ask_procedure_info", "price", procedure="肉毒素"),
        slot("procedure", "肉毒素"), loop("policy_form"), loop(None), action("policy_form"),
    )
    assert values["policy_followup"] == "offer_consultation"


def test_asking_to_book_says_what_a_consultation_is_and_starts_the_booking(domain, database) -> None:
    values = topic_answer(
        domain,
        asked("我想预约面诊", "ask_procedure_info", "booking", procedure="隆鼻"),
        slot("procedure", "隆鼻"), loop("policy_form"), loop(None), action("policy_form"),
    )
    assert values["policy_followup"] == "book_consultation"
    assert "面诊" in values["policy_text"] and "不需要当天决定或付款" in values["policy_text"]
    assert "【术前须知】" not in values["policy_text"]


def test_a_consultation_asks_for_the_preferred_time_not_the_surgery_time(domain, database) -> None:
    events, _, _ = run(
        ticket_actions.ValidateTicketForm(),
        consultation_form_until("procedure") + [user("瘦脸针", "inform", procedure="肉毒素"), slot("procedure", "肉毒素")],
        domain,
    )
    assert slot_values(events)["requested_slot"] == "problem_description"
    _, texts, _ = run(ticket_actions.ActionAskProblemDescription(), consultation_form_until("problem_description"), domain)
    assert "希望什么时间来面诊" in texts[0]


def test_a_refund_ticket_still_asks_for_the_surgery_time(domain, database) -> None:
    from tests.test_actions_tickets import refund_form_until, tracker

    form = ticket_actions.ValidateTicketForm()
    slots = form.domain_slots(domain)
    refund = asyncio.run(form.required_slots(slots, CollectingDispatcher(), tracker(refund_form_until("procedure")), domain))
    booking = asyncio.run(
        form.required_slots(slots, CollectingDispatcher(), tracker(consultation_form_until("procedure")), domain)
    )
    assert "surgery_time" in refund and "surgery_time" not in booking


def booked(**changes: Any) -> List[Dict[str, Any]]:
    filled = dict(procedure="肉毒素", problem_description="这周六上午", phone_number=PHONE, **changes)
    return consultation_form_until("ticket_confirmed", **filled) + [
        user("是", "affirm"), slot("ticket_confirmed", True), loop(None), slot("requested_slot", None),
        action("ticket_form"),
    ]


def test_the_booking_summary_names_the_consultation_and_the_preferred_time(domain, database) -> None:
    _, texts, _ = run(
        ticket_actions.ActionAskTicketConfirmed(),
        consultation_form_until("ticket_confirmed", procedure="肉毒素", problem_description="这周六上午", phone_number=PHONE),
        domain,
    )
    assert "面诊预约" in texts[0] and "这周六上午" in texts[0] and "138****5678" in texts[0]
    assert "手术/治疗时间" not in texts[0]


def test_a_confirmed_booking_opens_a_consultation_ticket(domain, database) -> None:
    events, _, _ = run(ticket_actions.ActionOpenTicket(), booked(), domain, latest_action="ticket_form")
    [ticket] = stored(database)
    assert (ticket.kind, ticket.category, ticket.procedure, ticket.surgery_time, ticket.severity) == (
        "consultation", "skin", "肉毒素", None, "normal",
    )
    values = slot_values(events)
    assert values["ticket_kind_label"] == "面诊预约" and "确认面诊的日期" in values["ticket_next_step"]


def test_a_question_inside_the_booking_is_answered_without_another_offer(domain, database) -> None:
    events, _, _ = run(
        policy_actions.ActionPolicyAnswer(),
        consultation_form_until("problem_description", procedure="肉毒素")
        + [asked("打完多久见效", "ask_procedure_info", "longevity", procedure="肉毒素")],
        domain,
    )
    assert slot_values(events)["policy_followup"] == "answer_only"
