"""Telegram as a Rasa input channel, built on python-telegram-bot.

Registered in credentials.yml as `bot.channels.telegram.TelegramInput`. Its settings come
from the environment (CONTRACT.md §2), so credentials.yml loads whether they are set or not:

- `TELEGRAM_TOKEN` unset: the channel is disabled (its webhook route does not exist).
- `TELEGRAM_TOKEN` set: `TELEGRAM_WEBHOOK_SECRET` is required, or Rasa refuses to start;
  Telegram sends the secret in `X-Telegram-Bot-Api-Secret-Token` and any other request is
  answered 403.
- `TELEGRAM_API_BASE` (default https://api.telegram.org) points the Bot API client elsewhere.

A chat's conversation id is `tg-<chat id>` (bot/conversation_ids.py); the output sends to the chat id.

Telegram posts updates to `/webhooks/telegram/webhook`. Every update that passed the secret
check is answered 200, even one that cannot be handled, so Telegram never retries it forever.

The privacy notice (bot/privacy.py), with its warning that Telegram is a cross-border transfer, follows
the bot's answer to a chat's first message, once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import client_identity, conversation_ids, message_guard, privacy, public_limits, service_texts, settings
from bot.message_rate import MessageRate

logger = logging.getLogger(__name__)

CHANNEL_NAME = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_API_BASE = "https://api.telegram.org"
ALLOWED_UPDATES = ["message", "callback_query"]
GREET_PAYLOAD = "/greet"
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
START_COMMAND = re.compile(r"^/start(@\w+)?(\s.*)?$", re.DOTALL)


@dataclass(frozen=True)
class TelegramConfig:
    """The channel's settings: token, webhook secret and Bot API server."""

    token: str
    webhook_secret: str
    api_base: str = DEFAULT_API_BASE

    @classmethod
    def from_env(cls) -> Optional["TelegramConfig"]:
        """The configuration from TELEGRAM_*, or None when TELEGRAM_TOKEN is unset.

        Raises RasaException when a token is set without a usable webhook secret.
        """
        token = os.environ.get("TELEGRAM_TOKEN", "").strip()
        if not token:
            return None
        secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
        if not SECRET_PATTERN.match(secret) or len(secret) < settings.MIN_SECRET_LENGTH:
            raise RasaException(
                f"TELEGRAM_TOKEN is set, so TELEGRAM_WEBHOOK_SECRET must be set too: {settings.MIN_SECRET_LENGTH}-256 "
                "characters of A-Z, a-z, 0-9, _ and -. Without it anyone could post fake updates to the webhook."
            )
        api_base = os.environ.get("TELEGRAM_API_BASE", "").strip() or DEFAULT_API_BASE
        return cls(token=token, webhook_secret=secret, api_base=api_base.rstrip("/"))

    def bot(self) -> Bot:
        return Bot(self.token, base_url=f"{self.api_base}/bot", base_file_url=f"{self.api_base}/file/bot")


