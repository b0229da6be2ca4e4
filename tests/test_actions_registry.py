"""The action server starts with the project's actions: every custom action the domain names is served."""

from __future__ import annotations

from pathlib import Path

from rasa_sdk.executor import ActionExecutor

ROOT = Path(__file__).resolve().parent.parent


def test_every_custom_action_of_the_domain_is_registered() -> None:
    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(ROOT / "domain.yml"))
    executor = ActionExecutor()
    executor.register_package("actions")
    assert sorted(set(domain.user_actions) - set(domain.responses) - set(executor.actions)) == []
