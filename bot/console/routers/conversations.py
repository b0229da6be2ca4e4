"""GET /api/conversations/{conversation_id}: the transcript, from Rasa's tracker."""

from __future__ import annotations

from typing import List

from fastapi import APIRouter, Depends, HTTPException, status

from bot.console import messages
from bot.console.deps import audited, current_staff, get_rasa
from bot.console.rasa_api import RasaClient, RasaUnavailable, transcript
from bot.console.schemas import TranscriptLine

router = APIRouter(prefix="/api/conversations", tags=["conversations"], dependencies=[Depends(current_staff)])


@router.get(
    "/{conversation_id:path}",
    response_model=List[TranscriptLine],
    dependencies=[Depends(audited("transcript_read", "conversation", "conversation_id"))],
)
def get_transcript(conversation_id: str, rasa: RasaClient = Depends(get_rasa)) -> List[TranscriptLine]:
    """Patient, bot and staff messages in order (messages sent while the bot was paused included); mobile
    numbers masked. Each read is written to the audit log."""
    try:
        return [TranscriptLine(**line) for line in transcript(rasa.events(conversation_id))]
    except RasaUnavailable as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=messages.text("transcript_failed", error=error)) from error
