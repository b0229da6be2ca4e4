"""`python -m bot report weekly [--week YYYY-Www] [--out FILE.md]`: the week's summary for management, in Markdown.

The figures are those of the console's reports (bot/reports.py) for the ISO week (Monday to Sunday in the
hospital's days), beside the week before; the complaints by seed 003's categories and severity, the week's
major-urgent complaints (each needs its own report), the tickets overdue now, the satisfaction scores patients gave
and how well the bot understood.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot import hospital, reports
from bot.followups import deadlines
from bot.management.texts import label, local, none, seconds, separator, table_row, text
from bot.store.models import Ticket, utcnow

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
OPEN_STATUSES = ("open", "in_progress")
# The overdue tickets listed by number; the rest are counted.
OVERDUE_LISTED = 10


def parse_week(value: str) -> date:
    """The Monday of an ISO week written `2026-W48`; ValueError with the reason otherwise."""
    match = WEEK_PATTERN.match(value.strip())
    if not match:
        raise ValueError(f"not an ISO week like 2026-W48: {value!r}")
    return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)


def last_full_week(now: Optional[datetime] = None) -> date:
    """The Monday of the last week that has ended, in the hospital's days."""
    today = (now or utcnow()).astimezone(hospital.load().timezone).date()
    return today - timedelta(days=today.weekday() + 7)


def _period(monday: date) -> reports.Period:
    return reports.Period(monday, monday + timedelta(days=6))


def _rate(value: Optional[float]) -> str:
    return f"{value * 100:.1f}%" if value is not None else none()


def _pair(figures: Dict[str, Any]) -> str:
    return f"{seconds(figures['median_seconds'])} / {seconds(figures['p90_seconds'])}"


def _overview(now: Dict[str, Any], before: Dict[str, Any]) -> List[str]:
    def row(key: str, pick: Any) -> str:
        return table_row(text(f"weekly.rows.{key}"), pick(now), pick(before))

    return [
        text("weekly.overview"), "", text("weekly.overview_header"), separator(3),
        row("conversations", lambda r: sum(d["conversations"] for d in r["days"])),
        row("patient_messages", lambda r: sum(d["patient_messages"] for d in r["days"])),
        row("fallback_rate", lambda r: _rate(r["fallback"]["rate"])),
        row("handoffs", lambda r: r["handoffs"]["total"]),
        row("emergencies", lambda r: r["handoffs"]["emergencies"]["count"]),
        row("emergency_claim", lambda r: _pair(r["handoffs"]["emergencies"]["time_to_claim"])),
        row("tickets_opened", lambda r: r["tickets"]["opened"]),
        row("tickets_resolved", lambda r: r["tickets"]["resolved"]),
        row("resolution", lambda r: _pair(r["tickets"]["time_to_resolution"])),
        row("satisfaction_rate", lambda r: _rate(r["satisfaction"]["response_rate"])),
        row("satisfaction_mean", lambda r: _mean(r["satisfaction"]["mean_score"])),
        "",
    ]


def _mean(value: Optional[float]) -> str:
    return f"{value:.2f}" if value is not None else none()


def _satisfaction(report: Dict[str, Any]) -> List[str]:
    figures = report["satisfaction"]
    if not figures["sent"]:
        return [text("weekly.satisfaction"), "", text("weekly.satisfaction_none"), ""]
    lines = [text("weekly.satisfaction"), "", text("weekly.satisfaction_intro"), "", text("weekly.satisfaction_header"),
             separator(5)]
    for name, group in [*((s["source"], s) for s in figures["by_source"]), ("total", figures)]:
        lines.append(table_row(label("survey_source", name), group["sent"], group["answered"],
                               _rate(group["response_rate"]), _mean(group["mean_score"])))
    scores = "、".join(
        text("weekly.satisfaction_score", score=d["score"], count=d["count"]) for d in reversed(figures["distribution"])
    )
    return [*lines, "", text("weekly.satisfaction_distribution", scores=scores), ""]


