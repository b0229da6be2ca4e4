"""Rasa's check of every action server response, against a schema compiled once.

`RemoteAction._validate_action_result` calls `jsonschema.validate(response, schema)` for each custom
action, and `jsonschema.validate` first checks the schema itself against JSON Schema's meta-schema.
That check, repeated on every call, was a quarter of the Rasa process's CPU time per turn in the
profile of bench/notes.md. Here the schema (Rasa's own `action_response_format_spec()`) is checked
once and its validator kept; a response is checked exactly as before. A response that does not fit
is handed to Rasa's original method, so the error raised and its message stay Rasa's.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Dict, Text

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

Check = Callable[[RemoteAction, Dict[Text, Any]], bool]


@lru_cache(maxsize=1)
def response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def compiled(original: Check) -> Check:
    def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        if best_match(response_validator().iter_errors(result)) is None:
            return True
        return original(self, result)

    setattr(validate_action_result, "__wrapped__", original)
    return validate_action_result


def install() -> None:
    """Use the compiled schema in this process (once)."""
    if hasattr(RemoteAction._validate_action_result, "__wrapped__"):
        return
    RemoteAction._validate_action_result = compiled(RemoteAction._validate_action_result)  # type: ignore[assignment]
