"""Tickets: the form that collects and confirms one, opening it, cancelling, and looking it up."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import consent
from actions.forms import (
    REQUESTED_SLOT,
    AskAction,
    PatientFormValidation,
    events_before_activation,
    say,
    session_events,
    user_intents,
    user_texts,
)
from bot import answers, client_identity, form_input, lookup_limit, phone, policies, procedures, sms, ticket_codes, tickets

log = logging.getLogger(__name__)

TICKET_FORM = "ticket_form"
TICKET_FORM_SLOTS = (
    consent.SLOT, "procedure", "surgery_time", "problem_description", "phone_number", "ticket_confirmed"
)
LOOKUP_SLOTS = ("status_phone", "status_code", "ticket_number")
CODE_SLOT = "status_code"


def ticket_kind(tracker: Tracker) -> str:
    """From the intent that started the ticket form: a refund request makes a `refund` ticket."""
    return tickets.kind_for_intents(user_intents(events_before_activation(tracker, TICKET_FORM)))


def confirmation_key(tracker: Tracker) -> Optional[str]:
    """The request key of this ticket: the conversation and the id (or time) of the patient's
    latest message, the one that confirmed the ticket. None when the message has neither."""
    latest = next((e for e in reversed(tracker.events) if e.get("event") == "user"), {})
    reference = latest.get("message_id") or latest.get("timestamp")
    return tickets.request_key(tracker.sender_id, str(reference)) if reference else None


def _say_phone_problem(dispatcher: CollectingDispatcher, check: phone.PhoneCheck, snapshot: policies.PolicySnapshot) -> None:
    say(dispatcher, f"invalid.phone_{check.problem}", snapshot, digits=check.digits)


class TicketAskAction(AskAction):
    """Asks for a ticket form slot in the words of the ticket's kind where it has its own
    (`prompts.ask_by_kind.consultation.…`), else with the common prompt."""

    def prompt_key(self, tracker: Tracker, snapshot: policies.PolicySnapshot) -> str:
        own = f"ask_by_kind.{ticket_kind(tracker)}.{self.slot}"
        return own if snapshot.get(f"prompts.{own}") else super().prompt_key(tracker, snapshot)


class ValidateTicketForm(PatientFormValidation):
    answers_questions = True

    def name(self) -> Text:
        return "validate_ticket_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Text]:
        """A consultation booked before any procedure has no surgery time to ask for."""
        if ticket_kind(tracker) in tickets.KINDS_WITHOUT_SURGERY:
            return [slot for slot in domain_slots if slot != "surgery_time"]
        return domain_slots

    async def extract_privacy_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        """A patient who agreed already (the widget, an integration, an earlier form) is not asked again."""
        return await consent.earlier(tracker)

    async def validate_privacy_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return await consent.validate(value, tracker)

    def _free_text(
        self, slot: str, value: Any, max_chars: int, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        snapshot = policies.current()
        if self.is_fresh_answer_without_content(slot, tracker):
            say(dispatcher, "invalid.not_an_answer", snapshot)
            return {slot: None}
        problem = form_input.text_problem(value, max_chars)
        if problem:
            say(dispatcher, f"invalid.{problem}", snapshot, max_chars=max_chars)
            return {slot: None}
        return {slot: value.strip()}

    def validate_surgery_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return self._free_text("surgery_time", value, form_input.SURGERY_TIME_MAX_CHARS, dispatcher, tracker)

    def validate_problem_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return self._free_text("problem_description", value, form_input.DESCRIPTION_MAX_CHARS, dispatcher, tracker)

    async def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        if consent.SLOT in self.domain_slots(domain) and not await consent.given(tracker):
            return {"phone_number": None}
        check = phone.check(value if isinstance(value, str) else None)
        if check.ok:
            return {"phone_number": check.number}
        _say_phone_problem(dispatcher, check, policies.current())
        return {"phone_number": None}

    def validate_ticket_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return {"ticket_confirmed": True if value is True else None}


class ActionAskSurgeryTime(TicketAskAction):
    slot = "surgery_time"


class ActionAskProblemDescription(TicketAskAction):
    slot = "problem_description"


class ActionAskPhoneNumber(TicketAskAction):
    slot = "phone_number"


class ActionAskTicketConfirmed(TicketAskAction):
    """The summary to confirm, with the phone masked."""

    slot = "ticket_confirmed"

    def values(self, tracker: Tracker, snapshot: policies.PolicySnapshot) -> Dict[str, Any]:
        return {
            "kind": answers.kind_label(ticket_kind(tracker), snapshot),
            "procedure": tracker.get_slot("procedure"),
            "surgery_time": tracker.get_slot("surgery_time"),
            "problem_description": tracker.get_slot("problem_description"),
            "phone": phone.mask(tracker.get_slot("phone_number")),
        }

    def buttons(self, snapshot: policies.PolicySnapshot) -> List[Dict[str, str]]:
        return [
            {"title": answers.prompt("buttons.confirm", snapshot), "payload": "/affirm"},
            {"title": answers.prompt("buttons.cancel", snapshot), "payload": "/deny"},
        ]


class ActionOpenTicket(Action):
    """Opens the confirmed ticket; the reply (`utter_ticket_opened`) gets its number and next step."""

    def name(self) -> Text:
        return "action_open_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("ticket_confirmed") is not True:
            return [SlotSet("ticket_outcome", "failed")]
        snapshot = policies.current()
        events = session_events(tracker)
        kind = ticket_kind(tracker)
        procedure = tracker.get_slot("procedure")
        description = tracker.get_slot("problem_description")
        severity = tickets.severity_for(
            user_intents(events), user_texts(events) + [description or ""], answers.major_signs(snapshot)
        )
        new = tickets.NewTicket(
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel(),
            kind=kind,
            category=procedures.category_of(procedure, snapshot),
            severity=severity,
            procedure=procedure,
            surgery_time=tracker.get_slot("surgery_time"),
            description=description,
            phone=tracker.get_slot("phone_number") or "",
            request_key=confirmation_key(tracker),
        )
        try:
            ticket = await asyncio.to_thread(tickets.open_ticket, new)
        except Exception:  # noqa: BLE001 - the patient is told and keeps what they entered
            log.exception("could not open a %s ticket for conversation %s", kind, tracker.sender_id)
            return [SlotSet("ticket_outcome", "failed"), SlotSet("ticket_confirmed", None)]
        return [
            SlotSet("ticket_outcome", "opened"),
            SlotSet("ticket_number", ticket.number),
            SlotSet("ticket_kind_label", answers.kind_label(kind, snapshot)),
            SlotSet("ticket_next_step", answers.opened_next_step(kind, severity, snapshot)),
        ] + [SlotSet(slot, None) for slot in TICKET_FORM_SLOTS if slot != "procedure"]


class ActionCancelForm(Action):
    """Stops whichever patient form is active and forgets what it collected."""

    def name(self) -> Text:
        return "action_cancel_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        slots = TICKET_FORM_SLOTS + LOOKUP_SLOTS + (REQUESTED_SLOT,)
        return [ActiveLoop(None)] + [SlotSet(slot, None) for slot in slots]


def _lookup_keys(tracker: Tracker) -> Tuple[str, ...]:
    """What a lookup miss in this conversation counts against (bot/lookup_limit.py)."""
    return lookup_limit.keys(
        phone=phone.check(tracker.get_slot("status_phone")).number or None,
        ticket=tracker.get_slot("ticket_number"),
        client=client_identity.of_latest_message(tracker.events),
        conversation=tracker.sender_id,
    )


def _human_button(snapshot: policies.PolicySnapshot) -> Dict[str, str]:
    return {"title": answers.prompt("buttons.human", snapshot), "payload": "/request_human"}


def needs_code(tracker: Tracker) -> bool:
    """Whether the lookup must be proven with a one-time code: the ticket number and the phone on it,
    given in a conversation that did not open the ticket, while lookups are not stopped."""
    number = tracker.get_slot("ticket_number")
    owner = tickets.opener_of(number, tracker.get_slot("status_phone")) if number else None
    return owner is not None and owner != tracker.sender_id and not lookup_limit.blocked(_lookup_keys(tracker))


def _code_message(
    to_phone: str, code: str, limits: ticket_codes.CodeLimits, snapshot: policies.PolicySnapshot
) -> sms.SmsMessage:
    params = {"code": code, "minutes": str(limits.minutes)}
    return sms.SmsMessage(to_phone, answers.prompt("sms_ticket_code", snapshot, **params), params)


class ValidateTicketStatusForm(PatientFormValidation):
    def name(self) -> Text:
        return "validate_ticket_status_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Text]:
        """The code is asked for only when the ticket is not this conversation's own (`needs_code`)."""
        if await asyncio.to_thread(needs_code, tracker):
            return domain_slots
        return [slot for slot in domain_slots if slot != CODE_SLOT]

    def validate_status_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        check = phone.check(value if isinstance(value, str) else None)
        if check.ok:
            return {"status_phone": check.number}
        gave_ticket_number = next(tracker.get_latest_entity_values("ticket_number"), None) is not None
        if not gave_ticket_number:
            _say_phone_problem(dispatcher, check, policies.current())
        return {"status_phone": None}

    async def validate_status_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        """The right code proves the ticket is the patient's; a wrong one counts as a lookup miss."""
        snapshot = policies.current()
        code = ticket_codes.code_in(value if isinstance(value, str) else None)
        if code is None:
            say(dispatcher, "invalid.status_code_format", snapshot)
            return {CODE_SLOT: None}
        number = tracker.get_slot("ticket_number") or ""
        check = await asyncio.to_thread(ticket_codes.verify, number, tracker.sender_id, code)
        if check is ticket_codes.Check.VERIFIED:
            return {CODE_SLOT: code}
        if check is ticket_codes.Check.WRONG:
            await asyncio.to_thread(lookup_limit.record_miss, _lookup_keys(tracker))
            say(dispatcher, "invalid.status_code_wrong", snapshot)
        else:
            minutes = ticket_codes.CodeLimits.from_environment().minutes
            say(dispatcher, "invalid.status_code_expired", snapshot, minutes=minutes)
        return {CODE_SLOT: None}


