"""The shared part of the fake external APIs (tests/fake_telegram.py, tests/fake_wechat.py): an HTTP server
on a free loopback port in a thread, and waiting until the calls it recorded satisfy a test."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Type, TypeVar

T = TypeVar("T")
Self = TypeVar("Self", bound="LoopbackApi")


class LoopbackApi:
    """A fake API server; subclasses record calls under `self._changed` and call `notify()` after each."""

    def __init__(self, handler: Type[BaseHTTPRequestHandler]) -> None:
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self: Self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_until(self, found: Callable[[], T], timeout: float, what: Callable[[], str]) -> T:
        """`found()` once it is truthy (checked after every recorded call), or AssertionError naming `what()`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = found()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{what()} within {timeout} s")
                self._changed.wait(remaining)


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    """Answer the request `handler` serves with `payload` as JSON."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
