"""What the provider senders share: their settings from the environment, one POST that turns a network
error or a timeout into an SmsError, and reading the provider's JSON answer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import httpx

from bot.settings import positive_number
from bot.sms import SmsError, api_url, optional_setting, required_settings

DEFAULT_TIMEOUT_SECONDS = 5.0
REQUIRED = ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_TEMPLATE_ID")


@dataclass(frozen=True)
class CloudSmsSettings:
    """A cloud provider's account and approved message: `SMS_ACCESS_KEY_ID` and `SMS_ACCESS_KEY_SECRET` (the
    AccessKey or SecretId/SecretKey; the secret checked like the other secrets), `SMS_SIGN_NAME` (短信签名),
    `SMS_TEMPLATE_ID` (模板), `SMS_REGION`, `SMS_API_URL` (tests point it at a fake), `SMS_SDK_APP_ID` (Tencent's
    SMS application), `SMS_TIMEOUT_SECONDS` (5)."""

    key_id: str
    secret: str
    sign_name: str
    template_id: str
    region: str
    url: str
    sdk_app_id: str = ""
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_environment(cls, sender: str, region: str, url: str, needs_app: bool = False) -> "CloudSmsSettings":
        """The settings of `SMS_SENDER=sender`, with its default region and API address."""
        values = required_settings(
            sender, REQUIRED + (("SMS_SDK_APP_ID",) if needs_app else ()), secrets=("SMS_ACCESS_KEY_SECRET",)
        )
        return cls(
            key_id=values["SMS_ACCESS_KEY_ID"],
            secret=values["SMS_ACCESS_KEY_SECRET"],
            sign_name=values["SMS_SIGN_NAME"],
            template_id=values["SMS_TEMPLATE_ID"],
            region=optional_setting("SMS_REGION", region),
            url=api_url("SMS_API_URL", url),
            sdk_app_id=values.get("SMS_SDK_APP_ID", ""),
            timeout=positive_number("SMS_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS),
        )


class CloudSmsSender:
    """A provider sender's state: its settings, `clock` (the request's Unix time; tests make it late) and an
    HTTP client (`transport` replaces the network in tests)."""

    def __init__(
        self,
        settings: CloudSmsSettings,
        clock: Callable[[], float] = time.time,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._client = httpx.Client(timeout=settings.timeout, transport=transport)


def post(client: httpx.Client, url: str, provider: str, masked_phone: str, **request: Any) -> httpx.Response:
    """POST `request` to `url`; SmsError when `provider` cannot be reached or does not answer in time."""
    try:
        return client.post(url, **request)
    except httpx.HTTPError as error:
        raise SmsError(f"{provider} unreachable for {masked_phone}: {type(error).__name__}") from error


def json_answer(response: httpx.Response) -> Dict[str, Any]:
    """The answer's JSON object, or {} when it is not one (a proxy's error page)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
