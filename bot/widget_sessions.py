"""The web widget's conversation ids: issued by the server, carried with a signature.

A widget conversation id is `web-` and 32 random hex digits (no `:`: Rasa 3.6's HTTP API does not
unquote `%3A` in a conversation id), minted by the Socket.IO channel; with it
the widget gets a token, the HMAC-SHA256 of the id under a key only the Rasa instances know. On a
reload the widget presents both, and the channel resumes the conversation only when the token fits the
id; any other id (guessed, copied from a log or a console screen, another channel's sender id such
as a Telegram chat) starts a new conversation instead. The key is `WIDGET_SESSION_SECRET` when set,
otherwise derived from `RASA_TOKEN`, which every Rasa instance of a deployment shares.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from typing import Optional

from bot import settings

PREFIX = "web-"
ID_PATTERN = re.compile(rf"^{PREFIX}[0-9a-f]{{32}}$")
_KEY_CONTEXT = b"hospital-assistant widget session v1"


def _key() -> bytes:
    secret = os.environ.get("WIDGET_SESSION_SECRET", "").strip() or settings.rasa_token()
    return hmac.new(secret.encode("utf-8"), _KEY_CONTEXT, hashlib.sha256).digest()


def new_id() -> str:
    return PREFIX + secrets.token_hex(16)


def token_for(session_id: str) -> str:
    digest = hmac.new(_key(), session_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def verified(session_id: object, token: object) -> Optional[str]:
    """The session id when `token` is the server's signature of it, else None."""
    if not isinstance(session_id, str) or not isinstance(token, str) or not ID_PATTERN.match(session_id):
        return None
    return session_id if hmac.compare_digest(token_for(session_id), token) else None
