"""The reports' words and labels (bot/management/texts.yml)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml

from bot import hospital

TEXTS_FILE = Path(__file__).resolve().parent / "texts.yml"


@lru_cache(maxsize=1)
def _texts() -> dict:
    return yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))


def node(path: str) -> Any:
    value: Any = _texts()
    for part in path.split("."):
        value = value[part]
    return value


def text(path: str, **values: object) -> str:
    return str(node(path)).format(**values)


def none() -> str:
    """What a missing value is shown as."""
    return str(node("none"))


def label(kind: str, value: Optional[str]) -> str:
    """The Chinese name of a stored value (a status, a category…), or the value itself when it has none."""
    return str(node("labels").get(kind, {}).get(value, value)) if value else none()


def local(moment: Optional[datetime]) -> str:
    """A time in the hospital's zone, to the minute."""
    if moment is None:
        return none()
    return moment.astimezone(hospital.load().timezone).strftime("%Y-%m-%d %H:%M")


def seconds(value: Optional[float]) -> str:
    """A duration for people to read: 45 秒, 12 分钟, 3.5 小时, 2.0 天."""
    if value is None:
        return none()
    if value < 120:
        return text("duration.seconds", value=round(value))
    if value < 7200:
        return text("duration.minutes", value=round(value / 60))
    if value < 2 * 86400:
        return text("duration.hours", value=f"{value / 3600:.1f}")
    return text("duration.days", value=f"{value / 86400:.1f}")


def table_row(*cells: object) -> str:
    """A Markdown table row; a `|` or a line break inside a cell cannot break the table."""
    return "| " + " | ".join(str(cell).replace("|", "｜").replace("\n", " ") for cell in cells) + " |"


def separator(columns: int) -> str:
    return "|" + "---|" * columns
