"""The tracker store on SQLite, as `make run` uses it: conversations kept, the file opened once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

from bot.store.tracker_store import RetryingSQLTrackerStore

ROOT = Path(__file__).resolve().parents[1]
TURNS = 20


def test_a_conversation_is_stored_and_read_back_without_reopening_the_file_each_turn(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rasa.db'}"
    domain = Domain.load(str(ROOT / "domain.yml"))
    store = RetryingSQLTrackerStore(domain=domain, host=url)
    connects = []
    event.listen(store.engine, "connect", lambda *_: connects.append(1))

    async def talk() -> DialogueStateTracker:
        for turn in range(TURNS):
            tracker = await store.retrieve("patient-1") or DialogueStateTracker("patient-1", domain.slots)
            tracker.update(UserUttered(f"第{turn}条消息"))
            tracker.update(BotUttered(f"回答{turn}"))
            tracker.update(ActionExecuted("action_listen"))
            await store.save(tracker)
        return await store.retrieve("patient-1")

    tracker = asyncio.run(talk())

    texts = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert texts == [f"第{turn}条消息" for turn in range(TURNS)]
    assert len(connects) <= 2, f"the database file was opened {len(connects)} times for {TURNS} turns"

    reopened = RetryingSQLTrackerStore(domain=domain, host=url)
    stored = asyncio.run(reopened.retrieve("patient-1"))
    assert [e.text for e in stored.events if isinstance(e, BotUttered)][-1] == f"回答{TURNS - 1}"
