"""Tags on conversations and tickets: the names to choose from (bot/console/tags.yml), and each target's tags."""

from __future__ import annotations

from typing import List

from fastapi import APIRouter, Depends, HTTPException, Query, status

from bot.console import messages, tags
from bot.console.deps import SessionScope, current_staff, get_sessions
from bot.console.schemas import TagsIn, TagsOut, TagTarget
from bot.store.models import Staff

router = APIRouter(prefix="/api/tags", tags=["tags"], dependencies=[Depends(current_staff)])


@router.get("", response_model=List[str])
def tag_names() -> List[str]:
    """The tags staff may choose, in the order of bot/console/tags.yml."""
    return list(tags.load())


@router.get("/{kind}", response_model=TagsOut)
def target_tags(
    kind: TagTarget, target: str = Query(..., min_length=1, max_length=255), sessions: SessionScope = Depends(get_sessions)
) -> TagsOut:
    """A conversation's (by id) or a ticket's (by number) tags."""
    with sessions() as session:
        return TagsOut(target=target, tags=tags.tags_of(session, kind.value, [target])[target])


@router.put("/{kind}", response_model=TagsOut)
def set_tags(
    kind: TagTarget, body: TagsIn, staff: Staff = Depends(current_staff), sessions: SessionScope = Depends(get_sessions)
) -> TagsOut:
    """Make `tags` the target's tags (an empty list removes them all); a name not in the list answers 422."""
    try:
        with sessions() as session:
            return TagsOut(target=body.target, tags=tags.set_tags(session, kind.value, body.target, body.tags, staff.id))
    except tags.UnknownTag as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=messages.text("unknown_tag", tag=error.args[0])) from error
