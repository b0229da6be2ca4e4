"""“客服正在输入…” in the widget: the console tells the Socket.IO channel that a person is typing to a patient.

`POST /webhooks/socketio/typing {"conversation_id", "typing"}` on Rasa's server, with the bearer JWT the
console signs with `RASA_TOKEN` (bot/console/rasa_api.py); the channel emits `staff_typing {"typing"}` to the
patient's room, through Redis when several Rasa instances run. Nothing is stored: it is not a message.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

import jwt
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings

EVENT = "staff_typing"
JWT_ALGORITHM = "HS256"


def authorized(header: Optional[str], secret: str) -> bool:
    """Whether `header` is `Bearer <JWT>` signed with `secret`, unexpired, for Rasa's admin role."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM])
    except jwt.PyJWTError:
        return False
    user = claims.get("user")
    return isinstance(user, dict) and user.get("role") == "admin"


def handler(sio: Any, namespace: Optional[str]) -> Callable[[Request], Awaitable[HTTPResponse]]:
    """The route's handler, emitting on `sio` (the channel's Socket.IO server)."""

    async def typing(request: Request) -> HTTPResponse:
        if not authorized(request.headers.get("Authorization"), settings.rasa_token()):
            return response.json({"detail": "a bearer JWT signed with RASA_TOKEN is required"}, status=401)
        body = request.json
        conversation_id = body.get("conversation_id") if isinstance(body, dict) else None
        typing = body.get("typing") if isinstance(body, dict) else None
        if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 255 or not isinstance(typing, bool):
            return response.json({"detail": "expected {\"conversation_id\": string, \"typing\": boolean}"}, status=400)
        await sio.emit(EVENT, {"typing": typing}, room=conversation_id, namespace=namespace)
        return response.json({"sent": True})

    return typing
