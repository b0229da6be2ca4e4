"""Text normalisation before triage and NLU: one script, one width, one case.

Patients write traditional characters (傷口裂開), full-width digits and letters (３９度, ＢＯＴＯＸ) and
mixed case. `normalise` maps traditional to simplified Chinese with OpenCC (the kept conversion library,
not a hand-written table), drops markup tags, folds full-width letters and digits to ASCII and lower-cases
Latin letters.
The length of the text may change only where OpenCC maps phrases; Rasa's entity offsets are taken after
this component, so they stay consistent with the text the later components see.

`TextNormaliser` is the Rasa graph component placed first in `config.yml`'s pipeline. It rewrites the
message text the tokenizer, the classifier and the triage read; the event Rasa stores keeps the patient's
original words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, List, Text

import opencc
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


# Full-width digits, Latin letters and the signs written inside numbers (３９．５％, ８０／５０) → ASCII.
# Chinese punctuation (，。？) stays: it separates the clauses the triage scopes.
_FULL_WIDTH = {code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF0E, 0xFF05, 0xFF0F]}


# Markup tags (<img …>, </script>) carry nothing a patient means; left in, their Latin letters swayed DIET.
_MARKUP = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")


def normalise(text: str) -> str:
    """Simplified Chinese without markup tags, full-width letters and digits folded to ASCII, lower-case."""
    return _converter().convert(_MARKUP.sub(" ", text).translate(_FULL_WIDTH)).lower().strip()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TextNormaliser(GraphComponent):
    """Rewrites each message's text with `normalise` before the tokenizer sees it."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TextNormaliser":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalise(message)
        return messages

    @staticmethod
    def _normalise(message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text:
            message.set(TEXT, normalise(text))
