"""The red-flag safety net: a message naming a medical red flag is `report_emergency`.

The rules live in `red_flags.yml` beside this module (see that file for their
meaning). `RedFlagClassifier` is a Rasa graph component placed after the
`FallbackClassifier`: whatever the classifier predicted, even `nlu_fallback`, a
red flag rewrites `intent` and `intent_ranking` and records which rule fired in
the message's `red_flag` property, which Rasa keeps in the parse data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Pattern, Sequence, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

EMERGENCY_INTENT = "report_emergency"
FALLBACK_INTENT = "nlu_fallback"
RED_FLAG_KEY = "red_flag"
DEFAULT_RULES_PATH = Path(__file__).with_name("red_flags.yml")


@dataclass(frozen=True)
class RedFlag:
    """One red flag: which rule fired and the words that fired it."""

    name: str
    text: str


@dataclass(frozen=True)
class _Rule:
    name: str
    patterns: Sequence[Pattern[str]]
    with_any: Sequence[Pattern[str]]
    unless: Sequence[Pattern[str]]


def _compile(patterns: Optional[List[str]]) -> List[Pattern[str]]:
    return [re.compile(pattern, re.IGNORECASE) for pattern in patterns or []]


class RedFlagRules:
    """The rules of `red_flags.yml`, applied to one message at a time."""

    def __init__(self, definition: Dict[str, Any]) -> None:
        self._separator = re.compile(definition["clause_separators"])
        self._hypothetical = _compile(definition.get("hypothetical"))
        self._negations = _compile(definition.get("negations"))
        self._rules = [
            _Rule(
                name=flag["name"],
                patterns=_compile(flag["patterns"]),
                with_any=_compile(flag.get("with")),
                unless=_compile(flag.get("unless")),
            )
            for flag in definition["flags"]
        ]
        if not self._rules:
            raise ValueError("the red-flag rules define no flags")

    @classmethod
    def from_file(cls, path: Path = DEFAULT_RULES_PATH) -> "RedFlagRules":
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle))

    def find(self, text: str) -> Optional[RedFlag]:
        """The first red flag the text states, or None."""
        for rule in self._rules:
            if any(pattern.search(text) for pattern in rule.unless):
                continue
            match = self._first_stated(rule.patterns, text)
            if match is None:
                continue
            if rule.with_any and self._first_stated(rule.with_any, text) is None:
                continue
            return RedFlag(rule.name, match)
        return None

    def _first_stated(self, patterns: Sequence[Pattern[str]], text: str) -> Optional[str]:
        for pattern in patterns:
            for match in pattern.finditer(text):
                if self._is_stated(text, match.start()):
                    return match.group(0)
        return None

    def _is_stated(self, text: str, start: int) -> bool:
        """False when the clause before the match asks a hypothetical or negates it."""
        clause_start = max((m.end() for m in self._separator.finditer(text, 0, start)), default=0)
        prefix = text[clause_start:start]
        return not any(p.search(prefix) for p in self._hypothetical) and not any(
            p.search(prefix) for p in self._negations
        )


def force_emergency(message: Message, flag: RedFlag) -> None:
    """Make `report_emergency` the message's intent, keeping the classifier's ranking below it.

    The `red_flag` property records the rule, the words and what the classifier had said.
    """
    emergency = {INTENT_NAME_KEY: EMERGENCY_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
    classifier_intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    ranking = [
        entry
        for entry in message.get(INTENT_RANKING_KEY) or []
        if entry.get(INTENT_NAME_KEY) not in (EMERGENCY_INTENT, FALLBACK_INTENT)
    ]
    message.set(INTENT, emergency, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [emergency, *ranking], add_to_output=True)
    message.set(
        RED_FLAG_KEY,
        {"name": flag.name, "text": flag.text, "classifier_intent": classifier_intent},
        add_to_output=True,
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagClassifier(GraphComponent, IntentClassifier):
    """Forces `report_emergency` for messages that state a medical red flag."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"rules_path": None}

    def __init__(self, rules: RedFlagRules) -> None:
        self.rules = rules

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagClassifier":
        path = Path(config["rules_path"]) if config.get("rules_path") else DEFAULT_RULES_PATH
        return cls(RedFlagRules.from_file(path))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            flag = self.rules.find(message.get(TEXT) or "")
            if flag is not None:
                force_emergency(message, flag)
        return messages
