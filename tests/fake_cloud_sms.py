"""Local stand-ins for Alibaba Cloud SMS (dysmsapi SendSms) and Tencent Cloud SMS (SendSms 2021-01-11) that
speak their protocols: they recompute and verify each request's signature with their own secret, refuse
a wrong secret, an unknown key, a stale timestamp or a reused nonce as the real APIs do, and answer with
the providers' success and error bodies.

The signature primitives are bot/sms's (`rpc_signature`, `tc3_signature`, checked against the providers'
published examples in tests/test_sms_providers.py); what the fakes verify is the request the sender
assembles: which parameters, headers, host and body it signs and sends. `refuse_with` makes them refuse a
message with a provider error code, `delay` answer slowly. Each accepted message is recorded as
{"phone", "sign_name", "template", "template_params" (as sent: named for Alibaba, a list for Tencent),
"code", "region"} and for Tencent "app" (the SmsSdkAppId).
"""

from __future__ import annotations

import hmac
import json
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Set, Tuple
from urllib.parse import parse_qsl, urlsplit

from bot.sms import aliyun, tencent
from tests.fake_sms import SmsRecorder

Answer = Tuple[int, Dict[str, Any]]


class CloudSmsFake(SmsRecorder):
    """What both fakes share: the key pair they accept, the messages they took, and the knobs of a test."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id = key_id
        self.secret = secret
        self.refuse_with: Optional[str] = None
        super().__init__()

    @staticmethod
    def code_of(message: Dict[str, Any]) -> str:
        return message["code"]


class FakeAliyunSms(CloudSmsFake):
    """dysmsapi: form parameters signed with HMAC-SHA1 (signature v1); a Timestamp more than 15 minutes
    off and a SignatureNonce seen before are refused."""

    MAX_SKEW_SECONDS = 15 * 60

    def __init__(self, key_id: str, secret: str) -> None:
        self._nonces: Set[str] = set()
        super().__init__(key_id, secret)

    @staticmethod
    def _error(status: int, code: str, message: str) -> Answer:
        return status, {"RequestId": str(uuid.uuid4()).upper(), "HostId": "dysmsapi.aliyuncs.com", "Code": code,
                        "Message": message, "Recommend": "https://api.aliyun.com/troubleshoot"}

    def answer(self, headers: Mapping[str, str], path: str, body: bytes) -> Answer:
        params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        given = params.pop("Signature", "")
        if params.get("AccessKeyId") != self.key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        try:
            sent_at = datetime.strptime(params.get("Timestamp", ""), aliyun.TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs(time.time() - sent_at.timestamp()) > self.MAX_SKEW_SECONDS:
            return self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        expected = aliyun.rpc_signature(self.secret, "POST", params)
        if not hmac.compare_digest(given, expected):
            canonical = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            return self._error(400, "SignatureDoesNotMatch",
                               f"Specified signature is not matched with our calculation. server string to sign is:POST&/&{canonical}")
        if params.get("SignatureNonce", "") in self._nonces:
            return self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        self._nonces.add(params["SignatureNonce"])
        if (params.get("Action"), params.get("Version")) != ("SendSms", aliyun.API_VERSION):
            return self._error(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        request_id = str(uuid.uuid4()).upper()
        if self.refuse_with:
            return 200, {"Message": "触发分钟级流控Permits:1", "RequestId": request_id, "Code": self.refuse_with}
        template_params = json.loads(params["TemplateParam"])
        self.record({
            "phone": params["PhoneNumbers"], "sign_name": params["SignName"], "template": params["TemplateCode"],
            "template_params": template_params, "code": template_params.get("code"), "region": params["RegionId"],
        })
        return 200, {"Message": "OK", "RequestId": request_id, "Code": "OK", "BizId": f"{int(time.time())}^0"}


class FakeTencentSms(CloudSmsFake):
    """sms.tencentcloudapi.com: a JSON body signed with TC3-HMAC-SHA256; a timestamp more than 5 minutes off
    is refused. Every answer is HTTP 200 with a `Response`."""

    MAX_SKEW_SECONDS = 5 * 60
    _AUTHORIZATION = re.compile(
        r"^TC3-HMAC-SHA256 Credential=(?P<key_id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
        r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
    )

    @staticmethod
    def _error(code: str, message: str) -> Answer:
        return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}

    def answer(self, headers: Mapping[str, str], path: str, body: bytes) -> Answer:
        match = self._AUTHORIZATION.match(headers.get("Authorization", ""))
        if not match or match["signed"] != tencent.SIGNED_HEADERS or match["service"] != tencent.SERVICE:
            return self._error("AuthFailure.InvalidAuthorization", "Authorization is invalid.")
        if match["key_id"] != self.key_id:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct.")
        sent_at = int(headers.get("X-TC-Timestamp") or 0)
        if abs(time.time() - sent_at) > self.MAX_SKEW_SECONDS:
            return self._error("AuthFailure.SignatureExpire", "Signature expired. Timestamp and server time cannot differ by more than five minutes.")
        expected = tencent.tc3_signature(
            self.secret, match["service"], sent_at, headers.get("Host", ""), headers.get("Content-Type", ""), body
        )
        if match["date"] != tencent.utc_date(sent_at) or not hmac.compare_digest(match["signature"], expected):
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.")
        if (headers.get("X-TC-Action"), headers.get("X-TC-Version")) != (tencent.ACTION, tencent.API_VERSION):
            return self._error("InvalidAction", "The requested action does not exist.")
        request = json.loads(body)
        number = request["PhoneNumberSet"][0]
        status = {"SerialNo": f"2645:{uuid.uuid4().int % 10**28}", "PhoneNumber": number, "Fee": 1, "SessionContext": "",
                  "Code": "Ok", "Message": "send success", "IsoCode": "CN"}
        if self.refuse_with:
            status.update(SerialNo="", Fee=0, Code=self.refuse_with,
                          Message=f"the number of sms messages sent from a single mobile number {number} every day exceeds the upper limit")
        else:
            self.record({
                "phone": number.removeprefix("+86"), "sign_name": request["SignName"], "template": request["TemplateId"],
                "template_params": request["TemplateParamSet"], "code": request["TemplateParamSet"][0],
                "app": request["SmsSdkAppId"], "region": headers.get("X-TC-Region"),
            })
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": str(uuid.uuid4())}}
