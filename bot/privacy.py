"""The privacy notice and the patient's consent (PIPL Art. 17 notice, Art. 29 separate consent for sensitive data).

The texts are in data/policies/privacy.yml. A conversation gets the short notice once per notice version:
the Telegram, REST and WeChat channels send it after the bot's answer to the conversation's first message
(`first_notice`), the widget shows it itself above the chat. The patient agrees with the widget's
“同意并继续”, by answering the ticket form's consent question (a ticket stores the phone and health
details, so the form asks first unless they already agreed), or through an integration that asked them
itself (REST `metadata.privacy_consent` with the notice version). Chatting on without agreeing is not
recorded as consent. Each notice and agreement is a row of `privacy_notices`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import hospital, settings
from bot.store.db import session_scope
from bot.store.models import PRIVACY_AGREEMENTS, PrivacyNotice, utcnow

PRIVACY_FILE = settings.PROJECT_ROOT / "data" / "policies" / "privacy.yml"
# The metadata key under which the widget or an integration says which notice version the patient agreed to.
CONSENT_METADATA = "privacy_consent"


@lru_cache(maxsize=1)
def _document() -> Dict[str, Any]:
    with open(PRIVACY_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["privacy"]


def version() -> str:
    return str(_document()["notice_version"])


def values(served_at: Optional[str] = None) -> Dict[str, Any]:
    """What the notice's {…} name: the hospital's facts, the retention periods and the full notice's address
    (`settings.privacy_notice_url`)."""
    retention = settings.retention()
    return {
        **hospital.load().facts(),
        "transcript_days": round(retention.transcript_days),
        "ticket_years": retention.ticket_years,
        "lookup_days": round(retention.lookup_days),
        "privacy_url": settings.privacy_notice_url(served_at),
    }


def _fill(text: str, served_at: Optional[str] = None) -> str:
    return str(text).format(**values(served_at))


def short_notice(channel: str) -> str:
    """The notice a chat channel sends, with the cross-border warning of a channel whose servers are abroad."""
    parts = [_document()["short"]]
    cross_border = _document()["cross_border"].get(channel)
    if cross_border:
        parts.append(cross_border)
    return "\n\n".join(_fill(part) for part in parts)


def widget_texts(served_at: str) -> Dict[str, str]:
    """What the widget shows: the notice, its version, the link to the full notice (`served_at` unless
    PRIVACY_NOTICE_URL names another) and its buttons."""
    texts = {name: _fill(text) for name, text in _document()["widget"].items()}
    notice = _fill(_document()["short"], served_at)
    return {**texts, "notice": notice, "version": version(), "url": settings.privacy_notice_url(served_at)}


def full_notice() -> Dict[str, Any]:
    """The full notice for the /privacy page: title, date and sections of {title, text}."""
    full = _document()["full"]
    sections: List[Dict[str, str]] = [
        {"title": _fill(section["title"]), "text": _fill(section["text"])} for section in full["sections"]
    ]
    return {"title": _fill(full["title"]), "updated": _fill(full["updated"]), "sections": sections, "version": version()}


def first_notice(conversation_id: str, channel: str, url: Optional[str] = None) -> bool:
    """Record that the conversation is given the current notice; True only the first time (send it then)."""
    try:
        with session_scope(url) as session:
            session.add(PrivacyNotice(conversation_id=conversation_id, channel=channel, notice_version=version()))
    except IntegrityError:
        return False
    return True


def agree(conversation_id: str, channel: str, agreed_by: str, url: Optional[str] = None) -> None:
    """Record that the patient of the conversation agreed to the current notice (once; a repeat changes nothing)."""
    if agreed_by not in PRIVACY_AGREEMENTS:
        raise ValueError(f"unknown way of agreeing: {agreed_by}")
    now = utcnow()
    for _attempt in range(2):
        try:
            with session_scope(url) as session:
                row = session.scalar(
                    select(PrivacyNotice).where(
                        PrivacyNotice.conversation_id == conversation_id, PrivacyNotice.notice_version == version()
                    )
                )
                if row is None:
                    session.add(
                        PrivacyNotice(
                            conversation_id=conversation_id, channel=channel, notice_version=version(),
                            shown_at=now, agreed_at=now, agreed_by=agreed_by,
                        )
                    )
                elif row.agreed_at is None:
                    row.agreed_at, row.agreed_by = now, agreed_by
            return
        except IntegrityError:
            continue  # the notice row was written at the same moment: update it instead


def has_agreed(conversation_id: str, url: Optional[str] = None) -> bool:
    """Whether the patient of the conversation agreed to the current notice."""
    with session_scope(url) as session:
        return (
            session.scalar(
                select(PrivacyNotice.id).where(
                    PrivacyNotice.conversation_id == conversation_id,
                    PrivacyNotice.notice_version == version(),
                    PrivacyNotice.agreed_at.is_not(None),
                )
            )
            is not None
        )


def agreed_version(metadata: Optional[Dict[str, Any]]) -> bool:
    """Whether a message's metadata says the patient agreed to the current notice."""
    return isinstance(metadata, dict) and metadata.get(CONSENT_METADATA) == version()
