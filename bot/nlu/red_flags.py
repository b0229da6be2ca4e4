"""The triage layer in Rasa's pipeline: red flags win, doubtful symptoms get the checklist.

`RedFlagClassifier` is a Rasa graph component placed after the `FallbackClassifier`. It asks
`bot.nlu.triage` about the (normalised) message and combines its answer with the classifier's, designed
for recall:

- a **red flag** stated by the patient makes the intent `report_emergency`, whatever the classifier said;
- the classifier's own `report_emergency` stands (a red flag from either wins), unless the only symptom
  words of the message are scoped (hypothetical, negated, over, second-hand, an idiom): then the classifier's
  next intent is taken ("万一大出血怎么办" is a question, not an emergency); and unless the triage finds only
  a doubtful symptom while the classifier is not sure (< `SURE_CLASSIFIER`), or the message also denies or
  ends a symptom, or gives a number under the red-flag threshold (体温37.5): then the checklist is asked;
- a **symptom to check** (bleeding, a fever, a colour change … that is not clearly a red flag) after an
  intent of `check_intents` makes the intent `nlu_fallback`, which the fallback action answers with the
  red-flag checklist (bot/fallback.py) instead of a guess.

The message's `triage` property records the decision (`level`, `concept`, `text`, `classifier_intent`);
Rasa keeps it in the parse data, so staff, tests and the fallback action can see why. A `red_flag`
entity carries the concept to the `red_flag` slot, so the emergency answer can fit it (self-harm gets
the crisis line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.triage import CHECK, DEFAULT_PATH, RED, Assessment, Triage

EMERGENCY_INTENT = "report_emergency"
FALLBACK_INTENT = "nlu_fallback"
TRIAGE_KEY = "triage"
RED_FLAG_ENTITY = "red_flag"
# Red-flag concept recorded when only the classifier recognised the emergency.
CLASSIFIER_CONCEPT = "classifier"
VETOED = "scoped"
# The classifier's own emergency is taken as sure from this confidence on; below it, a symptom the triage
# only finds doubtful gets the checklist instead of an urgent handoff ("neither path is sure").
SURE_CLASSIFIER = 0.9


def _intent_name(message: Message) -> Optional[str]:
    return (message.get(INTENT) or {}).get(INTENT_NAME_KEY)


def _ranking_without(message: Message, *names: str) -> List[Dict[str, Any]]:
    return [entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get(INTENT_NAME_KEY) not in names]


def _record(message: Message, level: str, concept: Optional[str], words: Optional[str], classifier_intent: Optional[str]) -> None:
    message.set(
        TRIAGE_KEY,
        {"level": level, "concept": concept, "text": words, "classifier_intent": classifier_intent},
        add_to_output=True,
    )


def _add_red_flag_entity(message: Message, concept: str) -> None:
    entities = [entity for entity in message.get(ENTITIES) or [] if entity.get(ENTITY_ATTRIBUTE_TYPE) != RED_FLAG_ENTITY]
    entities.append({ENTITY_ATTRIBUTE_TYPE: RED_FLAG_ENTITY, ENTITY_ATTRIBUTE_VALUE: concept, EXTRACTOR: "RedFlagClassifier"})
    message.set(ENTITIES, entities, add_to_output=True)


def set_intent(message: Message, name: str, confidence: float, below: List[Dict[str, Any]]) -> None:
    """Make `name` the message's intent, ranked first above `below`."""
    top = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top, *below], add_to_output=True)


def apply_triage(message: Message, assessment: Assessment, check_intents: frozenset) -> None:
    """Combine the triage's assessment with the classifier's intent (see the module docstring)."""
    classifier_intent = _intent_name(message)
    finding = assessment.finding
    if finding is not None and finding.level == RED:
        set_intent(message, EMERGENCY_INTENT, 1.0, _ranking_without(message, EMERGENCY_INTENT, FALLBACK_INTENT))
        _record(message, RED, finding.concept, finding.text, classifier_intent)
        _add_red_flag_entity(message, finding.concept)
        return
    if classifier_intent == EMERGENCY_INTENT:
        below = _ranking_without(message, EMERGENCY_INTENT, FALLBACK_INTENT)
        confidence = (message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY, 0.0)
        if finding is None and assessment.scoped and below:
            set_intent(message, below[0][INTENT_NAME_KEY], below[0].get(PREDICTED_CONFIDENCE_KEY, 0.0), below[1:])
            _record(message, VETOED, assessment.scoped[0].concept, assessment.scoped[0].text, classifier_intent)
            return
        doubtful = confidence < SURE_CLASSIFIER or bool(assessment.scoped) or finding is not None and finding.numeric
        if finding is not None and finding.level == CHECK and doubtful and below:
            set_intent(message, FALLBACK_INTENT, 1.0, [message.get(INTENT), *below])
            _record(message, CHECK, finding.concept, finding.text, below[0][INTENT_NAME_KEY])
            return
        concept = finding.concept if finding is not None else CLASSIFIER_CONCEPT
        _record(message, RED, concept, finding.text if finding else None, classifier_intent)
        _add_red_flag_entity(message, concept)
        return
    if finding is not None and finding.level == CHECK and classifier_intent in check_intents:
        below = _ranking_without(message, FALLBACK_INTENT)
        set_intent(message, FALLBACK_INTENT, 1.0, below)
        original = classifier_intent if classifier_intent != FALLBACK_INTENT else (below[0][INTENT_NAME_KEY] if below else None)
        _record(message, CHECK, finding.concept, finding.text, original)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagClassifier(GraphComponent, IntentClassifier):
    """The triage layer: forces `report_emergency` for red flags, the checklist for doubtful symptoms."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"triage_path": None}

    def __init__(self, triage: Triage) -> None:
        self.triage = triage

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagClassifier":
        path = Path(config["triage_path"]) if config.get("triage_path") else DEFAULT_PATH
        return cls(Triage.from_file(path))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            apply_triage(message, self.triage.assess(text), self.triage.check_intents)
        return messages
