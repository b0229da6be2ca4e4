"""The hospital's published policies: read from data/policies/*.yml, stored in the
`policies` table, and read back by the action server through a cache that notices
every reload (`python -m bot policies load`) without a restart.

A policy file is a YAML mapping. Every leaf becomes one row whose key is the dotted
path to it (`refund.documents`, `procedures.双眼皮.revision`, `hospital.on_call_line`);
list items get their index as a path segment. Files the project does not know are
loaded the same way under their own top-level keys. Rows under `procedures.<name>`
carry that procedure in the `procedure` column.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.exc import OperationalError

from bot import settings
from bot.store import db
from bot.store.models import Policy, utcnow

POLICY_DIR = settings.PROJECT_ROOT / "data" / "policies"
PROCEDURES_SECTION = "procedures"
# Rasa reads any YAML file under data/ that has a line starting with one of these keys
# as training data; a policy file must never contain one.
RASA_TRAINING_KEYS = ("nlu", "responses", "stories", "rules")
_KEY_LENGTH = Policy.__table__.c.key.type.length
_TOPIC_LENGTH = Policy.__table__.c.topic.type.length
_PROCEDURE_LENGTH = Policy.__table__.c.procedure.type.length
logger = logging.getLogger(__name__)


class PolicyFileError(ValueError):
    """A policy file that cannot be loaded; the message names the file and the problem."""


@dataclass(frozen=True)
class PolicyEntry:
    key: str
    procedure: Optional[str]
    topic: str
    body: str
    source: str


@dataclass(frozen=True)
class LoadReport:
    added: int
    updated: int
    removed: int
    total: int

    def __str__(self) -> str:
        return f"policies: {self.added} added, {self.updated} updated, {self.removed} removed, {self.total} in total"


def _leaf_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)


def _flatten(node: Any, path: Tuple[str, ...]) -> Iterator[Tuple[Tuple[str, ...], str]]:
    if isinstance(node, Mapping):
        for name, child in node.items():
            yield from _flatten(child, path + (str(name),))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _flatten(child, path + (str(index),))
    elif node is not None:
        yield path, _leaf_text(node)


def _entry(path: Tuple[str, ...], body: str, source: str) -> PolicyEntry:
    key = ".".join(path)
    topic = next((part for part in reversed(path) if not part.isdigit()), path[-1])
    procedure = path[1] if path[0] == PROCEDURES_SECTION and len(path) > 2 else None
    if len(key) > _KEY_LENGTH:
        raise PolicyFileError(f"{source}: key {key!r} is longer than {_KEY_LENGTH} characters")
    if len(topic) > _TOPIC_LENGTH:
        raise PolicyFileError(f"{source}: name {topic!r} is longer than {_TOPIC_LENGTH} characters")
    if procedure is not None and len(procedure) > _PROCEDURE_LENGTH:
        raise PolicyFileError(f"{source}: procedure {procedure!r} is longer than {_PROCEDURE_LENGTH} characters")
    if not body:
        raise PolicyFileError(f"{source}: {key} is empty")
    return PolicyEntry(key=key, procedure=procedure, topic=topic, body=body, source=source)


def _check_not_training_data(text: str, source: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if any(line.lstrip().startswith(f"{key}:") for key in RASA_TRAINING_KEYS):
            raise PolicyFileError(
                f"{source}:{number}: a line starting with {line.strip()!r} makes Rasa read the file as training data"
            )


def read_file(path: Path) -> List[PolicyEntry]:
    """The entries of one policy file."""
    try:
        source = str(path.resolve().relative_to(settings.PROJECT_ROOT))
    except ValueError:
        source = str(path)
    source = source[: Policy.__table__.c.source.type.length]
    text = path.read_text(encoding="utf-8")
    _check_not_training_data(text, source)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyFileError(f"{source}: not valid YAML: {error}") from error
    if document is None:
        return []
    if not isinstance(document, Mapping):
        raise PolicyFileError(f"{source}: the top level must be a mapping of sections")
    return [_entry(p, body, source) for p, body in _flatten(document, ()) if p != ("version",)]


def read_directory(directory: Path = POLICY_DIR) -> List[PolicyEntry]:
    """All entries of data/policies/*.yml (and *.yaml); a key defined twice is an error."""
    entries: Dict[str, PolicyEntry] = {}
    files = sorted(list(directory.glob("*.yml")) + list(directory.glob("*.yaml")))
    for path in files:
        for entry in read_file(path):
            if entry.key in entries:
                raise PolicyFileError(f"{entry.source}: {entry.key} is already defined in {entries[entry.key].source}")
            entries[entry.key] = entry
    return list(entries.values())


def load(url: Optional[str] = None, directory: Path = POLICY_DIR) -> LoadReport:
    """Make the `policies` table equal to the files, in one transaction.

    Only rows whose text, procedure or source changed get a new `updated_at`, so
    loading unchanged files leaves every reader's cache valid.
    """
    entries = {entry.key: entry for entry in read_directory(directory)}
    now = utcnow()
    added = updated = 0
    with db.session_scope(url) as session:
        existing = {row.key: row for row in session.execute(select(Policy)).scalars()}
        for key, entry in entries.items():
            row = existing.get(key)
            if row is None:
                session.add(
                    Policy(key=key, procedure=entry.procedure, topic=entry.topic, body=entry.body,
                           source=entry.source, updated_at=now)
                )
                added += 1
            elif (row.body, row.procedure, row.topic, row.source) != (
                entry.body, entry.procedure, entry.topic, entry.source
            ):
                row.body, row.procedure, row.topic, row.source = entry.body, entry.procedure, entry.topic, entry.source
                row.updated_at = now
                updated += 1
        stale = [key for key in existing if key not in entries]
        if stale:
            session.execute(delete(Policy).where(Policy.key.in_(stale)))
    return LoadReport(added=added, updated=updated, removed=len(stale), total=len(entries))


class PolicySnapshot:
    """One consistent view of all policy rows."""

    def __init__(self, bodies: Mapping[str, str]) -> None:
        self._bodies = dict(bodies)

    def get(self, key: str) -> Optional[str]:
        return self._bodies.get(key)

    def keys(self, prefix: str = "") -> List[str]:
        start = f"{prefix}." if prefix else ""
        return [key for key in self._bodies if key.startswith(start)]

    def children(self, prefix: str) -> List[str]:
        """The names directly under `prefix`, in file order (`procedures` → procedure names)."""
        names: Dict[str, None] = {}
        for key in self.keys(prefix):
            names.setdefault(key[len(prefix) + 1 :].split(".", 1)[0], None)
        return list(names)

    def section(self, prefix: str) -> Any:
        """The subtree under `prefix` rebuilt as dicts and lists of texts (`hospital` → a dict)."""
        tree: Dict[str, Any] = {}
        for key in self.keys(prefix):
            node = tree
            parts = key[len(prefix) + 1 :].split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = self._bodies[key]
        return _lists_from_indexes(tree)


def _lists_from_indexes(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    children = {name: _lists_from_indexes(child) for name, child in node.items()}
    if children and all(name.isdigit() for name in children):
        return [children[name] for name in sorted(children, key=int)]
    return children


class PolicyCache:
    """Policies as the action server reads them: from the database, re-read only after a change.

    The freshness check is one aggregate query (row count and latest `updated_at`), so a
    reload, an edit or a deletion is seen on the next read.
    """

    def __init__(self, url: Optional[str] = None) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._version: Optional[Tuple[int, Any]] = None
        self._snapshot = PolicySnapshot({})

    def snapshot(self) -> PolicySnapshot:
        """The current policies; while the database cannot be reached, the last ones read (if any),
        so a short outage does not stop an action that is about to retry its own write."""
        try:
            return self._read()
        except OperationalError:
            if self._version is None:
                raise
            logger.warning("database unreachable: answering from the policies read before")
            return self._snapshot

    def _read(self) -> PolicySnapshot:
        with db.session_scope(self._url) as session:
            version = tuple(session.execute(select(func.count(Policy.id), func.max(Policy.updated_at))).one())
            if version == self._version:
                return self._snapshot
            rows = session.execute(select(Policy.key, Policy.body).order_by(Policy.id)).all()
        with self._lock:
            self._snapshot = PolicySnapshot({key: body for key, body in rows})
            self._version = version
            return self._snapshot


_caches: Dict[str, PolicyCache] = {}
_caches_lock = threading.Lock()


def current(url: Optional[str] = None) -> PolicySnapshot:
    """The up-to-date policies of the database at `url` (DATABASE_URL by default)."""
    target = url or settings.database_url()
    with _caches_lock:
        cache = _caches.setdefault(target, PolicyCache(target))
    return cache.snapshot()
