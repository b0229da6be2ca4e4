"""The follow-ups' data (data/policies/followups.yml): what the patient is told, the ticket steps and their
time limits, the post-op schedules. Read from the file, like hospital.yml; the scheduler reads it at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml

from bot import hospital, settings

FOLLOWUPS_FILE = settings.PROJECT_ROOT / "data" / "policies" / "followups.yml"


@lru_cache(maxsize=4)
def document(path: Optional[Path] = None) -> Any:
    with open(path or FOLLOWUPS_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["followups"]


def node(key: str) -> Any:
    """The value at the dotted `key` (`deadlines.steps`)."""
    value: Any = document()
    for part in key.split("."):
        value = value[part]
    return value


def text(key: str, **values: object) -> str:
    """The sentence at `key` with {…} filled in; the hospital's facts ({hotline} …) are always available."""
    return str(node(key)).format(**hospital.load().facts(), **values)


def day_text(day: Any) -> str:
    """A date as the patient reads it (`12月8日`)."""
    return text("deadlines.date_format", month=day.month, day=day.day)
