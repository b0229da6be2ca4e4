"""What the assistant says, composed from the policy data: one complete answer per question.

Every sentence comes from data/policies/; this module only decides which sections make up
an answer and in which order, so the same question always gets the same full answer.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple

from bot.policies import PROCEDURES_SECTION, PolicySnapshot
from bot import hospital
from bot.tickets import TicketView

GENERAL_SECTION = "general"
REFUND_SECTION = "refund"
REFUND_PARTS = ("summary", "eligible", "not_eligible", "documents", "steps", "sessions", "deposit", "disputes")
PROCEDURE_TOPICS = (
    "info", "recovery", "normal", "asymmetry", "result", "scar", "side_effect", "infection", "revision", "refund",
)
REFUND_INTENTS = frozenset({"ask_refund_policy", "request_refund"})
CONSULTATION_SECTION = "consultation"
CONSULT_KEY = "consult"
# A question about one part of the refund policy (its retrieval sub-intent) gets that part first; the
# whole policy stays one reply away ("完整退款政策"), the same text for every patient.
REFUND_PARTS_BY_TOPIC = {
    "eligibility": ("eligible", "not_eligible"),
    "documents": ("documents",),
    "timeline": ("steps",),
    "process": ("steps",),
    "ratio": ("sessions", "eligible"),
    "deposit": ("deposit",),
    "disputes": ("disputes",),
}
# The key of Rasa's parse data under which a ResponseSelector for all retrieval intents reports.
DEFAULT_SELECTOR = "default"
# Below this ResponseSelector confidence the whole answer is given rather than one topic of it.
MIN_TOPIC_CONFIDENCE = 0.4
# Pre-operative topics (the retrieval sub-intents of ask_procedure_info) answered from
# data/policies/consultation.yml; `general` and unknown topics get the whole leaflet.
CONSULT_TOPICS = (
    "price", "pain", "operation_time", "downtime", "longevity", "risks", "contraindications", "materials", "suitability",
)
# `ask_procedure_info/booking`: the patient wants a face-to-face consultation; what it is, then the booking form.
BOOKING_TOPIC = "booking"

# The sections that answer each question, in order: what is normal and for how long first,
# then what the hospital does about it (revision, who pays) and when a refund applies.
TOPICS_BY_INTENT = {
    "complain_asymmetry": ("asymmetry", "revision", "refund"),
    "complain_result": ("result", "revision", "refund"),
    "complain_scar": ("scar", "revision", "refund"),
    "report_postop_pain": ("normal", "infection"),
    "report_side_effect": ("side_effect", "infection"),
    "request_revision": ("revision", "infection", "refund"),
    "ask_recovery": ("recovery", "normal"),
    "ask_procedure_info": ("info",),
}
POLICY_INTENTS = frozenset(TOPICS_BY_INTENT) | REFUND_INTENTS

# What follows the answer: a request or a problem gets the offer of a ticket (the patient reads the
# whole policy first and then chooses); a pre-operative question the offer of a face-to-face consultation
# (booked as a `consultation` ticket), a wish to book one the booking form itself; other questions stand alone.
OFFER_TICKET, NO_FOLLOWUP = "offer_ticket", "answer_only"
OFFER_CONSULTATION, BOOK_CONSULTATION = "offer_consultation", "book_consultation"
FOLLOWUP_BY_INTENT = {
    "request_refund": OFFER_TICKET,
    "request_revision": OFFER_TICKET,
    "ask_refund_policy": OFFER_TICKET,
    "complain_asymmetry": OFFER_TICKET,
    "complain_result": OFFER_TICKET,
    "complain_scar": OFFER_TICKET,
    "report_postop_pain": OFFER_TICKET,
    "report_side_effect": OFFER_TICKET,
    "ask_procedure_info": OFFER_CONSULTATION,
}


def latest_policy_intent(intents: Sequence[str]) -> Optional[str]:
    """The question being answered: the latest intent that has a policy answer."""
    return next((intent for intent in reversed(intents) if intent in POLICY_INTENTS), None)


def question_topic(intent: str, events: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The topic of the latest question with `intent`: its ResponseSelector sub-intent (`price` of
    `ask_procedure_info/price`), or None when none was selected with `MIN_TOPIC_CONFIDENCE`."""
    for event in reversed(events):
        parse = event.get("parse_data") or {}
        if event.get("event") != "user" or (parse.get("intent") or {}).get("name") != intent:
            continue
        selectors = parse.get("response_selector") or {}
        selected = (selectors.get(intent) or selectors.get(DEFAULT_SELECTOR) or {}).get("response") or {}
        key = str(selected.get("intent_response_key") or "")
        if not key.startswith(f"{intent}/") or float(selected.get("confidence") or 0.0) < MIN_TOPIC_CONFIDENCE:
            return None
        return key.split("/", 1)[1]
    return None


