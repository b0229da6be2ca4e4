"""Whether a patient message may reach Rasa, as the public channels check it after the message guard:
the conversation's and the client's message rate (bot/message_rate.py), then the conversation's length
(bot/conversation_cap.py). A refused message is answered with a sentence of data/policies/service.yml."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Optional

from bot import conversation_cap, service_texts
from bot.message_rate import MessageRate

TOO_FAST = "too_fast"
CONVERSATION_FULL = "conversation_full"


@dataclass(frozen=True)
class Refusal:
    problem: str
    text: str


async def refusal(rates: MessageRate, conversation: str, client: Optional[str]) -> Optional[Refusal]:
    """Why the message is refused, with the sentence that answers it; None when it may pass."""
    if not rates.allow(conversation, client):
        return Refusal(TOO_FAST, service_texts.text(f"message_problems.{TOO_FAST}"))
    if await asyncio.to_thread(conversation_cap.is_full, conversation):
        text = service_texts.text(f"message_problems.{CONVERSATION_FULL}", max_messages=conversation_cap.max_messages())
        return Refusal(CONVERSATION_FULL, text)
    return None
