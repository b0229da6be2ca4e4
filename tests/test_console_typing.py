"""The typing indicator (#18): the holder's typing reaches a widget patient's channel as `staff_typing`, best
effort; the channel's route accepts only the console's signed JWT."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace
from typing import List

import jwt
import pytest

from bot.channels import staff_typing
from tests.test_console_api import add_handoff, client, database, login, make_client, rasa  # noqa: F401 - fixtures

SECRET = "rasa-token-for-the-typing-test"


def typing_posts(rasa) -> List[dict]:  # noqa: F811
    return [json.loads(r.content) for r in rasa.requests if r.url.path == "/webhooks/socketio/typing"]


def test_the_holders_typing_is_sent_to_a_widget_patient_and_nowhere_else(client, database, rasa) -> None:  # noqa: F811
    widget = add_handoff(database, "web-typing")
    telegram = add_handoff(database, "tg-typing", channel="telegram")
    li, wang = login(client, "li"), login(client, "wang")
    for handoff in (widget, telegram):
        client.post(f"/api/handoffs/{handoff}/claim", headers=li)

    assert client.post(f"/api/handoffs/{widget}/typing", headers=li, json={"typing": True}).json() == {"sent": True}
    assert client.post(f"/api/handoffs/{widget}/typing", headers=li, json={"typing": False}).json() == {"sent": True}
    assert typing_posts(rasa) == [{"conversation_id": "web-typing", "typing": True},
                                  {"conversation_id": "web-typing", "typing": False}]
    # Telegram shows no indicator from a bot's API call here; only the holder types; bad bodies are refused.
    assert client.post(f"/api/handoffs/{telegram}/typing", headers=li, json={"typing": True}).json() == {"sent": False}
    assert client.post(f"/api/handoffs/{widget}/typing", headers=wang, json={"typing": True}).status_code == 403
    assert client.post(f"/api/handoffs/{widget}/typing", headers=li, json={"typing": "yes please"}).status_code == 422
    assert client.post(f"/api/handoffs/{widget}/typing", headers=li, json={}).status_code == 422
    assert len(typing_posts(rasa)) == 2
    rasa.down = True
    assert client.post(f"/api/handoffs/{widget}/typing", headers=li, json={"typing": True}).json() == {"sent": False}


class FakeSocketServer:
    def __init__(self) -> None:
        self.emitted: List[tuple] = []

    async def emit(self, event: str, data: dict, room: str, namespace: object) -> None:
        self.emitted.append((event, data, room))


def call(route, authorization: str, body: object) -> tuple:  # type: ignore[no-untyped-def]
    request = SimpleNamespace(headers={"Authorization": authorization}, json=body)
    answer = asyncio.run(route(request))
    return answer.status, json.loads(answer.body)


def bearer(secret: str, role: str = "admin", lifetime: int = 300) -> str:
    now = int(time.time())
    claims = {"user": {"username": "hospital-assistant", "role": role}, "iat": now, "exp": now + lifetime}
    return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


def test_the_channel_tells_the_patients_room_only_when_the_console_signed_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_TOKEN", SECRET)
    sio = FakeSocketServer()
    route = staff_typing.handler(sio, "/")
    assert call(route, bearer(SECRET), {"conversation_id": "web-1", "typing": True}) == (200, {"sent": True})
    assert sio.emitted == [("staff_typing", {"typing": True}, "web-1")]
    for refused in (bearer("another secret"), bearer(SECRET, role="user"), bearer(SECRET, lifetime=-60), "Bearer x", ""):
        assert call(route, refused, {"conversation_id": "web-1", "typing": True})[0] == 401
    for bad in ({"conversation_id": "web-1"}, {"conversation_id": "", "typing": True}, {"conversation_id": "x" * 256, "typing": True},
                {"conversation_id": 7, "typing": False}, ["web-1", True], None):
        assert call(route, bearer(SECRET), bad)[0] == 400
    assert len(sio.emitted) == 1
