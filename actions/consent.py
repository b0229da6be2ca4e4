"""The ticket form's privacy consent: asked first, only of a patient who has not agreed to the notice yet.

A ticket stores the phone and health details, sensitive personal information that needs the patient's
separate consent (PIPL Art. 29). The offers that lead to the form (`CONSENT_OFFERS`) ask for it in their
own words (“登记会保存…点“同意并登记”或回复“是”即表示您同意”), so accepting one is agreeing and is
recorded when the form starts. A patient who agreed already (the widget's “同意并继续”, an integration, an
earlier form) is not asked again either. The form asks only when it started without such an offer (a
check-in's reported problem, “我想预约面诊”); “不同意” then ends it (a stopping intent) with no ticket. Until
the patient agrees, a phone number given in the form is not kept.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions.forms import AskAction, events_before_activation, user_intents
from bot import answers, policies, privacy, settings

SLOT = "privacy_consent"
FORM = "ticket_form"
# The domain's offers whose text asks for the consent a ticket needs.
CONSENT_OFFERS = frozenset({"utter_offer_ticket", "utter_offer_consultation"})


def accepted_consent_offer(tracker: Tracker) -> bool:
    """Whether the form started on the patient's yes to an offer that asked for their consent."""
    before = events_before_activation(tracker, FORM)
    said = [index for index, event in enumerate(before) if event.get("event") == "user"]
    if not said or user_intents([before[said[-1]]]) != ["affirm"]:
        return False
    replies = [e.get("name") for e in before[: said[-1]] if e.get("event") == "action" and e.get("name") != "action_listen"]
    return bool(replies) and replies[-1] in CONSENT_OFFERS


async def given(tracker: Tracker) -> bool:
    """Whether the patient of this conversation agreed to the current privacy notice."""
    return tracker.get_slot(SLOT) is True or await asyncio.to_thread(privacy.has_agreed, tracker.sender_id)


async def earlier(tracker: Tracker) -> Dict[Text, Any]:
    """The consent slot filled when the patient agreed before the form asked: by accepting a consent offer
    (recorded now) or elsewhere (in the database); else nothing."""
    if tracker.get_slot(SLOT) is not None:
        return {}
    if accepted_consent_offer(tracker):
        return await validate(True, tracker)
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
