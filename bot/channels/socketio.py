"""The website widget's Socket.IO channel, shared by every Rasa instance through Redis.

Rasa's `SocketIOInput` keeps its sockets in the process that accepted them, so a message emitted by
another instance (a staff reply the console posts to Rasa's HTTP API, which the load balancer may
route anywhere) never reaches the patient. With `REDIS_URL` set, this subclass gives the Socket.IO
server python-socketio's `AsyncRedisManager`: every emit is published on Redis and the instance
holding the patient's socket delivers it. Without `REDIS_URL` it is Rasa's channel unchanged.

The channel keeps Rasa's name `socketio`, so handoffs (`channel: socketio`) and the console's
`output_channel=socketio` are unchanged. A reply posted with `metadata.staff` reaches the widget
with `"staff": true`, so it can label it as a person's answer (the staff username stays private).

Every patient message passes `bot.message_guard` before Rasa's own `user_uttered` handler: an empty
or over-long message is answered on the socket with a sentence saying what to do and never reaches
Rasa; metadata that is not a JSON object is dropped instead of failing Rasa's handler.

The conversation id is the server's, never the client's (bot/widget_sessions.py). Rasa's own
`session_request` joined whatever room the client named and `user_uttered` wrote into whatever
conversation the message named, so anyone who learnt a conversation id could read the patient's
later replies, write into the conversation, pause or restart it. Here `session_request` resumes a
conversation only when the client presents the token the server issued with its id, and otherwise
mints a new one; `session_confirm` carries `{"session_id", "session_token"}` for the widget to keep.
The socket is bound to that conversation, and its messages go there whatever `session_id` they name.
Two more events of the widget: `privacy_consent` `{"version"}` records that the patient agreed to the privacy
notice with “同意并继续” (bot/privacy.py), and `session_clear` `{"session_id", "session_token"}` ends a
conversation the patient cleared, so it is never resumed (bot/widget_sessions.py `end`); both answer with an
acknowledgement (true when done). Each message's metadata gets the client's address under `client`
(bot/client_identity.py); metadata over
`MAX_METADATA_BYTES` is dropped, and a conversation or client sending faster than a person types is asked
to slow down (bot/message_rate.py); a conversation at its length cap is told so (bot/conversation_cap.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint
from socketio import AsyncRedisManager

from bot import client_identity, message_guard, privacy, public_limits, settings, widget_sessions
from bot.channels import staff_typing
from bot.message_rate import MessageRate

logger = logging.getLogger(__name__)

# Every instance of one deployment publishes and listens on this Redis pub/sub channel.
REDIS_CHANNEL = "hospital-assistant-socketio"
SUBSCRIBE_TIMEOUT_SECONDS = 10
# What the channel keeps in a socket's python-socketio session: its conversation and client address.
CONVERSATION = "conversation_id"
CLIENT = "client"
# The metadata a widget message may carry (JSON); larger metadata is dropped, never stored with the event.
MAX_METADATA_BYTES = 2048


class StaffAwareSocketIOOutput(SocketIOOutput):
    """Rasa's Socket.IO output; text sent with a `staff` marker is flagged for the widget."""

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        if not kwargs.get("staff"):
            await super().send_text_message(recipient_id, text, **kwargs)
            return
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, "staff": True})


