"""Alibaba Cloud SMS (阿里云短信服务, dysmsapi): action `SendSms` of API version 2017-05-25, signed with the
RPC-style signature v1 (HMAC-SHA1).

Settings (environment): `SMS_ACCESS_KEY_ID`, `SMS_ACCESS_KEY_SECRET` (a RAM user's AccessKey with only
`dysms:SendSms`; the secret 16+ characters, no placeholder), `SMS_SIGN_NAME` (the approved 短信签名),
`SMS_TEMPLATE_ID` (the approved template code, `SMS_…`, whose variables are `${code}` and `${minutes}`),
`SMS_REGION` (`cn-hangzhou`), `SMS_API_URL` (`https://dysmsapi.aliyuncs.com/`), `SMS_TIMEOUT_SECONDS` (5).

The request is a form POST of the common parameters (AccessKeyId, Action, Format, RegionId,
SignatureMethod, SignatureNonce, SignatureVersion, Timestamp, Version), PhoneNumbers, SignName,
TemplateCode and TemplateParam (the message's template parameters as JSON), plus `Signature`: Base64 of
HMAC-SHA1, keyed with the secret and `&`, over `POST&%2F&` and the percent-encoded sorted parameters
(`rpc_signature`). Alibaba Cloud answers `{"Code": "OK", "BizId": …, "RequestId": …}` when it took the
message; any other `Code` (`isv.BUSINESS_LIMIT_CONTROL`, `SignatureDoesNotMatch`,
`InvalidTimeStamp.Expired` …) is an SmsError naming the code, never the provider's `Message` (a
signature error quotes the signed parameters, the phone among them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime, timezone
from typing import Dict, Mapping
from urllib.parse import quote

import httpx

from bot import phone
from bot.sms import SmsError, SmsMessage
from bot.sms.cloud import CloudSmsSender, CloudSmsSettings, json_answer, post

log = logging.getLogger(__name__)

API_VERSION = "2017-05-25"
DEFAULT_URL = "https://dysmsapi.aliyuncs.com/"
DEFAULT_REGION = "cn-hangzhou"
SUCCESS = "OK"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
PROVIDER = "Alibaba Cloud SMS"


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of the UTF-8 bytes: only A-Z a-z 0-9 - _ . ~ stay as they are (a space is %20)."""
    return quote(value, safe="~")


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """The `Signature` of a request with `params` (all but Signature itself)."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def timestamp(unix_time: float) -> str:
    """ISO 8601 in UTC to the second, as the RPC `Timestamp` parameter wants it: 2026-12-07T12:00:00Z."""
    return datetime.fromtimestamp(unix_time, timezone.utc).strftime(TIMESTAMP_FORMAT)


class AliyunSmsSender(CloudSmsSender):
    @classmethod
    def from_environment(cls) -> "AliyunSmsSender":
        return cls(CloudSmsSettings.from_environment("aliyun", DEFAULT_REGION, DEFAULT_URL))

    def request_params(self, message: SmsMessage) -> Dict[str, str]:
        """The signed form parameters of one SendSms request for `message`."""
        settings = self._settings
        params = {
            "AccessKeyId": settings.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": settings.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": timestamp(self._clock()),
            "Version": API_VERSION,
            "PhoneNumbers": message.phone,
            "SignName": settings.sign_name,
            "TemplateCode": settings.template_id,
            "TemplateParam": json.dumps(message.template_params, ensure_ascii=False, separators=(",", ":")),
        }
        return {**params, "Signature": rpc_signature(settings.secret, "POST", params)}

    def send(self, message: SmsMessage) -> None:
        masked = phone.mask(message.phone)
        response = post(self._client, self._settings.url, PROVIDER, masked, data=self.request_params(message))
        code = json_answer(response).get("Code")
        if code != SUCCESS:
            raise SmsError(f"{PROVIDER} refused the message for {masked}: {code or 'no code'} (HTTP {response.status_code})")
        log.info("SMS handed to %s for %s", PROVIDER, masked)
