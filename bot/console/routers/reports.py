"""GET /api/reports/summary?from=YYYY-MM-DD&to=YYYY-MM-DD: the figures of the reports page (bot/reports.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Dict, Optional

from fastapi import APIRouter, Depends, HTTPException, Query, status

from bot import hospital, reports
from bot.console import messages
from bot.console.deps import SessionScope, current_staff, get_sessions

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[Depends(current_staff)])
# Without dates, the report covers the last 30 days up to today (the hospital's).
DEFAULT_DAYS = 30


@router.get("/summary")
def summary(
    first: Optional[date] = Query(None, alias="from", description="first day, YYYY-MM-DD (default: 29 days before `to`)"),
    last: Optional[date] = Query(None, alias="to", description="last day, included, YYYY-MM-DD (default: today)"),
    sessions: SessionScope = Depends(get_sessions),
) -> Dict[str, Any]:
    """Conversations and messages per day, intents, fallback rate, NLU inbox, handoffs by reason and priority with
    their waits, emergencies' time to claim, tickets by kind, category, severity and procedure, opened vs resolved
    per day and time to resolution. Days are the hospital's; durations in seconds (median and 90th percentile)."""
    last = last or datetime.now(hospital.load().timezone).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=messages.text("report_period_reversed"))
    if (last - first).days >= reports.MAX_DAYS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail=messages.text("report_period_too_long", days=reports.MAX_DAYS)
        )
    with sessions() as session:
        return reports.summary(session, reports.Period(first, last))
