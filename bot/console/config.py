"""Where the console finds its database and Rasa's HTTP API."""

from __future__ import annotations

from dataclasses import dataclass

from bot import settings


@dataclass(frozen=True)
class ConsoleConfig:
    database_url: str
    rasa_url: str
    rasa_token: str
    rasa_timeout_seconds: float = 10.0

    @classmethod
    def from_environment(cls) -> "ConsoleConfig":
        cfg = settings.load()
        return cls(database_url=cfg.database_url, rasa_url=cfg.rasa_url, rasa_token=settings.rasa_token())
