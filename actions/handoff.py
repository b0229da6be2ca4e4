"""action_handoff: queue the conversation for a person, tell the patient what happens next, pause the bot.

When nothing was queued (a client over its limit of urgent handoffs, bot/handoffs.py), the bot is not paused."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

from bot import client_identity, handoffs, hospital


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        notice = handoffs.request_handoff(
            hospital.load(),
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "rest",
            intent=intent,
            client=client_identity.of_latest_message(tracker.events),
        )
        dispatcher.utter_message(text=notice.text)
        return [ConversationPaused()] if notice.handoff_id is not None else []
