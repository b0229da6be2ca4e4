"""GET /api/reports/summary?from=YYYY-MM-DD&to=YYYY-MM-DD: the figures of the reports page (bot/reports.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Dict, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, status

from bot import hospital, reports
from bot.console import messages
from bot.console.deps import SessionScope, current_staff, get_sessions
from bot.console.schemas import ErrorOut

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[Depends(current_staff)])
# Without dates, the report covers the last 30 days up to today (the hospital's).
DEFAULT_DAYS = 30
# Days a report may name: Rasa's Unix timestamps start in 1970, and a day after the last may not overflow.
EARLIEST = date(1971, 1, 1)
LATEST = date(9998, 12, 31)


@router.get("/summary", responses={400: {"model": ErrorOut, "description": "the range is reversed, too long or out of bounds"}})
def summary(
    first: Optional[date] = Query(None, alias="from", description="first day, YYYY-MM-DD (default: 29 days before `to`)"),
    last: Optional[date] = Query(None, alias="to", description="last day, included, YYYY-MM-DD (default: today)"),
    sessions: SessionScope = Depends(get_sessions),
) -> Dict[str, Any]:
    """Conversations and messages per day, intents, fallback rate, NLU inbox, handoffs by reason and priority with
    their waits, emergencies' time to claim, tickets by kind, category, severity and procedure, opened vs resolved
    per day and time to resolution. Days are the hospital's; durations in seconds (median and 90th percentile)."""
    last = last or datetime.now(hospital.load().timezone).date()
    first = first or (last - timedelta(days=DEFAULT_DAYS - 1) if last > EARLIEST + timedelta(days=DEFAULT_DAYS) else last)
    if not (EARLIEST <= first and EARLIEST <= last <= LATEST):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=messages.text("report_period_bounds", first=EARLIEST, last=LATEST)
        )
    if last < first:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=messages.text("report_period_reversed"))
    if (last - first).days >= reports.MAX_DAYS:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=messages.text("report_period_too_long", days=reports.MAX_DAYS))
    with sessions() as session:
        return reports.summary(session, reports.Period(first, last))
