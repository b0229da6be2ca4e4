"""A realistic month for the reports page: `python -m bot report seed-demo [--days 30] [--seed 1]`.

Writes conversations (Rasa `events` rows), handoffs, tickets with their history, NLU inbox items and the satisfaction
questions after released handoffs and finished tickets, with the patients' scores, for the last `days` days, every
one marked as demo data (conversation ids `demo-…`, ticket numbers `TKDEMO…`) and replaced on
each run, so the reports page can be shown and checked before a hospital has traffic. Not for a live database.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, time, timedelta
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, inspect
from sqlalchemy.orm import Session

from bot import hospital
from bot.followups import satisfaction
from bot.store import db
from bot.store.models import FollowUp, Handoff, NluInboxItem, Ticket, TicketEvent

DEMO_PREFIX = "demo-"
DEMO_TICKET_PREFIX = "TKDEMO"
# Rasa's SQLTrackerStore table, created here only when Rasa has not created it yet.
EVENTS = Table(
    "events", MetaData(), Column("id", Integer, primary_key=True), Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False), Column("timestamp", Float), Column("intent_name", String(255)),
    Column("action_name", String(255)), Column("data", Text),
)
# (value, weight): what patients of an aesthetic hospital ask, and how often.
INTENTS = (("ask_procedure_info", 22), ("greet", 15), ("ask_recovery", 10), ("ask_contact_info", 8), ("inform", 10),
           ("ask_refund_policy", 6), ("check_ticket_status", 5), ("report_postop_pain", 4), ("complain_result", 3),
           ("thank", 6), ("request_human", 3), ("nlu_fallback", 7), ("report_emergency", 1))
REASONS = (("user_request", 50), ("fallback", 20), ("anger", 18), ("emergency", 12))
PRIORITY = {"emergency": "urgent", "anger": "high", "user_request": "normal", "fallback": "normal"}
# Seconds until staff claim: (low, high) per priority.
CLAIM_SECONDS = {"urgent": (15, 240), "high": (60, 1200), "normal": (120, 2400)}
KINDS = (("complaint", 30), ("refund", 20), ("postop", 25), ("revision", 10), ("consultation", 15))
PROCEDURES = (("双眼皮", "surgery", 25), ("隆鼻", "surgery", 15), ("吸脂", "surgery", 8), ("光子嫩肤", "skin", 15),
              ("玻尿酸", "skin", 12), ("水光针", "skin", 8), ("牙齿美白", "dental", 6), ("种植牙", "dental", 5),
              (None, "other", 5))
# The satisfaction questions: the share answered, and the scores (5 very satisfied … 1 very dissatisfied) given.
SURVEY_ANSWERED = 0.55
SCORES = ((5, 45), (4, 30), (3, 13), (2, 7), (1, 5))


def _pick(rng: random.Random, weighted: Sequence[Tuple]) -> Tuple:
    return rng.choices(weighted, weights=[item[-1] for item in weighted])[0]


def clear(session: Session) -> None:
    """Remove the demo rows of an earlier run."""
    # Ticket history goes with its ticket (ON DELETE CASCADE).
    bulk = {"synchronize_session": False}
    session.execute(delete(FollowUp).where(FollowUp.conversation_id.like(f"{DEMO_PREFIX}%")), execution_options=bulk)
    session.execute(delete(Ticket).where(Ticket.number.like(f"{DEMO_TICKET_PREFIX}%")), execution_options=bulk)
    for model in (Handoff, NluInboxItem):
        session.execute(delete(model).where(model.conversation_id.like(f"{DEMO_PREFIX}%")), execution_options=bulk)
    if inspect(session.connection()).has_table("events"):
        session.execute(delete(EVENTS).where(EVENTS.c.sender_id.like(f"{DEMO_PREFIX}%")))


def _conversation(rng: random.Random, name: str, start: datetime, events: List[Dict]) -> List[Tuple[str, datetime]]:
    """A few patient turns, each answered; the fallback turns (intent, time) it had."""
    misses = []
    moment = start
    for _ in range(rng.randint(1, 6)):
        intent = _pick(rng, INTENTS)[0]
        events.append({"sender_id": name, "type_name": "user", "timestamp": moment.timestamp(), "intent_name": intent,
                       "data": json.dumps({"event": "user", "text": "……", "parse_data": {"intent": {"name": intent}}})})
        events.append({"sender_id": name, "type_name": "bot", "timestamp": moment.timestamp() + 1, "intent_name": None,
                       "data": json.dumps({"event": "bot", "text": "……"})})
        if intent == "nlu_fallback":
            misses.append((intent, moment))
        moment += timedelta(seconds=rng.randint(20, 300))
    return misses


def seed(url: Optional[str] = None, days: int = 30, random_seed: int = 1, today: Optional[datetime] = None) -> Dict[str, int]:
    """Replace the demo rows with `days` days up to `today` (the hospital's); how many rows of each were written."""
    rng = random.Random(random_seed)
    zone = hospital.load().timezone
    last_day = (today or datetime.now(zone)).astimezone(zone).date()
    events: List[Dict] = []
    counts = {"conversations": 0, "handoffs": 0, "tickets": 0, "nlu_inbox": 0}
    with db.session_scope(url) as session:
        EVENTS.create(session.connection(), checkfirst=True)
        clear(session)
        until = min(datetime.now(zone), datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone))
        surveys = _Surveys(session, random_seed, until, counts)
        for offset in range(days - 1, -1, -1):
            day = last_day - timedelta(days=offset)
            opening = datetime.combine(day, time(8), tzinfo=zone)
            for number in range(rng.randint(25, 60) + (10 if day.weekday() >= 5 else 0)):
                name = f"{DEMO_PREFIX}{day:%Y%m%d}-{number:03d}"
                start = opening + timedelta(seconds=rng.randint(0, 14 * 3600))
                misses = _conversation(rng, name, start, events)
                counts["conversations"] += 1
                for _, moment in misses:
                    session.add(NluInboxItem(conversation_id=name, event_timestamp=moment.timestamp(), text="……",
                                             predicted_intent="nlu_fallback", reason="fallback",
                                             status=rng.choice(("open", "open", "confirmed", "corrected")), created_at=moment))
                    counts["nlu_inbox"] += 1
                if rng.random() < 0.12:
                    reason = _pick(rng, REASONS)[0]
                    priority = PRIORITY[reason]
                    created = start + timedelta(minutes=2)
                    low, high = CLAIM_SECONDS[priority]
                    claimed = created + timedelta(seconds=rng.randint(low, high))
                    waiting = offset == 0 and rng.random() < 0.3
                    # The first reply follows the claim by a third of the wait plus 20 s: no random draw, so the
                    # other figures of a seed stay as they were.
                    replied = claimed + (claimed - created) / 3 + timedelta(seconds=20)
                    handoff = Handoff(conversation_id=name, channel=rng.choice(("socketio", "wechat", "telegram")),
                                      reason=reason, priority=priority, status="waiting" if waiting else "closed",
                                      created_at=created, claimed_at=None if waiting else claimed,
                                      first_reply_at=None if waiting else replied,
                                      closed_at=None if waiting else claimed + timedelta(minutes=rng.randint(3, 40)))
                    session.add(handoff)
                    counts["handoffs"] += 1
                    if handoff.closed_at is not None and reason != satisfaction.EMERGENCY:
                        surveys.add(name, handoff.channel, handoff.closed_at, "handoff")
                if rng.random() < 0.15:
                    ticket = _ticket(session, rng, name, start + timedelta(minutes=3), counts["tickets"])
                    counts["tickets"] += 1
                    finished = [e.created_at for e in ticket.events if e.to_status in satisfaction.FINISHED_TICKET_STATUSES]
                    if finished:
                        surveys.add(name, ticket.channel, finished[0], "ticket", ticket)
        session.execute(EVENTS.insert(), events)
    return counts


