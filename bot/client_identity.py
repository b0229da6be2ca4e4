"""Who sent a message, as the channel vouches for it: a client key that the patient cannot choose.

Channels put it into the message's metadata under `METADATA_KEY`, overwriting whatever the client sent
there; Rasa stores the metadata with the user event, so actions read it from the tracker. Limits that
must outlast a conversation (ticket lookups, bot/lookup_limit.py) count per client with it.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

METADATA_KEY = "client"


def stamp(metadata: Optional[Mapping[str, Any]], client: Optional[str]) -> Dict[str, Any]:
    """The metadata with the channel's own client key; a client's value under that key is dropped."""
    stamped = {key: value for key, value in (metadata or {}).items() if key != METADATA_KEY}
    if client:
        stamped[METADATA_KEY] = client
    return stamped


def of_latest_message(events: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The client of the latest patient message, or None when its channel named none."""
    latest = next((event for event in reversed(events) if event.get("event") == "user"), None)
    value = ((latest or {}).get("metadata") or {}).get(METADATA_KEY)
    return value if isinstance(value, str) and value else None
