"""A WeChat Official Account (公众号) as a Rasa input channel, built on wechatpy.

Registered in credentials.yml as `bot.channels.wechat.WeChatInput`. Its settings come from the
environment (CONTRACT.md §2), so credentials.yml loads whether they are set or not:

- `WECHAT_TOKEN` unset: the channel is disabled (its webhook route does not exist).
- `WECHAT_TOKEN` set: `WECHAT_APP_ID` and `WECHAT_APP_SECRET` are required, or Rasa refuses to start.
- `WECHAT_ENCODING_AES_KEY` (43 characters): safe mode (安全模式), messages arrive AES-encrypted.
- `WECHAT_API_BASE` (default https://api.weixin.qq.com): the API root the client calls.
- `WECHAT_TEMPLATE_ID` (optional): a template message (its `thing1` field) that tells a patient outside
  the 48-hour window that the hospital wrote to them; `WECHAT_TEMPLATE_FIELD` names another field.

WeChat posts to `/webhooks/wechat/webhook` and gives a passive reply 5 seconds, retrying up to three
times. So every signed delivery is answered `success` at once; the message is handled afterwards, each
delivery once (its MsgId is claimed in the database, so a retry after a restart is still recognised),
and the bot's answers go out as customer-service messages (`message/custom/send`) with an access token
shared by every instance through the database. WeChat shows no buttons there: they become numbered
choices the patient answers with the number. A user's conversation id is `wx-<openid>`
(bot/conversation_ids.py); the output sends to the openid.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import WeChatClient, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import BaseEvent
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException, WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.utils import check_signature

from bot import (
    channel_state, client_identity, conversation_ids, message_guard, privacy, public_limits, reply_window, service_texts,
)
from bot.message_rate import MessageRate

logger = logging.getLogger(__name__)

CHANNEL_NAME = "wechat"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_TEMPLATE_FIELD = "thing1"
GREET_PAYLOAD = "/greet"
# WeChat retries a delivery within about 15 seconds; an hour covers those and a restart in between.
DELIVERY_MEMORY = timedelta(hours=1)
# A token is refreshed this long before WeChat says it expires.
TOKEN_MARGIN_SECONDS = 300
# A customer-service text is limited to 2048 bytes; longer answers are split.
MAX_TEXT_BYTES = 2000
# errcode of message/custom/send when the 48-hour window is closed (or the patient unfollowed).
WINDOW_CLOSED_ERRCODE = 45015
AES_KEY_PATTERN = re.compile(r"^[A-Za-z0-9+/]{43}$")
CHOICE_PATTERN = re.compile(r"^\s*(\d{1,2})\s*[.。、]?\s*$")
# Messages a patient sends that the assistant cannot read yet, and the note each one gets.
UNSUPPORTED_NOTES = {"image": "wechat.image", "voice": "wechat.voice", "location": "wechat.location"}


@dataclass(frozen=True)
class WeChatConfig:
    """The channel's settings: server token, app credentials, safe-mode key, API server, template."""

    token: str
    app_id: str
    app_secret: str
    encoding_aes_key: Optional[str] = None
    api_base: str = DEFAULT_API_BASE
    template_id: Optional[str] = None
    template_field: str = DEFAULT_TEMPLATE_FIELD

    @classmethod
    def from_env(cls) -> Optional["WeChatConfig"]:
        """The configuration from WECHAT_*, or None when WECHAT_TOKEN is unset.

        Raises RasaException when a token is set without the app's id and secret, or with a malformed AES key.
        """
        token = os.environ.get("WECHAT_TOKEN", "").strip()
        if not token:
            return None
        app_id = os.environ.get("WECHAT_APP_ID", "").strip()
        app_secret = os.environ.get("WECHAT_APP_SECRET", "").strip()
        if not app_id or not app_secret:
            raise RasaException(
                "WECHAT_TOKEN is set, so WECHAT_APP_ID and WECHAT_APP_SECRET (开发者ID AppID and AppSecret from "
                "the Official Account's 基本配置 page) must be set too: without them no answer can be sent."
            )
        aes_key = os.environ.get("WECHAT_ENCODING_AES_KEY", "").strip() or None
        if aes_key is not None and not AES_KEY_PATTERN.match(aes_key):
            raise RasaException(
                "WECHAT_ENCODING_AES_KEY must be the 43-character EncodingAESKey of the account's 基本配置 page."
            )
        api_base = os.environ.get("WECHAT_API_BASE", "").strip() or DEFAULT_API_BASE
        return cls(
            token=token,
            app_id=app_id,
            app_secret=app_secret,
            encoding_aes_key=aes_key,
            api_base=api_base.rstrip("/"),
            template_id=os.environ.get("WECHAT_TEMPLATE_ID", "").strip() or None,
            template_field=os.environ.get("WECHAT_TEMPLATE_FIELD", "").strip() or DEFAULT_TEMPLATE_FIELD,
        )

    def crypto(self) -> Optional[WeChatCrypto]:
        return WeChatCrypto(self.token, self.encoding_aes_key, self.app_id) if self.encoding_aes_key else None

    def client(self) -> "ApiClient":
        return ApiClient(self)