class _Surveys:
    """The satisfaction questions of the demo: sent 10 minutes after staff finished, answered or not, none within a
    day of the conversation's earlier one (handoffs come before tickets here), none after the demo's last day.
    They draw from their own generator, so the other figures of a seed stay as they were."""

    def __init__(self, session: Session, random_seed: int, until: datetime, counts: Dict[str, int]) -> None:
        self.session, self.until, self.counts = session, until, counts
        self.rng = random.Random(f"{random_seed}-satisfaction")
        self.asked: Dict[str, datetime] = {}
        counts.update(surveys=0, survey_answers=0)

    def add(self, conversation: str, channel: str, finished: datetime, source: str, ticket: Optional[Ticket] = None) -> None:
        sent = finished + timedelta(minutes=10)
        earlier = self.asked.get(conversation)
        if sent > self.until or (earlier is not None and sent - earlier < timedelta(days=1)):
            return
        self.asked[conversation] = sent
        answered = self.rng.random() < SURVEY_ANSWERED
        score = _pick(self.rng, SCORES)[0] if answered else None
        self.session.add(FollowUp(
            conversation_id=conversation, channel=channel, kind=satisfaction.KIND, status="answered" if answered else "sent",
            due_at=sent, sent_at=sent, payload=satisfaction.question().to_json(), ticket=ticket, attempts=1,
            dedupe_key=f"{DEMO_PREFIX}{satisfaction.KIND}:{source}:{conversation}", answer=str(score) if answered else None,
            answered_at=sent + timedelta(minutes=self.rng.randint(1, 90)) if answered else None, created_at=finished,
        ))
        self.counts["surveys"] += 1
        self.counts["survey_answers"] += answered


def _ticket(session: Session, rng: random.Random, conversation: str, created: datetime, number: int) -> Ticket:
    kind = _pick(rng, KINDS)[0]
    procedure, category, _ = _pick(rng, PROCEDURES)
    severity = "major" if kind == "complaint" and rng.random() < 0.15 else "normal"
    history = [TicketEvent(actor="bot", to_status="open", created_at=created)]
    status = "open"
    moment = created
    for step, chance in (("in_progress", 0.85), ("resolved", 0.7), ("closed", 0.5)):
        moment = moment + timedelta(hours=rng.randint(2, 96))
        if rng.random() > chance or moment > datetime.now(created.tzinfo):
            break
        history.append(TicketEvent(actor="demo", from_status=status, to_status=step, created_at=moment))
        status = step
    ticket = Ticket(number=f"{DEMO_TICKET_PREFIX}{number:06d}", conversation_id=conversation, channel="socketio",
                    kind=kind, category=category, severity=severity, procedure=procedure, phone="13800000000",
                    description="演示数据", status=status, created_at=created, updated_at=moment, events=history)
    session.add(ticket)
    return ticket
