"""The ticket form's privacy consent: asked first, only of a patient who has not agreed to the notice yet.

A ticket stores the phone and health details, sensitive personal information that needs the patient's
separate consent (PIPL Art. 29). A patient who agreed already (the widget's “同意并继续”, an integration,
an earlier ticket form) is not asked again; one who says “不同意” ends the form (a stopping intent) and
gets no ticket. Until they agree, a phone number given in the form is not kept.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions.forms import AskAction
from bot import answers, policies, privacy, settings

SLOT = "privacy_consent"


async def given(tracker: Tracker) -> bool:
    """Whether the patient of this conversation agreed to the current privacy notice."""
    return tracker.get_slot(SLOT) is True or await asyncio.to_thread(privacy.has_agreed, tracker.sender_id)


async def earlier(tracker: Tracker) -> Dict[Text, Any]:
    """The consent slot filled from the database when the patient agreed outside this form; else nothing."""
    if tracker.get_slot(SLOT) is not None:
        return {}
    return {SLOT: True} if await asyncio.to_thread(privacy.has_agreed, tracker.sender_id) else {}


async def validate(value: Any, tracker: Tracker) -> Dict[Text, Any]:
    """An agreement is recorded at once (once: an agreement from the database is already there); anything
    else leaves the question open."""
    if value is not True:
        return {SLOT: None}
    await asyncio.to_thread(privacy.agree, tracker.sender_id, tracker.get_latest_input_channel() or "", "reply")
    return {SLOT: True}


class ActionAskPrivacyConsent(AskAction):
    slot = SLOT

    def values(self, tracker: Tracker, snapshot: policies.PolicySnapshot) -> Dict[str, Any]:
        return {"privacy_url": settings.privacy_notice_url(), "ticket_years": settings.retention().ticket_years}

    def buttons(self, snapshot: policies.PolicySnapshot) -> List[Dict[str, str]]:
        return [
            {"title": answers.prompt("buttons.agree", snapshot), "payload": "/affirm"},
            {"title": answers.prompt("buttons.disagree", snapshot), "payload": "/deny"},
        ]