class ActionAskStatusPhone(AskAction):
    slot = "status_phone"


class ActionAskStatusCode(Action):
    """Sends the code to the phone on the ticket and asks for it; while a code is live, only asks again.

    When the SMS cannot be sent, or the ticket's codes for the hour are used up, the patient is told
    and offered a person, and the lookup ends without showing the ticket.
    """

    def name(self) -> Text:
        return "action_ask_status_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        snapshot = policies.current()
        limits = ticket_codes.CodeLimits.from_environment()
        number = tracker.get_slot("ticket_number") or ""
        conversation = tracker.sender_id
        # needs_code() found the ticket with this phone on it.
        on_ticket = phone.check(tracker.get_slot("status_phone")).number or ""
        shown = {"phone": phone.mask(on_ticket), "minutes": limits.minutes}
        if await asyncio.to_thread(ticket_codes.pending, number, conversation, None, limits):
            say(dispatcher, "ask.status_code", snapshot, **shown)
            return []
        try:
            code = await asyncio.to_thread(ticket_codes.issue, number, conversation, None, limits)
        except ticket_codes.TooManyCodes:
            log.warning("no more codes this hour for ticket %s", number)
            say(dispatcher, "status_code_limit", snapshot, buttons=[_human_button(snapshot)], count=limits.per_hour)
            return [SlotSet(REQUESTED_SLOT, None)]
        try:
            await asyncio.to_thread(sms.current().send, _code_message(on_ticket, code, limits, snapshot))
        except sms.SmsError as error:
            log.error("ticket code for %s not sent: %s", number, error)
            await asyncio.to_thread(ticket_codes.void, number, conversation)
            say(dispatcher, "status_code_not_sent", snapshot, buttons=[_human_button(snapshot)])
            return [SlotSet(REQUESTED_SLOT, None)]
        say(dispatcher, "ask.status_code_sent", snapshot, **shown)
        return []