class SocketIOInput(RasaSocketIOInput):
    """Rasa's Socket.IO input channel: the message guard in front, a Redis client manager with `REDIS_URL`."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_blueprint = super().blueprint(on_new_message)
        # Rasa's server accepts any origin (CORS handling off); only the hospital's pages may connect.
        self.sio.eio.cors_allowed_origins = settings.allowed_origins()
        self._remember_clients()
        self._issue_sessions()
        self._handle_privacy_events()
        self._guard_user_messages()
        socketio_blueprint.add_route(staff_typing.handler(self.sio, self.namespace), "/typing", methods=["POST"])
        redis_url = os.environ.get("REDIS_URL", "").strip()
        if redis_url and self.sio is not None:
            # Rasa builds its AsyncServer inside blueprint(); no client has connected yet, so the
            # manager can still be replaced.
            manager = AsyncRedisManager(redis_url, channel=REDIS_CHANNEL)
            manager.set_server(self.sio)
            self.sio.manager = manager
            socketio_blueprint.after_server_start(self._listen_to_redis)
        return socketio_blueprint

    def _remember_clients(self) -> None:
        """Keep the client's address with the socket when Rasa's `connect` handler lets it in.

        Behind nginx it is `X-Real-IP` (set by the public snippet); Rasa itself is not reachable directly.
        """
        sio = self.sio
        rasa_connect = sio.handlers[self.namespace or "/"]["connect"]

        async def connect(sid: Text, environ: Dict[str, Any], auth: Optional[Dict[str, Any]] = None) -> bool:
            if await rasa_connect(sid, environ, auth) is False:
                return False
            address = environ.get("HTTP_X_REAL_IP") or environ.get("REMOTE_ADDR") or ""
            await sio.save_session(sid, {CLIENT: f"web:{address[:64]}"}, namespace=self.namespace)
            return True

        sio.on("connect", connect, namespace=self.namespace)

    def _issue_sessions(self) -> None:
        """Replace Rasa's `session_request`: resume only a signed conversation id, else mint a new one."""
        sio = self.sio

        async def session_request(sid: Text, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            conversation_id = widget_sessions.verified(data.get("session_id"), data.get("session_token"))
            if conversation_id is not None and await asyncio.to_thread(widget_sessions.ended, conversation_id):
                conversation_id = None
            if conversation_id is None:
                if data.get("session_id"):
                    logger.info("Socket.IO session_request with an id the server did not issue: new conversation")
                conversation_id = widget_sessions.new_id()
            for room in sio.rooms(sid, namespace=self.namespace):
                if room != sid:
                    sio.leave_room(sid, room, namespace=self.namespace)
            session = await sio.get_session(sid, namespace=self.namespace)
            await sio.save_session(sid, {**session, CONVERSATION: conversation_id}, namespace=self.namespace)
            sio.enter_room(sid, conversation_id, namespace=self.namespace)
            confirmation = {"session_id": conversation_id, "session_token": widget_sessions.token_for(conversation_id)}
            await sio.emit("session_confirm", confirmation, room=sid, namespace=self.namespace)

        sio.on("session_request", session_request, namespace=self.namespace)

    def _handle_privacy_events(self) -> None:
        """`privacy_consent` for the socket's conversation; `session_clear` for the conversation its token proves."""
        sio = self.sio

        async def privacy_consent(sid: Text, data: Any) -> bool:
            session = await sio.get_session(sid, namespace=self.namespace)
            conversation_id = session.get(CONVERSATION)
            version = data.get("version") if isinstance(data, dict) else None
            if conversation_id is None or version != privacy.version():
                return False
            await asyncio.to_thread(privacy.agree, conversation_id, self.name(), "button")
            return True

        async def session_clear(sid: Text, data: Any) -> bool:
            data = data if isinstance(data, dict) else {}
            conversation_id = widget_sessions.verified(data.get("session_id"), data.get("session_token"))
            if conversation_id is None:
                return False
            await asyncio.to_thread(widget_sessions.end, conversation_id)
            session = await sio.get_session(sid, namespace=self.namespace)
            if session.get(CONVERSATION) == conversation_id:
                sio.leave_room(sid, conversation_id, namespace=self.namespace)
                await sio.save_session(sid, {CLIENT: session.get(CLIENT)}, namespace=self.namespace)
            return True

        sio.on("privacy_consent", privacy_consent, namespace=self.namespace)
        sio.on("session_clear", session_clear, namespace=self.namespace)

    def _guard_user_messages(self) -> None:
        """Put `bot.message_guard` in front of the handler Rasa registered for `user_message_evt`."""
        sio = self.sio
        rasa_handler = sio.handlers[self.namespace or "/"][self.user_message_evt]
        rates = MessageRate()

        async def guarded(sid: Text, data: Any) -> None:
            if not isinstance(data, dict):
                return
            session = await sio.get_session(sid, namespace=self.namespace)
            conversation_id = session.get(CONVERSATION)
            if conversation_id is None:
                # No session_request yet: the socket belongs to no conversation, whatever id it names.
                logger.warning("Socket.IO message before a session was issued ignored")
                return
            verdict = message_guard.check(data.get("message"))
            if not verdict.ok:
                await sio.emit(self.bot_message_evt, {"text": verdict.reply}, room=sid)
                return
            refused = await public_limits.refusal(rates, conversation_id, session.get(CLIENT))
            if refused is not None:
                await sio.emit(self.bot_message_evt, {"text": refused.text}, room=sid)
                return
            metadata = client_identity.stamp(self._metadata(data), session.get(CLIENT))
            await rasa_handler(
                sid,
                {**data, "session_id": conversation_id, "message": verdict.text, self.metadata_key: metadata},
            )

        sio.on(self.user_message_evt, guarded, namespace=self.namespace)

    def _metadata(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """The message's metadata as Rasa's handler expects it: an object (also from a JSON object in a
        string) of at most `MAX_METADATA_BYTES`; anything else is dropped."""
        metadata = data.get(self.metadata_key) or {}
        if isinstance(metadata, str):
            if len(metadata) > MAX_METADATA_BYTES:
                return {}
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return {}
        if not isinstance(metadata, dict) or len(json.dumps(metadata, default=str)) > MAX_METADATA_BYTES:
            return {}
        return metadata

    async def _listen_to_redis(self, _app: Any, _loop: Any) -> None:
        """Subscribe before the first patient connects.

        python-socketio starts listening on the first connection, and what it emits before the
        subscription is in place (that patient's `session_confirm`) would be lost.
        """
        sio = self.sio
        sio.manager_initialized = True
        sio.manager.initialize()
        deadline = time.monotonic() + SUBSCRIBE_TIMEOUT_SECONDS
        while not sio.manager.pubsub.subscribed and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not sio.manager.pubsub.subscribed:
            logger.error(
                "Socket.IO: no Redis subscription after %s s; retrying in the background", SUBSCRIBE_TIMEOUT_SECONDS
            )

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return super().get_output_channel()
        return StaffAwareSocketIOOutput(self.sio, self.bot_message_evt)
