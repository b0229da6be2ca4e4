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

from bot import message_guard

logger = logging.getLogger(__name__)

# Every instance of one deployment publishes and listens on this Redis pub/sub channel.
REDIS_CHANNEL = "hospital-assistant-socketio"
SUBSCRIBE_TIMEOUT_SECONDS = 10


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
        self._guard_user_messages()
        redis_url = os.environ.get("REDIS_URL", "").strip()
        if redis_url and self.sio is not None:
            # Rasa builds its AsyncServer inside blueprint(); no client has connected yet, so the
            # manager can still be replaced.
            manager = AsyncRedisManager(redis_url, channel=REDIS_CHANNEL)
            manager.set_server(self.sio)
            self.sio.manager = manager
            socketio_blueprint.after_server_start(self._listen_to_redis)
        return socketio_blueprint

    def _guard_user_messages(self) -> None:
        """Put `bot.message_guard` in front of the handler Rasa registered for `user_message_evt`."""
        sio = self.sio
        rasa_handler = sio.handlers[self.namespace or "/"][self.user_message_evt]

        async def guarded(sid: Text, data: Any) -> None:
            if not isinstance(data, dict):
                return
            session_problem = message_guard.sender_problem(data.get("session_id"))
            if self.session_persistence and session_problem not in (None, "missing"):
                # Rasa itself ignores a missing one; a malformed or over-long one would fail when stored.
                logger.warning("Socket.IO message with an unusable session_id (%s) ignored", session_problem)
                return
            verdict = message_guard.check(data.get("message"))
            if not verdict.ok:
                await sio.emit(self.bot_message_evt, {"text": verdict.reply}, room=sid)
                return
            await rasa_handler(sid, {**data, "message": verdict.text, self.metadata_key: self._metadata(data)})

        sio.on(self.user_message_evt, guarded, namespace=self.namespace)

    def _metadata(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """The message's metadata as Rasa's handler expects it: an object, or a JSON object in a string."""
        metadata = data.get(self.metadata_key) or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return {}
        return metadata if isinstance(metadata, dict) else {}

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
