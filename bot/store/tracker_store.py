"""Rasa's SQL tracker store, waiting for the database instead of dropping the conversation.

Rasa's `SQLTrackerStore` raises on the first `OperationalError`: while the database restarts or
the network blips, the patient's message is not processed (retrieve) or the turn is not stored
(save) and the processor moves on. This subclass retries retrieve and save with a growing pause
for up to `TRACKER_STORE_RETRY_SECONDS` (default 30) in total, so a short outage only delays the
answer. A retried save is safe: Rasa stores only the events the database does not hold yet
(`_additional_events` counts them again on each attempt).

Referenced from endpoints.yml as `bot.store.tracker_store.RetryingSQLTrackerStore`, with the same
`url: ${DATABASE_URL}` as Rasa's `type: SQL`.

A turn's cost does not grow with the session (issue #19). Rasa's `retrieve` loads, deserialises and
replays every event since the last `session_started`, the policies recompute the states of all of
them, and every custom action receives all of them as JSON: at message 400 of one session a turn
cost 9 times a turn at message 5. This store loads a window instead: the events from the
`TRACKER_STORE_WINDOW_TURNS`-th latest user message on (default 10), and, when a form is active,
from the user message before its activation, so a form always sees all of its own turns. What came
before the window is replaced by a checkpoint of its state: the session's `session_started`, the
value of every slot set before the window, the active loop, the pause of a handoff, and an
`action_listen`. Slots, forms, pauses and the policies' histories (MemoizationPolicy 4
turns) are the same as with the whole session; what an action no longer sees is the user messages
more than the window before (see bench/results.md). `TRACKER_STORE_WINDOW_TURNS=0` restores Rasa's
behaviour; `retrieve_full_tracker` (the HTTP API's transcript) is always Rasa's, whole.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
import json
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Text, Tuple, TypeVar

from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, ActiveLoop, ConversationPaused, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, func
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import sessionmaker

from bot.store.db import sqlite_file_engine

logger = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = 30.0
DEFAULT_WINDOW_TURNS = 10
# The window also holds at least this many actions: over twice the policies' longest max_history.
WINDOW_ACTIONS = 12
# Event types before the window that change the state the checkpoint keeps.
CHECKPOINT_TYPES = ("slot", "reset_slots", "active_loop", "loop_interrupted", "pause", "resume", "restart")
# Attribute of a windowed tracker: how many of its events are stored (the checkpoint and the window).
STORED_EVENTS = "_stored_events_in_window"
# Checkpoints kept in memory: per conversation (the window's and a form's cut), and conversations.
CHECKPOINTS_PER_CONVERSATION = 2
CHECKPOINT_CONVERSATIONS = 4096
FIRST_PAUSE_SECONDS = 0.25
MAX_PAUSE_SECONDS = 2.0
# Seconds psycopg2 may take to open a connection before it counts as a failed attempt.
CONNECT_TIMEOUT_SECONDS = 3

T = TypeVar("T")


def retry_seconds() -> float:
    raw = os.environ.get("TRACKER_STORE_RETRY_SECONDS", "").strip()
    return float(raw) if raw else DEFAULT_RETRY_SECONDS


def window_turns() -> int:
    raw = os.environ.get("TRACKER_STORE_WINDOW_TURNS", "").strip()
    return int(raw) if raw else DEFAULT_WINDOW_TURNS


def is_transient(error: BaseException) -> bool:
    """A lost or refused connection, which another attempt may not meet."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


async def with_retries(what: str, attempt: Callable[[], Awaitable[T]], budget: float) -> T:
    """`attempt()` until it succeeds, pausing 0.25 s, 0.5 s, … 2 s between tries, for up to `budget` s."""
    deadline = time.monotonic() + budget
    pause = FIRST_PAUSE_SECONDS
    tries = 1
    while True:
        try:
            return await attempt()
        except DBAPIError as error:
            if not is_transient(error) or time.monotonic() + pause > deadline:
                raise
            logger.warning("tracker store: %s failed (try %d: %s); retrying in %.2f s", what, tries, error.orig, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_PAUSE_SECONDS)
        tries += 1