def followup_for(intent: Optional[str], topic: Optional[str] = None) -> str:
    if intent == "ask_procedure_info" and topic == BOOKING_TOPIC:
        return BOOK_CONSULTATION
    return FOLLOWUP_BY_INTENT.get(intent or "", NO_FOLLOWUP)


def topic_text(topic: str, procedure: Optional[str], snapshot: PolicySnapshot) -> Optional[str]:
    """The procedure's own text for a topic, else the general one."""
    specific = snapshot.get(f"{PROCEDURES_SECTION}.{procedure}.{topic}") if procedure else None
    return specific or snapshot.get(f"{GENERAL_SECTION}.{topic}")


def has_own_policy(procedure: Optional[str], snapshot: PolicySnapshot) -> bool:
    """Whether the procedure has texts of its own (the catalog's `other` entry has none)."""
    return bool(procedure) and any(
        snapshot.get(f"{PROCEDURES_SECTION}.{procedure}.{topic}") for topic in PROCEDURE_TOPICS
    )


def _join(parts: Sequence[Optional[str]]) -> str:
    """One message: channels split a text into separate bubbles at blank lines, so sections join by one newline."""
    return "\n".join(part for part in parts if part)


def refund_policy_text(procedure: Optional[str], snapshot: PolicySnapshot) -> str:
    """The whole refund policy, preceded by what it means for the patient's procedure when known."""
    own = snapshot.get(f"{PROCEDURES_SECTION}.{procedure}.refund") if procedure else None
    return _join([own] + [snapshot.get(f"{REFUND_SECTION}.{part}") for part in REFUND_PARTS])


def refund_part_text(topic: str, procedure: Optional[str], snapshot: PolicySnapshot) -> str:
    """The parts of the refund policy that answer `topic`, then how to see the whole policy."""
    own = snapshot.get(f"{PROCEDURES_SECTION}.{procedure}.refund") if procedure and topic == "eligibility" else None
    parts = [snapshot.get(f"{REFUND_SECTION}.{part}") for part in REFUND_PARTS_BY_TOPIC[topic]]
    return _join([own, *parts, snapshot.get("prompts.whole_refund_policy")])


def consult_text(topic: str, procedure: Optional[str], snapshot: PolicySnapshot) -> Optional[str]:
    """The pre-operative answer on `topic` for `procedure`, or None when the data has none."""
    if not has_own_policy(procedure, snapshot):
        return None
    specific = snapshot.get(f"{PROCEDURES_SECTION}.{procedure}.{CONSULT_KEY}.{topic}")
    note = snapshot.get(f"{CONSULTATION_SECTION}.price_note") if topic == "price" else None
    text = _join([specific or snapshot.get(f"{CONSULTATION_SECTION}.fallback"), note])
    return text.format(**hospital.load().facts())


