"""The WeChat channel's pieces without Rasa: configuration, the API client against a fake WeChat API
(shared token, refresh, errors, the 48-hour window), numbered choices, and delivery identities."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from typing import Iterator

import pytest
from rasa.shared.exceptions import RasaException
from wechatpy import parse_message
from wechatpy.exceptions import WeChatClientException

from bot import channel_state, reply_window, service_texts
from bot.channels import wechat
from bot.channels.wechat import WeChatConfig, WeChatInput, WeChatOutput
from bot.store import migrate
from bot.store.models import utcnow
from tests.conftest import ROOT
from tests.fake_wechat import FakeWeChat
from tests.wechat_messages import APP_ID, APP_SECRET, ENCODING_AES_KEY, WECHAT_TOKEN, event_xml, text_xml


@pytest.fixture()
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'wechat.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture()
def fake() -> Iterator[FakeWeChat]:
    server = FakeWeChat(APP_ID, APP_SECRET).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def wechat_env(monkeypatch: pytest.MonkeyPatch, fake: FakeWeChat) -> None:
    monkeypatch.setenv("WECHAT_TOKEN", WECHAT_TOKEN)
    monkeypatch.setenv("WECHAT_APP_ID", APP_ID)
    monkeypatch.setenv("WECHAT_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WECHAT_API_BASE", fake.url)
    monkeypatch.delenv("WECHAT_ENCODING_AES_KEY", raising=False)
    monkeypatch.delenv("WECHAT_TEMPLATE_ID", raising=False)


def output() -> WeChatOutput:
    config = WeChatConfig.from_env()
    assert config is not None
    return WeChatOutput(config, config.client())


def test_without_a_token_the_channel_is_off_and_has_no_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WECHAT_TOKEN", raising=False)
    channel = WeChatInput.from_credentials(None)
    assert channel.name() == "wechat"
    assert channel.get_output_channel() is None


@pytest.mark.parametrize("missing", ["WECHAT_APP_ID", "WECHAT_APP_SECRET"])
def test_a_token_without_the_app_credentials_refuses_to_start(wechat_env: None, monkeypatch, missing: str) -> None:
    monkeypatch.setenv(missing, "  ")
    with pytest.raises(RasaException, match="WECHAT_APP_ID and WECHAT_APP_SECRET"):
        WeChatInput.from_credentials(None)


@pytest.mark.parametrize("key", ["short", ENCODING_AES_KEY + "x", ENCODING_AES_KEY[:-1] + "!"])
def test_a_malformed_aes_key_refuses_to_start(wechat_env: None, monkeypatch, key: str) -> None:
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", key)
    with pytest.raises(RasaException, match="WECHAT_ENCODING_AES_KEY"):
        WeChatInput.from_credentials(None)


def test_the_access_token_is_fetched_once_and_shared_by_every_client(database, fake: FakeWeChat, wechat_env) -> None:
    first, second = output(), output()
    first.deliver("patient-a", "第一条")
    second.deliver("patient-b", "第二条")
    first.deliver("patient-a", "第三条")
    assert fake.token_fetches() == 1
    tokens = {c.params["access_token"] for c in fake.calls if c.path.endswith("custom/send")}
    assert tokens == {"token-1"}
    assert fake.texts_to("patient-a") == ["第一条", "第三条"]


def test_an_expired_token_is_refreshed_and_the_message_sent_once(database, fake: FakeWeChat, wechat_env) -> None:
    sender = output()
    sender.deliver("patient-a", "您好")
    fake.expire_tokens()
    output().deliver("patient-a", "换了令牌以后")
    assert fake.token_fetches() == 2
    assert fake.texts_to("patient-a") == ["您好", "换了令牌以后"]
    # The new token is the shared one: another instance uses it without fetching again.
    output().deliver("patient-a", "第三条")
    assert fake.token_fetches() == 2


def test_a_token_is_fetched_again_before_it_expires(database, fake: FakeWeChat, wechat_env) -> None:
    output().deliver("patient-a", "您好")
    key = "wechat:" + output().client.access_token_key
    assert channel_state.expiry(key) is not None
    assert channel_state.expiry(key, now=utcnow() + timedelta(seconds=7200 - 299)) is None
    assert channel_state.get(key, now=utcnow() + timedelta(seconds=6000)) is not None


def test_an_api_error_is_raised_to_the_caller(database, fake: FakeWeChat, wechat_env) -> None:
    fake.fail_next(45047, "out of response count limit")
    with pytest.raises(WeChatClientException) as error:
        output().deliver("patient-a", "您好")
    assert error.value.errcode == 45047


def test_outside_the_window_a_message_waits_for_the_patient_and_a_template_tells_them(
    database, fake: FakeWeChat, wechat_env, monkeypatch
) -> None:
    monkeypatch.setenv("WECHAT_TEMPLATE_ID", "tmpl-notice")
    fake.closed_windows.add("patient-a")
    output().deliver("patient-a", "您的复查时间已经安排好了")
    [template] = [c.body for c in fake.calls if c.path.endswith("template/send")]
    assert template["touser"] == "patient-a" and template["template_id"] == "tmpl-notice"
    assert template["data"] == {"thing1": {"value": service_texts.text("wechat.template_notice")}}
    assert len(service_texts.text("wechat.template_notice")) <= 20
    fake.closed_windows.clear()
    output().deliver_pending("patient-a")
    assert fake.texts_to("patient-a") == ["您的复查时间已经安排好了"]
    output().deliver_pending("patient-a")
    assert fake.texts_to("patient-a") == ["您的复查时间已经安排好了"]


def test_buttons_become_numbered_choices_the_number_answers(database, fake: FakeWeChat, wechat_env) -> None:
    buttons = [{"title": "是的", "payload": "/affirm"}, {"title": "不是", "payload": "/deny"}]
    asyncio.run(output().send_text_with_buttons("patient-a", "您做的是双眼皮吗？", buttons))
    [sent] = fake.texts_to("patient-a")
    assert sent.splitlines()[:4] == ["您做的是双眼皮吗？", "", "1. 是的", "2. 不是"]
    assert sent.endswith(service_texts.text("wechat.choices_hint"))
    assert wechat._answer_to_choice("patient-a", "3") == ("3", service_texts.text("wechat.no_such_choice", count=2))
    assert wechat._answer_to_choice("patient-a", " 2。") == ("/deny", None)
    # A choice is answered once; a later "1" is just text.
    assert wechat._answer_to_choice("patient-a", "1") == ("1", None)


def test_text_after_choices_is_text_and_ends_them(database, fake: FakeWeChat, wechat_env) -> None:
    asyncio.run(output().send_text_with_buttons("patient-a", "请选择", [{"title": "是的", "payload": "/affirm"}]))
    assert wechat._answer_to_choice("patient-a", "我想问价格") == ("我想问价格", None)
    assert wechat._answer_to_choice("patient-a", "1") == ("1", None)


def test_a_long_answer_is_split_into_messages_wechat_accepts(database, fake: FakeWeChat, wechat_env) -> None:
    text = "术后护理说明。" * 500
    asyncio.run(output().send_text_message("patient-a", text))
    parts = fake.texts_to("patient-a")
    assert len(parts) > 1
    assert all(len(part.encode("utf-8")) <= 2048 for part in parts)
    assert "".join(parts) == text


def test_deliveries_are_identified_by_msgid_and_events_by_sender_and_time(database) -> None:
    message = parse_message(text_xml("o-1", "你好", msg_id=777))
    again = parse_message(text_xml("o-1", "你好", msg_id=777))
    subscribe = parse_message(event_xml("o-1", "subscribe", create_time=1700000000))
    assert wechat.delivery_key(message) == wechat.delivery_key(again) == "wechat:msg:777"
    assert wechat.delivery_key(subscribe) == "wechat:event:o-1:1700000000:subscribe"
    assert channel_state.claim(wechat.delivery_key(message), wechat.DELIVERY_MEMORY)
    assert not channel_state.claim(wechat.delivery_key(again), wechat.DELIVERY_MEMORY)
    later = utcnow() + wechat.DELIVERY_MEMORY + timedelta(seconds=1)
    assert channel_state.claim(wechat.delivery_key(again), wechat.DELIVERY_MEMORY, now=later)


def test_the_reply_window_is_48_hours_from_the_last_interaction_on_wechat_only(database) -> None:
    start = utcnow()
    assert not reply_window.is_open("wechat", "o-2", now=start)
    reply_window.record_interaction("wechat", "o-2", now=start)
    assert reply_window.is_open("wechat", "o-2", now=start + timedelta(hours=47, minutes=59))
    assert not reply_window.is_open("wechat", "o-2", now=start + timedelta(hours=48, seconds=1))
    assert reply_window.is_open("telegram", "12345", now=start + timedelta(days=30))


def test_a_delivery_handled_before_a_restart_is_recognised_after_it(database: str) -> None:
    key = wechat.delivery_key(parse_message(text_xml("o-3", "我想退款", msg_id=4242)))
    code = f"from bot import channel_state; from bot.channels import wechat; print(channel_state.claim({key!r}, wechat.DELIVERY_MEMORY))"

    def claim_in_a_new_process() -> str:
        env = dict(os.environ, DATABASE_URL=database)
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert claim_in_a_new_process() == "True"
    assert claim_in_a_new_process() == "False"
