"""The Alibaba Cloud and Tencent Cloud SMS senders against fakes on loopback that verify their signatures
(tests/fake_cloud_sms.py), the signing against the providers' published examples, and their settings."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Union

import pytest

from bot import sms
from bot.sms import aliyun, tencent
from bot.sms.cloud import CloudSmsSettings
from tests.fake_cloud_sms import CloudSmsFake, FakeAliyunSms, FakeTencentSms

KEY_ID = "LTAI5tTestKeyId0001"
SECRET = "k8Hq2ZtR0wXv5NfJ3bLp9sYc4GmDa7"
PHONE = "13812345678"
MESSAGE = sms.SmsMessage(PHONE, "您正在查询工单进度，验证码 482913，10 分钟内有效。", {"code": "482913", "minutes": "10"})
Sender = Union[aliyun.AliyunSmsSender, tencent.TencentSmsSender]


@dataclass
class Provider:
    fake: CloudSmsFake
    make: Callable[..., Sender]
    # What the fake received of MESSAGE's template parameters.
    sent_params: object
    bad_signature: str
    stale: str
    limit: str


def _aliyun(fake: CloudSmsFake) -> Provider:
    def make(secret: str = SECRET, clock: Callable[[], float] = time.time, timeout: float = 2.0) -> Sender:
        settings = CloudSmsSettings(KEY_ID, secret, "某某医院", "SMS_465870001", aliyun.DEFAULT_REGION, fake.url + "/",
                                    timeout=timeout)
        return aliyun.AliyunSmsSender(settings, clock=clock)

    return Provider(fake, make, {"code": "482913", "minutes": "10"}, "SignatureDoesNotMatch", "InvalidTimeStamp.Expired",
                    "isv.BUSINESS_LIMIT_CONTROL")


def _tencent(fake: CloudSmsFake) -> Provider:
    def make(secret: str = SECRET, clock: Callable[[], float] = time.time, timeout: float = 2.0) -> Sender:
        settings = CloudSmsSettings(KEY_ID, secret, "某某医院", "1907520", tencent.DEFAULT_REGION, fake.url + "/",
                                    sdk_app_id="1400787001", timeout=timeout)
        return tencent.TencentSmsSender(settings, clock=clock)

    return Provider(fake, make, ["482913", "10"], "AuthFailure.SignatureFailure", "AuthFailure.SignatureExpire",
                    "LimitExceeded.PhoneNumberDailyLimit")


@pytest.fixture(params=["aliyun", "tencent"])
def provider(request: pytest.FixtureRequest) -> Iterator[Provider]:
    fake_class, describe = {"aliyun": (FakeAliyunSms, _aliyun), "tencent": (FakeTencentSms, _tencent)}[request.param]
    fake = fake_class(KEY_ID, SECRET).start()
    try:
        yield describe(fake)
    finally:
        fake.stop()


def test_alibaba_signature_v1_matches_the_published_example() -> None:
    # Alibaba Cloud's signature documentation: DescribeRegions with AccessKey testid / testsecret.
    params = {
        "TimeStamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid", "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26", "SignatureVersion": "1.0",
    }
    assert aliyun.rpc_signature("testsecret", "GET", params) == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_tencent_tc3_signature_matches_the_published_example() -> None:
    # Tencent Cloud's "Signature v3" documentation: CVM DescribeInstances at 1551113065.
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    signature = tencent.tc3_signature(
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", 1551113065, "cvm.tencentcloudapi.com",
        "application/json; charset=utf-8", payload,
    )
    assert signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def test_a_code_reaches_the_provider_signed_with_the_template_and_its_parameters(provider: Provider) -> None:
    sender = provider.make()
    sender.send(MESSAGE)
    sender.send(MESSAGE)  # a fresh nonce and signature each time: the fake refuses a replay
    assert len(provider.fake.messages) == 2
    received = provider.fake.messages[0]
    assert received["phone"] == PHONE and received["sign_name"] == "某某医院"
    assert received["template_params"] == provider.sent_params
    assert provider.fake.code_sent_to(PHONE) == "482913"


def test_the_template_region_and_sms_app_reach_the_provider(provider: Provider) -> None:
    provider.make().send(MESSAGE)
    received = provider.fake.messages[0]
    if isinstance(provider.fake, FakeTencentSms):
        assert (received["app"], received["template"], received["region"]) == ("1400787001", "1907520", "ap-guangzhou")
    else:
        assert (received["template"], received["region"]) == ("SMS_465870001", "cn-hangzhou")


def _refused(provider: Provider, sender: Sender, caplog: pytest.LogCaptureFixture) -> str:
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(sms.SmsError) as error:
            sender.send(MESSAGE)
    assert provider.fake.messages == []
    assert PHONE not in str(error.value) and PHONE not in caplog.text, "the number stays out of errors and logs"
    assert "138****5678" in str(error.value)
    return str(error.value)


def test_a_wrong_secret_is_refused_by_the_signature_check(provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    assert provider.bad_signature in _refused(provider, provider.make(secret=SECRET[::-1]), caplog)


def test_a_stale_timestamp_is_refused(provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    late = provider.make(clock=lambda: time.time() - 20 * 60)
    assert provider.stale in _refused(provider, late, caplog)


def test_a_provider_limit_is_an_sms_error_without_the_number(provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    provider.fake.refuse_with = provider.limit
    assert provider.limit in _refused(provider, provider.make(), caplog)


def test_a_slow_provider_is_an_sms_error_after_the_timeout(provider: Provider) -> None:
    provider.fake.delay = 1.0
    with pytest.raises(sms.SmsError, match="unreachable"):
        provider.make(timeout=0.3).send(MESSAGE)


@pytest.mark.parametrize("choice", ["aliyun", "tencent"])
def test_sms_sender_by_environment_needs_its_settings_and_a_strong_secret(
    monkeypatch: pytest.MonkeyPatch, choice: str
) -> None:
    fake = (FakeAliyunSms if choice == "aliyun" else FakeTencentSms)(KEY_ID, SECRET).start()
    try:
        monkeypatch.setenv("SMS_SENDER", choice)
        for name in ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SDK_APP_ID", "SMS_SIGN_NAME", "SMS_TEMPLATE_ID",
                     "SMS_REGION", "SMS_API_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SMS_ACCESS_KEY_ID", KEY_ID)
        with pytest.raises(ValueError, match="SMS_ACCESS_KEY_SECRET"):
            sms.from_environment()
        monkeypatch.setenv("SMS_SIGN_NAME", "某某医院")
        monkeypatch.setenv("SMS_TEMPLATE_ID", "SMS_465870001" if choice == "aliyun" else "1907520")
        monkeypatch.setenv("SMS_SDK_APP_ID", "1400787001")
        for weak in ("UNSET", "<access-key-secret>", "short-secret"):
            monkeypatch.setenv("SMS_ACCESS_KEY_SECRET", weak)
            with pytest.raises(ValueError, match="SMS_ACCESS_KEY_SECRET"):
                sms.from_environment()
        monkeypatch.setenv("SMS_ACCESS_KEY_SECRET", SECRET)
        monkeypatch.setenv("SMS_API_URL", fake.url + "/")
        sms.from_environment().send(MESSAGE)
        assert fake.code_sent_to(PHONE) == "482913"
        monkeypatch.setenv("SMS_API_URL", "ftp://sms.example")
        with pytest.raises(ValueError, match="SMS_API_URL"):
            sms.from_environment()
    finally:
        fake.stop()


def test_tencent_needs_its_sms_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_SENDER", "tencent")
    for name, value in (("SMS_ACCESS_KEY_ID", KEY_ID), ("SMS_ACCESS_KEY_SECRET", SECRET), ("SMS_SIGN_NAME", "某某医院"),
                        ("SMS_TEMPLATE_ID", "1907520")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMS_SDK_APP_ID", raising=False)
    with pytest.raises(ValueError, match="SMS_SDK_APP_ID"):
        sms.from_environment()
