"""The service's figures for a date range (GET /api/reports/summary, the console's reports page).

Counts are grouped in SQL that runs on SQLite and PostgreSQL alike: the few expressions the two write differently
(a day in the hospital's timezone, seconds between two times) are compiled per dialect below. Medians and 90th
percentiles are taken from the durations SQL returns, since SQLite has no percentile function.
Days are the hospital's (data/policies/hospital.yml `timezone`); `to` is included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import Float, Integer, String, and_, column, func, inspect, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from bot import hospital
from bot.followups.satisfaction import KIND as SURVEY
from bot.followups.satisfaction import SCORES, parse_score
from bot.store.models import FollowUp, Handoff, NluInboxItem, Ticket, TicketEvent

RASA_EVENTS = table(
    "events", column("sender_id", String), column("type_name", String), column("timestamp", Float),
    column("intent_name", String),
)
FALLBACK_INTENT = "nlu_fallback"
TICKET_CATEGORIES = ("surgery", "skin", "dental", "other")
TICKET_KINDS = ("refund", "complaint", "revision", "postop", "consultation")
SEVERITIES = ("normal", "major")
HANDOFF_REASONS = ("emergency", "anger", "user_request", "fallback")
PRIORITIES = ("urgent", "high", "normal")
RESOLVED = ("resolved", "closed")
TOP_INTENTS = 15
# What a satisfaction question followed: a released handoff, or a ticket resolved or closed (it carries the ticket).
SURVEY_SOURCES = ("handoff", "ticket")
# A report reads at most this many days at once.
MAX_DAYS = 366


class EpochDay(FunctionElement):
    """The day number (days since 1970-01-01) of a Unix time shifted by `offset` seconds."""

    type = Integer()
    inherit_cache = True


@compiles(EpochDay)
def _epoch_day_default(element: EpochDay, compiler: Any, **kw: Any) -> str:
    value, offset = list(element.clauses)
    return f"CAST(({compiler.process(value, **kw)} + {compiler.process(offset, **kw)}) / 86400 AS INTEGER)"


@compiles(EpochDay, "postgresql")
def _epoch_day_postgresql(element: EpochDay, compiler: Any, **kw: Any) -> str:
    value, offset = list(element.clauses)
    return f"CAST(FLOOR(({compiler.process(value, **kw)} + {compiler.process(offset, **kw)}) / 86400) AS INTEGER)"


class LocalDay(FunctionElement):
    """The date (YYYY-MM-DD text) of a UTC timestamp column shifted by `offset` seconds."""

    type = String()
    inherit_cache = True


@compiles(LocalDay)
def _local_day_default(element: LocalDay, compiler: Any, **kw: Any) -> str:
    value, offset = list(element.clauses)
    return f"date({compiler.process(value, **kw)}, ({compiler.process(offset, **kw)}) || ' seconds')"


@compiles(LocalDay, "postgresql")
def _local_day_postgresql(element: LocalDay, compiler: Any, **kw: Any) -> str:
    value, offset = list(element.clauses)
    shifted = f"({compiler.process(value, **kw)} AT TIME ZONE 'UTC') + make_interval(secs => {compiler.process(offset, **kw)})"
    return f"to_char({shifted}, 'YYYY-MM-DD')"


class SecondsBetween(FunctionElement):
    """Seconds from the first timestamp column to the second."""

    type = Float()
    inherit_cache = True


@compiles(SecondsBetween)
def _seconds_default(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(SecondsBetween, "postgresql")
def _seconds_postgresql(element: SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def days(self) -> List[str]:
        return [(self.first + timedelta(days=n)).isoformat() for n in range((self.last - self.first).days + 1)]


def percentiles(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """Median and 90th percentile (nearest rank), in whole seconds; None without values."""
    if not values:
        return {"median_seconds": None, "p90_seconds": None}
    ordered = sorted(values)
    rank = max(0, -(-len(ordered) * 9 // 10) - 1)
    return {"median_seconds": round(median(ordered)), "p90_seconds": round(ordered[rank])}


def _counts(session: Session, query: Any, keys: Sequence[str]) -> Dict[str, int]:
    found = {str(key): int(count) for key, count in session.execute(query)}
    return {**{key: 0 for key in keys}, **found}


def _rows(counts: Dict[str, int], name: str) -> List[Dict[str, Any]]:
    return [{name: key, "count": count} for key, count in counts.items()]


class Range:
    """The period in UTC instants and as the hospital's offset, for the queries."""

    def __init__(self, period: Period) -> None:
        zone = hospital.load().timezone
        self.start = datetime.combine(period.first, time(0), tzinfo=zone)
        self.end = datetime.combine(period.last + timedelta(days=1), time(0), tzinfo=zone)
        self.offset = int(self.start.utcoffset().total_seconds())  # type: ignore[union-attr]

    def holds(self, moment: ColumnElement) -> ColumnElement:
        return and_(moment >= self.start, moment < self.end)


