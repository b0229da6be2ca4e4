"""Post-op check-ins: registering the procedure the patient names, and the patient's answer to a check-in.

The logic is in bot/followups/checkins.py; the texts are in data/policies/followups.yml."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import latest_intent
from bot import hospital, policies, procedures
from bot.followups import checkins, surgery_date, texts
from bot.store import db
from bot.store.models import utcnow

REPLY_BY_INTENT = {"followup_fine": "fine", "followup_problem": "problem", "followup_stop": "stop"}


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


class ActionFollowupRegister(Action):
    """The patient told the procedure and when it was done: schedule the check-ins and say when they come."""

    def name(self) -> Text:
        return "action_followup_register"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        procedure = procedures.recognize(_entity(tracker, "procedure") or tracker.get_slot("procedure"), policies.current())
        said = _entity(tracker, "surgery_time") or tracker.latest_message.get("text")
        now = utcnow()
        day = surgery_date.parse(said, hospital.load().local(now).date())
        if procedure is None or day is None:
            dispatcher.utter_message(text=texts.text("postop.no_date", procedure=procedure or ""))
            return [SlotSet("procedure", procedure)] if procedure else []
        with db.session_scope() as session:
            planned = checkins.plan(
                session, tracker.sender_id, tracker.get_latest_input_channel(), procedure, day, now=now
            )
            days = [int((row.due_at.astimezone(hospital.load().timezone).date() - day).days) for row in planned]
        dispatcher.utter_message(
            text=texts.text(
                "postop.scheduled", procedure=procedure, surgery_day=texts.day_text(day), days=checkins.days_text(days)
            )
        )
        return [SlotSet("procedure", procedure), SlotSet("surgery_time", said)]


class ActionFollowupAnswer(Action):
    """The patient answered a check-in: fine (a kind close), a problem (a post-op ticket follows), or stop."""

    def name(self) -> Text:
        return "action_followup_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        reply = REPLY_BY_INTENT.get(latest_intent(tracker) or "", "fine")
        with db.session_scope() as session:
            answered = checkins.answer(session, tracker.sender_id, reply, tracker.latest_message.get("text") or "")
            procedure = answered.followup.procedure if answered.followup is not None else None
        if answered.followup is None and reply != "problem":
            dispatcher.utter_message(text=texts.text("postop.nothing_to_answer"))
            return []
        dispatcher.utter_message(text=texts.text(f"postop.answered_{reply}", procedure=procedure or ""))
        return [SlotSet("procedure", procedure)] if procedure and reply == "problem" else []
