"""Tencent Cloud SMS (腾讯云短信): action `SendSms` of API version 2021-01-11 at sms.tencentcloudapi.com,
signed with TC3-HMAC-SHA256 (signature v3).

Settings (environment): `SMS_ACCESS_KEY_ID`, `SMS_ACCESS_KEY_SECRET` (a CAM user's SecretId and SecretKey
with only `sms:SendSms`; the key 16+ characters, no placeholder), `SMS_SDK_APP_ID` (the SMS application,
SmsSdkAppId `1400…`), `SMS_SIGN_NAME` (the approved 签名), `SMS_TEMPLATE_ID` (the approved template's id,
whose variables `{1}` and `{2}` are the code and the minutes), `SMS_REGION` (`ap-guangzhou`),
`SMS_API_URL` (`https://sms.tencentcloudapi.com/`), `SMS_TIMEOUT_SECONDS` (5).

The request is a JSON POST `{"PhoneNumberSet": ["+8613812345678"], "SmsSdkAppId", "SignName", "TemplateId",
"TemplateParamSet": [code, minutes]}` with the headers X-TC-Action, X-TC-Version, X-TC-Timestamp,
X-TC-Region and `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<UTC date>/sms/tc3_request,
SignedHeaders=content-type;host, Signature=…` (`tc3_signature`). Tencent Cloud answers HTTP 200 with
`{"Response": {"SendStatusSet": [{"Code": "Ok", …}], "RequestId": …}}` when it took the message; an
`Error` in the Response (`AuthFailure.SignatureFailure`, `AuthFailure.SignatureExpire` …) or a status
whose Code is not `Ok` (`LimitExceeded.PhoneNumberDailyLimit` …) is an SmsError naming the code only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime, timezone
from typing import Any, Dict, Optional

import httpx

from bot import phone
from bot.sms import SmsError, SmsMessage
from bot.sms.cloud import CloudSmsSender, CloudSmsSettings, json_answer, post

log = logging.getLogger(__name__)

SERVICE = "sms"
ACTION = "SendSms"
API_VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host"
DEFAULT_URL = "https://sms.tencentcloudapi.com/"
DEFAULT_REGION = "ap-guangzhou"
SUCCESS = "Ok"
PROVIDER = "Tencent Cloud SMS"
# Mainland numbers in E.164, as PhoneNumberSet wants them.
COUNTRY_PREFIX = "+86"


def utc_date(unix_time: int) -> str:
    """The credential scope's date: the UTC day of the request's timestamp."""
    return datetime.fromtimestamp(unix_time, timezone.utc).strftime("%Y-%m-%d")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(secret_key: str, service: str, unix_time: int, host: str, content_type: str, payload: bytes) -> str:
    """The hex `Signature` of a POST to `/` on `host` with `payload`, signing the content-type and host headers."""
    canonical_request = "\n".join((
        "POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", SIGNED_HEADERS,
        hashlib.sha256(payload).hexdigest(),
    ))
    date = utc_date(unix_time)
    string_to_sign = "\n".join((
        ALGORITHM, str(unix_time), f"{date}/{service}/tc3_request",
        hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
    ))
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _refusal(answer: Dict[str, Any]) -> Optional[str]:
    """The error code of an answer that did not take the message, None when it took it."""
    response = answer.get("Response")
    if not isinstance(response, dict):
        return "no Response"
    if isinstance(response.get("Error"), dict):
        return str(response["Error"].get("Code") or "Error")
    statuses = response.get("SendStatusSet") or [{}]
    code = statuses[0].get("Code") if isinstance(statuses[0], dict) else None
    return None if code == SUCCESS else str(code or "no status")


class TencentSmsSender(CloudSmsSender):
    @classmethod
    def from_environment(cls) -> "TencentSmsSender":
        return cls(CloudSmsSettings.from_environment("tencent", DEFAULT_REGION, DEFAULT_URL, needs_app=True))

    def send(self, message: SmsMessage) -> None:
        settings = self._settings
        payload = json.dumps({
            "PhoneNumberSet": [COUNTRY_PREFIX + message.phone],
            "SmsSdkAppId": settings.sdk_app_id,
            "SignName": settings.sign_name,
            "TemplateId": settings.template_id,
            "TemplateParamSet": list(message.template_params.values()),
        }, ensure_ascii=False).encode("utf-8")
        unix_time = int(self._clock())
        host = httpx.URL(settings.url).netloc.decode("ascii")
        signature = tc3_signature(settings.secret, SERVICE, unix_time, host, CONTENT_TYPE, payload)
        headers = {
            "Authorization": f"{ALGORITHM} Credential={settings.key_id}/{utc_date(unix_time)}/{SERVICE}/tc3_request, "
                             f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(unix_time),
            "X-TC-Region": settings.region,
        }
        masked = phone.mask(message.phone)
        response = post(self._client, settings.url, PROVIDER, masked, content=payload, headers=headers)
        refusal = _refusal(json_answer(response))
        if refusal:
            raise SmsError(f"{PROVIDER} refused the message for {masked}: {refusal} (HTTP {response.status_code})")
        log.info("SMS handed to %s for %s", PROVIDER, masked)
