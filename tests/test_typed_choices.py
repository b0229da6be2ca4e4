"""A button's title typed as text counts as pressing it: "很不满意" under the satisfaction question is a score of
1, not the classifier's guess (which was `followup_fine`, "glad you are recovering well")."""

from __future__ import annotations

import json
import urllib.request
import uuid

from rasa.shared.core.events import BotUttered, UserUttered

from bot import typed_choices
from tests.conftest import RunningSystem, post_json

SURVEY = [
    {"title": "非常满意", "payload": '/rate_service{"satisfaction_score":"5"}'},
    {"title": "很不满意", "payload": '/rate_service{"satisfaction_score":"1"}'},
]


def test_the_typed_title_of_an_offered_button_is_its_payload() -> None:
    offered = [UserUttered("转人工"), BotUttered("您对这次服务满意吗？", data={"buttons": SURVEY})]
    assert typed_choices.payload_for("很不满意", offered) == SURVEY[1]["payload"]
    assert typed_choices.payload_for(" 很不满意！", offered) == SURVEY[1]["payload"]
    assert typed_choices.payload_for("非常满意。", offered) == SURVEY[0]["payload"]


def test_anything_else_goes_to_the_classifier() -> None:
    offered = [BotUttered("您对这次服务满意吗？", data={"buttons": SURVEY}), BotUttered("隐私提示")]
    assert typed_choices.payload_for("很不满意，医生态度太差了", offered) is None, "more than the title"
    assert typed_choices.payload_for("出血止不住", offered) is None
    assert typed_choices.payload_for("", offered) is None
    assert typed_choices.payload_for("/greet", offered) is None
    answered = [BotUttered("您对这次服务满意吗？", data={"buttons": SURVEY}), UserUttered("谢谢")]
    assert typed_choices.payload_for("很不满意", answered) is None, "the buttons were offered before the last message"
    assert typed_choices.payload_for("很不满意", []) is None


def _tracker(system: RunningSystem, sender: str) -> dict:
    request = urllib.request.Request(
        f"{system.rasa_url}/conversations/{sender}/tracker?token={system.token}", method="GET"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_patient_who_types_a_buttons_title_gets_what_the_button_gives(system: RunningSystem) -> None:
    sender = f"typed-{uuid.uuid4().hex[:10]}"
    system.say(sender, "你好")
    post_json(
        f"{system.rasa_url}/conversations/{sender}/tracker/events?token={system.token}",
        [{"event": "bot", "text": "您对这次服务满意吗？", "data": {"buttons": SURVEY}}],
    )
    system.say(sender, "很不满意")
    latest = [e for e in _tracker(system, sender)["events"] if e["event"] == "user"][-1]
    assert latest["text"] == "很不满意", "the transcript keeps what the patient typed"
    assert latest["parse_data"]["intent"]["name"] == "rate_service"
    assert latest["parse_data"]["entities"][0]["value"] == "1"
