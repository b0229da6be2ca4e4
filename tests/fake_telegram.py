"""A local stand-in for the Telegram Bot API that records every call the bot makes.

It listens on loopback; point the bot at it with TELEGRAM_API_BASE=fake.url. It answers
`POST /bot<token>/<method>` like the real server for the methods the channel uses and
rejects any other token with 401, as Telegram does.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, List
from urllib.parse import parse_qsl

from tests.loopback_api import LoopbackApi

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "医院助手", "username": "hospital_test_bot"}


@dataclass
class Call:
    method: str
    params: Dict[str, Any]


def _decode(content_type: str, body: bytes) -> Dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    params: Dict[str, Any] = dict(parse_qsl(body.decode("utf-8")))
    for key in ("reply_markup", "allowed_updates"):
        if key in params:
            params[key] = json.loads(params[key])
    return params


class FakeTelegram(LoopbackApi):
    """The fake Bot API server and the calls it received."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: List[Call] = []
        self._message_ids = itertools.count(1)
        super().__init__(self._handler())

    def record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def wait_for(self, method: str, match: Callable[[Dict[str, Any]], bool], timeout: float = 60) -> List[Call]:
        """Every call of `method` so far once one matches, or AssertionError after `timeout`."""

        def matching() -> List[Call]:
            calls = [c for c in self.calls if c.method == method]
            return calls if any(match(c.params) for c in calls) else []

        return self.wait_until(matching, timeout, lambda: f"no matching {method}; calls: {self.calls}")

    def sent_to(self, chat_id: int) -> List[Dict[str, Any]]:
        return [c.params for c in self.calls if c.method == "sendMessage" and str(c.params["chat_id"]) == str(chat_id)]

    def result(self, method: str, params: Dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        return True

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                prefix, _, method = self.path.lstrip("/").partition("/")
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if prefix != f"bot{fake.token}":
                    self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                    return
                params = _decode(self.headers.get("Content-Type", ""), body)
                fake.record(Call(method, params))
                self._reply(200, {"ok": True, "result": fake.result(method, params)})

            def _reply(self, status: int, payload: Dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
