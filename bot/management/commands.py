"""The command lines of `python -m bot report weekly|incident`: write the Markdown to a file or print it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from bot.console.tickets import TicketNotFound
from bot.management import incident, weekly
from bot.store.db import session_scope


def _write(markdown: str, out: Optional[str]) -> None:
    if out:
        Path(out).write_text(markdown, encoding="utf-8")
        print(f"written to {out}")
    else:
        sys.stdout.write(markdown)


def weekly_command(week: Optional[str], out: Optional[str]) -> int:
    """The summary of `week` (2026-W48), by default the last week that has ended."""
    try:
        monday = weekly.parse_week(week) if week else weekly.last_full_week()
    except ValueError as error:
        print(f"python -m bot report weekly: {error}", file=sys.stderr)
        return 2
    with session_scope() as session:
        markdown = weekly.render(session, monday)
    _write(markdown, out)
    return 0


def incident_command(number: str, out: Optional[str]) -> int:
    """The report on one (major-urgent) complaint's ticket."""
    try:
        with session_scope() as session:
            markdown = incident.render(session, number.strip().upper())
    except TicketNotFound:
        print(f"python -m bot report incident: no ticket {number!r}", file=sys.stderr)
        return 1
    _write(markdown, out)
    return 0
