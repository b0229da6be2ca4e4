"""The ticket actions run as the action server runs them: real rasa_sdk trackers, the project's
domain, and a real (temporary SQLite) database with the published policies loaded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import pytest
from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import tickets as ticket_actions
from bot import policies, tickets
from bot.console.tickets import update_ticket
from bot.store import db, migrate
from bot.store.models import Ticket

ROOT = Path(__file__).resolve().parent.parent
PHONE = "13812345678"


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml")).as_dict()


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    policies.load(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def user(text: str, intent: str, **entities: str) -> Dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "input_channel": "rest",
        "parse_data": {
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": [{"entity": name, "value": value} for name, value in entities.items()],
        },
    }


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def slot(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def loop(name: Optional[str]) -> Dict[str, Any]:
    return {"event": "active_loop", "name": name}


def tracker(events: Iterable[Dict[str, Any]], latest_action: str = "action_listen", sender: str = "patient-1") -> Tracker:
    """A tracker as Rasa sends it: slots, active loop and latest message follow from the events."""
    events = list(events)
    slots: Dict[str, Any] = {}
    active: Dict[str, Any] = {}
    latest: Dict[str, Any] = {}
    for event in events:
        if event["event"] == "slot":
            slots[event["name"]] = event["value"]
        elif event["event"] == "active_loop":
            active = {"name": event["name"]} if event["name"] else {}
        elif event["event"] == "user":
            latest = event["parse_data"]
    return Tracker(sender, slots, latest, events, False, None, active, latest_action)


def as_sent_to_validation(events: List[Dict[str, Any]], form: str) -> List[Dict[str, Any]]:
    """What Rasa's form hands its validation action: the conversation, then the requested slot,
    the form's own action event, and the slot candidates extracted from the latest message."""
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    candidates = [e for e in events[last_user + 1 :] if e["event"] == "slot"]
    requested = next((e["value"] for e in reversed(events) if e["event"] == "slot" and e["name"] == "requested_slot"), None)
    return events + [slot("requested_slot", requested), action(form)] + candidates


def run(
    action_object: Any,
    events: Iterable[Dict[str, Any]],
    domain: Dict[str, Any],
    latest_action: str = "action_listen",
    sender: str = "patient-1",
):
    events = list(events)
    if isinstance(action_object, FormValidationAction):
        events, latest_action = as_sent_to_validation(events, action_object.form_name()), action_object.form_name()
    dispatcher = CollectingDispatcher()
    result = action_object.run(dispatcher, tracker(events, latest_action, sender), domain)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return result, [m.get("text") or "" for m in dispatcher.messages], dispatcher.messages


def slot_values(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def refund_form_until(requested: str, **filled: Any) -> List[Dict[str, Any]]:
    """A refund request whose offered ticket was accepted, some slots filled, the form asking for `requested`."""
    events = [
        action("action_listen"),
        user("我想退款", "request_refund"),
        action("action_policy_answer"),
        slot("policy_followup", "offer_ticket"),
        action("utter_policy_answer"),
        action("utter_offer_ticket"),
        action("action_listen"),
        user("是", "affirm"),
        loop("ticket_form"),
        slot("privacy_consent", True),
    ]
    events += [slot(name, value) for name, value in filled.items()]
    return events + [slot("requested_slot", requested), action("action_listen")]


FILLED = dict(procedure="双眼皮", surgery_time="上个月15号", problem_description="两边一宽一窄", phone_number=PHONE)


@pytest.mark.parametrize(
    "typed, words",
    [
        ("1381234567", "10 位数字"),
        ("138123456789", "12 位数字"),
        ("12812345678", "以 13、14、15、16、17、18 或 19 开头"),
        ("我没有手机", "只能由数字组成"),
    ],
)
def test_a_bad_phone_is_asked_again_saying_what_was_wrong(domain, database, typed: str, words: str) -> None:
    before = dict(procedure="双眼皮", surgery_time="三天前", problem_description="很肿")
    events, texts, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("phone_number", **before) + [user(typed, "inform"), slot("phone_number", typed)],
        domain,
    )
    assert slot_values(events) == {"phone_number": None}
    assert len(texts) == 1 and words in texts[0]


def test_a_good_phone_is_kept_in_its_plain_form(domain, database) -> None:
    events, texts, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("phone_number", procedure="双眼皮")
        + [user("+86 138-1234-5678", "inform"), slot("phone_number", "+86 138-1234-5678")],
        domain,
    )
    assert slot_values(events)["phone_number"] == PHONE and texts == []


