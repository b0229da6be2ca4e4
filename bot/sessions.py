"""A new conversation session: the slots carry over, and a handed-over conversation stays paused.

Rasa starts a new session (`action_session_start`) when the patient writes after
`session_expiration_time` (domain.yml) of silence. Its default action resets the tracker, which also
lifts a `ConversationPaused`: a patient still waiting for a person overnight would get bot answers
again, and staff would find the bot talking in a conversation they hold. The events here do what
Rasa's default does (the slot events of the ending session carry over when the domain's
`carry_over_slots_to_new_session` says so) and pause the new session again while the conversation
has an open (waiting or active) handoff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional

from sqlalchemy import func, select

from bot.store.db import session_scope
from bot.store.models import Handoff

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event as RasaEvent
    from rasa.shared.core.trackers import DialogueStateTracker

Event = Dict[str, Any]


def has_open_handoff(conversation_id: str, database_url: Optional[str] = None) -> bool:
    with session_scope(database_url) as session:
        open_count = session.scalar(
            select(func.count(Handoff.id)).where(
                Handoff.conversation_id == conversation_id, Handoff.status != "closed"
            )
        )
    return bool(open_count)


def carried_over_slots(applied_events: Iterable[Event]) -> List[Event]:
    """Every slot event of the ending session, in order, as Rasa's default session start copies them."""
    return [
        {"event": "slot", "name": event["name"], "value": event.get("value"), "metadata": event.get("metadata") or {}}
        for event in applied_events
        if event.get("event") == "slot"
    ]


def session_start_events(
    conversation_id: str,
    applied_events: Iterable[Event],
    carry_over_slots: bool,
    database_url: Optional[str] = None,
) -> List[Event]:
    """The events that open a new session of `conversation_id`."""
    events: List[Event] = [{"event": "session_started"}]
    if carry_over_slots:
        events.extend(carried_over_slots(applied_events))
    if has_open_handoff(conversation_id, database_url):
        events.append({"event": "pause"})
    events.append({"event": "action", "name": "action_listen"})
    return events


def fallback_events(tracker: "DialogueStateTracker", domain: "Domain") -> List["RasaEvent"]:
    """The new session Rasa itself can open when the action server cannot run `action_session_start`.

    For the Rasa process (bot/rasa_runtime.py's guard of remote actions): Rasa's default session
    start (the slot events carry over when the domain says so) and, without asking the database,
    the pause of the ending session kept. Rasa's own handling of a failed custom
    `action_session_start` logs no `session_started` and no `action_listen`, which leaves the
    dialogue in a state the policies answer with a loop of rephrase requests.
    """
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet

    events: List[RasaEvent] = [SessionStarted()]
    if domain.session_config.carry_over_slots:
        events.extend(
            SlotSet(e.key, e.value, metadata=e.metadata) for e in tracker.applied_events() if isinstance(e, SlotSet)
        )
    if tracker.is_paused():
        events.append(ConversationPaused())
    events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return events
