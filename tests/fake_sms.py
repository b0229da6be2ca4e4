"""A local stand-in for an SMS provider's HTTP API that records every message the bot hands it.

Point the bot at it with SMS_SENDER=http, SMS_PROVIDER_URL=fake.url and SMS_API_KEY=fake.api_key.
It answers 401 to any other key, and `fail_with` / `delay` make it refuse or answer slowly.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List, Mapping, Optional, Tuple

from tests.loopback_api import LoopbackApi, send_json


class SmsRecorder(LoopbackApi):
    """A fake SMS API's accepted messages (each a dict with at least `phone`), and their codes."""

    def __init__(self) -> None:
        self.messages: List[Dict[str, Any]] = []
        self.delay = 0.0
        super().__init__(self._handler())

    def answer(self, headers: Mapping[str, str], path: str, body: bytes) -> Tuple[int, Dict[str, Any]]:
        """The status and JSON body that answer a POST to `path` (recording the message it takes)."""
        raise NotImplementedError

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(fake.delay)
                send_json(self, *fake.answer(self.headers, self.path, body))

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @staticmethod
    def code_of(message: Dict[str, Any]) -> str:
        return message["template_params"]["code"]

    def record(self, message: Dict[str, Any]) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def code_sent_to(self, phone: str, after: int = 0, timeout: float = 30) -> str:
        """The code of the first message to `phone` after the first `after` messages."""

        def found() -> Optional[str]:
            return next((self.code_of(m) for m in self.messages[after:] if m["phone"] == phone), None)

        return self.wait_until(found, timeout, lambda: f"no SMS to {phone}; messages: {len(self.messages)}")


class FakeSms(SmsRecorder):
    """The fake provider and the messages it accepted (each the JSON body of one POST)."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.fail_with: Optional[int] = None
        super().__init__()

    def answer(self, headers: Mapping[str, str], path: str, body: bytes) -> Tuple[int, Dict[str, Any]]:
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"code": "Unauthorized"}
        if self.fail_with:
            return self.fail_with, {"code": "ServiceUnavailable"}
        self.record(json.loads(body))
        return 200, {"code": "OK"}
