"""Reply windows: how long after a patient's last message a channel lets the hospital write to them.

WeChat accepts customer-service messages (`message/custom/send`) only within 48 hours of the
patient's last interaction (a message, a menu click, following the account). The channel records
every interaction; the console asks before a staff member replies. Channels without such a rule
(the web widget, Telegram, REST) are always open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Dict, Optional

from bot import channel_state

WINDOWS: Dict[str, timedelta] = {"wechat": timedelta(hours=48)}


def _key(channel: str, conversation_id: str) -> str:
    return f"{channel}:window:{conversation_id}"


def record_interaction(
    channel: str, conversation_id: str, now: Optional[datetime] = None, url: Optional[str] = None
) -> None:
    """The patient just wrote: the window is open again for its full length."""
    window = WINDOWS.get(channel)
    if window is not None:
        channel_state.put(_key(channel, conversation_id), "open", window, now, url)


def closes_at(
    channel: str, conversation_id: str, now: Optional[datetime] = None, url: Optional[str] = None
) -> Optional[datetime]:
    """When the window closes; None when the channel has no window, or when it is already closed."""
    if channel not in WINDOWS:
        return None
    return channel_state.expiry(_key(channel, conversation_id), now, url)


def is_open(channel: str, conversation_id: str, now: Optional[datetime] = None, url: Optional[str] = None) -> bool:
    """Whether the hospital may write to the patient on `channel` now (`url`: the database, default DATABASE_URL)."""
    return channel not in WINDOWS or closes_at(channel, conversation_id, now, url) is not None
