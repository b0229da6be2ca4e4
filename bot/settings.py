"""Runtime settings, read from the environment variables of CONTRACT.md §2."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_DATABASE_URL = "sqlite:///var/app.db"
# Values a template or a chart leaves in a secret setting (Rasa's Helm chart writes "UNSET").
PLACEHOLDER_SECRETS = frozenset({"unset", "changeme", "change-me", "secret", "token", "password", "none", "null"})
# The shortest secret setting accepted (RASA_TOKEN, ACTION_SERVER_TOKEN, WIDGET_SESSION_SECRET, TELEGRAM_WEBHOOK_SECRET).
MIN_SECRET_LENGTH = 16
# A web origin: scheme, host and an optional port, nothing else.
_ORIGIN = re.compile(r"^https?://(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$")


def positive_number(name: str, default: float) -> float:
    """A limit or a duration from the environment variable `name` (`default` when unset); never zero or less."""
    raw = os.environ.get(name, "").strip()
    value = float(raw) if raw else default
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def flag(name: str) -> bool:
    """An on/off setting: `true`, `1`, `yes` or `on` (any case) is on; unset or anything else is off."""
    return os.environ.get(name, "").strip().lower() in ("true", "1", "yes", "on")


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


def checked_secret(name: str, value: str) -> str:
    """`value` of the secret setting `name`, refused when it is a placeholder left from a template
    (`<random-token>`, `UNSET` …: a known secret) or shorter than MIN_SECRET_LENGTH (guessable)."""
    if value.lower() in PLACEHOLDER_SECRETS or "<" in value or ">" in value:
        raise ValueError(f"{name} is a placeholder: set 32+ random characters (or leave it unset on one machine)")
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{name} is too short ({len(value)} characters): set at least {MIN_SECRET_LENGTH} random characters")
    return value


def _secret(name: str) -> str:
    """The secret in the environment variable `name` (checked_secret), or one generated once into
    `var/<name in lower case>`."""
    token = os.environ.get(name, "").strip()
    if token:
        return checked_secret(name, token)
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
class Retention:
    """How long each kind of patient data is kept before `python -m bot purge` deletes it (PIPL Art. 19)."""

    # A conversation's stored events, counted from its last event.
    transcript_days: float
    # A closed ticket with its history, and the handoffs and follow-ups of its conversation, counted from closure.
    closed_ticket_days: float
    # Ticket lookup misses and failed staff logins (rate-limit records), counted from when they happened.
    lookup_days: float
    # The audit log (who read which transcript or ticket, revealed a phone, exported or deleted a patient's data).
    audit_days: float

    @property
    def ticket_years(self) -> int:
        return round(self.closed_ticket_days / 365)


def retention() -> Retention:
    """`TRANSCRIPT_RETENTION_DAYS` (180), `CLOSED_TICKET_RETENTION_DAYS` (1095), `LOOKUP_RETENTION_DAYS` (30),
    `AUDIT_RETENTION_DAYS` (1095)."""
    return Retention(
        transcript_days=positive_number("TRANSCRIPT_RETENTION_DAYS", 180),
        closed_ticket_days=positive_number("CLOSED_TICKET_RETENTION_DAYS", 3 * 365),
        lookup_days=positive_number("LOOKUP_RETENTION_DAYS", 30),
        audit_days=positive_number("AUDIT_RETENTION_DAYS", 3 * 365),
    )


def privacy_notice_url(served_at: Optional[str] = None) -> str:
    """Where patients read the full privacy notice: `PRIVACY_NOTICE_URL`, else `served_at` (the console's
    /privacy as the patient's browser reaches it), else the console's own address."""
    return os.environ.get("PRIVACY_NOTICE_URL", "").strip() or served_at or f"{load().console_url}/privacy"


def allowed_origins() -> List[str]:
    """`ALLOWED_ORIGINS`: the web origins (`https://www.hospital.example`, separated by commas or spaces) whose
    pages may embed the widget, that is open Rasa's Socket.IO channel; the default is the console's own
    addresses on this machine (the demo page of `make run`). `*` is refused: any site could then talk to the bot
    as the hospital's widget."""
    raw = os.environ.get("ALLOWED_ORIGINS", "").strip()
    if not raw:
        port = _port("CONSOLE_PORT", 8000)
        return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    origins = [origin.rstrip("/") for origin in re.split(r"[\s,]+", raw) if origin]
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ValueError(f"ALLOWED_ORIGINS: {origin!r} is not an origin like https://www.hospital.example")
    return origins


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
