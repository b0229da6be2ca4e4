"""action_session_start: Rasa's new session, kept paused while a person holds or is to take the conversation."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot import sessions


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        carry_over = (domain.get("session_config") or {}).get("carry_over_slots_to_new_session", True)
        return sessions.session_start_events(tracker.sender_id, tracker.applied_events(), carry_over)