@pytest.mark.parametrize(
    "answer, words",
    [
        ("'; DROP TABLE tickets;--", "不要包含"),
        ("很" * 501, "最多 500 个字"),
        ("   ", "没有收到内容"),
    ],
)
def test_bad_free_text_is_asked_again_and_nothing_collected_is_lost(domain, database, answer: str, words: str) -> None:
    filled = dict(procedure="双眼皮", surgery_time="上个月15号")
    events, texts, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("problem_description", **filled)
        + [user(answer, "inform"), slot("problem_description", answer)],
        domain,
    )
    assert slot_values(events) == {"problem_description": None}
    assert len(texts) == 1 and words in texts[0]


def test_ok_is_not_taken_as_the_surgery_time(domain, database) -> None:
    events, texts, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("surgery_time", procedure="双眼皮") + [user("好的", "affirm"), slot("surgery_time", "好的")],
        domain,
    )
    assert slot_values(events) == {"surgery_time": None} and "具体内容" in texts[0]


def test_an_unknown_procedure_is_asked_again_with_the_procedure_buttons(domain, database) -> None:
    events, texts, messages = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("procedure") + [user("眼睛那个", "inform"), slot("procedure", "眼睛那个")],
        domain,
    )
    assert slot_values(events) == {"procedure": None}
    assert "没有识别出" in texts[0]
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles[0] == "双眼皮" and titles[-1] == "其他" and "牙齿美容" in titles


def test_a_procedure_named_inside_an_answer_is_recognised(domain, database) -> None:
    events, _, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("procedure") + [user("做的是隆鼻", "inform"), slot("procedure", "做的是隆鼻")],
        domain,
    )
    assert slot_values(events) == {"procedure": "隆鼻"}


@pytest.mark.parametrize("intent", ["report_emergency", "deny", "express_anger", "request_human", "ask_contact_info"])
def test_a_red_flag_a_cancel_or_a_question_hands_the_turn_to_the_rules_and_fills_nothing(
    domain, database, intent: str
) -> None:
    events, texts, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("surgery_time", procedure="双眼皮") + [user("……", intent), slot("surgery_time", "……")],
        domain,
    )
    assert events == [slot("surgery_time", None) | {"timestamp": None}, {
        "event": "action_execution_rejected", "name": "ticket_form", "policy": None, "confidence": None,
        "timestamp": None,
    }]
    assert texts == []


def test_coming_back_after_a_question_was_answered_asks_again_without_taking_anything(domain, database) -> None:
    events, texts, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("surgery_time", procedure="双眼皮")
        + [user("你们电话多少", "ask_contact_info"), {"event": "action_execution_rejected", "name": "ticket_form"},
           action("utter_contact_info")],
        domain,
    )
    assert events == [] and texts == []


def test_while_describing_the_problem_a_recovery_question_counts_as_the_description(domain, database) -> None:
    text = "肿了一个月还没消正常吗"
    events, _, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("problem_description", procedure="双眼皮", surgery_time="一个月前")
        + [user(text, "ask_recovery"), slot("problem_description", text)],
        domain,
    )
    assert slot_values(events) == {"problem_description": text}


def test_a_word_in_a_later_answer_does_not_replace_an_earlier_answer(domain, database) -> None:
    text = "三天前开始右眼肿得厉害"
    events, _, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("problem_description", procedure="双眼皮", surgery_time="上个月15号")
        + [user(text, "report_postop_pain", surgery_time="三天前"), slot("surgery_time", "三天前"),
           slot("problem_description", text)],
        domain,
    )
    assert slot_values(events) == {"surgery_time": "上个月15号", "problem_description": text}


def test_anything_but_yes_at_the_confirmation_asks_for_confirmation_again(domain, database) -> None:
    events, _, _ = run(
        ticket_actions.ValidateTicketForm(),
        refund_form_until("ticket_confirmed", **FILLED) + [user("嗯我再想想", "nlu_fallback")],
        domain,
    )
    assert slot_values(events) == {"ticket_confirmed": None}


def test_the_confirmation_shows_what_will_be_saved_with_the_phone_masked(domain, database) -> None:
    _, texts, messages = run(ticket_actions.ActionAskTicketConfirmed(), refund_form_until("ticket_confirmed", **FILLED), domain)
    assert "类型：退款申请" in texts[0] and "项目：双眼皮" in texts[0] and "两边一宽一窄" in texts[0]
    assert "138****5678" in texts[0] and PHONE not in texts[0]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]


def confirmed(**changes: Any) -> List[Dict[str, Any]]:
    filled = dict(FILLED, **changes)
    return refund_form_until("ticket_confirmed", **filled) + [
        user("是", "affirm"), slot("ticket_confirmed", True), loop(None), slot("requested_slot", None),
        action("ticket_form"),
    ]


def stored(url: str) -> List[Ticket]:
    with db.session_scope(url) as session:
        return list(session.execute(select(Ticket)).scalars())


