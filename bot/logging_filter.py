"""Masking of phone numbers and secrets in every log record a process writes.

`install()` wraps the logging module's record factory, so each record is masked once, when it is
created, whichever logger made it and whichever handlers (Rasa's, Sanic's, uvicorn's, structlog's
through the standard library) later write it. A filter on handlers would miss the handlers that a
framework configures after the project's code has run. Masked:

- mainland mobile numbers (`bot.phone.mask_text`: 13812345678 → 138****5678), in the message and in
  the text of an attached exception (an SQL error lists its parameters);
- the values of the secret settings (`RASA_TOKEN`, `TELEGRAM_TOKEN`, …) wherever they appear, e.g.
  in a URL an HTTP client logs, replaced by the setting's name in angle brackets.

Every process installs it at its start: the launcher, Rasa (`bot/rasa_runtime.py`), the action
server (`actions/__init__.py`) and the console (`bot/console/app.py`).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Dict, Optional

from bot import phone

SECRET_SETTINGS = (
    "RASA_TOKEN",
    "ACTION_SERVER_TOKEN",
    "WIDGET_SESSION_SECRET",
    "TELEGRAM_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "STAFF_BOOTSTRAP_PASSWORD",
    "STAFF_PASSWORD",
)
# Shorter values could be ordinary words of a log line.
MIN_SECRET_LENGTH = 6
_MARK = "_masks_patient_data"


def secrets_from_environment(environ: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The secret values to hide, mapped to what replaces them (`<RASA_TOKEN>`)."""
    source = os.environ if environ is None else environ
    found = {}
    for name in SECRET_SETTINGS:
        value = source.get(name, "").strip()
        if len(value) >= MIN_SECRET_LENGTH:
            found[value] = f"<{name}>"
    return found


def mask(text: str, secrets: Dict[str, str]) -> str:
    """`text` with every secret and every mobile number masked."""
    for value, replacement in secrets.items():
        text = text.replace(value, replacement)
    return phone.mask_text(text)


def mask_record(record: logging.LogRecord, secrets: Dict[str, str]) -> None:
    """Replace the record's message (and exception text) by their masked form, in place."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is reported by logging itself when written
        return
    masked = mask(message, secrets)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = mask(record.stack_info, secrets)


def install(environ: Optional[Dict[str, str]] = None) -> None:
    """Mask every record created from now on in this process. Installing twice is harmless."""
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(current, _MARK, False):
        return
    secrets = secrets_from_environment(environ)

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        mask_record(record, secrets)
        return record

    setattr(masking_factory, _MARK, True)
    logging.setLogRecordFactory(masking_factory)
