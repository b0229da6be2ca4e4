"""Text messages (SMS) to a patient's phone: the one-time codes that prove a ticket is theirs.

`SMS_SENDER` chooses how they leave: `log` (the default, for development and tests: nothing is sent,
a masked line is logged and the messages are kept in memory, bot/sms/log.py), `aliyun` (Alibaba Cloud SMS,
bot/sms/aliyun.py), `tencent` (Tencent Cloud SMS, bot/sms/tencent.py) or `http` (a gateway's generic HTTP
API, bot/sms/http.py). A hospital in production sets one of the last three.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Dict, Protocol, Sequence

from bot.settings import checked_secret

SENDERS = ("log", "aliyun", "tencent", "http")


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


def required_settings(sender: str, names: Sequence[str], secrets: Sequence[str] = ()) -> Dict[str, str]:
    """The environment variables `names` of `SMS_SENDER=sender`, all set; those in `secrets` also strong
    (bot/settings.py checked_secret). ValueError naming every missing one."""
    values = {name: os.environ.get(name, "").strip() for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ValueError(f"SMS_SENDER={sender} needs {', '.join(missing)}")
    for name in secrets:
        checked_secret(name, values[name])
    return values


def optional_setting(name: str, default: str) -> str:
    """The environment variable `name`, or `default` when it is unset or blank."""
    return os.environ.get(name, "").strip() or default


def api_url(name: str, default: str) -> str:
    """The provider's address from the environment variable `name` (tests point it at a fake), else `default`."""
    url = optional_setting(name, default)
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{name} must start with http:// or https://")
    return url


def from_environment() -> SmsSender:
    """The sender `SMS_SENDER` names (`log` when unset)."""
    choice = os.environ.get("SMS_SENDER", "").strip().lower() or "log"
    if choice == "log":
        from bot.sms.log import LogSmsSender

        return LogSmsSender()
    if choice == "http":
        from bot.sms.http import HttpSmsSender, HttpSmsSettings

        return HttpSmsSender(HttpSmsSettings.from_environment())
    if choice == "aliyun":
        from bot.sms.aliyun import AliyunSmsSender

        return AliyunSmsSender.from_environment()
    if choice == "tencent":
        from bot.sms.tencent import TencentSmsSender

        return TencentSmsSender.from_environment()
    raise ValueError(f"SMS_SENDER must be one of {SENDERS}, got {choice!r}")


@functools.lru_cache(maxsize=1)
def current() -> SmsSender:
    """The process's sender, made once from the environment."""
    return from_environment()
