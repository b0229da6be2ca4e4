"""When the NLU did not understand: offer the likeliest topics, and a person on the second miss.

The topic buttons are the domain's `utter_ask_rephrase` response: its text, and the
subset of its buttons whose payload (`/<intent>`) names one of the likeliest intents
of the latest message. The full response, every button, is what a patient gets who
says none of the offered topics fits.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

FALLBACK_INTENT = "nlu_fallback"
REPHRASE_RESPONSE = "utter_ask_rephrase"
MAX_TOPICS = 3
MISSES_BEFORE_HANDOFF = 2

# Events after which earlier misses no longer count: a new session, a restart, or
# staff handing the conversation back to the bot.
_STREAK_BREAKERS = {"session_started", "restart", "resume"}


def rephrase_response(responses: Mapping[str, Any]) -> Dict[str, Any]:
    """The first variation of `utter_ask_rephrase` in the domain's responses."""
    variations = responses.get(REPHRASE_RESPONSE) or []
    if not variations:
        raise KeyError(f"the domain has no {REPHRASE_RESPONSE} response")
    return variations[0]


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


def consecutive_misses(events: Sequence[Mapping[str, Any]]) -> int:
    """How many patient messages in a row, up to the latest, the NLU did not understand."""
    misses = 0
    for event in reversed(events):
        kind = event.get("event")
        if kind in _STREAK_BREAKERS:
            break
        if kind != "user":
            continue
        if _intent_of(event) != FALLBACK_INTENT:
            break
        misses += 1
    return misses


def should_hand_off(events: Sequence[Mapping[str, Any]]) -> bool:
    """True on the second miss in a row: then a person takes over."""
    return consecutive_misses(events) >= MISSES_BEFORE_HANDOFF