def _complaints(session: Session, period: reports.Period, report: Dict[str, Any]) -> List[str]:
    span = reports.Range(period)
    counts = {
        (category, severity): count
        for category, severity, count in session.execute(
            select(Ticket.category, Ticket.severity, func.count())
            .where(span.holds(Ticket.created_at)).group_by(Ticket.category, Ticket.severity)
        )
    }
    lines = [text("weekly.complaints"), "", text("weekly.complaints_header"), separator(4)]
    for category in reports.TICKET_CATEGORIES:
        normal, major = counts.get((category, "normal"), 0), counts.get((category, "major"), 0)
        lines.append(table_row(label("category", category), normal, major, normal + major))
    kinds = "、".join(f"{label('kind', k['kind'])} {k['count']}" for k in report["tickets"]["by_kind"])
    return [*lines, "", text("weekly.kinds", kinds=kinds), ""]


def _handoffs(report: Dict[str, Any]) -> List[str]:
    lines = [text("weekly.handoffs"), "", text("weekly.handoffs_header"), separator(6)]
    for p in report["handoffs"]["by_priority"]:
        lines.append(table_row(label("priority", p["priority"]), p["count"], p["claimed"], _pair(p["wait"]),
                               p["answered"], _pair(p["first_response"])))
    reasons = "、".join(f"{label('reason', r['reason'])} {r['count']}" for r in report["handoffs"]["by_reason"])
    return [*lines, "", text("weekly.reasons", reasons=reasons), ""]


def _assignee(ticket: Ticket) -> str:
    return ticket.assignee.display_name if ticket.assignee else none()


def _major(session: Session, period: reports.Period) -> List[str]:
    span = reports.Range(period)
    majors = session.scalars(
        select(Ticket).options(selectinload(Ticket.assignee))
        .where(span.holds(Ticket.created_at), Ticket.severity == "major").order_by(Ticket.created_at, Ticket.id)
    ).all()
    items = [
        text("weekly.major_item", number=t.number, category=label("category", t.category), procedure=t.procedure or none(),
             status=label("status", t.status), created=local(t.created_at), assignee=_assignee(t))
        for t in majors
    ]
    return [text("weekly.major"), "", text("weekly.major_intro") if majors else text("weekly.major_none"), "", *items, ""]


def _overdue(session: Session, now: datetime) -> List[str]:
    open_tickets = session.scalars(
        select(Ticket).options(selectinload(Ticket.events), selectinload(Ticket.assignee))
        .where(Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.created_at, Ticket.id)
    ).all()
    late = [(t, d) for t in open_tickets for d in [deadlines.ticket_deadline(t, now)] if d is not None and d.state == "overdue"]
    if not late:
        return [text("weekly.overdue"), "", text("weekly.overdue_none"), ""]
    items = [
        text("weekly.overdue_item", number=t.number, kind=label("kind", t.kind), status=label("status", t.status),
             due=local(d.due_at), assignee=_assignee(t))
        for t, d in late[:OVERDUE_LISTED]
    ]
    more = [text("weekly.overdue_more", count=len(late) - OVERDUE_LISTED)] if len(late) > OVERDUE_LISTED else []
    return [text("weekly.overdue"), "", *items, *more, ""]


def render(session: Session, monday: date, now: Optional[datetime] = None) -> str:
    """The Markdown summary of the ISO week starting on `monday`."""
    now = now or utcnow()
    period = _period(monday)
    report = reports.summary(session, period)
    before = reports.summary(session, _period(monday - timedelta(days=7)))
    year, week, _ = monday.isocalendar()
    lines = [
        text("weekly.title", year=year, week=week, first=period.first.isoformat(), last=period.last.isoformat()), "",
        text("weekly.meta", timezone=report["timezone"], generated=local(now)), "",
        *_overview(report, before),
        *_complaints(session, period, report),
        *_handoffs(report),
        *_major(session, period),
        *_overdue(session, now),
        *_satisfaction(report),
        text("weekly.nlu"), "",
        text("weekly.nlu_text", rate=_rate(report["fallback"]["rate"]), open=report["nlu_inbox"]["open"],
             added=report["nlu_inbox"]["added"]),
    ]
    return "\n".join(lines) + "\n"
