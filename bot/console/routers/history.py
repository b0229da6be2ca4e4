"""GET /api/patient-history: the patient's other conversations, tickets and follow-ups, beside a transcript."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from bot.console import history
from bot.console.deps import SessionScope, current_staff, get_sessions
from bot.console.routers.followups import followup_out
from bot.console.routers.handoffs import handoff_out
from bot.console.routers.tickets import ticket_out
from bot.console.schemas import ConversationSummaryOut, PatientHistoryOut
from bot.store.models import utcnow

router = APIRouter(prefix="/api/patient-history", tags=["patient history"], dependencies=[Depends(current_staff)])


@router.get("", response_model=PatientHistoryOut)
def patient_history(
    conversation_id: str = Query(..., min_length=1, max_length=255), sessions: SessionScope = Depends(get_sessions)
) -> PatientHistoryOut:
    """The conversation's sessions and handoffs, the conversations linked to it by the phone on their tickets
    (at most 20), the tickets of all of them (newest first) and the follow-ups of the linked ones."""
    now = utcnow()
    with sessions() as session:
        found = history.patient_history(session, conversation_id)
        conversations = [
            ConversationSummaryOut(
                conversation_id=c.conversation_id,
                linked_by=c.linked_by,
                sessions=c.sessions,
                patient_messages=c.patient_messages,
                first_message_at=c.first_message_at,
                last_message_at=c.last_message_at,
                handoffs=[handoff_out(h, now) for h in c.handoffs],
            )
            for c in found.conversations
        ]
        return PatientHistoryOut(
            conversations=conversations,
            tickets=[ticket_out(t, now) for t in found.tickets],
            followups=[followup_out(f) for f in found.followups],
        )
