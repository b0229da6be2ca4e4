"""When the NLU did not understand: offer the likeliest topics, and a person on the second miss.

A message the triage layer sent here to be checked (bot/nlu/red_flags.py, `triage.level == "check"`) is no
miss: it gets the red-flag checklist (`red_flag_checklist`), whose options report an emergency and whose
"none" button goes on with the intent the classifier had recognised.

The topic buttons are the domain's `utter_ask_rephrase` response: its text, and the
subset of its buttons whose payload (`/<intent>`) names one of the likeliest intents
of the latest message. The full response, every button, is what a patient gets who
says none of the offered topics fits.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot import hospital, service_texts

FALLBACK_INTENT = "nlu_fallback"
EMERGENCY_INTENT = "report_emergency"
CHECK_LEVEL = "check"
# Where "none of these" goes when the classifier's own intent is no answer (a greeting, a fallback …).
CHECKLIST_DEFAULT_INTENT = "report_postop_pain"
CHECKLIST_ANSWERABLE = frozenset(
    {"report_postop_pain", "report_side_effect", "ask_recovery", "ask_procedure_info", "complain_result",
     "complain_asymmetry", "complain_scar", "request_revision", "request_refund", "ask_refund_policy"}
)
REPHRASE_RESPONSE = "utter_ask_rephrase"
MAX_TOPICS = 3
MISSES_BEFORE_HANDOFF = 2

# Events after which earlier misses no longer count: a new session, a restart, or
# staff handing the conversation back to the bot.
_STREAK_BREAKERS = {"session_started", "restart", "resume"}


def rephrase_response(responses: Mapping[str, Any]) -> Dict[str, Any]:
    """The first variation of `utter_ask_rephrase` in the domain's responses, the hospital's facts filled in."""
    variations = responses.get(REPHRASE_RESPONSE) or []
    if not variations:
        raise KeyError(f"the domain has no {REPHRASE_RESPONSE} response")
    return {**variations[0], "text": str(variations[0]["text"]).format(**hospital.load().facts())}


def likeliest_intents(intent_ranking: Iterable[Mapping[str, Any]]) -> List[str]:
    """Intent names of the ranking, best first, without `nlu_fallback` and repeats."""
    names: List[str] = []
    for entry in intent_ranking:
        name = entry.get("name")
        if name and name != FALLBACK_INTENT and name not in names:
            names.append(name)
    return names


def topic_buttons(
    intent_ranking: Iterable[Mapping[str, Any]],
    buttons: Sequence[Mapping[str, str]],
    limit: int = MAX_TOPICS,
) -> List[Dict[str, str]]:
    """Up to `limit` buttons for the likeliest intents that have a topic button, best first.

    Intents without a button (greetings, thanks, out of scope …) are skipped.
    """
    by_intent = {button["payload"].lstrip("/"): dict(button) for button in buttons}
    chosen = [by_intent[name] for name in likeliest_intents(intent_ranking) if name in by_intent]
    return chosen[:limit]


def _intent_of(event: Mapping[str, Any]) -> Optional[str]:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def needs_checklist(parse_data: Mapping[str, Any]) -> bool:
    """Whether the triage layer sent this message to be checked for red flags."""
    return (parse_data.get("triage") or {}).get("level") == CHECK_LEVEL


def _payload(intent: str, entities: Mapping[str, str]) -> str:
    return f"/{intent}{json.dumps(dict(entities), ensure_ascii=False)}" if entities else f"/{intent}"


def red_flag_checklist(parse_data: Mapping[str, Any]) -> Tuple[str, List[Dict[str, str]]]:
    """The checklist question and its buttons for a message the triage sent to be checked."""
    options = service_texts.titles("red_flag_checklist.options")
    buttons = [
        {"title": title, "payload": _payload(EMERGENCY_INTENT, {"red_flag": concept})} for concept, title in options.items()
    ]
    original = (parse_data.get("triage") or {}).get("classifier_intent")
    intent = original if original in CHECKLIST_ANSWERABLE else CHECKLIST_DEFAULT_INTENT
    procedures = [e.get("value") for e in parse_data.get("entities") or [] if e.get("entity") == "procedure"]
    entities = {"procedure": str(procedures[0])} if procedures else {}
    buttons.append({"title": service_texts.text("red_flag_checklist.none"), "payload": _payload(intent, entities)})
    return service_texts.text("red_flag_checklist.text"), buttons


def consecutive_misses(events: Sequence[Mapping[str, Any]]) -> int:
    """How many patient messages in a row, up to the latest, the NLU did not understand."""
    misses = 0
    for event in reversed(events):
        kind = event.get("event")
        if kind in _STREAK_BREAKERS:
            break
        if kind != "user":
            continue
        if _intent_of(event) != FALLBACK_INTENT or needs_checklist(event.get("parse_data") or {}):
            break
        misses += 1
    return misses


def should_hand_off(events: Sequence[Mapping[str, Any]]) -> bool:
    """True on the second miss in a row: then a person takes over."""
    return consecutive_misses(events) >= MISSES_BEFORE_HANDOFF
