"""Action server responses checked against Rasa's schema, compiled once (bot/action_responses.py)."""

from __future__ import annotations

from typing import Iterator

import pytest
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import action_responses

GOOD = {"events": [{"event": "slot", "name": "procedure", "value": "双眼皮"}], "responses": [{"text": "好的"}]}
BAD = {"events": [{"name": "procedure"}], "responses": []}  # an event without its type


@pytest.fixture()
def action() -> Iterator[RemoteAction]:
    original = RemoteAction._validate_action_result
    action_responses.install()
    action_responses.install()
    yield RemoteAction("action_policy_answer", EndpointConfig("http://127.0.0.1:1/webhook"))
    RemoteAction._validate_action_result = original  # type: ignore[assignment]


def test_a_valid_response_passes_and_the_schema_itself_is_checked_only_once(
    action: RemoteAction, monkeypatch: pytest.MonkeyPatch
) -> None:
    action_responses.response_validator.cache_clear()
    validator_class = validator_for(RemoteAction.action_response_format_spec())
    checks = []
    check_schema = validator_class.check_schema
    monkeypatch.setattr(validator_class, "check_schema", classmethod(lambda cls, s: checks.append(1) or check_schema(s)))

    assert all(action._validate_action_result(GOOD) for _ in range(50))
    assert len(checks) == 1


def test_a_response_that_does_not_fit_is_refused_with_rasas_own_error(action: RemoteAction) -> None:
    with pytest.raises(ValidationError) as refused:
        action._validate_action_result(BAD)
    assert "Failed to validate Action server response" in refused.value.message

