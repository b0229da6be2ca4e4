"""Policy answers: one complete answer for the patient's question and procedure."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import AskAction, PatientFormValidation, procedure_buttons, session_events, user_intents
from bot import answers, policies

DEFAULT_INTENT = "ask_procedure_info"


class ActionPolicyAnswer(Action):
    """Puts the whole answer into `policy_text` (said by `utter_policy_answer`) and tells the
    rules what follows it in `policy_followup`: the offer of a ticket or of a consultation, the
    consultation booking form, or nothing."""

    def name(self) -> Text:
        return "action_policy_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        snapshot = policies.current()
        events = session_events(tracker)
        intent = answers.latest_policy_intent(user_intents(events)) or DEFAULT_INTENT
        topic = answers.question_topic(intent, events)
        text = answers.answer(intent, tracker.get_slot("procedure"), snapshot, topic)
        followup = answers.NO_FOLLOWUP if tracker.active_loop_name else answers.followup_for(intent, topic)
        return [SlotSet("policy_text", text), SlotSet("policy_followup", followup)]


class ActionAskProcedure(AskAction):
    slot = "procedure"

    def buttons(self, snapshot: policies.PolicySnapshot) -> List[Dict[str, str]]:
        return procedure_buttons(snapshot)


class ValidatePolicyForm(PatientFormValidation):
    def name(self) -> Text:
        return "validate_policy_form"
