"""The NLU inbox (issue 13): patient messages the NLU may have misunderstood, reviewed by trainers.

`GET /api/nlu/inbox` collects new messages from Rasa's events first (bot/nlu_inbox.py); trainers confirm,
correct or dismiss them; any staff member may flag a message of a transcript. `python -m bot nlu export`
(bot/nlu_export.py) turns the reviewed ones into training data.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Dict, List, Optional

import yaml
from fastapi import APIRouter, Depends, HTTPException, Path as PathParam, Query, status

from bot import nlu_inbox
from bot.console import messages
from bot.console.deps import SessionScope, current_staff, current_trainer, get_sessions, permitted
from bot.console.schemas import (
    ErrorOut,
    InboxFlag,
    InboxItemOut,
    InboxOptions,
    InboxReview,
    InboxStatus,
    IntentChoice,
)
from bot.fallback import REPHRASE_RESPONSE
from bot.roles import Permission
from bot.store.models import NluInboxItem, Staff

LABELS_FILE = Path(__file__).resolve().parent.parent / "intent_labels.yml"
ItemId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FORBIDDEN = {403: {"model": ErrorOut, "description": "the caller is no trainer (nor admin)"}}

router = APIRouter(prefix="/api/nlu", tags=["nlu"], dependencies=[Depends(current_staff)])


@lru_cache(maxsize=1)
def _extra_labels() -> Dict[str, str]:
    with open(LABELS_FILE, encoding="utf-8") as handle:
        return {str(name): str(label) for name, label in (yaml.safe_load(handle) or {}).items()}


def intent_labels() -> Dict[str, str]:
    """Intent → Chinese label: the topic buttons' titles of domain.yml, then bot/console/intent_labels.yml."""
    labels: Dict[str, str] = {}
    for variation in (nlu_inbox.domain().get("responses") or {}).get(REPHRASE_RESPONSE) or []:
        for button in variation.get("buttons") or []:
            intent = str(button.get("payload") or "").lstrip("/").split("{")[0]
            if intent and button.get("title"):
                labels.setdefault(intent, str(button["title"]))
    for intent, label in _extra_labels().items():
        labels.setdefault(intent, label)
    return labels


def item_out(item: NluInboxItem) -> InboxItemOut:
    return InboxItemOut(
        id=item.id,
        conversation_id=item.conversation_id,
        timestamp=item.event_timestamp,
        time=datetime.fromtimestamp(item.event_timestamp, tz=timezone.utc),
        text=item.text,
        predicted_intent=item.predicted_intent,
        confidence=item.confidence,
        reason=item.reason,
        status=item.status,
        flagged_by=item.flagger.username if item.flagger else None,
        reviewed_intent=item.reviewed_intent,
        reviewed_procedure=item.reviewed_procedure,
        reviewed_by=item.reviewer.username if item.reviewer else None,
        reviewed_at=item.reviewed_at,
    )


def _http_error(error: nlu_inbox.InboxError) -> HTTPException:
    code = status.HTTP_404_NOT_FOUND if isinstance(error, nlu_inbox.ItemNotFound) else status.HTTP_422_UNPROCESSABLE_ENTITY
    return HTTPException(code, detail=messages.text(error.key, **error.values))


@router.get("/inbox", response_model=List[InboxItemOut], responses=FORBIDDEN)
def list_inbox(
    status: Optional[InboxStatus] = None,
    limit: int = Query(200, ge=1, le=1000),
    _trainer: Staff = Depends(current_trainer),
    sessions: SessionScope = Depends(get_sessions),
) -> List[InboxItemOut]:
    """Newest message first. Reads the patient messages Rasa stored since the last call first: those that
    fell back (not the red-flag checklist), were recognised with confidence under 0.6, or preceded a
    handoff for not being understood."""
    with sessions() as session:
        nlu_inbox.collect(session)
    with sessions() as session:
        return [item_out(item) for item in nlu_inbox.list_items(session, status.value if status else None, limit)]


@router.get("/options", response_model=InboxOptions, responses=FORBIDDEN)
def options(_trainer: Staff = Depends(current_trainer)) -> InboxOptions:
    labels = intent_labels()
    return InboxOptions(
        intents=[IntentChoice(name=name, label=labels.get(name, name)) for name in nlu_inbox.domain_intents()],
        procedures=nlu_inbox.canonical_procedures(),
        low_confidence=nlu_inbox.LOW_CONFIDENCE,
    )


@router.post(
    "/inbox/{item_id}",
    response_model=InboxItemOut,
    responses={**FORBIDDEN, 404: {"model": ErrorOut, "description": "no such inbox message"}},
)
def review(
    item_id: ItemId,
    body: InboxReview,
    trainer: Staff = Depends(current_trainer),
    sessions: SessionScope = Depends(get_sessions),
) -> InboxItemOut:
    """Confirm the predicted intent, correct it (an intent of the domain; optionally the procedure, one of the
    canonical values), or dismiss the message. A reviewed message may be reviewed again."""
    try:
        with sessions() as session:
            item = nlu_inbox.review(session, item_id, body.action.value, trainer, body.intent, body.procedure)
            return item_out(item)
    except nlu_inbox.InboxError as error:
        raise _http_error(error) from error


@router.post("/flag", response_model=InboxItemOut, responses={404: {"model": ErrorOut, "description": "no such patient message"}})
def flag(
    body: InboxFlag, staff: Staff = Depends(permitted(Permission.QUEUE)), sessions: SessionScope = Depends(get_sessions)
) -> InboxItemOut:
    """Whoever reads transcripts (bot/roles.py `queue`): put a patient message of a transcript in the inbox as
    misunderstood (`flagged`)."""
    try:
        with sessions() as session:
            return item_out(nlu_inbox.flag(session, body.conversation_id, body.timestamp, staff))
    except nlu_inbox.InboxError as error:
        raise _http_error(error) from error
