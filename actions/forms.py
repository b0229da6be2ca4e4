"""Shared pieces of the patient forms: reading the conversation, interruptions, asking with prompts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import answers, form_input, policies, procedures

REQUESTED_SLOT = "requested_slot"


def session_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The events of the current session (after the last `session_started`)."""
    events = tracker.events
    starts = [index for index, event in enumerate(events) if event.get("event") == "session_started"]
    return events[starts[-1] + 1 :] if starts else list(events)


def user_intents(events: List[Dict[Text, Any]]) -> List[str]:
    return [
        ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        for event in events
        if event.get("event") == "user"
    ]


def user_texts(events: List[Dict[Text, Any]]) -> List[str]:
    return [event.get("text") or "" for event in events if event.get("event") == "user"]


def events_before_activation(tracker: Tracker, form: str) -> List[Dict[Text, Any]]:
    """The session's events before `form` was last activated (all of them if it never was)."""
    events = session_events(tracker)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "active_loop" and events[index].get("name") == form:
            return events[:index]
    return events


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def value_before_this_turn(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message was processed."""
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    value = None
    for event in events[:last_user]:
        if event.get("event") == "slot" and event.get("name") == slot:
            value = event.get("value")
    return value


def say(
    dispatcher: CollectingDispatcher,
    key: str,
    snapshot: policies.PolicySnapshot,
    buttons: Optional[List[Dict[str, str]]] = None,
    **values: Any,
) -> None:
    """Send one of the prompts of data/policies/prompts.yml, with buttons if given."""
    dispatcher.utter_message(text=answers.prompt(key, snapshot, **values), buttons=buttons or [])


def procedure_buttons(snapshot: policies.PolicySnapshot) -> List[Dict[str, str]]:
    """One button per procedure of the catalog; the payload names the canonical value."""
    return [
        {"title": procedure.name, "payload": f'/inform{{"procedure": "{procedure.name}"}}'}
        for procedure in procedures.catalog(snapshot)
    ]


class PatientFormValidation(FormValidationAction, ABC):
    """Validation shared by the patient forms.

    Before anything is validated, a message that stops the form (cancel, red flag, a wish
    for a person) or a question the rules answer mid-form rejects the form, so the rules
    handle it; whatever that message put into the form's slots is taken back. A slot
    already answered is not overwritten by a word in a later answer ("三天前" in the
    description does not replace the surgery time given before); a new question that starts the
    form again is answered for the procedure it names.
    """

    answers_questions = False

    @abstractmethod
    def name(self) -> Text:
        """`validate_<form>`."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        required = self.domain_slots(domain)
        requested = tracker.get_slot(REQUESTED_SLOT)
        fresh_message = self.follows_patient_message(tracker)
        changed = [slot for slot in tracker.slots_to_validate() if slot in required]
        text = tracker.latest_message.get("text") or ""
        if fresh_message and form_input.interrupts(latest_intent(tracker), requested, self.answers_questions, text):
            undo = [SlotSet(slot, value_before_this_turn(tracker, slot)) for slot in changed]
            return undo + [ActionExecutionRejected(self.form_name())]
        for slot in changed:
            earlier = value_before_this_turn(tracker, slot)
            # Only an answer inside a running form keeps what was said before; a new question (the form starts
            # again, nothing requested yet) is about what it names: "瘦脸针多少钱" after talking of 双眼皮.
            if requested is not None and slot != requested and earlier is not None:
                tracker.add_slots([SlotSet(slot, earlier)])
        events = await super().run(dispatcher, tracker, domain)
        if fresh_message and requested and not changed:
            # Nothing usable in the message: ask the same question again instead of leaving the form.
            events.append(SlotSet(requested, None))
        return events

    def follows_patient_message(self, tracker: Tracker) -> bool:
        """Whether the form runs on the patient's latest message, not on coming back after a rule answered.

        Rasa hands a form's validation action the tracker with the form's own action event
        appended; any other action since the latest user message means the form is resuming.
        """
        events = tracker.events
        last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
        return last_user >= 0 and all(
            e.get("event") != "action" or e.get("name") == self.form_name() for e in events[last_user + 1 :]
        )

    def is_fresh_answer_without_content(self, slot: str, tracker: Tracker) -> bool:
        """A "好的" or "你好" where the form asked for this slot."""
        return (
            self.follows_patient_message(tracker)
            and tracker.get_slot(REQUESTED_SLOT) == slot
            and latest_intent(tracker) in form_input.NON_ANSWER_INTENTS
        )

    async def validate_procedure(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        snapshot = policies.current()
        name = procedures.recognize(value if isinstance(value, str) else None, snapshot)
        if name:
            return {"procedure": name}
        say(dispatcher, "invalid.procedure", snapshot, buttons=procedure_buttons(snapshot))
        return {"procedure": None}


class AskAction(Action, ABC):
    """Asks for one slot with its prompt from data/policies/prompts.yml."""

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot this action asks for."""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    def prompt_key(self, tracker: Tracker, snapshot: policies.PolicySnapshot) -> str:
        """The prompt of data/policies/prompts.yml that asks for the slot."""
        return f"ask.{self.slot}"

    def values(self, tracker: Tracker, snapshot: policies.PolicySnapshot) -> Dict[str, Any]:
        """What the prompt needs filled in."""
        return {}

    def buttons(self, snapshot: policies.PolicySnapshot) -> List[Dict[str, str]]:
        return []

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        snapshot = policies.current()
        key = self.prompt_key(tracker, snapshot)
        say(dispatcher, key, snapshot, buttons=self.buttons(snapshot), **self.values(tracker, snapshot))
        return []
