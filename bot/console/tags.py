"""Tags on conversations and tickets: the names staff may choose (bot/console/tags.yml) and who carries which."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

import yaml
from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.store.models import TAG_TARGETS, Tag

TAGS_FILE = Path(__file__).resolve().parent / "tags.yml"
MAX_TAG_LENGTH = 32


class TagsFileError(ValueError):
    """tags.yml is malformed."""


class UnknownTag(ValueError):
    """A tag not in tags.yml (the exception's argument)."""


def parse(document: object) -> Tuple[str, ...]:
    names = document.get("tags") if isinstance(document, dict) else None
    if not isinstance(names, list) or not names:
        raise TagsFileError(f"{TAGS_FILE.name}: `tags` must be a non-empty list of names")
    for name in names:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_TAG_LENGTH:
            raise TagsFileError(f"{TAGS_FILE.name}: {name!r} is not a name of 1-{MAX_TAG_LENGTH} characters")
    if len(set(names)) != len(names):
        raise TagsFileError(f"{TAGS_FILE.name}: a tag is listed twice")
    return tuple(names)


@lru_cache(maxsize=1)
def load() -> Tuple[str, ...]:
    return parse(yaml.safe_load(TAGS_FILE.read_text(encoding="utf-8")))


def tags_of(session: Session, kind: str, targets: Iterable[str]) -> Dict[str, List[str]]:
    """The tags of each target (conversation ids or ticket numbers), in the order of tags.yml."""
    wanted = sorted(set(targets))
    found: Dict[str, List[str]] = {target: [] for target in wanted}
    if not wanted:
        return found
    order = {name: index for index, name in enumerate(load())}
    rows = session.execute(select(Tag.target, Tag.tag).where(Tag.target_kind == kind, Tag.target.in_(wanted))).all()
    for target, tag in sorted(rows, key=lambda row: (order.get(row[1], len(order)), row[1])):
        found[target].append(tag)
    return found


def set_tags(session: Session, kind: str, target: str, names: Sequence[str], staff_id: int) -> List[str]:
    """Make `names` the target's tags; a name not in tags.yml raises UnknownTag and changes nothing."""
    if kind not in TAG_TARGETS:
        raise ValueError(f"kind must be one of {TAG_TARGETS}, got {kind!r}")
    known = set(load())
    for name in names:
        if name not in known:
            raise UnknownTag(name)
    current = set(tags_of(session, kind, [target])[target])
    wanted = set(names)
    gone = current - wanted
    if gone:
        session.execute(delete(Tag).where(Tag.target_kind == kind, Tag.target == target, Tag.tag.in_(sorted(gone))))
    session.add_all(Tag(target_kind=kind, target=target, tag=name, staff_id=staff_id) for name in sorted(wanted - current))
    session.flush()
    return tags_of(session, kind, [target])[target]


def tagged(kind: str, column: ColumnElement, name: str) -> ColumnElement:
    """A condition: the row whose `column` (a conversation id or ticket number) carries the tag `name`."""
    return exists().where(Tag.target_kind == kind, Tag.target == column, Tag.tag == name)


def of_patient(conversations: Sequence[str], ticket_numbers: Sequence[str]) -> ColumnElement:
    """A condition: the tags on any of a patient's conversations or tickets (their export and deletion)."""
    return or_(
        and_(Tag.target_kind == "conversation", Tag.target.in_(sorted(conversations))),
        and_(Tag.target_kind == "ticket", Tag.target.in_(sorted(ticket_numbers))),
    )
