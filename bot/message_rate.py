"""Patient message rates per conversation and per client, in this Rasa process.

A client that sends faster than a person types (a script flooding the queue with handoffs) gets a
sentence asking it to slow down, and its messages do not reach Rasa. Limits (environment), per channel:

- the widget (Socket.IO) and Telegram: `MESSAGES_PER_MINUTE_PER_CONVERSATION` (20) and
  `MESSAGES_PER_MINUTE_PER_CLIENT` (60; patients on a mobile network may share an address);
- REST, which only the hospital's own integrations reach (one address relays many patients):
  `REST_MESSAGES_PER_MINUTE_PER_CONVERSATION` (120) and `REST_MESSAGES_PER_MINUTE_PER_CLIENT` (1200).

The count is kept in memory: nginx sends one client's widget traffic to one instance (sticky by
address), and its own limit_req bounds every client before that (deploy/nginx/).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Deque, Dict, Optional

from bot.settings import positive_number

WINDOW_SECONDS = 60.0
MAX_TRACKED_KEYS = 100_000
REST_SETTINGS = "REST_"


class MessageRate:
    """A sliding one-minute window of message times per key.

    `settings` prefixes the names of the two limits' environment variables (`REST_` for REST)."""

    def __init__(self, settings: str = "", per_conversation: float = 20, per_client: float = 60) -> None:
        self._times: Dict[str, Deque[float]] = {}
        self._lock = threading.Lock()
        self._settings = settings
        self._defaults = {"CONVERSATION": per_conversation, "CLIENT": per_client}

    @classmethod
    def for_rest(cls) -> "MessageRate":
        return cls(REST_SETTINGS, per_conversation=120, per_client=1200)

    def _limit(self, of: str) -> float:
        return positive_number(f"{self._settings}MESSAGES_PER_MINUTE_PER_{of}", self._defaults[of])

    def allow(self, conversation: str, client: Optional[str], now: Optional[float] = None) -> bool:
        """Count a message; False when its conversation or client is over its limit (the message is refused)."""
        now = time.monotonic() if now is None else now
        limits = {f"conversation:{conversation}": self._limit("CONVERSATION")}
        if client:
            limits[f"client:{client}"] = self._limit("CLIENT")
        with self._lock:
            if len(self._times) > MAX_TRACKED_KEYS:
                self._forget_idle(now)
            windows = {key: self._window(key, now) for key in limits}
            if any(len(windows[key]) >= limit for key, limit in limits.items()):
                return False
            for window in windows.values():
                window.append(now)
            return True

    def _window(self, key: str, now: float) -> Deque[float]:
        window = self._times.setdefault(key, deque())
        while window and window[0] <= now - WINDOW_SECONDS:
            window.popleft()
        return window

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, w in self._times.items() if not w or w[-1] <= now - WINDOW_SECONDS]:
            del self._times[key]
