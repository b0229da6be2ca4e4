"""Low NLU confidence: topic buttons on the first miss, a person on the second miss in a row."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionRephraseWithTopics
from bot import fallback, hospital

ROOT = Path(__file__).resolve().parent.parent

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.45},
    {"name": "greet", "confidence": 0.30},
    {"name": "request_refund", "confidence": 0.25},
    {"name": "thank", "confidence": 0.15},
    {"name": "ask_refund_policy", "confidence": 0.12},
    {"name": "complain_result", "confidence": 0.08},
    {"name": "request_revision", "confidence": 0.05},
]


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    """The domain as Rasa sends it to the action server."""
    return Domain.load(str(ROOT / "domain.yml")).as_dict()


def user(intent: str, text: str = "……", ranking: List[Dict[str, Any]] | None = None) -> Dict[str, Any]:
    parse = {"intent": {"name": intent, "confidence": 0.45}, "intent_ranking": ranking or [], "entities": []}
    return {"event": "user", "text": text, "parse_data": parse}


def bot_action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def tracker(events: List[Dict[str, Any]]) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker(
        sender_id="patient-1",
        slots={},
        latest_message={"text": latest["text"], **latest["parse_data"]},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(events: List[Dict[str, Any]], domain: Dict[str, Any]):
    dispatcher = CollectingDispatcher()
    result = ActionRephraseWithTopics().run(dispatcher, tracker(events), domain)
    return dispatcher.messages, result


def test_a_first_miss_offers_the_three_likeliest_topics_as_buttons(domain) -> None:
    messages, events = run([bot_action("action_listen"), user("nlu_fallback", "那个钱的事", RANKING)], domain)

    assert events == []
    (message,) = messages
    assert message["text"] == domain["responses"]["utter_ask_rephrase"][0]["text"].format(on_call_line=hospital.load().on_call_line)
    assert "120" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/request_refund", "/ask_refund_policy", "/complain_result"]
    titles = {b["payload"]: b["title"] for b in domain["responses"]["utter_ask_rephrase"][0]["buttons"]}
    assert [b["title"] for b in message["buttons"]] == [titles[b["payload"]] for b in message["buttons"]]


def test_the_second_miss_in_a_row_hands_the_patient_to_a_person(domain) -> None:
    events = [
        user("nlu_fallback", "嗯那个", RANKING),
        bot_action("action_rephrase_with_topics"),
        bot_action("action_listen"),
        user("nlu_fallback", "就是那个啊", RANKING),
    ]
    messages, result = run(events, domain)

    assert messages == []
    assert result == [FollowupAction("action_handoff")]


def test_an_understood_message_between_two_misses_restarts_the_count(domain) -> None:
    events = [
        user("nlu_fallback", "嗯那个", RANKING),
        bot_action("action_rephrase_with_topics"),
        user("ask_contact_info", "你们电话多少"),
        bot_action("utter_contact_info"),
        user("nlu_fallback", "还有那个", RANKING),
    ]
    messages, result = run(events, domain)

    assert result == []
    assert len(messages) == 1 and messages[0]["buttons"]


def test_a_miss_after_staff_hand_the_conversation_back_is_a_first_miss(domain) -> None:
    events = [
        user("nlu_fallback", "嗯那个", RANKING),
        bot_action("action_rephrase_with_topics"),
        user("nlu_fallback", "就是那个", RANKING),
        bot_action("action_handoff"),
        {"event": "pause"},
        {"event": "resume"},
        user("nlu_fallback", "还有个事", RANKING),
    ]
    _, result = run(events, domain)

    assert result == []


def test_every_menu_button_sends_an_intent_of_the_domain(domain) -> None:
    intents = set(Domain.from_dict(domain).intents)
    payloads = [b["payload"] for b in fallback.rephrase_response(domain["responses"])["buttons"]]
    assert payloads, "the menu has no buttons"
    assert {payload[1:] for payload in payloads} <= intents
    assert all(payload.startswith("/") for payload in payloads)
    assert not set(payloads) & {"/nlu_fallback", "/greet", "/thank", "/goodbye", "/out_of_scope", "/inform"}


def test_topics_skip_intents_without_a_button_and_repeats() -> None:
    buttons = [{"title": "申请退款", "payload": "/request_refund"}, {"title": "转人工客服", "payload": "/request_human"}]
    ranking = [
        {"name": "report_emergency", "confidence": 1.0},
        {"name": "greet", "confidence": 0.5},
        {"name": "request_human", "confidence": 0.3},
        {"name": "request_human", "confidence": 0.3},
        {"name": "request_refund", "confidence": 0.2},
    ]
    assert fallback.topic_buttons(ranking, buttons) == [buttons[1], buttons[0]]
    assert fallback.topic_buttons(ranking, buttons, limit=1) == [buttons[1]]
    assert fallback.topic_buttons([], buttons) == []


def test_misses_are_counted_back_to_the_start_of_the_session() -> None:
    events = [
        user("nlu_fallback"),
        {"event": "session_started"},
        user("nlu_fallback"),
    ]
    assert fallback.consecutive_misses(events) == 1
    assert not fallback.should_hand_off(events)
    assert fallback.should_hand_off(events + [bot_action("action_rephrase_with_topics"), user("nlu_fallback")])


def test_a_domain_without_the_rephrase_response_is_an_error() -> None:
    with pytest.raises(KeyError):
        fallback.rephrase_response({})


def to_check(intent: str, text: str, entities: List[Dict[str, Any]] | None = None) -> Dict[str, Any]:
    """A message the triage layer sent to be checked for red flags (bot/nlu/red_flags.py)."""
    event = user("nlu_fallback", text, [{"name": intent, "confidence": 0.8}])
    event["parse_data"]["triage"] = {"level": "check", "concept": "bleeding", "text": "渗血", "classifier_intent": intent}
    event["parse_data"]["entities"] = entities or []
    return event


def test_a_symptom_to_check_gets_the_red_flag_checklist_not_the_topic_menu(domain) -> None:
    procedure = [{"entity": "procedure", "value": "双眼皮"}]
    messages, result = run([bot_action("action_listen"), to_check("report_postop_pain", "伤口有点渗血", procedure)], domain)

    assert result == []
    (message,) = messages
    assert "为了您的安全" in message["text"] and "120" in message["text"]
    payloads = [button["payload"] for button in message["buttons"]]
    assert payloads[0] == '/report_emergency{"red_flag": "bleeding"}'
    assert all(p.startswith("/report_emergency") for p in payloads[:-1])
    assert payloads[-1] == '/report_postop_pain{"procedure": "双眼皮"}'
    assert message["buttons"][-1]["title"] == "都没有"


def test_none_of_the_checklist_goes_to_post_op_advice_when_the_classifier_had_no_answer(domain) -> None:
    messages, _ = run([to_check("greet", "你好，我有点发烧")], domain)
    assert messages[0]["buttons"][-1]["payload"] == "/report_postop_pain"


def test_a_checklist_is_no_miss_and_never_hands_over(domain) -> None:
    events = [
        user("nlu_fallback", "嗯那个", RANKING),
        bot_action("action_rephrase_with_topics"),
        to_check("report_postop_pain", "还有点渗血"),
    ]
    messages, result = run(events, domain)
    assert result == [] and "为了您的安全" in messages[0]["text"]
    assert fallback.consecutive_misses(events) == 0