def test_a_confirmed_refund_opens_a_refund_ticket_and_answers_with_its_number(domain, database) -> None:
    started = time.perf_counter()
    events, _, _ = run(ticket_actions.ActionOpenTicket(), confirmed(), domain, latest_action="ticket_form")
    elapsed = time.perf_counter() - started
    values = slot_values(events)
    [ticket] = stored(database)
    assert (ticket.kind, ticket.category, ticket.procedure, ticket.severity, ticket.status) == (
        "refund", "surgery", "双眼皮", "normal", "open",
    )
    assert (ticket.conversation_id, ticket.channel, ticket.phone) == ("patient-1", "rest", PHONE)
    assert values["ticket_outcome"] == "opened" and values["ticket_number"] == ticket.number
    assert values["ticket_kind_label"] == "退款申请" and "1 个工作日内" in values["ticket_next_step"]
    assert {k: values[k] for k in ("surgery_time", "problem_description", "phone_number", "ticket_confirmed")} == dict.fromkeys(
        ("surgery_time", "problem_description", "phone_number", "ticket_confirmed")
    )
    assert elapsed < 2.0


def test_an_angry_patient_or_an_infection_makes_the_ticket_major(domain, database) -> None:
    angry = confirmed()
    angry.insert(1, user("你们就是骗子", "express_anger"))
    run(ticket_actions.ActionOpenTicket(), angry, domain, latest_action="ticket_form")
    events, _, _ = run(
        ticket_actions.ActionOpenTicket(), confirmed(problem_description="伤口化脓了"), domain, latest_action="ticket_form"
    )
    assert [t.severity for t in stored(database)] == ["major", "major"]
    assert "重大紧急" in slot_values(events)["ticket_next_step"]


def test_the_kind_is_that_of_the_request_that_started_the_form_not_of_the_description(domain, database) -> None:
    events = confirmed()
    events.insert(-5, user("双眼皮一宽一窄", "complain_asymmetry"))
    run(ticket_actions.ActionOpenTicket(), events, domain, latest_action="ticket_form")
    assert [t.kind for t in stored(database)] == ["refund"]


def test_cancelling_stops_the_form_and_forgets_everything(domain, database) -> None:
    events, _, _ = run(
        ticket_actions.ActionCancelForm(),
        refund_form_until("ticket_confirmed", **FILLED) + [user("不办了", "deny")],
        domain,
    )
    assert events[0] == {"event": "active_loop", "name": None, "timestamp": None}
    assert all(value is None for value in slot_values(events).values())
    assert {"procedure", "surgery_time", "problem_description", "phone_number", "requested_slot"} <= set(
        slot_values(events)
    )
    assert stored(database) == []


def lookup(phone: str, number: Optional[str] = None, client: Optional[str] = None) -> List[Dict[str, Any]]:
    asked = user("查询工单", "check_ticket_status")
    if client:
        asked["metadata"] = {"client": client}
    events = [action("action_listen"), asked, loop("ticket_status_form")]
    if number:
        events.append(slot("ticket_number", number))
    return events + [slot("status_phone", phone), loop(None), slot("requested_slot", None)]


def test_status_is_shown_only_to_the_phone_on_the_ticket(domain, database) -> None:
    number = tickets.open_ticket(
        tickets.NewTicket("p", "rest", "refund", "surgery", "normal", "双眼皮", "上个月", "不满意", PHONE)
    ).number
    with db.session_scope(database) as session:
        update_ticket(session, number, "staff:li", "in_progress", "材料已收齐", patient_visible=True)

    wrong, _, _ = run(ticket_actions.ActionTicketStatus(), lookup("13900000000", number), domain, "ticket_status_form")
    unknown, _, _ = run(ticket_actions.ActionTicketStatus(), lookup(PHONE, "TK209901010001"), domain, "ticket_status_form")
    right, _, _ = run(
        ticket_actions.ActionTicketStatus(), lookup(PHONE, number), domain, "ticket_status_form", sender="p"
    )

    assert slot_values(wrong) == slot_values(unknown) == {
        "ticket_lookup": "not_found", "ticket_status_text": None, "status_phone": None, "status_code": None,
        "ticket_number": None,
    }
    text = slot_values(right)["ticket_status_text"]
    assert slot_values(right)["ticket_lookup"] == "found"
    assert number in text and "当前状态：处理中" in text and "材料已收齐" in text and "已登记，等待受理" in text
    assert "下一步：医务部门正在处理" in text


