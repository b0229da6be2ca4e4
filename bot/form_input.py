"""What a patient may answer inside a form, and which messages interrupt a form instead.

Free answers are stored as the patient wrote them; they are refused (and asked again)
only when empty, too long, or made of characters no description needs but injection
attempts do, so a bad answer never overwrites or loses what was already collected.
"""

from __future__ import annotations

import re
from typing import Optional

SURGERY_TIME_MAX_CHARS = 50
DESCRIPTION_MAX_CHARS = 500
FORBIDDEN_CHARACTERS = re.compile(r"[;'\"<>\\`\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Messages that stop a form wherever it is: cancelling, a red flag, a wish for a person.
STOPPING_INTENTS = frozenset({"deny", "report_emergency", "express_anger", "request_human"})
# Questions (and thanks) answered in the middle of the ticket form, which then asks its question again.
QUESTION_INTENTS = frozenset(
    {
        "ask_refund_policy", "ask_contact_info", "ask_procedure_info", "ask_recovery", "bot_challenge",
        "check_ticket_status", "thank",
    }
)
# While describing the problem, a patient's words often read like a recovery or procedure
# question ("肿了一个月还没消"), so those count as the description there.
DESCRIPTION_SLOT = "problem_description"
DESCRIPTIVE_QUESTIONS = frozenset({"ask_recovery", "ask_procedure_info"})
# Intents that carry no answer to a form question ("好的", "你好").
NON_ANSWER_INTENTS = frozenset({"affirm", "greet", "goodbye"})


def text_problem(value: object, max_chars: int) -> Optional[str]:
    """None for an acceptable free answer, else `text_empty`, `text_too_long` or `text_symbols`."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return "text_empty"
    if len(text) > max_chars:
        return "text_too_long"
    if FORBIDDEN_CHARACTERS.search(text):
        return "text_symbols"
    return None


def interrupts(
    intent: Optional[str], requested_slot: Optional[str], answers_questions: bool, text: str = ""
) -> bool:
    """Whether the message is not an answer to the form's question but something to handle first.

    `answers_questions` is true for forms whose rules answer questions and then resume. A message with
    characters no question needs but injection attempts do is an answer, to be refused and asked again,
    whatever the classifier guessed for it.
    """
    if intent in STOPPING_INTENTS:
        return True
    if not answers_questions or intent not in QUESTION_INTENTS or FORBIDDEN_CHARACTERS.search(text):
        return False
    return not (requested_slot == DESCRIPTION_SLOT and intent in DESCRIPTIVE_QUESTIONS)
