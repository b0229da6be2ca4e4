"""WeChat as a patient meets it: WeChat's signed pushes posted to Rasa's webhook, answers through a fake
WeChat API as customer-service messages, and a staff member replying from the console."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import List

import pytest

from bot import privacy, reply_window, service_texts
from bot.store.models import utcnow
from tests.conftest import RunningSystem, post_json
from tests.fake_wechat import FakeWeChat
from tests.wechat_messages import (
    WECHAT_TOKEN,
    encrypted,
    event_xml,
    get,
    message_xml,
    msg_id,
    openid,
    post,
    signature,
    signed_query,
    text_xml,
)

EMERGENCY = "伤口一直流血止不住"


def settled(fake: FakeWeChat, patient: str, quiet: float = 4) -> List[str]:
    """The texts sent to `patient` once nothing new has arrived for `quiet` seconds."""
    texts = fake.texts_to(patient)
    while True:
        time.sleep(quiet)
        now = fake.texts_to(patient)
        if now == texts:
            return texts
        texts = now


def has(*words: str):
    return lambda text: all(word in text for word in words)


def test_server_verification_echoes_echostr_only_with_the_right_signature(system: RunningSystem) -> None:
    assert get(system.rasa_url, signed_query(echostr="echo-1234")) == (200, "echo-1234")
    status, _ = get(system.rasa_url, signed_query(token="someone-else", echostr="echo-1234"))
    assert status == 403


def test_an_emergency_is_acknowledged_at_once_and_answered_by_customer_service_message(
    system: RunningSystem, fake_wechat: FakeWeChat
) -> None:
    patient = openid()
    # The API holds every message call: `success` must not wait for the answer (how fast: bench/wechat.py).
    fake_wechat.open.clear()
    try:
        status, body, _ = post(system.rasa_url, text_xml(patient, EMERGENCY), signed_query())
        assert (status, body) == (200, "success")
        assert fake_wechat.texts_to(patient) == []
    finally:
        fake_wechat.open.set()
    fake_wechat.wait_for_text(patient, has("120"))


def test_a_forged_signature_is_refused_and_nothing_is_answered(system: RunningSystem, fake_wechat: FakeWeChat) -> None:
    patient = openid()
    status, _, _ = post(system.rasa_url, text_xml(patient, EMERGENCY), signed_query(token="forged"))
    assert status == 403
    unsigned = {"timestamp": "1", "nonce": "2"}
    assert post(system.rasa_url, text_xml(patient, EMERGENCY), unsigned)[0] == 403
    time.sleep(3)
    assert fake_wechat.texts_to(patient) == []


def test_a_redelivered_message_is_answered_once(system: RunningSystem, fake_wechat: FakeWeChat) -> None:
    patient = openid()
    xml = text_xml(patient, "我想退款", msg_id=msg_id())
    assert post(system.rasa_url, xml, signed_query())[:2] == (200, "success")
    fake_wechat.wait_for_text(patient, has("退款"))
    first = settled(fake_wechat, patient)
    for _ in range(3):
        assert post(system.rasa_url, xml, signed_query())[:2] == (200, "success")
    assert settled(fake_wechat, patient) == first


def test_safe_mode_messages_are_decrypted_and_answered(system: RunningSystem, fake_wechat: FakeWeChat) -> None:
    patient = openid()
    body, query = encrypted(text_xml(patient, "我想退款"), signed_query())
    assert post(system.rasa_url, body, query)[:2] == (200, "success")
    fake_wechat.wait_for_text(patient, has("退款"))


def test_a_safe_mode_message_with_a_forged_message_signature_is_refused(
    system: RunningSystem, fake_wechat: FakeWeChat
) -> None:
    patient = openid()
    body, query = encrypted(text_xml(patient, EMERGENCY), signed_query())
    assert post(system.rasa_url, body, {**query, "msg_signature": "0" * 40})[0] == 403
    time.sleep(3)
    assert fake_wechat.texts_to(patient) == []


@pytest.mark.parametrize(
    "body", ["", "<xml><MsgType>text", "\x00\xff binary", "<xml><Encrypt>bm90IGFlcw==</Encrypt></xml>"],
    ids=["empty", "truncated-xml", "binary", "undecryptable"],
)
def test_a_signed_but_malformed_push_is_acknowledged_so_wechat_does_not_retry(system: RunningSystem, body: str) -> None:
    query = signed_query()
    if "Encrypt" in body:
        # Rightly signed, but the ciphertext is not AES of a message.
        msg_signature = signature(WECHAT_TOKEN, query["timestamp"], query["nonce"], "bm90IGFlcw==")
        query.update(encrypt_type="aes", msg_signature=msg_signature)
    assert post(system.rasa_url, body, query)[:2] == (200, "success")
    assert post(system.rasa_url, text_xml(openid(), "你好"), signed_query())[:2] == (200, "success")


def test_following_the_account_gets_the_privacy_notice_then_the_greeting(
    system: RunningSystem, fake_wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSOLE_PORT", str(system.console_port))
    patient = openid()
    assert post(system.rasa_url, event_xml(patient, "subscribe"), signed_query())[:2] == (200, "success")
    texts = fake_wechat.wait_for_text(patient, has("您好"))
    assert texts[0] == privacy.short_notice("wechat")


def test_a_menu_click_sends_its_key_as_the_payload(system: RunningSystem, fake_wechat: FakeWeChat) -> None:
    patient = openid()
    assert post(system.rasa_url, event_xml(patient, "CLICK", key="/request_human"), signed_query())[0] == 200
    fake_wechat.wait_for_text(patient, has("人工客服"))


@pytest.mark.parametrize(
    "kind, fields, note",
    [
        ("image", {"PicUrl": "http://mmbiz.example/p.jpg", "MediaId": "m1"}, "wechat.image"),
        ("voice", {"MediaId": "m2", "Format": "amr"}, "wechat.voice"),
        ("location", {"Location_X": "31.2", "Location_Y": "121.4", "Scale": "15", "Label": "上海"}, "wechat.location"),
    ],
)
def test_what_the_assistant_cannot_read_gets_a_note(
    system: RunningSystem, fake_wechat: FakeWeChat, kind: str, fields: dict, note: str
) -> None:
    patient = openid()
    assert post(system.rasa_url, message_xml(patient, kind, **fields), signed_query())[0] == 200
    fake_wechat.wait_for_text(patient, lambda text: True)
    time.sleep(2)
    assert fake_wechat.texts_to(patient) == [service_texts.text(note)]


def test_a_voice_message_is_answered_from_wechats_recognition(system: RunningSystem, fake_wechat: FakeWeChat) -> None:
    patient = openid()
    voice = message_xml(patient, "voice", MediaId="m3", Format="amr", Recognition=EMERGENCY)
    assert post(system.rasa_url, voice, signed_query())[0] == 200
    fake_wechat.wait_for_text(patient, has("120"))


def test_buttons_arrive_numbered_and_the_number_chooses(system: RunningSystem, fake_wechat: FakeWeChat) -> None:
    patient = openid()
    hint = service_texts.text("wechat.choices_hint")
    assert post(system.rasa_url, text_xml(patient, "我想退款"), signed_query())[0] == 200
    texts = fake_wechat.wait_for_text(patient, has(hint))
    offer = next(text for text in texts if hint in text)
    [register] = [line for line in offer.splitlines() if "同意并登记" in line and line.split(".")[0].isdigit()]
    number = register.split(".")[0]
    answered = len(settled(fake_wechat, patient))
    assert post(system.rasa_url, text_xml(patient, number), signed_query())[0] == 200
    fake_wechat.wait_for_text(patient, lambda _: len(fake_wechat.texts_to(patient)) > answered)
    assert last_user_message(system, patient, "/affirm")["parse_data"]["intent"]["name"] == "affirm"


def last_user_message(system: RunningSystem, patient: str, text: str, timeout: float = 30) -> dict:
    """The patient's last message in Rasa's tracker once it is `text` (Rasa stores a turn after answering it)."""
    tracker = f"{system.rasa_url}/conversations/wx-{patient}/tracker?token={system.token}"
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(tracker, timeout=30) as response:
            events = json.loads(response.read())["events"]
        last = [event for event in events if event["event"] == "user"][-1]
        if last["text"] == text or time.monotonic() > deadline:
            assert last["text"] == text
            return last
        time.sleep(0.5)


def _handoff_for(system: RunningSystem, patient: str, staff: dict) -> dict:
    request = urllib.request.Request(f"{system.console_url}/api/handoffs?status=waiting", headers=staff)
    with urllib.request.urlopen(request, timeout=30) as response:
        queue = json.loads(response.read())
    [handoff] = [h for h in queue if h["conversation_id"] == f"wx-{patient}"]
    return handoff


def test_a_staff_reply_reaches_the_wechat_patient_and_outside_48_hours_the_console_says_why(
    system: RunningSystem, fake_wechat: FakeWeChat
) -> None:
    patient = openid()
    assert post(system.rasa_url, text_xml(patient, "转人工"), signed_query())[0] == 200
    fake_wechat.wait_for_text(patient, has("人工客服"))
    staff = system.staff_headers()
    handoff = _handoff_for(system, patient, staff)
    assert handoff["channel"] == "wechat"
    console = f"{system.console_url}/api/handoffs/{handoff['id']}"
    post_json(f"{console}/claim", {}, staff)
    post_json(f"{console}/messages", {"text": "您好，我是客服小王，请讲。"}, staff)
    fake_wechat.wait_for_text(patient, has("客服小王"), timeout=10)

    # Two days later the patient has not written again: WeChat would refuse the message.
    database = system.env["DATABASE_URL"]
    reply_window.record_interaction("wechat", f"wx-{patient}", now=utcnow() - timedelta(hours=49), url=database)
    with pytest.raises(urllib.error.HTTPError) as refused:
        post_json(f"{console}/messages", {"text": "您还在吗？"}, staff)
    assert refused.value.code == 409
    assert "48 小时" in json.loads(refused.value.read())["detail"]
    time.sleep(2)
    assert "您还在吗？" not in fake_wechat.texts_to(patient)


def test_make_run_prints_the_wechat_webhook(system: RunningSystem) -> None:
    webhook = f"WeChat webhook: {system.rasa_url}/webhooks/wechat/webhook"
    assert webhook in system.printed(webhook)
