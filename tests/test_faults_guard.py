"""bot/rasa_runtime.py's guard of Rasa's calls to the action server, one call at a time."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    FollowupAction,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException

from bot import rasa_runtime

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
slots:
  procedure:
    type: text
    mappings: [{type: custom}]
session_config:
  carry_over_slots_to_new_session: true
"""
)


def tracker(message_id: str = "m-1") -> DialogueStateTracker:
    events = [
        ActionExecuted(ACTION_LISTEN_NAME), SlotSet("procedure", "双眼皮"), ConversationPaused(),
        UserUttered("我想退款", message_id=message_id),
    ]
    return DialogueStateTracker.from_events("p-1", events, slots=DOMAIN.slots)


def run(run_remote: Any, name: str = "action_policy_answer", message_id: str = "m-1", timeout: float = 1) -> List[Any]:
    guarded = rasa_runtime.guarded(run_remote, timeout)
    return asyncio.run(guarded(RemoteAction(name, None), None, None, tracker(message_id), DOMAIN))


def refused(calls: List[str]) -> Any:
    async def remote(self: RemoteAction, *_: Any) -> List[Any]:
        calls.append(self.name())
        raise RasaException("Couldn't connect to the server")

    return remote


def test_a_refused_action_becomes_the_apology_and_the_turn_ends() -> None:
    events = run(refused([]))
    assert isinstance(events[0], BotUttered) and "系统刚才出了点问题" in events[0].text
    assert events[0].data["buttons"] == [{"title": "转人工客服", "payload": "/request_human"}]
    assert events[1] == FollowupAction(ACTION_LISTEN_NAME)


def test_a_hanging_action_becomes_the_apology_after_the_timeout() -> None:
    async def hangs(*_: Any) -> List[Any]:
        await asyncio.sleep(30)
        return []

    assert isinstance(run(hangs, timeout=0.2)[0], BotUttered)


def test_the_rest_of_a_failed_turn_is_skipped_and_the_next_turn_tries_again() -> None:
    calls: List[str] = []
    remote = refused(calls)
    guarded = rasa_runtime.guarded(remote, 1)

    def call(name: str, message_id: str) -> List[Any]:
        return asyncio.run(guarded(RemoteAction(name, None), None, None, tracker(message_id), DOMAIN))

    assert isinstance(call("validate_ticket_form", "m-1")[0], BotUttered)
    assert call("action_ask_phone_number", "m-1") == []
    assert isinstance(call("validate_ticket_form", "m-2")[0], BotUttered)
    assert calls == ["validate_ticket_form", "validate_ticket_form"]


def test_a_rejected_form_validation_still_reaches_the_form() -> None:
    async def rejects(*_: Any) -> List[Any]:
        raise ActionExecutionRejection("validate_ticket_form")

    with pytest.raises(ActionExecutionRejection):
        run(rejects, name="validate_ticket_form")


def test_a_failed_session_start_opens_the_session_as_rasa_would_and_keeps_the_pause() -> None:
    events = run(refused([]), name=ACTION_SESSION_START_NAME)
    assert events[0] == SessionStarted() and events[-1] == ActionExecuted(ACTION_LISTEN_NAME)
    assert SlotSet("procedure", "双眼皮") in events and ConversationPaused() in events
    assert not any(isinstance(event, BotUttered) for event in events)