def _conversations(session: Session, period: Period, span: Range) -> Dict[str, Any]:
    days = {day: {"day": day, "conversations": 0, "patient_messages": 0, "bot_messages": 0} for day in period.days()}
    if not inspect(session.connection()).has_table("events"):
        return {"days": list(days.values()), "intents": [], "fallback": {"patient_messages": 0, "fallbacks": 0, "rate": None}}
    events = RASA_EVENTS.c
    in_range = and_(events.timestamp >= span.start.timestamp(), events.timestamp < span.end.timestamp())
    day = EpochDay(events.timestamp, span.offset)
    rows = session.execute(
        select(
            day,
            func.count(func.distinct(events.sender_id)).filter(events.type_name == "user"),
            func.count().filter(events.type_name == "user"),
            func.count().filter(events.type_name == "bot"),
        ).where(in_range, events.type_name.in_(("user", "bot"))).group_by(day)
    )
    for number, conversations, patient, bot in rows:
        key = (date(1970, 1, 1) + timedelta(days=int(number))).isoformat()
        if key in days:
            days[key].update(conversations=conversations, patient_messages=patient, bot_messages=bot)
    intent_count = func.count().label("n")
    intents = session.execute(
        select(events.intent_name, intent_count)
        .where(in_range, events.type_name == "user", events.intent_name.isnot(None))
        .group_by(events.intent_name).order_by(intent_count.desc(), events.intent_name).limit(TOP_INTENTS)
    )
    total, fallbacks = session.execute(
        select(func.count(), func.count().filter(events.intent_name == FALLBACK_INTENT))
        .where(in_range, events.type_name == "user")
    ).one()
    return {
        "days": list(days.values()),
        "intents": [{"intent": name, "count": count} for name, count in intents],
        "fallback": {"patient_messages": total, "fallbacks": fallbacks, "rate": round(fallbacks / total, 4) if total else None},
    }


def _handoffs(session: Session, span: Range) -> Dict[str, Any]:
    created = span.holds(Handoff.created_at)
    wait = SecondsBetween(Handoff.created_at, Handoff.claimed_at)
    by_priority = []
    waits = session.execute(select(Handoff.priority, wait).where(created, Handoff.claimed_at.isnot(None))).all()
    # First response: from the claim to the first message a person sent the patient (handoffs.first_reply_at).
    responses = session.execute(
        select(Handoff.priority, SecondsBetween(Handoff.claimed_at, Handoff.first_reply_at))
        .where(created, Handoff.claimed_at.isnot(None), Handoff.first_reply_at.isnot(None))
    ).all()
    counts = _counts(session, select(Handoff.priority, func.count()).where(created).group_by(Handoff.priority), PRIORITIES)
    for priority, count in counts.items():
        claimed = [seconds for p, seconds in waits if p == priority]
        answered = [max(0.0, seconds) for p, seconds in responses if p == priority]
        by_priority.append({
            "priority": priority, "count": count, "claimed": len(claimed), "wait": percentiles(claimed),
            "answered": len(answered), "first_response": percentiles(answered),
        })
    emergency_waits = [
        s for (s,) in session.execute(select(wait).where(created, Handoff.reason == "emergency", Handoff.claimed_at.isnot(None)))
    ]
    by_reason = _counts(session, select(Handoff.reason, func.count()).where(created).group_by(Handoff.reason), HANDOFF_REASONS)
    return {
        "total": sum(counts.values()),
        "by_reason": _rows(by_reason, "reason"),
        "by_priority": by_priority,
        "emergencies": {"count": by_reason["emergency"], "claimed": len(emergency_waits), "time_to_claim": percentiles(emergency_waits)},
        "waiting_unclaimed": session.scalar(select(func.count()).where(created, Handoff.claimed_at.is_(None))) or 0,
    }


