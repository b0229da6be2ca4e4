"""Text messages (SMS) to a patient's phone: the one-time codes that prove a ticket is theirs.

`SMS_SENDER` chooses how they leave: `log` (the default, for development and tests: nothing is sent,
a masked line is logged and the messages are kept in memory, bot/sms/log.py) or `http` (a provider's
or a gateway's HTTP API, bot/sms/http.py). A hospital in production sets `http`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Dict, Protocol

SENDERS = ("log", "http")


class SmsError(RuntimeError):
    """The message could not be handed to the provider (refused, unreachable, too slow)."""


@dataclass(frozen=True)
class SmsMessage:
    """One message: the phone it goes to, the provider template's parameters, and the whole text."""

    phone: str
    text: str
    template_params: Dict[str, str] = field(default_factory=dict)


class SmsSender(Protocol):
    def send(self, message: SmsMessage) -> None:
        """Hand the message over for delivery; SmsError when that fails."""


def from_environment() -> SmsSender:
    """The sender `SMS_SENDER` names (`log` when unset)."""
    choice = os.environ.get("SMS_SENDER", "").strip().lower() or "log"
    if choice == "log":
        from bot.sms.log import LogSmsSender

        return LogSmsSender()
    if choice == "http":
        from bot.sms.http import HttpSmsSender, HttpSmsSettings

        return HttpSmsSender(HttpSmsSettings.from_environment())
    raise ValueError(f"SMS_SENDER must be one of {SENDERS}, got {choice!r}")


@functools.lru_cache(maxsize=1)
def current() -> SmsSender:
    """The process's sender, made once from the environment."""
    return from_environment()
