"""One patient's data for admins (bot/roles.py `patient_data`): export (PIPL Art. 45) and deletion (Art. 47), the
same as `python -m bot patient export|delete` (bot/patient_data.py); each is written to the audit log."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from bot import patient_data
from bot.console import messages
from bot.console.deps import SessionScope, client_address, current_staff, get_sessions
from bot.console.schemas import ErrorOut, PatientDeleteIn
from bot.store.models import Staff

router = APIRouter(
    prefix="/api/patients",
    tags=["patients"],
    responses={422: {"model": ErrorOut, "description": "no phone or conversation given, or not a mobile number"}},
)


def _patient(session: Session, phone: Optional[str], conversations: Sequence[str]) -> patient_data.Patient:
    if not phone and not conversations:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=messages.text("patient_criteria_missing"))
    try:
        return patient_data.find(session, phone, conversations)
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=messages.text("patient_phone_invalid")) from error


@router.get("/export")
def export_patient(
    request: Request,
    phone: Optional[str] = Query(None, max_length=40, description="the mobile number on the patient's tickets"),
    conversation: List[str] = Query([], max_length=255, description="a conversation id of the patient (repeatable)"),
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
) -> Dict[str, Any]:
    """Everything stored about the patient (tickets with history, transcripts, handoffs, follow-ups …), unmasked:
    it is the patient's own copy."""
    with sessions() as session:
        patient = _patient(session, phone, conversation)
        patient_data.record_access(session, "patient_export", patient, staff.username, client_address(request))
        return jsonable_encoder(patient_data.export(session, patient))


@router.post("/delete", responses={409: {"model": ErrorOut, "description": "not confirmed"}})
def delete_patient(
    body: PatientDeleteIn,
    request: Request,
    staff: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
) -> Dict[str, int]:
    """Delete all of it in one transaction; how many rows of each kind went."""
    if not body.confirm:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=messages.text("patient_delete_unconfirmed"))
    with sessions() as session:
        patient = _patient(session, body.phone, body.conversations)
        patient_data.record_access(session, "patient_delete", patient, staff.username, client_address(request))
        return patient_data.delete_all(session, patient)
