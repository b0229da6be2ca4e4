"""What channels and the Rasa server tell a patient when a message cannot be handled as usual.

The sentences live in data/policies/service.yml (Chinese text is never written in Python). They
are read straight from the file, not through the policies table, because the Rasa process and the
channels use them before, or without, any database access.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from bot import hospital, settings

SERVICE_FILE = settings.PROJECT_ROOT / "data" / "policies" / "service.yml"


@lru_cache(maxsize=4)
def _document(path: Optional[Path] = None) -> Dict[str, Any]:
    with open(path or SERVICE_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _node(key: str) -> Any:
    node: Any = _document()
    for part in key.split("."):
        node = node[part]
    return node


def titles(key: str) -> Dict[str, str]:
    """The mapping of names to sentences at the dotted `key` (`red_flag_checklist.options`)."""
    return {str(name): str(title) for name, title in _node(key).items()}


def text(key: str, **values: object) -> str:
    """The sentence at the dotted `key` (`message_problems.too_long`), with its {…} filled in.

    The hospital's facts (`Hospital.facts`: {hotline}, {on_call_line} …) are always available.
    """
    return str(_node(key)).format(**hospital.load().facts(), **values)