def _tickets(session: Session, period: Period, span: Range) -> Dict[str, Any]:
    created = span.holds(Ticket.created_at)

    def grouped(field: Any, keys: Sequence[str]) -> Dict[str, int]:
        return _counts(session, select(field, func.count()).where(created).group_by(field), keys)

    opened_day = LocalDay(Ticket.created_at, span.offset)
    resolved_day = LocalDay(TicketEvent.created_at, span.offset)
    resolving = and_(span.holds(TicketEvent.created_at), TicketEvent.to_status.in_(RESOLVED))
    opened = dict(session.execute(select(opened_day, func.count()).where(created).group_by(opened_day)).all())
    resolved = dict(
        session.execute(
            select(resolved_day, func.count(func.distinct(TicketEvent.ticket_id))).where(resolving).group_by(resolved_day)
        ).all()
    )
    durations = [
        s for (s,) in session.execute(
            select(SecondsBetween(Ticket.created_at, func.min(TicketEvent.created_at)))
            .join(TicketEvent, TicketEvent.ticket_id == Ticket.id).where(resolving).group_by(Ticket.id, Ticket.created_at)
        )
    ]
    procedures = session.execute(
        select(Ticket.procedure, func.count()).where(created, Ticket.procedure.isnot(None))
        .group_by(Ticket.procedure).order_by(func.count().desc(), Ticket.procedure)
    ).all()
    return {
        "opened": sum(opened.values()),
        "resolved": sum(resolved.values()),
        "by_kind": _rows(grouped(Ticket.kind, TICKET_KINDS), "kind"),
        "by_category": _rows(grouped(Ticket.category, TICKET_CATEGORIES), "category"),
        "by_severity": _rows(grouped(Ticket.severity, SEVERITIES), "severity"),
        "by_procedure": [{"procedure": name, "count": count} for name, count in procedures],
        "per_day": [{"day": d, "opened": opened.get(d, 0), "resolved": resolved.get(d, 0)} for d in period.days()],
        "time_to_resolution": percentiles(durations),
    }


def _scores(answers: Sequence[Optional[str]]) -> Dict[str, Any]:
    """Surveys sent, answered, the response rate and the mean score of a group of surveys (their answers)."""
    scores = [score for score in map(parse_score, answers) if score is not None]
    return {
        "sent": len(answers),
        "answered": len(scores),
        "response_rate": round(len(scores) / len(answers), 4) if answers else None,
        "mean_score": round(sum(scores) / len(scores), 2) if scores else None,
    }


def _satisfaction(session: Session, period: Period, span: Range) -> Dict[str, Any]:
    """The satisfaction questions sent in the period (by the day they were sent) and their answers."""
    sent_day = LocalDay(FollowUp.sent_at, span.offset)
    surveys = [
        (day, "ticket" if about_ticket else "handoff", answer if status == "answered" else None)
        for day, about_ticket, status, answer in session.execute(
            select(sent_day, FollowUp.ticket_id.isnot(None), FollowUp.status, FollowUp.answer).where(
                FollowUp.kind == SURVEY, FollowUp.status.in_(("sent", "answered")), span.holds(FollowUp.sent_at)
            )
        )
    ]
    answers = [answer for _, _, answer in surveys]
    scores = [parse_score(answer) for answer in answers]
    return {
        **_scores(answers),
        "distribution": [{"score": score, "count": scores.count(score)} for score in SCORES],
        "per_day": [{"day": d, **_scores([a for day, _, a in surveys if day == d])} for d in period.days()],
        "by_source": [{"source": s, **_scores([a for _, source, a in surveys if source == s])} for s in SURVEY_SOURCES],
    }


def summary(session: Session, period: Period) -> Dict[str, Any]:
    """Every figure of the reports page for the period, as JSON-ready data."""
    span = Range(period)
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "timezone": str(hospital.load().timezone),
        **_conversations(session, period, span),
        "nlu_inbox": {
            "open": session.scalar(select(func.count()).where(NluInboxItem.status == "open")) or 0,
            "added": session.scalar(select(func.count()).where(span.holds(NluInboxItem.created_at))) or 0,
        },
        "handoffs": _handoffs(session, span),
        "tickets": _tickets(session, period, span),
        "satisfaction": _satisfaction(session, period, span),
    }
