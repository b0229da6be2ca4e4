"""The check every patient message passes before it reaches Rasa, whatever channel it came by.

A message is cleaned (control and invisible characters removed, line breaks normalised) and then
refused, with a sentence for the patient from data/policies/service.yml, when nothing is left or it
is longer than `MAX_MESSAGE_CHARS`. Jieba and DIET need about 25 s for 20 000 characters, during
which Rasa answers nobody; 2 000 take under half a second and hold any complaint a patient types.

Channels call `check()` and either hand `Verdict.text` to Rasa or send `Verdict.reply` back:
`bot/channels/rest.py`, `bot/channels/telegram.py` and the Socket.IO channel's `user_uttered`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

from bot import service_texts

MAX_MESSAGE_CHARS = 2000
# Rasa's tracker store keeps the conversation id in a VARCHAR(255).
MAX_SENDER_CHARS = 255
# A raw message longer than this many times the limit is refused before cleaning (1 MB took seconds).
RAW_LENGTH_FACTOR = 4
# Unicode categories removed from a message: control (Cc) except tab and line feed, format (Cf: zero-width
# spaces, bidi overrides), surrogates (Cs: the remains of invalid UTF-8), private use (Co), unassigned (Cn).
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_KEPT_CONTROLS = frozenset("\n\t")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_BLANK_LINES = re.compile(r"\n{3,}")

EMPTY = "empty"
TOO_LONG = "too_long"
NOT_TEXT = "not_text"


@dataclass(frozen=True)
class Verdict:
    """The cleaned text to hand to Rasa, or the problem and what to tell the patient instead."""

    text: Optional[str]
    problem: Optional[str] = None
    reply: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def clean(raw: str) -> str:
    """The message without control or invisible characters, with \\n line breaks, trimmed."""
    text = _LINE_BREAKS.sub("\n", raw)
    kept = "".join(ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in _REMOVED_CATEGORIES)
    return _BLANK_LINES.sub("\n\n", kept).strip()


def check(raw: object, max_chars: int = MAX_MESSAGE_CHARS) -> Verdict:
    """Whether `raw` (what a channel received as the message text) may go to Rasa.

    Anything but a string is `not_text`; a string with nothing readable is `empty`; one longer
    than `max_chars` after cleaning is `too_long`. The reply for `empty` and `not_text` asks for
    text; the one for `too_long` names the length and the limit. A string so long that no cleaning
    could bring it within the limit is `too_long` at once, without cleaning it first.
    """
    if not isinstance(raw, str):
        return Verdict(None, NOT_TEXT, service_texts.text("message_problems.empty"))
    if len(raw) > RAW_LENGTH_FACTOR * max_chars:
        reply = service_texts.text("message_problems.too_long", length=len(raw), max_chars=max_chars)
        return Verdict(None, TOO_LONG, reply)
    text = clean(raw)
    if not text:
        return Verdict(None, EMPTY, service_texts.text("message_problems.empty"))
    if len(text) > max_chars:
        reply = service_texts.text("message_problems.too_long", length=len(text), max_chars=max_chars)
        return Verdict(None, TOO_LONG, reply)
    return Verdict(text)


def sender_problem(sender: object) -> Optional[str]:
    """Why `sender` cannot name a conversation (`missing`, `bad`, `too_long`), or None.

    A number is accepted (Telegram chat ids are numbers); it becomes its decimal string.
    """
    if sender is None or sender == "":
        return "missing"
    if isinstance(sender, bool) or not isinstance(sender, (str, int)):
        return "bad"
    value = str(sender)
    if value != value.strip() or clean(value) != value or "\n" in value or "\t" in value:
        return "bad"
    if len(value) > MAX_SENDER_CHARS:
        return "too_long"
    return None
