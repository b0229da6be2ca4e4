"""The NLU inbox: patient messages the NLU may have misunderstood, for trainers to review (issue 13).

What lands in it (`collect`, run whenever the inbox is listed; no background job):

- `fallback`: a Rasa `user` event whose intent is `nlu_fallback`, except when the triage layer put it there
  to ask the red-flag checklist (parse data `triage.level == "check"`: a doubtful symptom, not a
  misunderstanding; bot/nlu/red_flags.py);
- `low_confidence`: any other intent with a confidence under `LOW_CONFIDENCE`;
- `handoff`: the patient's last message before a handoff with reason `fallback` (the second miss in a row);
- `flagged`: a message a staff member marked as misunderstood on the conversation page (`flag`).

Messages are read from Rasa's SQL tracker store (`events`, same database) from where the previous
collection stopped (`collect_cursors`: the last event's id and timestamp). The scan follows the event id,
the table's primary key, so a collection reads only the new rows however large the table grows (its
timestamp has no index). Rasa stores a turn's events when the turn ends, so a message with an earlier
timestamp may be stored after a later one: ordered by storage, it is still read. Each collection reads the
last `OVERLAP_EVENTS` ids again, for transactions of several Rasa instances that committed out of order.
A message is identified as Rasa identifies it, by conversation and timestamp; collecting it again adds
nothing.

A trainer then confirms the predicted intent, corrects it (an intent of the domain, optionally the
procedure the message names) or dismisses the message; `python -m bot nlu export` (bot/nlu_export.py)
writes the confirmed and corrected ones as training examples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

import yaml
from sqlalchemy import column, func, inspect, select, table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import settings
from bot.errors import KeyedError
from bot.nlu.payload_intents import PAYLOAD_ONLY_INTENTS
from bot.store.models import CollectCursor, Handoff, NluInboxItem, Staff, utcnow

# An intent recognised with less confidence than this is worth a look, even when the bot answered it
# (the FallbackClassifier's own threshold, config.yml, is lower).
LOW_CONFIDENCE = 0.6
FALLBACK_INTENT = "nlu_fallback"
CHECK_LEVEL = "check"
HANDOFF_REASON = "fallback"
CURSOR_NAME = "nlu_inbox"
# How many events before the last one collected each collection reads again (see the module docstring).
OVERLAP_EVENTS = 200
# Handoffs opened this long before the last collected message are looked at again: the action server opens
# the handoff before Rasa stores the message that led to it.
HANDOFF_OVERLAP_SECONDS = 300.0
# Timestamps sent back by a browser (JSON numbers) match Rasa's to far better than this.
TIMESTAMP_TOLERANCE = 1e-4

DOMAIN_FILE = settings.PROJECT_ROOT / "domain.yml"
SYNONYMS_FILE = settings.PROJECT_ROOT / "data" / "nlu" / "synonyms.yml"

# Rasa's SQL tracker store table (rasa.core.tracker_store.SQLTrackerStore), in the same database.
RASA_EVENTS = table(
    "events",
    column("id"),
    column("sender_id"),
    column("type_name"),
    column("intent_name"),
    column("timestamp"),
    column("data"),
)


class InboxError(KeyedError):
    """A review or flag that cannot be done."""


class ItemNotFound(InboxError):
    pass


class InvalidReview(InboxError):
    pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@lru_cache(maxsize=4)
def _domain(path: Path, _mtime: float) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def domain(path: Path = DOMAIN_FILE) -> Dict[str, Any]:
    """domain.yml, read again when the file changes."""
    return _domain(path, _mtime(path))


def domain_intents(path: Path = DOMAIN_FILE) -> List[str]:
    """The intents a reviewer may choose: the domain's, in its order, but the buttons' own (no NLU examples)."""
    names = []
    for entry in domain(path).get("intents") or []:
        name = next(iter(entry)) if isinstance(entry, dict) else str(entry)
        if name != FALLBACK_INTENT and name not in PAYLOAD_ONLY_INTENTS:
            names.append(name)
    return names


@lru_cache(maxsize=4)
def _synonyms(path: Path, _mtime: float) -> Tuple[Tuple[str, str], ...]:
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    pairs = []
    for entry in document.get("nlu") or []:
        if "synonym" not in entry:
            continue
        canonical = str(entry["synonym"])
        for line in str(entry.get("examples") or "").splitlines():
            name = line.strip()
            if name.startswith("- "):
                pairs.append((name[2:].strip(), canonical))
    return tuple(pairs)


def synonyms(path: Path = SYNONYMS_FILE) -> Dict[str, str]:
    """Every synonym of data/nlu/synonyms.yml → its canonical procedure."""
    return dict(_synonyms(path, _mtime(path)))


def canonical_procedures(path: Path = SYNONYMS_FILE) -> List[str]:
    """The canonical `procedure` values (CONTRACT.md §4), in the order of data/nlu/synonyms.yml."""
    values: List[str] = []
    for _, canonical in _synonyms(path, _mtime(path)):
        if canonical not in values:
            values.append(canonical)
    return values


@dataclass(frozen=True)
class Candidate:
    """A patient message as the inbox stores it, read from one Rasa `user` event."""

    conversation_id: str
    timestamp: float
    text: str
    predicted_intent: Optional[str]
    confidence: Optional[float]
    response_key: Optional[str]
    reason: Optional[str]  # why it belongs in the inbox; None if it does not by itself

    def row(self, reason: str, **extra: Any) -> Dict[str, Any]:
        return dict(
            conversation_id=self.conversation_id,
            event_timestamp=self.timestamp,
            text=self.text,
            predicted_intent=self.predicted_intent,
            confidence=self.confidence,
            predicted_response_key=self.response_key,
            reason=reason,
            status="open",
            created_at=utcnow(),
            **extra,
        )


def _number(value: Any) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def read_event(conversation_id: str, timestamp: float, data: Any) -> Optional[Candidate]:
    """The message of a stored `user` event, with the classifier's best guess; None if it is no patient text
    (an empty message, a button's `/intent` payload)."""
    try:
        event = json.loads(data) if isinstance(data, (str, bytes)) else dict(data or {})
    except ValueError:
        return None
    parse = event.get("parse_data") or {}
    text = str(event.get("text") or parse.get("text") or "").strip()
    if not text or text.startswith("/"):
        return None
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name"), _number(intent.get("confidence"))
    reason = None
    if name == FALLBACK_INTENT:
        if ((parse.get("triage") or {}).get("level")) != CHECK_LEVEL:
            reason = "fallback"
        # The classifier's own guess is the best intent below the fallback.
        ranked = [e for e in parse.get("intent_ranking") or [] if e.get("name") and e.get("name") != FALLBACK_INTENT]
        name, confidence = (ranked[0].get("name"), _number(ranked[0].get("confidence"))) if ranked else (None, None)
    elif name and confidence is not None and confidence < LOW_CONFIDENCE:
        reason = "low_confidence"
    response_key = (((parse.get("response_selector") or {}).get(name or "") or {}).get("response") or {}).get(
        "intent_response_key"
    ) if name else None
    return Candidate(conversation_id, float(timestamp), text, name, confidence, response_key, reason)


def _dialect_insert(session: Session):  # type: ignore[no-untyped-def]
    """The INSERT … ON CONFLICT construct of the session's database, if it has one."""
    return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(session.get_bind().dialect.name)


def _insert_missing(session: Session, rows: List[Dict[str, Any]]) -> int:
    """Insert the rows whose (conversation, timestamp) is not in the inbox yet; how many were new.

    Several console workers may collect at once: the database's ON CONFLICT DO NOTHING settles it.
    """
    insert = _dialect_insert(session)
    added = 0
    for row in rows:
        if insert is not None:
            statement = insert(NluInboxItem).values(**row).on_conflict_do_nothing(
                index_elements=["conversation_id", "event_timestamp"]
            )
            added += session.execute(statement).rowcount or 0
        elif _find(session, row["conversation_id"], row["event_timestamp"]) is None:
            session.add(NluInboxItem(**row))
            session.flush()
            added += 1
    return added


def _find(session: Session, conversation_id: str, timestamp: float) -> Optional[NluInboxItem]:
    return session.scalars(
        select(NluInboxItem).where(
            NluInboxItem.conversation_id == conversation_id, NluInboxItem.event_timestamp == timestamp
        )
    ).first()


def _cursor(session: Session) -> Tuple[int, float]:
    """The id and timestamp of the last event collected (0, 0 before the first collection)."""
    cursor = session.get(CollectCursor, CURSOR_NAME)
    return (cursor.last_event_id, cursor.last_timestamp) if cursor is not None else (0, 0.0)


def _advance_cursor(session: Session, event_id: int, timestamp: float) -> None:
    """Move the cursor forward (never back, whatever another console worker wrote meanwhile)."""
    insert = _dialect_insert(session)
    if insert is not None:
        session.execute(
            insert(CollectCursor)
            .values(name=CURSOR_NAME, last_event_id=0, last_timestamp=0.0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
    elif session.get(CollectCursor, CURSOR_NAME) is None:
        session.add(CollectCursor(name=CURSOR_NAME, last_event_id=0, last_timestamp=0.0))
        session.flush()
    session.execute(
        update(CollectCursor)
        .where(CollectCursor.name == CURSOR_NAME, CollectCursor.last_event_id < event_id)
        .values(last_event_id=event_id, last_timestamp=timestamp, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _has_events(session: Session) -> bool:
    return inspect(session.connection()).has_table("events")


def _user_events(session: Session, after_id: int) -> Iterable[Tuple[int, str, float, Any]]:
    query = (
        select(RASA_EVENTS.c.id, RASA_EVENTS.c.sender_id, RASA_EVENTS.c.timestamp, RASA_EVENTS.c.data)
        .where(RASA_EVENTS.c.id > after_id, RASA_EVENTS.c.type_name == "user")
        .order_by(RASA_EVENTS.c.id)
        .execution_options(stream_results=True)
    )
    return session.execute(query)


def _message_before(session: Session, conversation_id: str, moment: float) -> Optional[Candidate]:
    """The patient's last message of the conversation at or before `moment`."""
    row = session.execute(
        select(RASA_EVENTS.c.timestamp, RASA_EVENTS.c.data)
        .where(
            RASA_EVENTS.c.sender_id == conversation_id,
            RASA_EVENTS.c.type_name == "user",
            RASA_EVENTS.c.timestamp <= moment,
        )
        .order_by(RASA_EVENTS.c.timestamp.desc())
        .limit(1)
    ).first()
    return read_event(conversation_id, row[0], row[1]) if row is not None else None


def collect(session: Session) -> int:
    """Add the misunderstood messages Rasa stored since the last collection; how many were new."""
    if not _has_events(session):
        return 0
    last_id, last_timestamp = _cursor(session)
    rows: List[Dict[str, Any]] = []
    newest: Optional[Tuple[int, float]] = None
    for event_id, conversation_id, timestamp, data in _user_events(session, last_id - OVERLAP_EVENTS):
        if timestamp is None:
            continue
        if newest is None or event_id > newest[0]:
            newest = (event_id, float(timestamp))
        candidate = read_event(conversation_id, timestamp, data)
        if candidate is not None and candidate.reason is not None:
            rows.append(candidate.row(candidate.reason))
    added = _insert_missing(session, rows)
    added += _collect_handoffs(session, last_timestamp - HANDOFF_OVERLAP_SECONDS)
    if newest is not None:
        _advance_cursor(session, *newest)
    return added


def _collect_handoffs(session: Session, since: float) -> int:
    """The message that made the bot hand the patient over after two misses (handoff reason `fallback`)."""
    opened_after = datetime.fromtimestamp(max(since, 0.0), tz=timezone.utc)
    handoffs = session.execute(
        select(Handoff.conversation_id, Handoff.created_at).where(
            Handoff.reason == HANDOFF_REASON, Handoff.created_at >= opened_after
        )
    ).all()
    added = 0
    for conversation_id, created_at in handoffs:
        candidate = _message_before(session, conversation_id, created_at.timestamp())
        if candidate is None:
            continue  # Rasa stores the turn after the action server opened the handoff: found next time
        existing = _find(session, conversation_id, candidate.timestamp)
        if existing is None:
            added += _insert_missing(session, [candidate.row("handoff")])
        elif existing.status == "open" and existing.reason in ("fallback", "low_confidence"):
            existing.reason = "handoff"
    session.flush()
    return added


def list_items(session: Session, status: Optional[str] = None, limit: int = 200) -> List[NluInboxItem]:
    """Newest message first."""
    query = select(NluInboxItem).order_by(NluInboxItem.event_timestamp.desc(), NluInboxItem.id.desc()).limit(limit)
    if status:
        query = query.where(NluInboxItem.status == status)
    return list(session.scalars(query))


def get_item(session: Session, item_id: int) -> NluInboxItem:
    item = session.get(NluInboxItem, item_id)
    if item is None:
        raise ItemNotFound("nlu_item_not_found", item_id=item_id)
    return item


def _procedure(value: Optional[str]) -> Optional[str]:
    value = (value or "").strip()
    if not value:
        return None
    if value not in canonical_procedures():
        raise InvalidReview("nlu_unknown_procedure", procedure=value)
    return value


def _intent(value: Optional[str]) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidReview("nlu_intent_required")
    if value not in domain_intents():
        raise InvalidReview("nlu_unknown_intent", intent=value)
    return value


def review(
    session: Session,
    item_id: int,
    action: str,
    staff: Staff,
    intent: Optional[str] = None,
    procedure: Optional[str] = None,
    now: Optional[datetime] = None,
) -> NluInboxItem:
    """`confirm` the predicted intent, `correct` it to `intent`, or `dismiss` the message.

    A reviewed message may be reviewed again (the last review counts). `procedure` (optional, a canonical
    value) is the procedure the message names, for the export's annotation.
    """
    item = get_item(session, item_id)
    if action == "dismiss":
        item.status, item.reviewed_intent, item.reviewed_procedure = "dismissed", None, None
    elif action == "confirm":
        if not item.predicted_intent or item.predicted_intent not in domain_intents():
            raise InvalidReview("nlu_nothing_to_confirm")
        if intent and intent.strip() != item.predicted_intent:
            raise InvalidReview("nlu_confirm_other_intent", intent=intent.strip(), predicted=item.predicted_intent)
        item.status, item.reviewed_intent = "confirmed", item.predicted_intent
        item.reviewed_procedure = _procedure(procedure)
    elif action == "correct":
        item.reviewed_intent = _intent(intent)
        item.reviewed_procedure = _procedure(procedure)
        item.status = "corrected"
    else:
        raise InvalidReview("nlu_unknown_action", action=action)
    item.reviewed_by, item.reviewed_at = staff.id, now or utcnow()
    session.flush()
    return item


def flag(session: Session, conversation_id: str, timestamp: float, staff: Staff) -> NluInboxItem:
    """Put the patient message of `conversation_id` at `timestamp` in the inbox as `flagged`.

    A message already waiting there is now `flagged` by this staff member; one a trainer already reviewed
    keeps its review.
    """
    row = None
    if _has_events(session):
        row = session.execute(
            select(RASA_EVENTS.c.timestamp, RASA_EVENTS.c.data)
            .where(
                RASA_EVENTS.c.sender_id == conversation_id,
                RASA_EVENTS.c.type_name == "user",
                RASA_EVENTS.c.timestamp.between(timestamp - TIMESTAMP_TOLERANCE, timestamp + TIMESTAMP_TOLERANCE),
            )
            .order_by(func.abs(RASA_EVENTS.c.timestamp - timestamp))
            .limit(1)
        ).first()
    candidate = read_event(conversation_id, row[0], row[1]) if row is not None else None
    if candidate is None:
        raise ItemNotFound("nlu_message_not_found")
    existing = _find(session, conversation_id, candidate.timestamp)
    if existing is None:
        _insert_missing(session, [candidate.row("flagged", flagged_by=staff.id)])
        existing = _find(session, conversation_id, candidate.timestamp)
        assert existing is not None
    elif existing.status == "open":
        existing.reason, existing.flagged_by = "flagged", staff.id
    session.flush()
    return existing


def reviewed_examples(session: Session) -> List[NluInboxItem]:
    """The confirmed and corrected messages, oldest review first (a later review of the same text wins)."""
    return list(
        session.scalars(
            select(NluInboxItem)
            .where(NluInboxItem.status.in_(("confirmed", "corrected")), NluInboxItem.reviewed_intent.isnot(None))
            .order_by(NluInboxItem.reviewed_at, NluInboxItem.id)
        )
    )