class ActionTicketStatus(Action):
    """Shows a ticket only to the patient who proves it is theirs.

    The conversation that opened a ticket sees it with the phone on it (and the ticket number, when
    given). Any other conversation needs the ticket number, the phone on it, and the one-time code
    sent to that phone (the form asks for it, `ValidateTicketStatusForm`); a phone alone shows it
    nothing. A miss counts per phone, ticket, client and conversation in the database
    (bot/lookup_limit.py), so a new conversation or a restart does not reset the limit.
    """

    def name(self) -> Text:
        return "action_ticket_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        forget = [SlotSet(slot, None) for slot in LOOKUP_SLOTS]
        number: Optional[str] = tracker.get_slot("ticket_number")
        given_phone = tracker.get_slot("status_phone")
        found = await asyncio.to_thread(tickets.opened_by, tracker.sender_id, given_phone, number)
        if found or not number:
            return self._answer(found) + forget
        keys = _lookup_keys(tracker)
        if await asyncio.to_thread(lookup_limit.blocked, keys):
            snapshot = policies.current()
            say(dispatcher, "status_lookup_blocked", snapshot, buttons=[_human_button(snapshot)])
            log.warning("ticket lookups stopped for conversation %s: too many misses", tracker.sender_id)
            return forget + [FollowupAction("action_listen")]
        ticket = await asyncio.to_thread(tickets.find_for_patient, number, given_phone)
        if ticket is None:
            await asyncio.to_thread(lookup_limit.record_miss, keys)
            return self._answer([]) + forget
        if not await asyncio.to_thread(ticket_codes.take_verified, number, tracker.sender_id):
            # No code was verified: the patient was already told why (not sent, too many codes).
            return forget + [FollowupAction("action_listen")]
        return self._answer([ticket]) + forget

    @staticmethod
    def _answer(found: List[tickets.TicketView]) -> List[EventType]:
        if not found:
            return [SlotSet("ticket_lookup", "not_found"), SlotSet("ticket_status_text", None)]
        snapshot = policies.current()
        text = "\n\n".join(answers.ticket_status_text(ticket, snapshot) for ticket in found)
        return [SlotSet("ticket_lookup", "found"), SlotSet("ticket_status_text", text)]
