"""The cap on a conversation's length (bot/conversation_cap.py): counted in the events Rasa's tracker store
keeps, checked by the channels before Rasa (here the REST channel), never losing a message to a fault."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterator, List

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import conversation_cap
from bot.channels.rest import RestInput
from bot.store import migrate
from bot.store.tracker_store import RetryingSQLTrackerStore
from tests.conftest import ROOT
from tests.test_channel_rates import serve


@pytest.fixture()
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MAX_MESSAGES_PER_CONVERSATION", "3")
    return url


def stored(url: str, sender: str, messages: int) -> None:
    """A conversation with `messages` patient messages, as Rasa's SQL tracker store keeps it."""
    domain = Domain.load(str(ROOT / "domain.yml"))
    store = RetryingSQLTrackerStore(domain=domain, host=url)
    tracker = DialogueStateTracker(sender, domain.slots)
    for turn in range(messages):
        tracker.update(UserUttered(f"第{turn}条"))
        tracker.update(BotUttered(f"回答{turn}"))
        tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def test_a_conversation_is_full_at_its_maximum_of_patient_messages(url: str) -> None:
    stored(url, "long", 3)
    stored(url, "short", 2)
    assert conversation_cap.is_full("long", url)
    assert not conversation_cap.is_full("short", url), "bot messages and actions do not count"
    assert not conversation_cap.is_full("new", url)


def test_when_the_count_cannot_be_read_the_message_passes(tmp_path: Path) -> None:
    assert not conversation_cap.is_full("anyone", f"sqlite:///{tmp_path / 'no-events-table.db'}")


@pytest.fixture()
def rest(url: str) -> Iterator[tuple]:
    reached: List[UserMessage] = []

    async def rasa(message: UserMessage) -> None:
        reached.append(message)

    for address in serve(RestInput().blueprint(rasa), "/webhooks/rest"):
        yield address, reached


def test_a_full_conversation_is_refused_politely_with_a_person_and_the_emergency_numbers(url: str, rest) -> None:
    address, reached = rest
    stored(url, "long", 3)
    answer = httpx.post(address, json={"sender": "long", "message": "伤口一直在流血"})
    assert answer.status_code == 200
    text = answer.json()[0]["text"]
    assert "3 条消息" in text and "400-000-1234" in text and "120" in text and "400-000-0120" in text
    assert reached == [], "the message never reaches Rasa"
    assert httpx.post(address, json={"sender": "fresh", "message": "你好"}).status_code == 200
    assert [m.sender_id for m in reached] == ["fresh"]
