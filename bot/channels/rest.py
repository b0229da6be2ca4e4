"""Rasa's REST channel (`rest`, `POST /webhooks/rest/webhook`) with every request checked first.

Registered in credentials.yml as `bot.channels.rest.RestInput`; the name, the path and the answer
(a JSON list of the bot's messages) are Rasa's. What differs:

- A body that is not a JSON object, or lacks `sender` or `message`, is answered 400 with a
  JSON `{"error", "message"}` (Rasa answered 500 with an HTML page, or 200 with nothing, or put
  every sender-less request into one shared conversation called `default`).
- The message passes `bot.message_guard`: an empty or over-long message is answered, as a bot
  message, with a sentence saying what to do; it never reaches Rasa (20 000 characters kept Rasa
  busy for 25 s). Control and invisible characters are removed from what does.
- A sender that starts with another channel's prefix (`web-`, `tg-`, `wx-`: bot/conversation_ids.py) is
  answered 400: it names a widget, Telegram or WeChat patient's conversation.
- `input_channel` always is `rest`: a client cannot make Rasa believe a message came from another
  channel, which would route staff replies there.
- `metadata.client` is the caller's address (bot/client_identity.py), whatever the body says: limits
  that outlast a conversation (ticket lookups) count per caller.
- A conversation or a caller sending faster than `REST_MESSAGES_PER_MINUTE_PER_*` (bot/message_rate.py)
  is answered 429 with the sentence asking to slow down; a conversation at its length cap
  (bot/conversation_cap.py) gets its sentence. Neither message reaches Rasa (bot/public_limits.py).
- The privacy notice (bot/privacy.py) ends the bot's answer to a conversation's first message, once.
  An integration that shows the notice itself and asked the patient sends `metadata.privacy_consent`
  with the notice version: the consent is recorded and the bot's notice is not added.
"""

from __future__ import annotations

import asyncio
import json
import logging
from asyncio import CancelledError
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot import client_identity, conversation_ids, message_guard, privacy, public_limits, service_texts
from bot.message_rate import MessageRate

logger = logging.getLogger(__name__)

CHANNEL_NAME = "rest"


@dataclass(frozen=True)
class RestRequest:
    sender: str
    message: object
    metadata: Optional[Dict[str, Any]]


@dataclass(frozen=True)
class RequestProblem:
    """Why a request is not a patient message; `message` is for the integration's developer."""

    error: str
    message: str


def _problem(error: str, **values: object) -> RequestProblem:
    return RequestProblem(error, service_texts.text(f"request_problems.{error}", **values))


def parse_request(body: bytes) -> Union[RestRequest, RequestProblem]:
    """The sender, message and metadata of a webhook body, or why it has none."""
    try:
        data = json.loads(body)
    except ValueError:
        return _problem("not_json")
    if not isinstance(data, dict):
        return _problem("not_object")
    if "message" not in data:
        return _problem("missing_field", field="message")
    sender_problem = message_guard.sender_problem(data.get("sender"))
    if sender_problem == "missing":
        return _problem("missing_field", field="sender")
    if sender_problem == "too_long":
        return _problem("sender_too_long", max_chars=message_guard.MAX_SENDER_CHARS)
    if sender_problem:
        return _problem("bad_field", field="sender")
    other_channel = conversation_ids.reserved_by(str(data["sender"]))
    if other_channel is not None:
        return _problem("reserved_sender", prefix=conversation_ids.PREFIXES[other_channel], channel=other_channel)
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return _problem("bad_field", field="metadata")
    return RestRequest(sender=str(data["sender"]), message=data["message"], metadata=metadata)


def _add_notice(messages: List[Dict[str, Any]], sender: str) -> None:
    """The privacy notice after the answers: at the end of the last one's text (a client that reads the last
    message still finds what it answered), or as a message of its own when there is no text to end."""
    notice = privacy.short_notice(CHANNEL_NAME)
    if messages and isinstance(messages[-1].get("text"), str):
        messages[-1]["text"] = f"{messages[-1]['text']}\n\n{notice}"
    else:
        messages.append({"recipient_id": sender, "text": notice})


class RestInput(RasaRestInput):
    """Rasa's REST input channel behind `parse_request` and `bot.message_guard`."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("custom_webhook_RestInput", __name__)
        rates = MessageRate.for_rest()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            parsed = parse_request(request.body or b"")
            if isinstance(parsed, RequestProblem):
                return response.json({"error": parsed.error, "message": parsed.message}, status=400)
            verdict = message_guard.check(parsed.message)
            if not verdict.ok:
                logger.info("REST message from %s refused: %s", parsed.sender, verdict.problem)
                return response.json([{"recipient_id": parsed.sender, "text": verdict.reply}])
            text = verdict.text or ""
            client = f"rest:{request.remote_addr or request.ip}"
            refused = await public_limits.refusal(rates, parsed.sender, client)
            if refused is not None:
                status = 429 if refused.problem == public_limits.TOO_FAST else 200
                return response.json([{"recipient_id": parsed.sender, "text": refused.text}], status=status)
            metadata = client_identity.stamp(parsed.metadata, client)
            if privacy.agreed_version(parsed.metadata):
                await asyncio.to_thread(privacy.agree, parsed.sender, CHANNEL_NAME, "integration")
            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, parsed.sender, CHANNEL_NAME, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, parsed.sender, input_channel=CHANNEL_NAME, metadata=metadata)
                )
            except CancelledError:
                logger.error("REST message from %s timed out", parsed.sender)
            except Exception:  # noqa: BLE001 - the client gets what was said so far, never a traceback
                logger.exception("REST message from %s failed", parsed.sender)
            if await asyncio.to_thread(privacy.first_notice, parsed.sender, CHANNEL_NAME):
                _add_notice(collector.messages, parsed.sender)
            return response.json(collector.messages)

        return webhook
