"""A local stand-in for the WeChat Official Account API (api.weixin.qq.com) that records every call.

It listens on loopback; point the channel at it with WECHAT_API_BASE=fake.url. It answers like the
real server for what the channel uses: `GET /cgi-bin/token` (a new access token, valid 7200 s, for the
right app id and secret), `POST /cgi-bin/message/custom/send` and `POST /cgi-bin/message/template/send`
(errcode 40001 for a token it did not issue or has expired, 45015 for a user whose 48-hour window is
closed). Tests expire tokens, close windows and make the next calls fail to see what the channel does.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, List, Set
from urllib.parse import parse_qs, urlparse

from tests.loopback_api import LoopbackApi


@dataclass
class Call:
    path: str
    params: Dict[str, str]
    body: Dict[str, Any]
    answer: Dict[str, Any]


class FakeWeChat(LoopbackApi):
    """The fake API server and the calls it received."""

    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.calls: List[Call] = []
        self.valid_tokens: Set[str] = set()
        self.closed_windows: Set[str] = set()
        self.failures: List[Dict[str, Any]] = []
        self._serial = itertools.count(1)
        # Cleared, message calls wait (up to 60 s) until it is set again: an API that is slow to answer.
        self.open = threading.Event()
        self.open.set()
        super().__init__(self._handler())

    def expire_tokens(self) -> None:
        """Every token issued so far is now rejected with errcode 40001, as after WeChat's 7200 s."""
        with self._changed:
            self.valid_tokens.clear()

    def fail_next(self, errcode: int, errmsg: str) -> None:
        """The next message call answers this error (e.g. 45047 out of response count limit)."""
        with self._changed:
            self.failures.append({"errcode": errcode, "errmsg": errmsg})

    def token_fetches(self) -> int:
        return len([c for c in self.calls if c.path == "/cgi-bin/token"])

    def texts_to(self, openid: str) -> List[str]:
        """The texts the API accepted for `openid`, in order."""
        return [
            c.body["text"]["content"]
            for c in self.calls
            if c.path == "/cgi-bin/message/custom/send" and c.body.get("touser") == openid and c.answer["errcode"] == 0
        ]

    def wait_for_text(self, openid: str, match: Callable[[str], bool], timeout: float = 60) -> List[str]:
        """Every text sent to `openid` so far once one matches, or AssertionError after `timeout`."""

        def matching() -> List[str]:
            texts = self.texts_to(openid)
            return texts if any(match(t) for t in texts) else []

        return self.wait_until(matching, timeout, lambda: f"no matching text to {openid}; texts: {self.texts_to(openid)}")

    def _serve(self, path: str, params: Dict[str, str], body: Dict[str, Any]) -> Dict[str, Any]:
        if path.startswith("/cgi-bin/message/"):
            self.open.wait(60)
        with self._changed:
            answer = self._answer(path, params, body)
            self.calls.append(Call(path, params, body, {"errcode": 0, **answer}))
            self._changed.notify_all()
            return answer

    def _answer(self, path: str, params: Dict[str, str], body: Dict[str, Any]) -> Dict[str, Any]:
        if path == "/cgi-bin/token":
            if params.get("appid") != self.app_id or params.get("secret") != self.app_secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = f"token-{next(self._serial)}"
            self.valid_tokens.add(token)
            return {"access_token": token, "expires_in": 7200}
        if path not in ("/cgi-bin/message/custom/send", "/cgi-bin/message/template/send"):
            return {"errcode": 40066, "errmsg": "invalid url"}
        if params.get("access_token") not in self.valid_tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if self.failures:
            return self.failures.pop(0)
        if path.endswith("custom/send") and body.get("touser") in self.closed_windows:
            return {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
        return {"errcode": 0, "errmsg": "ok", **({"msgid": next(self._serial)} if "template" in path else {})}

    def _handler(self) -> type:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(b"")

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(self.rfile.read(int(self.headers.get("Content-Length", 0))))

            def _serve(self, raw: bytes) -> None:
                url = urlparse(self.path)
                params = {key: values[0] for key, values in parse_qs(url.query).items()}
                body = json.loads(raw.decode("utf-8")) if raw else {}
                data = json.dumps(fake._serve(url.path, params, body), ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json; encoding=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
