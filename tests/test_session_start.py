"""action_session_start with real trackers: Rasa's tracker of an expiring session goes to the action as
the action server receives it, and the events the action returns are applied back to Rasa's tracker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.core.actions.action import ActionSessionStart as RasaDefaultSessionStart
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from bot import handoffs, hospital, sessions
from bot.store import migrate
from bot.store.db import session_scope
from bot.store.models import Staff

ROOT = Path(__file__).resolve().parent.parent
SLOTS = {"procedure": "双眼皮", "phone_number": "13812345678"}


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture()
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def handed_over_session(sender: str, domain: Domain) -> DialogueStateTracker:
    """A session in which the patient gave a procedure and a phone, then asked for a person (paused)."""
    events: List[Event] = [ActionExecuted("action_listen")]
    for name, value in SLOTS.items():
        events.append(UserUttered(value, {"name": "inform", "confidence": 0.99}))
        events.append(SlotSet(name, value))
        events.append(ActionExecuted("action_listen"))
    events += [
        UserUttered("转人工", {"name": "request_human", "confidence": 0.99}),
        ActionExecuted("action_handoff"),
        ConversationPaused(),
    ]
    return DialogueStateTracker.from_events(sender, events, domain.slots)


def start_new_session(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    """Run the project's action_session_start as Rasa runs a custom action, and apply its events."""
    state = tracker.current_state(EventVerbosity.ALL)
    returned = ActionSessionStart().run(CollectingDispatcher(), Tracker.from_dict(state), domain.as_dict())
    tracker.update(ActionExecuted("action_session_start"))
    for event in returned:
        tracker.update(Event.from_parameters(event), domain)
    return tracker


def start_default_session(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    """Rasa's own action_session_start, for comparison."""
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    returned = asyncio.run(RasaDefaultSessionStart().run(CollectingOutputChannel(), nlg, tracker, domain))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update_with_events(returned, domain)
    return tracker


def new_session(tracker: DialogueStateTracker) -> List[tuple]:
    """The events logged from the last action_session_start on."""
    events = [e.as_dict() for e in tracker.events]
    start = max(i for i, e in enumerate(events) if e.get("name") == "action_session_start")
    return [(e["event"], e.get("name"), e.get("value")) for e in events[start:]]


def set_slots(tracker: DialogueStateTracker) -> Dict[str, Any]:
    return {name: value for name, value in tracker.current_slot_values().items() if value is not None}


def open_handoff(database: str, sender: str) -> int:
    notice = handoffs.request_handoff(hospital.load(), sender, "socketio", "request_human", database_url=database)
    return notice.handoff_id


def test_a_patient_waiting_for_a_person_stays_paused_in_the_new_session(database: str, domain: Domain) -> None:
    open_handoff(database, "waiting-patient")

    tracker = start_new_session(handed_over_session("waiting-patient", domain), domain)

    assert tracker.is_paused(), "the new session would let the bot answer a patient waiting for a person"
    assert set_slots(tracker) == SLOTS
    assert tracker.latest_action_name == "action_listen"


def test_a_conversation_a_staff_member_holds_stays_paused_in_the_new_session(database: str, domain: Domain) -> None:
    handoff_id = open_handoff(database, "held-patient")
    with session_scope(database) as session:
        nurse = Staff(username="nurse", display_name="护士", password_hash="x", role="agent")
        session.add(nurse)
        session.flush()
        handoffs.claim(session, handoff_id, nurse)

    assert start_new_session(handed_over_session("held-patient", domain), domain).is_paused()


def test_after_release_the_new_session_is_the_bots_like_rasas_default(database: str, domain: Domain) -> None:
    handoff_id = open_handoff(database, "released-patient")
    with session_scope(database) as session:
        admin = Staff(username="admin", display_name="管理员", password_hash="x", role="admin")
        session.add(admin)
        session.flush()
        handoffs.close(session, handoff_id, admin)
    released = handed_over_session("released-patient", domain)
    released.update(ConversationResumed())

    ours = start_new_session(released, domain)
    default = start_default_session(handed_over_session("released-patient", domain), domain)

    assert not ours.is_paused() and not default.is_paused()
    assert set_slots(ours) == set_slots(default) == SLOTS


def test_a_new_patient_gets_an_empty_unpaused_session(database: str, domain: Domain) -> None:
    tracker = start_new_session(DialogueStateTracker("new-patient", domain.slots), domain)

    assert not tracker.is_paused()
    assert set_slots(tracker) == {}


def start_without_action_server(tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
    """What the Rasa process logs when the action server cannot run action_session_start."""
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update_with_events(sessions.fallback_events(tracker, domain), domain)
    return tracker


def test_without_the_action_server_a_paused_conversation_stays_paused_in_the_new_session(domain: Domain) -> None:
    tracker = start_without_action_server(handed_over_session("waiting-patient", domain), domain)

    assert tracker.is_paused()
    assert set_slots(tracker) == SLOTS
    assert tracker.latest_action_name == "action_listen"


def test_without_the_action_server_a_conversation_the_bot_holds_starts_like_rasas_default(domain: Domain) -> None:
    released = handed_over_session("released-patient", domain)
    released.update(ConversationResumed())
    default_released = handed_over_session("released-patient", domain)
    default_released.update(ConversationResumed())

    ours = start_without_action_server(released, domain)
    default = start_default_session(default_released, domain)

    assert not ours.is_paused()
    assert new_session(ours) == new_session(default)
    assert set_slots(ours) == set_slots(default) == SLOTS
