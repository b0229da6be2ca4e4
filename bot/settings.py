"""Runtime settings, read from the environment variables of CONTRACT.md §2."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_DATABASE_URL = "sqlite:///var/app.db"
# Values a template or a chart leaves in a secret setting (Rasa's Helm chart writes "UNSET").
PLACEHOLDER_SECRETS = frozenset({"unset", "changeme", "change-me", "secret", "token", "password", "none", "null"})


def positive_number(name: str, default: float) -> float:
    """A limit or a duration from the environment variable `name` (`default` when unset); never zero or less."""
    raw = os.environ.get(name, "").strip()
    value = float(raw) if raw else default
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def database_url() -> str:
    """The SQLAlchemy URL shared by the bot's tables and Rasa's tracker store.

    Relative SQLite paths are resolved against the project root so that every
    process (Rasa, action server, console, tests) opens the same file.
    """
    url = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        url = prefix + str(PROJECT_ROOT / url[len(prefix):])
    return url


def _secret(name: str) -> str:
    """The secret in the environment variable `name`, or one generated once into `var/<name in lower case>`.

    A placeholder left from a template (`<random-token>`, `UNSET` …) is refused: it would be a known secret."""
    token = os.environ.get(name, "").strip()
    if token.lower() in PLACEHOLDER_SECRETS or "<" in token or ">" in token:
        raise ValueError(f"{name} is a placeholder: set 32+ random characters (or leave it unset on one machine)")
    if token:
        return token
    path = VAR_DIR / name.lower()
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(exist_ok=True)
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token)
    return token


def rasa_token() -> str:
    """The token for Rasa's HTTP API: `RASA_TOKEN`, or one generated once into `var/`."""
    return _secret("RASA_TOKEN")


def action_server_token() -> str:
    """The shared secret Rasa sends the action server (`ACTION_SERVER_TOKEN`, or one generated once into `var/`)."""
    return _secret("ACTION_SERVER_TOKEN")


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: Optional[str]
    host: str
    rasa_port: int
    actions_port: int
    console_port: int

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def console_url(self) -> str:
        return f"http://{self.host}:{self.console_port}"


def load() -> Settings:
    return Settings(
        database_url=database_url(),
        redis_url=os.environ.get("REDIS_URL", "").strip() or None,
        host=os.environ.get("BIND_HOST", "127.0.0.1"),
        rasa_port=_port("RASA_PORT", 5005),
        actions_port=_port("ACTIONS_PORT", 5055),
        console_port=_port("CONSOLE_PORT", 8000),
    )