def _chunks(text: str, size: int = MAX_MESSAGE_LENGTH) -> List[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [text]


def _callback_data(button: Dict[str, Any]) -> str:
    """What a button press sends back: its payload, or its title when the payload exceeds Telegram's 64 bytes."""
    payload = str(button.get("payload") or button.get("title", ""))
    if len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        return payload
    return str(button.get("title", "")).encode("utf-8")[:MAX_CALLBACK_DATA_BYTES].decode("utf-8", "ignore")


def _chat(conversation_id: str) -> str:
    """The Telegram chat of a conversation (`tg-<chat id>`, bot/conversation_ids.py)."""
    return conversation_ids.address(CHANNEL_NAME, conversation_id)


class TelegramOutput(OutputChannel):
    """Sends the bot's (and staff's) messages to a Telegram chat."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in _chunks(text.strip()):
            await self.bot.send_message(chat_id=_chat(recipient_id), text=part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton(str(b["title"]), callback_data=_callback_data(b))] for b in buttons]
        )
        await self.bot.send_message(chat_id=_chat(recipient_id), text=text.strip(), reply_markup=keyboard)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.bot.send_photo(chat_id=_chat(recipient_id), photo=image)


@dataclass(frozen=True)
class Incoming:
    """What one update asks of the bot: a user message, and whether to explain unsupported content."""

    chat_id: str
    text: Optional[str]
    unsupported: bool = False

    @property
    def conversation_id(self) -> str:
        return conversation_ids.of(CHANNEL_NAME, self.chat_id)


def _message_text(message: Message) -> Incoming:
    chat_id = str(message.chat.id)
    text = message.text if message.text is not None else message.caption
    if message.text is not None and START_COMMAND.match(message.text.strip()):
        return Incoming(chat_id, GREET_PAYLOAD)
    return Incoming(chat_id, text, unsupported=message.text is None)


def parse_update(body: bytes, bot: Bot) -> Optional[Update]:
    """The update in a webhook body, or None when it is not a well-formed update."""
    try:
        data = json.loads(body)
        return Update.de_json(data, bot) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        logger.warning("Ignoring a malformed Telegram update: %s", error)
        return None


def incoming(update: Update) -> Optional[Incoming]:
    """The user message in an update; None for updates the bot ignores (edits, channel posts, …)."""
    if update.message is not None:
        return _message_text(update.message)
    query = update.callback_query
    if query is not None and query.data:
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        return Incoming(str(chat), query.data)
    return None


class TelegramInput(InputChannel):
    """Receives Telegram updates by webhook and hands them to Rasa."""

    def __init__(self, config: Optional[TelegramConfig]) -> None:
        self.config = config
        self.bot = config.bot() if config else None

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        config = TelegramConfig.from_env()
        if config is None:
            logger.info("Telegram channel disabled: TELEGRAM_TOKEN is not set.")
        return cls(config)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return TelegramOutput(self.bot) if self.bot else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("telegram_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config else "disabled"})

        if self.config is None or self.bot is None:
            return webhook
        config, bot = self.config, self.bot
        output = TelegramOutput(bot)
        rates = MessageRate()

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            secret = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(secret.encode(), config.webhook_secret.encode()):
                return response.json({"error": "invalid secret token"}, status=403)
            update = parse_update(request.body, bot)
            if update is not None:
                await self._handle(update, output, on_new_message, rates)
            return response.json({"status": "ok"})

        @webhook.listener("after_server_stop")
        async def close_client(*_: Any) -> None:
            await bot.shutdown()

        return webhook

    async def _handle(
        self,
        update: Update,
        output: TelegramOutput,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        rates: MessageRate,
    ) -> None:
        """Answers the update; failures are logged, never raised, so Telegram does not redeliver it.

        A chat sending faster than `MESSAGES_PER_MINUTE_PER_CONVERSATION`, or at its length cap, is told so
        and its message does not reach Rasa (bot/public_limits.py). The chat is the message's client (`tg:<chat>`)."""
        message = incoming(update)
        try:
            if update.callback_query is not None:
                await output.bot.answer_callback_query(update.callback_query.id)
            if message is None:
                return
            conversation = message.conversation_id
            if message.unsupported:
                await output.send_text_message(conversation, service_texts.text("message_problems.unsupported_content"))
            if message.text is None:
                return
            verdict = message_guard.check(message.text)
            if not verdict.ok:
                if not message.unsupported:
                    await output.send_text_message(conversation, verdict.reply or "")
                return
            refused = await public_limits.refusal(rates, conversation, None)
            if refused is not None:
                await output.send_text_message(conversation, refused.text)
                return
            metadata = client_identity.stamp(None, f"tg:{message.chat_id}")
            await on_new_message(
                UserMessage(verdict.text, output, conversation, input_channel=CHANNEL_NAME, metadata=metadata)
            )
            if await asyncio.to_thread(privacy.first_notice, conversation, CHANNEL_NAME):
                await output.send_text_message(conversation, privacy.short_notice(CHANNEL_NAME))
        except Exception:  # noqa: BLE001 - any failure must still answer 200 to Telegram
            logger.exception("Handling Telegram update %s failed", update.update_id)


async def set_webhook(config: TelegramConfig, url: str) -> str:
    """Registers `url` with the Bot API, with the secret and the updates the channel handles."""
    async with config.bot() as bot:
        await bot.set_webhook(url=url, secret_token=config.webhook_secret, allowed_updates=ALLOWED_UPDATES)
        return bot.username


def set_webhook_command(url: str) -> int:
    """`python -m bot telegram set-webhook URL`."""
    try:
        config = TelegramConfig.from_env()
    except RasaException as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if config is None:
        print("error: TELEGRAM_TOKEN is not set.", file=sys.stderr)
        return 2
    try:
        username = asyncio.run(set_webhook(config, url))
    except Exception as error:  # noqa: BLE001 - report any Bot API or network failure to the operator
        reason = str(error).replace(config.token, "<TELEGRAM_TOKEN>")
        print(f"error: the Bot API refused the webhook: {reason}", file=sys.stderr)
        return 1
    print(f"Telegram will post updates for @{username} to {url}")
    return 0