class SharedTokenStorage(SessionStorage):
    """wechatpy's token storage in the `channel_state` table, so every Rasa instance uses one token."""

    def get(self, key: str, default: Any = None) -> Any:
        value = channel_state.get(f"wechat:{key}")
        return default if value is None else json.loads(value)

    def set(self, key: str, value: Any, ttl: Optional[int] = None) -> None:
        seconds = max(60, int(ttl or 7200) - TOKEN_MARGIN_SECONDS)
        channel_state.put(f"wechat:{key}", json.dumps(value), timedelta(seconds=seconds))

    def delete(self, key: str) -> None:
        channel_state.remove(f"wechat:{key}")


class ApiClient(WeChatClient):
    """wechatpy's client on `WECHAT_API_BASE`, with the shared token. On errcode 40001/40014/42001 (a token
    WeChat no longer accepts) wechatpy fetches a new token and repeats the call once."""

    def __init__(self, config: WeChatConfig) -> None:
        super().__init__(config.app_id, config.app_secret, session=SharedTokenStorage(), timeout=10)
        self.API_BASE_URL = f"{config.api_base}/cgi-bin/"

    def fetch_access_token(self) -> Dict[str, Any]:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return self._fetch_access_token(url=f"{self.API_BASE_URL}token", params=params)


def _chunks(text: str, size: int = MAX_TEXT_BYTES) -> List[str]:
    """`text` in parts of at most `size` UTF-8 bytes, cut between characters."""
    parts: List[str] = []
    current = ""
    for char in text:
        if len((current + char).encode("utf-8")) > size:
            parts.append(current)
            current = ""
        current += char
    return parts + [current] if current or not parts else parts


def _choices_key(openid: str) -> str:
    return f"wechat:choices:{openid}"


def _pending_key(openid: str) -> str:
    return f"wechat:pending:{openid}"


def numbered_choices(text: str, buttons: List[Dict[str, Any]]) -> str:
    """The message with its buttons as numbered lines and the hint how to choose."""
    lines = [f"{number}. {button.get('title', '')}" for number, button in enumerate(buttons, start=1)]
    return "\n".join([text.strip(), "", *lines, "", service_texts.text("wechat.choices_hint")])


def _openid(conversation_id: str) -> str:
    """The WeChat user of a conversation (`wx-<openid>`, bot/conversation_ids.py)."""
    return conversation_ids.address(CHANNEL_NAME, conversation_id)


