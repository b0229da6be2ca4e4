"""A button's title typed as text counts as pressing the button.

Patients often type the answer they see instead of tapping it ("很不满意" under the satisfaction question,
"挺好的" under a post-op check-in), and some clients show no buttons at all. Read by the classifier, such a
short answer can go wrong in a way that hurts: "很不满意" looked like `followup_fine` to the model. So when the
patient's message, without spaces and closing punctuation, is exactly the title of a button the bot offered
since the patient last wrote, Rasa parses that button's payload instead; the stored message keeps what the
patient typed. Anything else, including a red flag, goes through the NLU pipeline as before.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from rasa.shared.core.events import BotUttered, UserUttered

_IGNORED = re.compile(r"[\s。.!！,，~～、]+")


def _normalised(text: str) -> str:
    return _IGNORED.sub("", text)


def _offered_buttons(events: Iterable[Any]) -> list:
    """The buttons of the latest bot message that offered some, since the patient's latest message."""
    for event in reversed(list(events)):
        if isinstance(event, UserUttered):
            return []
        if isinstance(event, BotUttered) and event.data.get("buttons"):
            return list(event.data["buttons"])
    return []


def payload_for(text: Optional[str], events: Iterable[Any]) -> Optional[str]:
    """The payload of the offered button whose title the patient typed, or None."""
    if not text or text.startswith("/"):
        return None
    typed = _normalised(text)
    if not typed:
        return None
    for button in _offered_buttons(events):
        title, payload = button.get("title"), button.get("payload")
        if isinstance(title, str) and isinstance(payload, str) and payload and _normalised(title) == typed:
            return payload
    return None