def policy_text(intent: str, procedure: Optional[str], snapshot: PolicySnapshot, topic: Optional[str] = None) -> str:
    """The answer to `intent` (and its retrieval `topic`, when one was recognised) for `procedure`.

    A topic with its own text gets that text; otherwise the one complete answer (general texts when the
    procedure is unknown).
    """
    if intent == "ask_refund_policy" and topic in REFUND_PARTS_BY_TOPIC:
        return refund_part_text(topic, procedure, snapshot)
    if intent == "ask_procedure_info" and topic == BOOKING_TOPIC:
        return str(snapshot.get(f"{CONSULTATION_SECTION}.{BOOKING_TOPIC}")).format(**hospital.load().facts())
    if intent == "ask_procedure_info" and topic in CONSULT_TOPICS:
        text = consult_text(topic, procedure, snapshot)
        if text:
            return text
    if intent in REFUND_INTENTS:
        return refund_policy_text(procedure, snapshot)
    topics = TOPICS_BY_INTENT.get(intent, ())
    return _join([topic_text(topic, procedure, snapshot) for topic in topics])


def kind_label(kind: str, snapshot: PolicySnapshot) -> str:
    return snapshot.get(f"tickets.kind.{kind}") or kind


def status_label(status: str, snapshot: PolicySnapshot) -> str:
    return snapshot.get(f"tickets.status.{status}") or status


def opened_next_step(kind: str, severity: str, snapshot: PolicySnapshot) -> str:
    """What happens next after a ticket is opened, and by when."""
    major = snapshot.get("tickets.major") if severity == "major" else None
    return _join([major, snapshot.get(f"tickets.opened.{kind}")])


def status_next_step(kind: str, status: str, snapshot: PolicySnapshot) -> str:
    """The next step for a ticket in `status`: its kind's own wording where it has one."""
    return snapshot.get(f"tickets.next_step_by_kind.{kind}.{status}") or snapshot.get(f"tickets.next_step.{status}") or ""


def major_signs(snapshot: PolicySnapshot) -> List[str]:
    signs = snapshot.section("tickets.major_signs")
    return list(signs) if isinstance(signs, list) else []


def history_text(ticket: TicketView, snapshot: PolicySnapshot) -> str:
    """One line per history entry the patient may see: local time, the status it moved to, and the
    note when staff marked it for the patient (staff-internal notes never reach the patient)."""
    lines: List[str] = []
    for entry in ticket.history:
        note = entry.note if entry.patient_visible else None
        if not entry.to_status and not note:
            continue
        parts: Tuple[str, ...] = (hospital.load().local(entry.time).strftime("%Y-%m-%d %H:%M"),)
        if entry.to_status:
            parts += (status_label(entry.to_status, snapshot),)
        if note:
            parts += (note,)
        lines.append(" · ".join(parts))
    return "\n".join(lines)


def prompt(key: str, snapshot: PolicySnapshot, **values: object) -> str:
    """A sentence of `prompts` in data/policies/prompts.yml with its {…} and the hospital's facts filled in."""
    template = snapshot.get(f"prompts.{key}")
    if template is None:
        raise KeyError(f"prompts.{key} is missing from data/policies (run `python -m bot policies load`)")
    return template.format(**{**hospital.load().facts(), **values})


def answer(intent: str, procedure: Optional[str], snapshot: PolicySnapshot, topic: Optional[str] = None) -> str:
    """The answer, headed by the procedure it is about when that has its own policy."""
    text = policy_text(intent, procedure, snapshot, topic)
    if not has_own_policy(procedure, snapshot):
        return text
    label = snapshot.get(f"{CONSULTATION_SECTION}.topics.{topic}") if intent == "ask_procedure_info" else None
    if label:
        return _join([prompt("topic_heading", snapshot, procedure=procedure, topic=label), text])
    return _join([prompt("answer_heading", snapshot, procedure=procedure), text])


def ticket_status_text(ticket: TicketView, snapshot: PolicySnapshot) -> str:
    """A ticket as its patient sees it: status in words, its history and the next step."""
    return prompt(
        "ticket_status",
        snapshot,
        number=ticket.number,
        kind=kind_label(ticket.kind, snapshot),
        procedure=ticket.procedure or "",
        status=status_label(ticket.status, snapshot),
        history=history_text(ticket, snapshot),
        next_step=status_next_step(ticket.kind, ticket.status, snapshot),
    )
