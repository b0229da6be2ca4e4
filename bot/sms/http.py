"""The HTTP sender: one JSON POST per message to the hospital's SMS provider or gateway.

Settings (environment): `SMS_PROVIDER_URL` (http or https), `SMS_API_KEY` (sent as
`Authorization: Bearer …`; 16+ characters, no placeholder), `SMS_SIGN_NAME` (the approved signature,
短信签名), `SMS_TEMPLATE_ID` (the approved template, 模板), `SMS_TIMEOUT_SECONDS` (5). The body:

    {"phone": "13812345678", "sign_name": "…", "template_id": "…",
     "template_params": {"code": "123456", "minutes": "10"}, "text": "…"}

Any 2xx answer means the provider took the message; anything else, a network error or no answer
within the timeout is an SmsError, so the patient is told it could not be sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import httpx

from bot import phone
from bot.settings import positive_number
from bot.sms import SmsError, SmsMessage, api_url, required_settings
from bot.sms.cloud import post

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0
REQUIRED = ("SMS_PROVIDER_URL", "SMS_API_KEY", "SMS_SIGN_NAME", "SMS_TEMPLATE_ID")


@dataclass(frozen=True)
class HttpSmsSettings:
    url: str
    api_key: str
    sign_name: str
    template_id: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_environment(cls) -> "HttpSmsSettings":
        values = required_settings("http", REQUIRED, secrets=("SMS_API_KEY",))
        return cls(
            url=api_url("SMS_PROVIDER_URL", values["SMS_PROVIDER_URL"]),
            api_key=values["SMS_API_KEY"],
            sign_name=values["SMS_SIGN_NAME"],
            template_id=values["SMS_TEMPLATE_ID"],
            timeout=positive_number("SMS_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS),
        )


class HttpSmsSender:
    def __init__(self, settings: HttpSmsSettings, transport: Optional[httpx.BaseTransport] = None) -> None:
        self._settings = settings
        self._client = httpx.Client(
            timeout=settings.timeout,
            headers={"Authorization": f"Bearer {settings.api_key}"},
            transport=transport,
        )

    def send(self, message: SmsMessage) -> None:
        body = {
            "phone": message.phone,
            "sign_name": self._settings.sign_name,
            "template_id": self._settings.template_id,
            "template_params": message.template_params,
            "text": message.text,
        }
        masked = phone.mask(message.phone)
        response = post(self._client, self._settings.url, "SMS provider", masked, json=body)
        if not response.is_success:
            raise SmsError(f"SMS provider refused the message for {masked}: HTTP {response.status_code}")
        log.info("SMS handed to the provider for %s", masked)
