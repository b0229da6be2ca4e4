"""The patient's answer to the satisfaction question: the score is recorded, the patient thanked.

The logic is in bot/followups/satisfaction.py; the texts are in data/policies/followups.yml `satisfaction`."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.followups import satisfaction, texts
from bot.store import db

SCORE_ENTITY = "satisfaction_score"


class ActionSatisfactionAnswer(Action):
    """`/rate_service{"satisfaction_score":"4"}` from a button of the question: record it and thank the patient;
    a low score is also offered a person or a service complaint."""

    def name(self) -> Text:
        return "action_satisfaction_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        score = satisfaction.parse_score(next(tracker.get_latest_entity_values(SCORE_ENTITY), None))
        if score is None:
            dispatcher.utter_message(text=texts.text("satisfaction.not_a_score"))
            return []
        with db.session_scope() as session:
            rated = satisfaction.answer(session, tracker.sender_id, score)
        if rated.followup is None:
            dispatcher.utter_message(text=texts.text("satisfaction.already_answered"))
            return []
        reply = satisfaction.thanks(score)
        dispatcher.utter_message(text=reply.text, buttons=list(reply.buttons))
        return []
