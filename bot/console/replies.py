"""Canned replies for the reply box (bot/console/replies.yml): per topic, the hospital's facts filled in."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

import yaml

from bot import hospital

REPLIES_FILE = Path(__file__).resolve().parent / "replies.yml"
# Besides the hospital's facts, a reply may name the staff member who sends it.
STAFF_NAME = "staff_name"
# How many replies one search answers: a short list to pick from, not a catalogue.
SEARCH_LIMIT = 20


class RepliesFileError(ValueError):
    """replies.yml is malformed or names a placeholder nobody fills in."""


@dataclass(frozen=True)
class CannedReply:
    key: str
    topic: str
    topic_label: str
    title: str
    template: str

    def render(self, staff_name: str) -> str:
        return self.template.format(**hospital.load().facts(), **{STAFF_NAME: staff_name})

    def matches(self, term: str) -> bool:
        return not term or any(term in value.lower() for value in (self.key, self.title, self.topic_label, self.template))


def _placeholders(text: str) -> List[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def parse(document: object, known: Tuple[str, ...]) -> Tuple[CannedReply, ...]:
    """The replies of replies.yml's document, checked: unique keys, title and text present, known placeholders."""
    if not isinstance(document, dict) or not isinstance(document.get("topics"), dict):
        raise RepliesFileError("replies.yml: the top level must have `topics`")
    replies: List[CannedReply] = []
    for topic, section in document["topics"].items():
        for item in section.get("replies") or []:
            reply = CannedReply(str(item.get("key", "")), str(topic), str(section.get("label", topic)),
                                str(item.get("title", "")), str(item.get("text", "")))
            if not (reply.key and reply.title and reply.template):
                raise RepliesFileError(f"replies.yml: a reply of {topic} lacks its key, title or text")
            unknown = set(_placeholders(reply.template)) - set(known)
            if unknown:
                raise RepliesFileError(f"replies.yml: {reply.key} names {sorted(unknown)}, which nobody fills in")
            replies.append(reply)
    keys = [reply.key for reply in replies]
    if len(set(keys)) != len(keys):
        raise RepliesFileError("replies.yml: a key is used twice")
    return tuple(replies)


@lru_cache(maxsize=2)
def load(path: Optional[Path] = None) -> Tuple[CannedReply, ...]:
    with open(path or REPLIES_FILE, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return parse(document, tuple(hospital.load().facts()) + (STAFF_NAME,))


def search(term: Optional[str]) -> List[CannedReply]:
    """Replies whose key, title, topic or text contains `term` (case-insensitive), in the file's order."""
    needle = (term or "").strip().lstrip("/").strip().lower()
    return [reply for reply in load() if reply.matches(needle)][:SEARCH_LIMIT]
