"""Mainland mobile numbers: validation for forms, masking for logs and replies."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

MOBILE_LENGTH = 11
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Separators people type inside a number: spaces (also full-width), hyphens, dots, brackets.
_SEPARATORS = re.compile(r"[\s\u3000\-\.\(\)（）]")
_COUNTRY_PREFIX = re.compile(r"^(?:\+|00)?86(?=1\d{10}$)")
# A mobile number anywhere in free text, in every form check() accepts that a log or a message may carry:
# ASCII or full-width digits, one space, full-width space or hyphen between any two digits
# (138 1234 5678, 138-1234-5678), a +86 / 0086 / 86 prefix; never inside a longer run of digits.
_DIGIT = "[0-9\uff10-\uff19]"
_GAP = "[ \u3000\\-\uff0d]?"
_MOBILE_IN_TEXT = re.compile(
    f"(?<!{_DIGIT})(?:(?:[+\uff0b]|00|\uff10\uff10)?[8\uff18][6\uff16][ \u3000\\-\uff0d]*)?"
    + _GAP.join(["[1\uff11]", "[3-9\uff13-\uff19]"] + [_DIGIT] * (MOBILE_LENGTH - 2))
    + f"(?!{_DIGIT})"
)


@dataclass(frozen=True)
class PhoneCheck:
    """The outcome of checking what a patient typed as their mobile number.

    `problem` is None for a valid number, else one of `empty`, `not_digits`,
    `wrong_length` or `wrong_prefix`; `digits` is how many digits were typed.
    """

    number: Optional[str]
    problem: Optional[str]
    digits: int

    @property
    def ok(self) -> bool:
        return self.problem is None


def check(text: Optional[str]) -> PhoneCheck:
    """Validate a mainland mobile number: 11 digits starting with 13–19.

    Full-width digits are read as digits; spaces, hyphens and a +86 / 0086 / 86
    country prefix are accepted and removed.
    """
    raw = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "").strip())
    raw = _COUNTRY_PREFIX.sub("", raw)
    digits = sum(ch.isdigit() for ch in raw)
    if not raw:
        return PhoneCheck(None, "empty", 0)
    if not raw.isascii() or not raw.isdigit():
        return PhoneCheck(None, "not_digits", digits)
    if len(raw) != MOBILE_LENGTH:
        return PhoneCheck(None, "wrong_length", digits)
    if not _MOBILE.match(raw):
        return PhoneCheck(None, "wrong_prefix", digits)
    return PhoneCheck(raw, None, digits)


def mask(number: Optional[str]) -> str:
    """138****5678 for a mobile number; anything else is hidden completely."""
    value = (number or "").strip()
    if len(value) == MOBILE_LENGTH and value.isdigit():
        return f"{value[:3]}****{value[-4:]}"
    return "***"


def _masked_match(match: "re.Match[str]") -> str:
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", match.group(0)) if ch.isdigit())[-MOBILE_LENGTH:]
    return mask(digits)


def mask_text(text: str) -> str:
    """Every mobile number inside a free text (any form of _MOBILE_IN_TEXT) replaced by 138****5678."""
    return _MOBILE_IN_TEXT.sub(_masked_match, text)
