"""`python -m bot.rasa_runtime [options of rasa run]`: Rasa's server, with what the project adds.

The launcher starts Rasa through this module instead of `rasa run`, for these reasons:

1. **The token stays out of `ps`.** Rasa only takes its API token as `--auth-token` on the
   command line, where every user of the machine can read it. This module reads `RASA_TOKEN`
   from the environment (or `var/rasa_token`) and builds Rasa's arguments in-process:
   `/proc/<pid>/cmdline` shows only the options it was started with.
2. **Phone numbers and secrets are masked in Rasa's logs** (`bot.logging_filter`).
3. **A custom action that fails or is slow never leaves the patient in silence.** Rasa calls
   the action server with a fixed 5-minute timeout, and when the call fails the processor logs
   the exception and sends nothing (`MessageProcessor._run_action`). `guard_remote_actions()`
   wraps `RemoteAction.run`, the one method through which Rasa calls the action server (for
   custom actions, form validation and `action_ask_*`): the call gets `ACTION_TIMEOUT_SECONDS`
   (default 10), and a failure becomes an apology with the offer of a person and the hospital's
   numbers (data/policies/service.yml), followed by `action_listen`, so the turn ends there.
   Later calls in the same turn are skipped instead of waiting again. A failed
   `action_session_start` is not apologised for: the guard opens the session as Rasa's default
   would, keeping a pause (`bot.sessions.fallback_events`); Rasa itself would log neither the
   session start nor `action_listen`, and the policies then loop. Patching the method, and
   not substituting a subclass, is needed because Rasa creates `RemoteAction` in two modules
   (`rasa.core.actions.action` and, for form validation, `rasa.core.actions.forms`). Responses
   of `domain.yml` (like `utter_emergency`) do not involve the action server and still go out.
4. **Action server responses are checked against a schema compiled once** (`bot.action_responses`):
   Rasa re-checked the schema itself on every call, a quarter of its CPU time per turn.
5. **An emergency is answered in every state** (CONTRACT.md §5). While a person holds a conversation, Rasa's
   processor predicts nothing for a paused tracker (`MessageProcessor._should_handle_message`), so a patient
   waiting for staff who then reports bleeding got silence. `answer_emergencies_while_paused()` runs the
   emergency rule's steps for a paused tracker whose latest message is `report_emergency`: the emergency text,
   then `action_handoff`, which raises the open handoff to urgent in the same turn (the console is told at
   once) and pauses again. Every other message of a paused conversation still gets no automatic answer.
6. **Only Rasa may call the action server** (`send_action_server_token()`): the action endpoint sends
   `Authorization: Bearer <ACTION_SERVER_TOKEN>`, which bot/action_server.py requires. The token is also the
   secret of the bearer JWTs Rasa's HTTP API accepts (`rasa_argv`), so the console never puts it in a URL.
7. **A button's title typed as text is the button** (`parse_typed_choices()`, bot/typed_choices.py): the
   processor parses the offered button's payload; the stored message keeps what the patient typed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections import OrderedDict
from typing import Any, Callable, Coroutine, Dict, List, Optional, Sequence, Tuple

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, action_for_name_or_text
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.core.utils import AvailableEndpoints
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import BotUttered, Event, FollowupAction

from bot import action_responses, logging_filter, service_texts, sessions, settings, typed_choices

logger = logging.getLogger(__name__)

DEFAULT_ACTION_TIMEOUT_SECONDS = 10.0
HANDOFF_PAYLOAD = "/request_human"
EMERGENCY_INTENT = "report_emergency"
# The steps of data/rules/emergency.yml, run for a paused conversation; recorded as this policy's prediction.
PAUSED_EMERGENCY_ACTIONS = ("utter_emergency", "action_handoff")
PAUSED_EMERGENCY_POLICY = "paused_emergency"
# Marks the apology in the tracker, so staff and tests can tell it from an ordinary answer.
UNAVAILABLE_MARKER = "action_server_unavailable"
_REMEMBERED_TURNS = 1000


def action_timeout_seconds() -> float:
    """`ACTION_TIMEOUT_SECONDS` (default 10): how long Rasa waits for one custom action."""
    raw = os.environ.get("ACTION_TIMEOUT_SECONDS", "").strip()
    seconds = float(raw) if raw else DEFAULT_ACTION_TIMEOUT_SECONDS
    if seconds <= 0:
        raise ValueError("ACTION_TIMEOUT_SECONDS must be positive")
    return seconds


def apology_events() -> List[Event]:
    """What the patient gets instead of silence: the apology, a button for a person, then listening."""
    button = {"title": service_texts.text("service_unavailable.button"), "payload": HANDOFF_PAYLOAD}
    apology = BotUttered(
        service_texts.text("service_unavailable.text"),
        data={"buttons": [button]},
        metadata={UNAVAILABLE_MARKER: True},
    )
    return [apology, FollowupAction(ACTION_LISTEN_NAME)]


def _turn(tracker: Any) -> Tuple[str, str]:
    """The conversation and the user message an action runs for."""
    latest = tracker.latest_message
    message = getattr(latest, "message_id", None) or str(getattr(latest, "timestamp", ""))
    return tracker.sender_id, message


RemoteRun = Callable[..., Coroutine[Any, Any, List[Event]]]


def guarded(run: RemoteRun, timeout: float) -> RemoteRun:
    """`RemoteAction.run` with a time limit, and an apology instead of an exception."""
    failed_turns: "OrderedDict[Tuple[str, str], None]" = OrderedDict()

    async def guarded_run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
        turn = _turn(tracker)
        if turn in failed_turns and self.name() != ACTION_SESSION_START_NAME:
            logger.info("skipping custom action %s: the action server already failed this turn", self.name())
            return []
        try:
            return await asyncio.wait_for(run(self, output_channel, nlg, tracker, domain), timeout)
        except ActionExecutionRejection:
            raise
        except asyncio.TimeoutError:
            logger.error("custom action %s got no answer within %.1f s; apologising", self.name(), timeout)
        except Exception as error:  # noqa: BLE001 - any failure of the action server gets the apology
            logger.error("custom action %s failed (%s: %s); apologising", self.name(), type(error).__name__, error)
        if self.name() == ACTION_SESSION_START_NAME:
            return sessions.fallback_events(tracker, domain)
        failed_turns[turn] = None
        while len(failed_turns) > _REMEMBERED_TURNS:
            failed_turns.popitem(last=False)
        return apology_events()

    setattr(guarded_run, "__wrapped__", run)
    return guarded_run


def guard_remote_actions(timeout: Optional[float] = None) -> None:
    """Install the guard on `RemoteAction.run` (once per process)."""
    if hasattr(RemoteAction.run, "__wrapped__"):
        return
    RemoteAction.run = guarded(RemoteAction.run, timeout or action_timeout_seconds())  # type: ignore[assignment]


def answer_emergencies_while_paused() -> None:
    """Answer an emergency in a paused conversation with the steps of the emergency rule.

    The rule (data/rules/emergency.yml) cannot be predicted there: a paused tracker never logged the
    `action_listen` the rule starts from, so the policies would answer with the rephrase menu.
    """
    original = MessageProcessor._run_prediction_loop
    if hasattr(original, "__wrapped__"):
        return

    async def run_prediction_loop(self: MessageProcessor, output_channel: Any, tracker: Any) -> None:
        latest = tracker.latest_message
        if not (tracker.is_paused() and latest is not None and latest.intent.get(INTENT_NAME_KEY) == EMERGENCY_INTENT):
            await original(self, output_channel, tracker)
            return
        for name in PAUSED_EMERGENCY_ACTIONS:
            action = action_for_name_or_text(name, self.domain, self.action_endpoint)
            prediction = PolicyPrediction.for_action_name(self.domain, name, PAUSED_EMERGENCY_POLICY)
            await self._run_action(action, tracker, output_channel, self.nlg, prediction)

    setattr(run_prediction_loop, "__wrapped__", original)
    MessageProcessor._run_prediction_loop = run_prediction_loop  # type: ignore[assignment]


def parse_typed_choices() -> None:
    """Parse the payload of the offered button whose title the patient typed (bot/typed_choices.py)."""
    original = MessageProcessor.parse_message
    if hasattr(original, "__wrapped__"):
        return

    async def parse_message(
        self: MessageProcessor, message: UserMessage, tracker: Any = None, only_output_properties: bool = True
    ) -> Dict[str, Any]:
        payload = typed_choices.payload_for(message.text, tracker.events) if tracker is not None else None
        if payload is not None:
            message = UserMessage(
                payload, message.output_channel, message.sender_id, message.parse_data, message.input_channel,
                message.message_id, message.metadata,
            )
        return await original(self, message, tracker, only_output_properties)

    setattr(parse_message, "__wrapped__", original)
    MessageProcessor.parse_message = parse_message  # type: ignore[assignment]


def send_action_server_token(token: str) -> None:
    """Every call Rasa makes to the action server carries `Authorization: Bearer <token>`.

    The action server refuses calls without it (bot/action_server.py). Set on the action endpoint Rasa reads
    from endpoints.yml, so every layout (this repository's, deploy/, the Helm chart's generated one) gets it.
    """
    original = AvailableEndpoints.read_endpoints.__func__  # type: ignore[attr-defined]

    def read_endpoints(cls: type, endpoint_file: str) -> AvailableEndpoints:
        endpoints = original(cls, endpoint_file)
        if endpoints.action is not None:
            endpoints.action.headers = {**endpoints.action.headers, "Authorization": f"Bearer {token}"}
        return endpoints

    setattr(read_endpoints, "__wrapped__", original)
    AvailableEndpoints.read_endpoints = classmethod(read_endpoints)  # type: ignore[assignment]


def rasa_argv(options: Sequence[str], token: str) -> List[str]:
    """The arguments of `rasa run` with the HTTP API on and its token.

    The token is also the HS256 secret of bearer JWTs (`--jwt-secret`), so callers send it in the
    `Authorization` header instead of `?token=` in the URL (bot/console/rasa_api.py)."""
    return ["rasa", "run", "--enable-api", "--auth-token", token, "--jwt-secret", token, "--jwt-method", "HS256", *options]


def main(options: Optional[Sequence[str]] = None) -> None:
    logging_filter.install()
    guard_remote_actions()
    answer_emergencies_while_paused()
    parse_typed_choices()
    action_responses.install()
    send_action_server_token(settings.action_server_token())
    sys.argv = rasa_argv(sys.argv[1:] if options is None else options, settings.rasa_token())
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
