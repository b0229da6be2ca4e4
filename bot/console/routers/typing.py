"""POST /api/handoffs/{id}/typing: the holder is typing a reply; a widget patient sees “客服正在输入…”.

Best effort: the indicator is a courtesy, so a channel that cannot show it, or Rasa out of reach, answers
`{"sent": false}` instead of an error, and nothing is stored.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends

from bot import handoffs
from bot.console.deps import SessionScope, current_staff, get_rasa, get_sessions
from bot.console.rasa_api import RasaClient, RasaUnavailable
from bot.console.routers.handoffs import HandoffId, http_error
from bot.console.schemas import TypingIn, TypingOut
from bot.store.models import Staff

# The channel whose client shows the indicator: the website widget.
TYPING_CHANNELS = ("socketio",)

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"], dependencies=[Depends(current_staff)])
logger = logging.getLogger(__name__)


@router.post("/{handoff_id}/typing", response_model=TypingOut)
def typing(
    handoff_id: HandoffId,
    body: TypingIn,
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
    rasa: RasaClient = Depends(get_rasa),
) -> TypingOut:
    """Only the holder; the console sends `true` at most every few seconds while typing, `false` when it stops."""
    try:
        with sessions() as session:
            handoff = handoffs.get_handoff(session, handoff_id)
            handoffs.ensure_holder(handoff, staff)
    except handoffs.HandoffError as error:
        raise http_error(error) from error
    if handoff.channel not in TYPING_CHANNELS:
        return TypingOut(sent=False)
    try:
        rasa.staff_typing(handoff.conversation_id, body.typing)
    except RasaUnavailable as error:
        logger.warning("typing indicator not sent: %s", error)
        return TypingOut(sent=False)
    return TypingOut(sent=True)