def _resilient_engine(url: URL) -> Engine:
    """Rasa's PostgreSQL engine, plus: a connection attempt to an unreachable server fails within
    a few seconds (to be retried), and a pooled connection the outage broke is replaced before use."""
    kwargs = create_engine_kwargs(url)
    connect_args = {**kwargs.pop("connect_args", {}), "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


class Checkpoint(NamedTuple):
    """A conversation's state just before event `cut` of the session that `start_id` opened."""

    start_id: int
    cut: int
    events: List[Dict[Text, Any]]
    activation: Optional[int]


class RetryingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose reads and writes outlast a short database outage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "postgresql":
            self.engine = _resilient_engine(self.engine.url)
            self.sessionmaker = sessionmaker(bind=self.engine)
        elif self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.engine = sqlite_file_engine(str(self.engine.url))
            self.sessionmaker = sessionmaker(bind=self.engine)
        self.retry_budget = retry_seconds()
        self.window_turns = window_turns()
        self._checkpoints: "OrderedDict[Text, List[Checkpoint]]" = OrderedDict()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return await with_retries(f"retrieve {sender_id}", lambda: self._retrieve_window(sender_id), self.retry_budget)

    async def _retrieve_window(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The latest session's tracker: a checkpoint and the window, or Rasa's whole session when it is short."""
        if self.window_turns > 0 and self.domain:
            with self.session_scope() as session:
                events = self._windowed_events(session, sender_id)
            if events is not None:
                tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
                setattr(tracker, STORED_EVENTS, len(tracker.events))
                return tracker
        return await super().retrieve(sender_id)

    def _windowed_events(self, session: Any, sender_id: Text) -> Optional[List[Dict[Text, Any]]]:
        """The checkpoint and the window as event dicts, or None when the session is within the window."""
        Event = self.SQLEvent
        start = (
            session.query(Event.id, Event.timestamp, Event.data)
            .filter(Event.sender_id == sender_id, Event.type_name == "session_started")
            .order_by(Event.id.desc())
            .first()
        )
        if start is None:
            return None
        in_session = (Event.sender_id == sender_id, Event.id > start.id)
        cut = (
            session.query(Event.id)
            .filter(*in_session, Event.type_name == "user")
            .order_by(Event.id.desc())
            .offset(self.window_turns - 1)
            .limit(1)
            .scalar()
        )
        if cut is None:
            return None
        # The policies' histories (MemoizationPolicy: 4 states, one per action) stay
        # real events even where few actions ran, as in a handoff's paused stretch.
        by_actions = (
            session.query(Event.id)
            .filter(*in_session, Event.type_name == "action")
            .order_by(Event.id.desc())
            .offset(WINDOW_ACTIONS - 1)
            .limit(1)
            .scalar()
        )
        if by_actions is None:
            return None
        user_before_actions = (
            session.query(func.max(Event.id))
            .filter(*in_session, Event.id < by_actions, Event.type_name == "user")
            .scalar()
        )
        if user_before_actions is None:
            return None
        cut = min(cut, user_before_actions)
        state, activation = self._state_before(session, sender_id, start.id, cut)
        if state.active_loop_name:
            # The form's own turns stay whole: cut at the user message before its latest activation.
            if activation is None:
                return None
            cut = (
                session.query(func.max(Event.id))
                .filter(*in_session, Event.id < activation, Event.type_name == "user")
                .scalar()
            )
            if cut is None:
                return None
            state, _ = self._state_before(session, sender_id, start.id, cut)
        window = [
            json.loads(data)
            for (data,) in session.query(Event.data).filter(*in_session, Event.id >= cut).order_by(Event.id)
        ]
        timestamp = window[0]["timestamp"]
        listen = ActionExecuted(ACTION_LISTEN_NAME, timestamp=timestamp).as_dict()
        return [json.loads(start.data), *self._state_events(state, timestamp), listen, *window]

    def _state_before(
        self, session: Any, sender_id: Text, start_id: int, cut: int
    ) -> Tuple[DialogueStateTracker, Optional[int]]:
        """The session's state just before event `cut`, and the id of the latest loop activation before it.

        Computed from the nearest earlier checkpoint of this conversation this process made (events are
        only ever appended), so a turn reads the few state events since then, not the whole session."""
        Event = self.SQLEvent
        known = [c for c in self._checkpoints.get(sender_id, []) if c.start_id == start_id and c.cut <= cut]
        base = max(known, key=lambda c: c.cut, default=Checkpoint(start_id, start_id, [], None))
        rows = [
            (row_id, json.loads(data))
            for row_id, data in session.query(Event.id, Event.data)
            .filter(
                Event.sender_id == sender_id,
                Event.id >= base.cut,
                Event.id < cut,
                Event.type_name.in_(CHECKPOINT_TYPES),
            )
            .order_by(Event.id)
        ]
        activation = base.activation
        for row_id, event in rows:
            if event.get("event") == "active_loop" and event.get("name"):
                activation = row_id
        events = base.events + [event for _, event in rows]
        state = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        self._remember(sender_id, Checkpoint(start_id, cut, list(self._state_events(state, 0.0)), activation))
        return state, activation

    def _remember(self, sender_id: Text, checkpoint: "Checkpoint") -> None:
        earlier = self._checkpoints.pop(sender_id, [])
        kept = [c for c in earlier if c.start_id == checkpoint.start_id and c.cut != checkpoint.cut]
        self._checkpoints[sender_id] = (kept + [checkpoint])[-CHECKPOINTS_PER_CONVERSATION:]
        while len(self._checkpoints) > CHECKPOINT_CONVERSATIONS:
            self._checkpoints.popitem(last=False)

    @staticmethod
    def _state_events(state: DialogueStateTracker, timestamp: float) -> Iterator[Dict[Text, Any]]:
        """Events that rebuild `state`'s slots, active loop and pause."""
        for slot in state.slots.values():
            if slot.has_been_set:
                yield SlotSet(slot.name, slot.value, timestamp=timestamp).as_dict()
        if state.active_loop_name:
            yield ActiveLoop(state.active_loop_name, timestamp=timestamp).as_dict()
        if state.is_paused():
            yield ConversationPaused(timestamp=timestamp).as_dict()

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The events of `tracker` not stored yet; a windowed tracker knows how many of its events are."""
        stored = getattr(tracker, STORED_EVENTS, None)
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        parent = super(RetryingSQLTrackerStore, self)
        return await with_retries(
            f"retrieve {conversation_id}", lambda: parent.retrieve_full_tracker(conversation_id), self.retry_budget
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        parent = super(RetryingSQLTrackerStore, self)
        await with_retries(f"save {tracker.sender_id}", lambda: parent.save(tracker), self.retry_budget)
        if getattr(tracker, STORED_EVENTS, None) is not None:
            setattr(tracker, STORED_EVENTS, len(tracker.events))

    async def keys(self) -> Iterable[Text]:
        parent = super(RetryingSQLTrackerStore, self)
        return await with_retries("keys", parent.keys, self.retry_budget)
