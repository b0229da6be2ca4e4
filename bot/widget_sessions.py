"""The web widget's conversation ids: issued by the server, carried with a signature.

A widget conversation id is `web-` and 32 random hex digits (no `:`: Rasa 3.6's HTTP API does not
unquote `%3A` in a conversation id), minted by the Socket.IO channel; with it
the widget gets a token, the HMAC-SHA256 of the id under a key only the Rasa instances know. On a
reload the widget presents both, and the channel resumes the conversation only when the token fits the
id; any other id (guessed, copied from a log or a console screen, another channel's sender id such
as a Telegram chat) starts a new conversation instead. The key is `WIDGET_SESSION_SECRET` when set,
otherwise derived from `RASA_TOKEN`, which every Rasa instance of a deployment shares.

When the patient clears the chat (the widget's “清除本次对话”), `end` marks the conversation ended in the
database (table `channel_state`, for as long as a transcript is kept), so its id and token no longer
resume it on any instance; with `WIDGET_CLEAR_DELETES_TRANSCRIPT=true` its stored events go too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from datetime import timedelta
from typing import Optional

from bot import channel_state, conversation_ids, patient_data, settings
from bot.store.db import session_scope

PREFIX = conversation_ids.PREFIXES["socketio"]
ENDED = "widget-ended:{}"
ID_PATTERN = re.compile(rf"^{PREFIX}[0-9a-f]{{32}}$")
_KEY_CONTEXT = b"hospital-assistant widget session v1"


def _key() -> bytes:
    own = os.environ.get("WIDGET_SESSION_SECRET", "").strip()
    secret = settings.checked_secret("WIDGET_SESSION_SECRET", own) if own else settings.rasa_token()
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


def end(session_id: str) -> None:
    """The patient cleared the chat: the conversation is never resumed again, and its transcript is
    deleted when the hospital configured it (`WIDGET_CLEAR_DELETES_TRANSCRIPT`)."""
    lasts = timedelta(days=settings.retention().transcript_days)
    channel_state.put(ENDED.format(session_id), "cleared by the patient", lasts)
    if settings.flag("WIDGET_CLEAR_DELETES_TRANSCRIPT"):
        with session_scope() as session:
            patient_data.delete_transcript(session, session_id)


def ended(session_id: str) -> bool:
    """Whether the patient cleared this conversation (`end`)."""
    return channel_state.get(ENDED.format(session_id)) is not None
