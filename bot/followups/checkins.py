"""Post-op check-ins: a question on the days after a procedure (data/policies/followups.yml `postop`), more
often for higher member tiers (seed 003), and what the patient's answer does.

`plan` replaces the conversation's scheduled check-ins with the schedule for a procedure and its day; `answer`
records the reply to the latest check-in sent: `fine` and `problem` mark it answered (a problem then goes on
to a post-op ticket, a red flag never reaches here: the triage sends it down the emergency path), `stop`
cancels every check-in still scheduled for the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import List, Optional, Sequence

from sqlalchemy.orm import Session

from bot import hospital
from bot.followups import records, texts
from bot.followups.records import Message
from bot.store.models import FollowUp, utcnow

KIND = "postop_checkin"
TIERS = ("ordinary", "silver", "gold")
ANSWERS = ("fine", "problem", "stop")


@dataclass(frozen=True)
class Answered:
    """The check-in a reply answered (None: nothing was waiting for one) and how many were cancelled."""

    followup: Optional[FollowUp]
    cancelled: int


def days_after(procedure: Optional[str], tier: str = "ordinary") -> List[int]:
    """The days after the procedure on which the patient is asked, the tier's extra days included."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}, got {tier!r}")
    schedules = texts.node("postop.schedule")
    base = schedules.get(procedure or "", schedules["default"])
    return sorted({int(day) for day in [*base, *texts.node(f"postop.tiers.{tier}")]})


def question(procedure: Optional[str], day: int) -> Message:
    buttons = tuple({"title": str(b["title"]), "payload": str(b["payload"])} for b in texts.node("postop.buttons"))
    return Message(texts.text("postop.question", procedure=procedure or "", day=day), buttons)


def _send_time() -> time:
    return datetime.strptime(str(texts.node("postop.send_at")), "%H:%M").time()


def plan(
    session: Session,
    conversation_id: str,
    channel: Optional[str],
    procedure: Optional[str],
    surgery_day: date,
    tier: str = "ordinary",
    now: Optional[datetime] = None,
) -> List[FollowUp]:
    """Schedule the check-ins still ahead (today's included), replacing those already scheduled."""
    now = now or utcnow()
    zone = hospital.load().timezone
    today = now.astimezone(zone).date()
    records.cancel_scheduled(session, conversation_id, KIND)
    planned: List[FollowUp] = []
    for day in days_after(procedure, tier):
        when = surgery_day + timedelta(days=day)
        if when < today:
            continue
        due = datetime.combine(when, _send_time(), tzinfo=zone)
        row = records.schedule(
            session, conversation_id, channel, KIND, due, question(procedure, day), procedure=procedure
        )
        if row is not None:
            planned.append(row)
    return planned


def days_text(days: Sequence[int]) -> str:
    joined = texts.node("postop.days_separator").join(str(day) for day in days)
    return texts.text("postop.days_format", days=joined)


def answer(session: Session, conversation_id: str, reply: str, text: str, now: Optional[datetime] = None) -> Answered:
    """Record the patient's reply (`fine`, `problem`, `stop`) to the latest check-in sent."""
    if reply not in ANSWERS:
        raise ValueError(f"reply must be one of {ANSWERS}, got {reply!r}")
    latest = records.latest_sent(session, conversation_id, KIND)
    if latest is not None:
        records.mark_answered(latest, text or reply, now)
    cancelled = records.cancel_scheduled(session, conversation_id, KIND) if reply == "stop" else 0
    return Answered(latest, cancelled)
