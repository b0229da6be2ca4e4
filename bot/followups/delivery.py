"""Handing a follow-up to the patient's channel through Rasa's HTTP API.

Rasa appends the message to the conversation (`POST /conversations/{id}/tracker/events`) and, with
`output_channel`, sends it on that input channel's output (Telegram's Bot API, the widget's socket).
A channel is one `ChannelAdapter` in `ADAPTERS`: the name of its Rasa output channel, and whether a
message can reach the patient now (WeChat, for one, only lets a business write within 48 hours of
the patient's last message). A channel with no adapter, or one that cannot push, still gets the
message stored in the conversation: the console shows it, and the patient sees it on return where
the channel replays the conversation.

Every message carries `metadata.followup_id`; before sending, the conversation is searched for it, so
a follow-up whose delivery outlived its sender (killed after Rasa accepted it, before it was marked
sent) is recognised and never sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Optional, Protocol

from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient, RasaUnavailable
from bot.followups.records import Message

METADATA_KEY = "followup_id"


class DeliveryFailed(Exception):
    """The message did not reach Rasa; the follow-up stays scheduled and is tried again later."""


@dataclass(frozen=True)
class ChannelAdapter:
    """How follow-ups reach the patients of one channel."""

    output_channel: Optional[str]
    reachable: Callable[[str, datetime], bool] = lambda _conversation_id, _now: True

    def output_for(self, conversation_id: str, now: datetime) -> Optional[str]:
        """The Rasa output channel to send on now; None keeps the message in the conversation only."""
        return self.output_channel if self.reachable(conversation_id, now) else None


# Rasa input channel name → adapter. `rest` answers only in the HTTP response to a patient's own message.
ADAPTERS: Dict[str, ChannelAdapter] = {
    "telegram": ChannelAdapter("telegram"),
    "socketio": ChannelAdapter("socketio"),
    # Always sent: outside the 48-hour window the WeChat output channel keeps the message for the
    # patient's next one and tells them by template message (bot/channels/wechat.py).
    "wechat": ChannelAdapter("wechat"),
    "rest": ChannelAdapter(None),
}


def register(channel: str, adapter: ChannelAdapter) -> None:
    """Make follow-ups reach a channel (a new channel module calls this once)."""
    ADAPTERS[channel] = adapter


class Deliverer(Protocol):
    def __call__(self, followup_id: int, conversation_id: str, channel: Optional[str], message: Message, now: datetime) -> None:
        ...


class RasaDeliverer:
    """Delivers through Rasa's HTTP API (`RASA_PORT`, `RASA_TOKEN`)."""

    def __init__(self, client: Optional[RasaClient] = None) -> None:
        self._client = client or RasaClient(ConsoleConfig.from_environment())

    def close(self) -> None:
        self._client.close()

    def __call__(self, followup_id: int, conversation_id: str, channel: Optional[str], message: Message, now: datetime) -> None:
        adapter = ADAPTERS.get(channel or "")
        output = adapter.output_for(conversation_id, now) if adapter else None
        metadata: Dict[str, Any] = {METADATA_KEY: followup_id}
        body: Dict[str, Any] = {"text": message.text, "buttons": list(message.buttons)}
        try:
            if self._already_delivered(conversation_id, followup_id):
                return
            self._client.send_bot_message(conversation_id, output, body, metadata)
        except RasaUnavailable as error:
            raise DeliveryFailed(str(error)) from error

    def _already_delivered(self, conversation_id: str, followup_id: int) -> bool:
        return any(
            event.get("event") == "bot" and (event.get("metadata") or {}).get(METADATA_KEY) == followup_id
            for event in self._client.events(conversation_id)
        )