class WeChatOutput(OutputChannel):
    """Sends the bot's (and staff's) messages to a WeChat user as customer-service messages."""

    def __init__(self, config: WeChatConfig, client: ApiClient) -> None:
        self.config = config
        self.client = client

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        openid = _openid(recipient_id)
        for part in _chunks(text.strip()):
            await asyncio.to_thread(self.deliver, openid, part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        payloads = [str(b.get("payload") or b.get("title", "")) for b in buttons]
        await asyncio.to_thread(
            channel_state.put, _choices_key(_openid(recipient_id)), json.dumps(payloads, ensure_ascii=False),
            reply_window.WINDOWS[CHANNEL_NAME],
        )
        await self.send_text_message(recipient_id, numbered_choices(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)

    def deliver(self, openid: str, text: str) -> None:
        """One customer-service text. Outside the 48-hour window it waits for the patient's next message
        (and a template message tells them, where the account has one); any other API error is raised."""
        try:
            self.client.message.send_text(openid, text)
        except WeChatClientException as error:
            if error.errcode != WINDOW_CLOSED_ERRCODE:
                raise
            logger.warning("WeChat window closed for a patient: the message waits for their next one")
            self._keep_pending(openid, text)
            self._send_template_notice(openid)

    def _keep_pending(self, openid: str, text: str) -> None:
        waiting = json.loads(channel_state.get(_pending_key(openid)) or "[]")
        channel_state.put(_pending_key(openid), json.dumps([*waiting, text], ensure_ascii=False), timedelta(days=30))

    def _send_template_notice(self, openid: str) -> None:
        if self.config.template_id is None:
            return
        data = {self.config.template_field: {"value": service_texts.text("wechat.template_notice")}}
        try:
            self.client.message.send_template(openid, self.config.template_id, data)
        except WeChatClientException as error:
            logger.warning("WeChat refused the template notice: errcode %s", error.errcode)

    def deliver_pending(self, openid: str) -> None:
        """What waited for the patient (written outside the window), now that they wrote again."""
        waiting = json.loads(channel_state.get(_pending_key(openid)) or "[]")
        if not waiting:
            return
        channel_state.remove(_pending_key(openid))
        for text in waiting:
            self.deliver(openid, text)


@dataclass(frozen=True)
class Incoming:
    """What one delivery asks of the bot: a user message for Rasa and/or a note to send first.

    `notice_first`: a follow, which asks nothing, gets the privacy notice before the greeting; a message
    gets it after the bot's answer (an emergency answer never waits behind it)."""

    openid: str
    text: Optional[str] = None
    note: Optional[str] = None
    notice_first: bool = False


def delivery_key(message: Any) -> str:
    """The identity of a delivery: MsgId for messages, sender and time for events (as WeChat advises)."""
    if not isinstance(message, BaseEvent) and message.id:
        return f"wechat:msg:{message.id}"
    return f"wechat:event:{message.source}:{message.time}:{getattr(message, 'event', message.type)}"


def incoming(message: Any) -> Optional[Incoming]:
    """What to do with a parsed message or event; None for those the bot ignores (unfollow, link clicks …)."""
    openid = str(message.source)
    kind = message.type
    if kind == "text":
        return Incoming(openid, text=message.content)
    if kind == "voice" and (message.recognition or "").strip():
        return Incoming(openid, text=message.recognition)
    if kind in UNSUPPORTED_NOTES:
        return Incoming(openid, note=service_texts.text(UNSUPPORTED_NOTES[kind]))
    if kind in ("video", "shortvideo", "link", "file"):
        return Incoming(openid, note=service_texts.text("message_problems.unsupported_content"))
    event = getattr(message, "event", None) if isinstance(message, BaseEvent) else None
    if event in ("subscribe", "subscribe_scan"):
        return Incoming(openid, text=GREET_PAYLOAD, notice_first=True)
    if event == "click" and message.key:
        return Incoming(openid, text=message.key)
    return None


class WeChatInput(InputChannel):
    """Receives WeChat's pushes by webhook and hands them to Rasa."""

    def __init__(self, config: Optional[WeChatConfig]) -> None:
        self.config = config
        self.client = config.client() if config else None
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._rates = MessageRate()

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        config = WeChatConfig.from_env()
        if config is None:
            logger.info("WeChat channel disabled: WECHAT_TOKEN is not set.")
        return cls(config)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return WeChatOutput(self.config, self.client) if self.config and self.client else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("wechat_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config else "disabled"})

        if self.config is None or self.client is None:
            return webhook
        config = self.config
        output = WeChatOutput(config, self.client)
        crypto = config.crypto()

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            """WeChat's server verification (服务器配置): echo `echostr` when the signature is right."""
            if not _signed(config.token, request):
                return response.text("invalid signature", status=403)
            return response.text(request.args.get("echostr", ""))

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not _signed(config.token, request):
                return response.text("invalid signature", status=403)
            body = request.body.decode("utf-8", "replace")
            if request.args.get("encrypt_type") == "aes":
                if crypto is None:
                    logger.warning("An encrypted WeChat message arrived, but WECHAT_ENCODING_AES_KEY is not set")
                    return response.text("success")
                try:
                    body = crypto.decrypt_message(
                        body,
                        request.args.get("msg_signature", ""),
                        request.args.get("timestamp", ""),
                        request.args.get("nonce", ""),
                    )
                except (InvalidSignatureException, InvalidAppIdException):
                    return response.text("invalid signature", status=403)
                except Exception:  # noqa: BLE001 - a body that does not decrypt is the sender's problem
                    logger.warning("A WeChat message could not be decrypted")
                    return response.text("success")
            message = _parse(body)
            if message is not None and await asyncio.to_thread(channel_state.claim, delivery_key(message), DELIVERY_MEMORY):
                task = asyncio.create_task(self._handle(message, output, on_new_message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return response.text("success")

        return webhook

    async def _handle(
        self, message: Any, output: WeChatOutput, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Answers one delivery; failures are logged, never raised (WeChat already got `success`)."""
        try:
            request = incoming(message)
            if request is None:
                return
            openid = request.openid
            conversation = conversation_ids.of(CHANNEL_NAME, openid)
            await asyncio.to_thread(reply_window.record_interaction, CHANNEL_NAME, conversation)
            await asyncio.to_thread(output.deliver_pending, openid)
            if request.note:
                await output.send_text_message(conversation, request.note)
            if request.notice_first:
                await self._privacy_notice(output, conversation)
            if request.text is None:
                return
            text, problem = await asyncio.to_thread(_answer_to_choice, openid, request.text)
            if problem is not None:
                await output.send_text_message(conversation, problem)
                return
            verdict = message_guard.check(text)
            if not verdict.ok:
                await output.send_text_message(conversation, verdict.reply or "")
                return
            refused = await public_limits.refusal(self._rates, conversation, None)
            if refused is not None:
                await output.send_text_message(conversation, refused.text)
                return
            metadata = client_identity.stamp(None, f"wx:{openid}")
            await on_new_message(
                UserMessage(verdict.text, output, conversation, input_channel=CHANNEL_NAME, metadata=metadata)
            )
            await self._privacy_notice(output, conversation)
        except Exception:  # noqa: BLE001 - WeChat must not see the failure; it already got `success`
            logger.exception("Handling a WeChat %s failed", getattr(message, "type", "message"))

    @staticmethod
    async def _privacy_notice(output: "WeChatOutput", conversation: str) -> None:
        """The privacy notice (bot/privacy.py), the first time this patient's conversation reaches it."""
        if await asyncio.to_thread(privacy.first_notice, conversation, CHANNEL_NAME):
            await output.send_text_message(conversation, privacy.short_notice(CHANNEL_NAME))


def _answer_to_choice(openid: str, text: str) -> Tuple[str, Optional[str]]:
    """What the patient's message means after numbered choices: the chosen button's payload for a number,
    the text itself otherwise; and what to tell the patient instead when the number offers nothing.

    The choices hold until the patient's next message; a number they do not offer keeps them."""
    stored = channel_state.get(_choices_key(openid))
    if stored is None:
        return text, None
    match = CHOICE_PATTERN.match(text)
    payloads = json.loads(stored)
    if match is not None and not 1 <= int(match.group(1)) <= len(payloads):
        return text, service_texts.text("wechat.no_such_choice", count=len(payloads))
    channel_state.remove(_choices_key(openid))
    return (str(payloads[int(match.group(1)) - 1]) if match else text), None


def _signed(token: str, request: Request) -> bool:
    try:
        check_signature(
            token,
            request.args.get("signature", ""),
            request.args.get("timestamp", ""),
            request.args.get("nonce", ""),
        )
    except InvalidSignatureException:
        return False
    return True


def _parse(body: str) -> Optional[Any]:
    """The message or event in a (decrypted) body, or None when it is not well-formed."""
    try:
        return parse_message(body)
    except Exception as error:  # noqa: BLE001 - xmltodict and wechatpy raise many kinds on bad XML
        logger.warning("Ignoring a malformed WeChat message: %s", type(error).__name__)
        return None
