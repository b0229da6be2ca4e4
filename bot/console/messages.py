"""The console API's sentences for staff, from bot/console/messages.yml (no Chinese text in Python)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict

import yaml

MESSAGES_FILE = Path(__file__).resolve().parent / "messages.yml"


@lru_cache(maxsize=1)
def _messages() -> Dict[str, str]:
    with open(MESSAGES_FILE, encoding="utf-8") as handle:
        return {key: str(value) for key, value in yaml.safe_load(handle).items()}


def text(key: str, **values: object) -> str:
    return _messages()[key].format(**values)
