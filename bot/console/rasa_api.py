"""The console's side of Rasa's HTTP API: staff messages, resuming the bot, transcripts.

The token never travels in a URL (where access logs and proxies keep it). Rasa 3.6 reads its
`--auth-token` only from `?token=`, and accepts a bearer JWT in the `Authorization` header when started
with `--jwt-secret` (bot/rasa_runtime.py starts it with RASA_TOKEN as the HS256 secret). Each request
here carries a JWT signed with RASA_TOKEN, role `admin`, valid for `JWT_LIFETIME_SECONDS`.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Dict, Generator, List, Optional
from urllib.parse import quote

import httpx
import jwt

from bot.console.config import ConsoleConfig


JWT_LIFETIME_SECONDS = 300
JWT_ALGORITHM = "HS256"


class RasaUnavailable(Exception):
    """Rasa did not accept the call; the conversation is unchanged."""


class RasaBearerAuth(httpx.Auth):
    """`Authorization: Bearer <JWT>` for Rasa's HTTP API: an admin JWT signed with the Rasa token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def bearer(self) -> str:
        now = int(time.time())
        claims = {
            "user": {"username": "hospital-assistant", "role": "admin"},
            "iat": now,
            "exp": now + JWT_LIFETIME_SECONDS,
        }
        return jwt.encode(claims, self._token, algorithm=JWT_ALGORITHM)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.bearer()}"
        yield request


class RasaClient:
    def __init__(self, config: ConsoleConfig, transport: Optional[httpx.BaseTransport] = None) -> None:
        self._client = httpx.Client(
            base_url=config.rasa_url,
            auth=RasaBearerAuth(config.rasa_token),
            timeout=config.rasa_timeout_seconds,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is not reachable: {error}") from error
        if response.status_code >= 400:
            raise RasaUnavailable(f"Rasa answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def _append(self, conversation_id: str, channel: str, events: List[Dict[str, Any]]) -> None:
        self._request(
            "POST",
            f"/conversations/{quote(conversation_id, safe='')}/tracker/events",
            params={"output_channel": channel, "execute_side_effects": "true"},
            json=events,
        )

    def pause(self, conversation_id: str) -> None:
        """ConversationPaused: the bot stays silent while a person holds the conversation.

        The handoff action already paused it; pausing again on claim also covers a conversation whose
        Rasa session expired (a new session unpauses) while it waited, e.g. overnight.
        """
        self._request(
            "POST", f"/conversations/{quote(conversation_id, safe='')}/tracker/events", json=[{"event": "pause"}]
        )

    def send_staff_message(self, conversation_id: str, channel: str, text: str, username: str) -> None:
        """A bot utterance from a person, delivered on the patient's own channel."""
        self._append(conversation_id, channel, [{"event": "bot", "text": text, "metadata": {"staff": username}}])

    def send_bot_message(
        self, conversation_id: str, output_channel: Optional[str], message: Dict[str, Any], metadata: Dict[str, Any]
    ) -> None:
        """A message the hospital sends of its own accord (bot/followups): text and buttons, on `output_channel`.

        Without an output channel Rasa only stores it in the conversation, where the console shows it."""
        event = {"event": "bot", "text": message["text"], "data": {"buttons": list(message.get("buttons") or [])}}
        event["metadata"] = metadata
        params = {"output_channel": output_channel, "execute_side_effects": "true"} if output_channel else {}
        self._request(
            "POST", f"/conversations/{quote(conversation_id, safe='')}/tracker/events", params=params, json=[event]
        )

    def resume(self, conversation_id: str, channel: str, farewell: str) -> None:
        """Give the conversation back to the bot (ConversationResumed), tell the patient, and listen.

        Rasa logs no `action_listen` after the action that paused the conversation, nor after the
        messages a patient wrote meanwhile. Without one here the policies met the patient's next
        message in a state no story has, and the fallback asked them to rephrase again and again
        ("你好" after a release got the request eight times in one turn)."""
        events = [{"event": "resume"}, {"event": "bot", "text": farewell}, {"event": "action", "name": "action_listen"}]
        self._append(conversation_id, channel, events)

    def staff_typing(self, conversation_id: str, typing: bool) -> None:
        """Tell a widget patient that a person is (or stopped) typing (bot/channels/staff_typing.py)."""
        self._request("POST", "/webhooks/socketio/typing", json={"conversation_id": conversation_id, "typing": typing})

    def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        tracker = self._request("GET", f"/conversations/{quote(conversation_id, safe='')}/tracker")
        return list(tracker.get("events") or [])


def transcript(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Patient, bot and staff messages in order; staff messages carry `metadata.staff`."""
    lines: List[Dict[str, Any]] = []
    for event in events:
        kind, text = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        staff = (event.get("metadata") or {}).get("staff") if kind == "bot" else None
        role = "patient" if kind == "user" else ("staff" if staff else "bot")
        timestamp = float(event.get("timestamp") or 0)
        moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
        lines.append({"role": role, "text": text, "time": moment, "timestamp": timestamp, "staff": staff})
    return lines
