"""A local stand-in for an SMS provider's HTTP API that records every message the bot hands it.

Point the bot at it with SMS_SENDER=http, SMS_PROVIDER_URL=fake.url and SMS_API_KEY=fake.api_key.
It answers 401 to any other key, and `fail_with` / `delay` make it refuse or answer slowly.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, List, Optional

from tests.loopback_api import LoopbackApi, send_json


class FakeSms(LoopbackApi):
    """The fake provider and the messages it accepted (each the JSON body of one POST)."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.messages: List[Dict[str, Any]] = []
        self.fail_with: Optional[int] = None
        self.delay = 0.0
        super().__init__(self._handler())

    def record(self, message: Dict[str, Any]) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def code_sent_to(self, phone: str, after: int = 0, timeout: float = 30) -> str:
        """The code of the first message to `phone` after the first `after` messages."""

        def found() -> Optional[str]:
            return next((m["template_params"]["code"] for m in self.messages[after:] if m["phone"] == phone), None)

        return self.wait_until(found, timeout, lambda: f"no SMS to {phone}; messages: {len(self.messages)}")

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(fake.delay)
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    send_json(self, 401, {"code": "Unauthorized"})
                    return
                if fake.fail_with:
                    send_json(self, fake.fail_with, {"code": "ServiceUnavailable"})
                    return
                fake.record(json.loads(body))
                send_json(self, 200, {"code": "OK"})

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
