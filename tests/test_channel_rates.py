"""Message rates of the REST and Telegram channels in the app (bot/message_rate.py): each channel alone,
in a Sanic app under uvicorn, with a Rasa stand-in that records what reaches it."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterator, List

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.rest import RestInput
from bot.channels.telegram import SECRET_HEADER, TelegramInput
from bot.store import migrate
from tests.conftest import TELEGRAM_WEBHOOK_SECRET, served
from tests.fake_telegram import FakeTelegram
from tests.test_telegram_channel import fake, telegram_env  # noqa: F401 - fixtures

_apps = itertools.count()


@pytest.fixture()
def reached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> List[UserMessage]:
    """The messages that reached the Rasa stand-in (the channels record privacy notices in the database)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return []


def serve(channel_blueprint, prefix: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    app = Sanic(f"rates_{next(_apps)}")
    app.blueprint(channel_blueprint, url_prefix=prefix)
    with served(app) as server:
        yield f"http://127.0.0.1:{server.config.port}{prefix}/webhook"


@pytest.fixture()
def rest_url(reached: List[UserMessage], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("REST_MESSAGES_PER_MINUTE_PER_CONVERSATION", "3")
    monkeypatch.setenv("REST_MESSAGES_PER_MINUTE_PER_CLIENT", "5")

    async def rasa(message: UserMessage) -> None:
        reached.append(message)

    yield from serve(RestInput().blueprint(rasa), "/webhooks/rest")


def test_a_rest_conversation_sending_faster_than_its_limit_gets_429_and_rasa_never_sees_it(
    rest_url: str, reached: List[UserMessage]
) -> None:
    answers = [httpx.post(rest_url, json={"sender": "r-1", "message": f"第{n}条"}) for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "太快" in answers[3].json()[0]["text"] and "120" in answers[3].json()[0]["text"]
    assert [m.text for m in reached] == ["第0条", "第1条", "第2条"]
    assert all(m.metadata["client"] == "rest:127.0.0.1" for m in reached)

    assert httpx.post(rest_url, json={"sender": "r-2", "message": "你好"}).status_code == 200
    assert httpx.post(rest_url, json={"sender": "r-3", "message": "你好"}).status_code == 200
    assert httpx.post(rest_url, json={"sender": "r-4", "message": "你好"}).status_code == 429, "the caller's limit"
    assert len(reached) == 5


@pytest.fixture()
def telegram_url(reached: List[UserMessage], telegram_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("MESSAGES_PER_MINUTE_PER_CONVERSATION", "2")

    async def rasa(message: UserMessage) -> None:
        reached.append(message)

    yield from serve(TelegramInput.from_credentials(None).blueprint(rasa), "/webhooks/telegram")


def update(number: int, chat: int, text: str) -> dict:
    sender = {"id": chat, "is_bot": False, "first_name": "患者"}
    chat_of = {"id": chat, "type": "private"}
    return {"update_id": number, "message": {"message_id": number, "date": 0, "chat": chat_of, "from": sender,
                                             "text": text}}


def test_a_telegram_chat_sending_faster_than_its_limit_is_asked_to_slow_down(
    telegram_url: str, fake: FakeTelegram, reached: List[UserMessage]
) -> None:
    headers = {SECRET_HEADER: TELEGRAM_WEBHOOK_SECRET}
    for number in range(3):
        answer = httpx.post(telegram_url, json=update(number, 555, f"第{number}条"), headers=headers, timeout=30)
        assert answer.status_code == 200, "Telegram always gets 200, or it redelivers"
    assert [m.text for m in reached] == ["第0条", "第1条"]
    fake.wait_for("sendMessage", lambda p: str(p["chat_id"]) == "555" and "太快" in p["text"], timeout=10)
    assert all(m.metadata == {"client": "tg:555"} for m in reached)
    httpx.post(telegram_url, json=update(9, 556, "你好"), headers=headers, timeout=30)
    assert [m.sender_id for m in reached] == ["tg-555", "tg-555", "tg-556"], "another chat goes on"
