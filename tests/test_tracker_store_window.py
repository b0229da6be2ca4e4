"""The tracker store loads a long session as a checkpoint and a window (issue #19): the dialogue
state the policies and actions use is the whole session's, and nothing is lost or stored twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store.tracker_store import RetryingSQLTrackerStore

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
SENDER = "patient-long"


def turn(text: str, intent: str = "greet") -> List[Event]:
    return [
        UserUttered(text, {"name": intent, "confidence": 1.0}),
        ActionExecuted("utter_greet"),
        BotUttered(f"答:{text}"),
        ActionExecuted("action_listen"),
    ]


def turns(count: int, first: int = 0) -> List[Event]:
    return [event for i in range(first, first + count) for event in turn(f"第{i}条")]


def store_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int) -> RetryingSQLTrackerStore:
    monkeypatch.setenv("TRACKER_STORE_WINDOW_TURNS", str(window))
    return RetryingSQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{tmp_path / 'rasa.db'}")


def save_session(store: RetryingSQLTrackerStore, events: List[Event]) -> None:
    tracker = DialogueStateTracker.from_events(SENDER, events, DOMAIN.slots)
    asyncio.run(store.save(tracker))


def opening(*more: Event) -> List[Event]:
    return [ActionExecuted("action_session_start"), SessionStarted(), *more, ActionExecuted("action_listen")]


def user_texts(tracker: DialogueStateTracker) -> List[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def test_a_long_session_keeps_its_state_but_loads_only_the_window(tmp_path: Path, monkeypatch) -> None:
    store = store_for(tmp_path, monkeypatch, window=10)
    events = opening(SlotSet("procedure", "双眼皮"))
    events += turn("第0条") + [SlotSet("phone_number", "13800000000"), ConversationPaused()]
    events += turns(39, first=1)
    save_session(store, events)
    whole = DialogueStateTracker.from_events(SENDER, events, DOMAIN.slots)

    windowed = asyncio.run(store.retrieve(SENDER))

    assert user_texts(windowed) == [f"第{i}条" for i in range(30, 40)]
    assert windowed.current_slot_values() == whole.current_slot_values()
    assert windowed.get_slot("procedure") == "双眼皮" and windowed.get_slot("phone_number") == "13800000000"
    assert windowed.is_paused()
    assert windowed.latest_message.text == "第39条"
    assert windowed.past_states(DOMAIN)[-6:] == whole.past_states(DOMAIN)[-6:]


def test_the_next_turn_is_stored_once_after_the_whole_session(tmp_path: Path, monkeypatch) -> None:
    store = store_for(tmp_path, monkeypatch, window=5)
    events = opening() + turns(20)
    save_session(store, events)

    for i in range(20, 23):
        tracker = asyncio.run(store.retrieve(SENDER))
        for event in turn(f"第{i}条") + [SlotSet("procedure", f"项目{i}")]:
            tracker.update(event)
        asyncio.run(store.save(tracker))
        asyncio.run(store.save(tracker))  # saved again by another code path: nothing is added twice

    full = asyncio.run(store.retrieve_full_tracker(SENDER))
    assert user_texts(full) == [f"第{i}条" for i in range(23)]
    assert full.get_slot("procedure") == "项目22"
    assert asyncio.run(store.retrieve(SENDER)).get_slot("procedure") == "项目22"


def test_the_checkpoint_carried_from_turn_to_turn_is_the_one_read_afresh(tmp_path: Path, monkeypatch) -> None:
    store = store_for(tmp_path, monkeypatch, window=3)
    save_session(store, opening() + turns(5))
    for i in range(5, 25):
        tracker = asyncio.run(store.retrieve(SENDER))
        slots = [SlotSet("procedure", f"项目{i}")] if i % 4 == 0 else []
        paused = [ConversationPaused()] if i == 9 else [ConversationResumed()] if i == 13 else []
        for event in turn(f"第{i}条") + slots + paused:
            tracker.update(event)
        asyncio.run(store.save(tracker))

    carried = asyncio.run(store.retrieve(SENDER))
    afresh = asyncio.run(store_for(tmp_path, monkeypatch, window=3).retrieve(SENDER))

    assert carried.current_slot_values() == afresh.current_slot_values()
    assert carried.get_slot("procedure") == "项目24" and not carried.is_paused()
    assert [e.as_dict() for e in carried.events][1:] == [e.as_dict() for e in afresh.events][1:]


def test_an_active_form_keeps_all_of_its_turns(tmp_path: Path, monkeypatch) -> None:
    store = store_for(tmp_path, monkeypatch, window=3)
    events = opening()
    for i in range(5):
        events += turn(f"闲聊{i}")
    events += [UserUttered("我要退款", {"name": "ask_refund", "confidence": 1.0}), ActionExecuted("ticket_form"),
               ActiveLoop("ticket_form"), SlotSet("requested_slot", "procedure"), ActionExecuted("action_listen")]
    for i in range(8):
        events += turn(f"表单回答{i}")
    save_session(store, events)

    windowed = asyncio.run(store.retrieve(SENDER))

    assert user_texts(windowed) == ["我要退款"] + [f"表单回答{i}" for i in range(8)]
    assert windowed.active_loop_name == "ticket_form"
    assert windowed.get_slot("requested_slot") == "procedure"


def test_after_a_long_paused_handoff_the_policies_see_the_same_history(tmp_path: Path, monkeypatch) -> None:
    store = store_for(tmp_path, monkeypatch, window=5)
    events = opening() + turns(3)
    events += [UserUttered("转人工", {"name": "request_human", "confidence": 1.0}), ActionExecuted("action_handoff"),
               ConversationPaused()]
    events += [UserUttered(f"等待中{i}", {"name": "greet", "confidence": 1.0}) for i in range(20)]
    events += [ConversationResumed(), BotUttered("再见"), ActionExecuted("action_listen")] + turns(2, first=100)
    save_session(store, events)
    whole = DialogueStateTracker.from_events(SENDER, events, DOMAIN.slots)

    windowed = asyncio.run(store.retrieve(SENDER))

    assert not windowed.is_paused()
    assert windowed.past_states(DOMAIN)[-6:] == whole.past_states(DOMAIN)[-6:]


def test_slots_reset_before_the_window_stay_reset(tmp_path: Path, monkeypatch) -> None:
    store = store_for(tmp_path, monkeypatch, window=2)
    events = opening(SlotSet("procedure", "隆鼻")) + turn("a") + [AllSlotsReset()] + turns(5)
    save_session(store, events)

    assert asyncio.run(store.retrieve(SENDER)).get_slot("procedure") is None


def test_window_zero_is_rasas_whole_session(tmp_path: Path, monkeypatch) -> None:
    store = store_for(tmp_path, monkeypatch, window=0)
    events = opening() + turns(30)
    save_session(store, events)

    assert user_texts(asyncio.run(store.retrieve(SENDER))) == [f"第{i}条" for i in range(30)]
