"""The privacy notice and consent on the running system: the widget in Chromium (notice, “同意并继续”,
“清除本次对话”), the notice after the first answer on REST and Telegram, an integration's consent, and a
cleared widget conversation that no token resumes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from typing import List

import pytest
from sqlalchemy import select

from bot import privacy, widget_sessions
from bot.store.db import session_scope
from bot.store.models import PrivacyNotice
from tests.cluster import SocketPatient
from tests.conftest import ROOT, RunningSystem, post_json
from tests.fake_telegram import FakeTelegram
from tests.test_telegram import chat_id, message, send, texts_to
from tests.test_widget import SCREENSHOTS, _browser_tools


@pytest.fixture(autouse=True)
def notice_of_the_system(system: RunningSystem, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notice texts computed here name the running system's /privacy, as its channels do."""
    monkeypatch.setenv("CONSOLE_PORT", str(system.console_port))


def notices(system: RunningSystem, conversation_id: str) -> List[PrivacyNotice]:
    with session_scope(system.env["DATABASE_URL"]) as session:
        found = list(session.scalars(select(PrivacyNotice).where(PrivacyNotice.conversation_id == conversation_id)))
        session.expunge_all()
        return found


def test_the_widget_shows_the_notice_records_consent_and_clears_the_chat(system: RunningSystem, monkeypatch) -> None:
    node = _browser_tools()
    SCREENSHOTS.mkdir(exist_ok=True)
    run = subprocess.run(
        [node, "tests/browser/widget_privacy.mjs"],
        cwd=ROOT,
        env=dict(os.environ, DEMO_URL=f"{system.console_url}/", SCREENSHOTS=str(SCREENSHOTS)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr + run.stdout
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["notice"].startswith("隐私说明") and "180 天" in seen["notice"]
    assert seen["link"] == f"{system.console_url}/privacy" and seen["linkTarget"] == "_blank"
    assert seen["agreeTitle"] == "同意并继续" and seen["agreedText"] == "已同意隐私说明"
    assert seen["consentVersion"] == privacy.version()
    [row] = notices(system, seen["firstSession"])
    assert (row.channel, row.agreed_by, row.notice_version) == ("socketio", "button", privacy.version())
    assert "无法再继续" in seen["confirmText"]
    assert seen["secondSession"] != seen["firstSession"] and seen["clearedConsent"] is None
    assert "你们电话多少" not in seen["texts"] + seen["storedTexts"] and any("您好" in t for t in seen["texts"])
    assert seen["agreeShownAgain"] is True, "a new conversation asks again"
    assert seen["afterReload"] == seen["secondSession"] and "你们电话多少" not in seen["textsAfterReload"]
    assert seen["fullNoticeTitle"] == "在线咨询隐私说明" and "境外传输（Telegram）" in seen["fullNoticeSections"]
    assert notices(system, seen["secondSession"]) == []

    async def resume_cleared() -> str:
        stranger = SocketPatient(system.rasa_url)
        stranger.session_id, stranger.session_token = seen["firstSession"], seen["firstToken"]
        await stranger.connect()
        await stranger.close()
        return stranger.session_id

    monkeypatch.delenv("WIDGET_SESSION_SECRET", raising=False)
    monkeypatch.setenv("RASA_TOKEN", system.token)
    assert widget_sessions.verified(seen["firstSession"], seen["firstToken"]) == seen["firstSession"], "a real token"
    assert asyncio.run(resume_cleared()) != seen["firstSession"], "the cleared conversation's own token no longer resumes it"


def test_rest_gets_the_notice_once_at_the_end_of_the_first_answer(system: RunningSystem) -> None:
    first = system.say("privacy-rest-1", "伤口一直流血止不住")
    assert first[0]["text"].startswith("您描述的情况可能很危险"), "the emergency answer comes first"
    assert first[-1]["text"].endswith("\n\n" + privacy.short_notice("rest"))
    assert sum(privacy.short_notice("rest") in message["text"] for message in first) == 1
    again = system.say("privacy-rest-1", "你们电话多少")
    assert all(privacy.short_notice("rest") not in message["text"] for message in again)
    [row] = notices(system, "privacy-rest-1")
    assert row.channel == "rest" and row.agreed_at is None, "chatting on is not consent"


def test_an_integration_that_asked_the_patient_sends_the_consent_and_gets_no_notice(system: RunningSystem) -> None:
    body = {"sender": "privacy-rest-2", "message": "你好", "metadata": {"privacy_consent": privacy.version()}}
    replies = post_json(f"{system.rasa_url}/webhooks/rest/webhook", body)
    assert all(privacy.short_notice("rest") not in message.get("text", "") for message in replies)
    [row] = notices(system, "privacy-rest-2")
    assert row.agreed_by == "integration" and row.agreed_at is not None


def test_telegram_gets_the_notice_with_the_cross_border_warning_once(system: RunningSystem, fake_telegram: FakeTelegram) -> None:
    chat = chat_id()
    assert send(system, {"message": message(chat, text="/start")}) == 200
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "隐私说明" in p["text"])
    first = texts_to(fake_telegram, chat)
    assert "您好" in first[0] and first[-1] == privacy.short_notice("telegram") and "境外" in first[-1]
    assert send(system, {"message": message(chat, text="你们电话多少")}) == 200
    fake_telegram.wait_for("sendMessage", lambda p: str(p["chat_id"]) == str(chat) and "热线" in p["text"])
    assert texts_to(fake_telegram, chat).count(privacy.short_notice("telegram")) == 1


def test_a_forged_clear_or_a_wrong_consent_changes_nothing(system: RunningSystem) -> None:
    async def scenario() -> tuple:
        patient = SocketPatient(system.rasa_url)
        await patient.connect()
        answers = []
        for event, payload in (
            ("session_clear", {"session_id": patient.session_id, "session_token": patient.session_token[::-1]}),
            ("session_clear", "not an object"),
            ("privacy_consent", {"version": "1999-01-01"}),
            ("privacy_consent", ["garbage"]),
        ):
            answers.append(await patient.client.call(event, payload, timeout=15))
        await patient.close()
        again = SocketPatient(system.rasa_url)
        again.session_id, again.session_token = patient.session_id, patient.session_token
        await again.connect()
        await again.close()
        return patient.session_id, again.session_id, answers

    first, resumed, answers = asyncio.run(scenario())
    assert answers == [False, False, False, False]
    assert resumed == first, "a clear with a forged token does not end the patient's conversation"
    assert notices(system, first) == []
