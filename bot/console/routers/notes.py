"""Internal notes on a conversation (GET/POST /api/conversation-notes): between colleagues, never sent to the patient."""

from __future__ import annotations

from typing import List

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.console.deps import SessionScope, current_staff, get_sessions
from bot.console.schemas import ConversationNoteIn, ConversationNoteOut
from bot.store.models import ConversationNote, Staff

router = APIRouter(prefix="/api/conversation-notes", tags=["conversation notes"])


def note_out(note: ConversationNote) -> ConversationNoteOut:
    return ConversationNoteOut(
        id=note.id,
        conversation_id=note.conversation_id,
        staff=note.staff.username,
        staff_name=note.staff.display_name,
        text=note.text,
        created_at=note.created_at,
    )


@router.get("", response_model=List[ConversationNoteOut], dependencies=[Depends(current_staff)])
def list_notes(
    conversation_id: str = Query(..., min_length=1, max_length=255), sessions: SessionScope = Depends(get_sessions)
) -> List[ConversationNoteOut]:
    """Oldest first."""
    query = (
        select(ConversationNote)
        .options(selectinload(ConversationNote.staff))
        .where(ConversationNote.conversation_id == conversation_id)
        .order_by(ConversationNote.created_at, ConversationNote.id)
    )
    with sessions() as session:
        return [note_out(note) for note in session.scalars(query)]


@router.post("", response_model=ConversationNoteOut, status_code=status.HTTP_201_CREATED)
def add_note(
    body: ConversationNoteIn, staff: Staff = Depends(current_staff), sessions: SessionScope = Depends(get_sessions)
) -> ConversationNoteOut:
    with sessions() as session:
        note = ConversationNote(conversation_id=body.conversation_id, staff_id=staff.id, text=body.text)
        session.add(note)
        session.flush()
        session.refresh(note)
        return note_out(note)
