"""action_rephrase_with_topics: a symptom to check gets the red-flag checklist; after a miss, the likeliest
topics; after two, a person."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot import fallback

HANDOFF_ACTION = "action_handoff"


class ActionRephraseWithTopics(Action):
    def name(self) -> Text:
        return "action_rephrase_with_topics"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if fallback.needs_checklist(tracker.latest_message):
            text, buttons = fallback.red_flag_checklist(tracker.latest_message)
            dispatcher.utter_message(text=text, buttons=buttons)
            return []
        if fallback.should_hand_off(tracker.events):
            return [FollowupAction(HANDOFF_ACTION)]
        response = fallback.rephrase_response(domain.get("responses") or {})
        buttons = fallback.topic_buttons(
            tracker.latest_message.get("intent_ranking") or [], response.get("buttons") or []
        )
        dispatcher.utter_message(text=response["text"], buttons=buttons)
        return []
