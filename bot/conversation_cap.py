"""The cap on one conversation's length, so a script cannot grow a conversation without bound.

Beyond `MAX_MESSAGES_PER_CONVERSATION` (1000) patient messages, counted in Rasa's stored events, the
channels answer a conversation's messages with a sentence (`message_problems.conversation_full`: the
hotline for a person, a new conversation, and 120 with the on-call line for an emergency) instead of
passing them to Rasa. A patient who really writes that much is served by a person or in a new conversation.
When the count cannot be read, the message passes: the cap never loses a patient's message to a fault.
"""

from __future__ import annotations

import logging
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.handoffs import RASA_EVENTS
from bot.settings import positive_number
from bot.store import db

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGES = 1000


def max_messages() -> int:
    return int(positive_number("MAX_MESSAGES_PER_CONVERSATION", DEFAULT_MAX_MESSAGES))


def is_full(conversation_id: str, url: Optional[str] = None) -> bool:
    """Whether the conversation holds its maximum of patient messages already."""
    try:
        with db.session_scope(url) as session:
            count = session.scalar(
                select(func.count())
                .select_from(RASA_EVENTS)
                .where(RASA_EVENTS.c.sender_id == conversation_id, RASA_EVENTS.c.type_name == "user")
            )
    except SQLAlchemyError as error:
        log.warning("the length of conversation %s could not be read: %s", conversation_id, type(error).__name__)
        return False
    return int(count or 0) >= max_messages()