def test_a_phone_alone_shows_the_tickets_this_conversation_opened(domain, database) -> None:
    numbers = [
        tickets.open_ticket(tickets.NewTicket("patient-1", "rest", kind, "skin", "normal", "脱毛", "", "x", PHONE)).number
        for kind in ("refund", "complaint")
    ]
    events, _, _ = run(ticket_actions.ActionTicketStatus(), lookup(PHONE), domain, "ticket_status_form")
    text = slot_values(events)["ticket_status_text"]
    assert all(number in text for number in numbers) and "投诉" in text and "退款申请" in text


def test_an_attacker_with_a_phone_alone_learns_nothing(domain, database) -> None:
    tickets.open_ticket(tickets.NewTicket("patient-1", "rest", "refund", "skin", "normal", "脱毛", "", "x", PHONE))
    events, texts, _ = run(
        ticket_actions.ActionTicketStatus(), lookup(PHONE), domain, "ticket_status_form", sender="attacker"
    )
    assert slot_values(events)["ticket_lookup"] == "not_found" and slot_values(events)["ticket_status_text"] is None
    assert texts == []


def test_staff_notes_reach_the_patient_only_when_marked_for_the_patient(domain, database) -> None:
    number = tickets.open_ticket(
        tickets.NewTicket("p", "rest", "complaint", "surgery", "normal", "隆鼻", "上个月", "歪了", PHONE)
    ).number
    with db.session_scope(database) as session:
        update_ticket(session, number, "staff:li", "in_progress", "患者曾投诉过两次，态度强硬，注意措辞")
        update_ticket(session, number, "staff:li", None, "已安排 12 月 3 日主任面诊", patient_visible=True)
    events, _, _ = run(
        ticket_actions.ActionTicketStatus(), lookup(PHONE, number), domain, "ticket_status_form", sender="p"
    )
    text = slot_values(events)["ticket_status_text"]
    assert "已安排 12 月 3 日主任面诊" in text and "处理中" in text
    assert "态度强硬" not in text and "注意措辞" not in text


def miss(domain: Dict[str, Any], sender: str, number: str, phone: str, client: Optional[str] = None) -> List[str]:
    events, texts, _ = run(
        ticket_actions.ActionTicketStatus(), lookup(phone, number, client), domain, "ticket_status_form", sender=sender
    )
    return texts


def test_the_miss_limit_outlasts_a_new_conversation(domain, database) -> None:
    """Five wrong phones for one ticket, each from a fresh conversation (a new widget session or a
    /restart), and the sixth lookup, even with the right phone, is refused and offers a person."""
    number = tickets.open_ticket(
        tickets.NewTicket("owner", "rest", "refund", "surgery", "normal", "双眼皮", "上个月", "不满意", PHONE)
    ).number
    for attempt in range(5):
        assert miss(domain, f"guess-{attempt}", number, f"1390000000{attempt}") == []
    texts = miss(domain, "guess-5", number, PHONE)
    assert len(texts) == 1 and "不能再查询" in texts[0]
    owner, _, _ = run(
        ticket_actions.ActionTicketStatus(), lookup(PHONE, number), domain, "ticket_status_form", sender="owner"
    )
    assert number in slot_values(owner)["ticket_status_text"]


def test_the_miss_limit_counts_per_phone_across_ticket_numbers(domain, database) -> None:
    tickets.open_ticket(tickets.NewTicket("owner", "rest", "refund", "skin", "normal", "脱毛", "", "x", PHONE))
    for attempt in range(5):
        assert miss(domain, f"guess-{attempt}", f"TK2026112300{attempt:02d}", PHONE) == []
    assert "不能再查询" in miss(domain, "guess-5", "TK202611230099", PHONE)[0]


def test_the_miss_limit_counts_per_client(domain, database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKUP_MAX_MISSES_PER_CLIENT", "3")
    for attempt in range(3):
        assert miss(domain, f"c-{attempt}", f"TK2026112300{attempt:02d}", f"1390000000{attempt}", "web:10.0.0.9") == []
    assert "不能再查询" in miss(domain, "c-9", "TK202611230099", "13700000000", "web:10.0.0.9")[0]
    assert miss(domain, "c-10", "TK202611230099", "13700000000", "web:10.0.0.10") == []


def test_a_ticket_number_without_the_phone_just_asks_for_the_phone(domain, database) -> None:
    events, texts, _ = run(
        ticket_actions.ValidateTicketStatusForm(),
        [action("action_listen"), user("查询工单", "check_ticket_status"), loop("ticket_status_form"),
         slot("requested_slot", "status_phone"), action("action_listen"),
         user("TK202611230001", "inform", ticket_number="TK202611230001"), slot("ticket_number", "TK202611230001"),
         slot("status_phone", "TK202611230001")],
        domain,
    )
    assert slot_values(events) == {"status_phone": None, "requested_slot": "status_phone"} and texts == []
