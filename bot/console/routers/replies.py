"""GET /api/replies?q=…: the canned replies for the reply box, the hospital's facts and the caller's name filled in."""

from __future__ import annotations

from typing import List, Optional

from fastapi import APIRouter, Depends, Query

from bot.console import replies
from bot.console.deps import current_staff
from bot.console.schemas import CannedReplyOut
from bot.store.models import Staff

router = APIRouter(prefix="/api/replies", tags=["replies"])


@router.get("", response_model=List[CannedReplyOut])
def search_replies(
    q: Optional[str] = Query(None, max_length=40, description="words of a key, title, topic or text; a leading / is ignored"),
    staff: Staff = Depends(current_staff),
) -> List[CannedReplyOut]:
    """At most 20, in the order of bot/console/replies.yml; all of them without `q`."""
    return [
        CannedReplyOut(key=r.key, topic=r.topic, topic_label=r.topic_label, title=r.title, text=r.render(staff.display_name))
        for r in replies.search(q)
    ]
