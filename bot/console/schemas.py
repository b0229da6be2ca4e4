"""Request and response bodies of the staff API (Pydantic v1)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Field, constr, root_validator

from bot import phone
from bot.roles import Role

MAX_MESSAGE_LENGTH = 4000
MAX_NOTE_LENGTH = 2000


class MaskedText(str):
    """Free text shown to staff (what a patient wrote, a note): every mobile number in it is masked as
    138****5678 (bot/phone.py), whatever the staff member's role; the full number of a ticket is only
    revealed by GET /api/tickets/{number}/phone, which is audited."""

    @classmethod
    def __get_validators__(cls):  # type: ignore[no-untyped-def]
        yield cls.validate

    @classmethod
    def __modify_schema__(cls, field_schema: Dict[str, Any]) -> None:
        field_schema.update(type="string", description="mobile numbers masked as 138****5678")

    @classmethod
    def validate(cls, value: object) -> "MaskedText":
        if not isinstance(value, str):
            raise TypeError("string required")
        return cls(phone.mask_text(value))


class HandoffStatus(str, Enum):
    waiting = "waiting"
    active = "active"
    closed = "closed"


class TicketStatus(str, Enum):
    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


class TicketKind(str, Enum):
    refund = "refund"
    complaint = "complaint"
    revision = "revision"
    postop = "postop"
    consultation = "consultation"


class TicketCategory(str, Enum):
    surgery = "surgery"
    skin = "skin"
    dental = "dental"
    other = "other"


class TicketSeverity(str, Enum):
    normal = "normal"
    major = "major"


class InboxStatus(str, Enum):
    open = "open"
    confirmed = "confirmed"
    corrected = "corrected"
    dismissed = "dismissed"


class InboxReason(str, Enum):
    fallback = "fallback"
    low_confidence = "low_confidence"
    handoff = "handoff"
    flagged = "flagged"


class ReviewAction(str, Enum):
    confirm = "confirm"
    correct = "correct"
    dismiss = "dismiss"


class ErrorOut(BaseModel):
    """Every error answer of the API: a sentence for staff."""

    detail: str


class InvalidRequestOut(ErrorOut):
    """422: the sentence, and pydantic's details for programs."""

    errors: List[Dict[str, Any]]


class LoginRequest(BaseModel):
    username: constr(strip_whitespace=True, min_length=1, max_length=64)  # type: ignore[valid-type]
    password: constr(min_length=1, max_length=256)  # type: ignore[valid-type]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    # The password was a one-time password: until POST /api/password sets a new one, every other call is 403.
    password_change_required: bool = False


class StaffAccountOut(BaseModel):
    username: str
    display_name: str
    role: str
    disabled: bool
    # Holds a one-time password not yet replaced.
    password_change_required: bool
    created_at: datetime


class StaffAccountIn(BaseModel):
    username: constr(regex=r"^[A-Za-z0-9_.-]{2,64}$")  # type: ignore[valid-type]
    display_name: Optional[constr(strip_whitespace=True, min_length=1, max_length=64)] = None  # type: ignore[valid-type]
    role: Role = Role.AGENT


class StaffAccountUpdate(BaseModel):
    role: Optional[Role] = None
    disabled: Optional[bool] = None


class OneTimePassword(BaseModel):
    """Shown once: the account's holder logs in with it and must set their own password at once."""

    username: str
    one_time_password: str


class PatientDeleteIn(BaseModel):
    """Whose data to delete (the phone on their tickets and/or conversation ids), and the confirmation."""

    phone: Optional[constr(strip_whitespace=True, max_length=40)] = None  # type: ignore[valid-type]
    conversations: List[constr(min_length=1, max_length=255)] = []  # type: ignore[valid-type]
    # Deleting cannot be undone: true, after an export.
    confirm: bool = False


class PasswordChange(BaseModel):
    current_password: constr(min_length=1, max_length=256)  # type: ignore[valid-type]
    new_password: constr(min_length=1, max_length=256)  # type: ignore[valid-type]


class StaffOut(BaseModel):
    username: str
    display_name: str
    # bot/roles.py: agent, supervisor, admin or trainer, and what that role may do.
    role: str
    permissions: List[str]
    # Logged in with a one-time password that must be replaced first (POST /api/password).
    password_change_required: bool = False


class HandoffOut(BaseModel):
    id: int
    conversation_id: str
    channel: str
    reason: str
    priority: str
    status: HandoffStatus
    created_at: datetime
    claimed_at: Optional[datetime]
    closed_at: Optional[datetime]
    assigned_to: Optional[str]
    assigned_to_name: Optional[str]
    waiting_seconds: int
    # The conversation's tags (bot/console/tags.yml); filled in by the queue's list.
    tags: List[str] = []


class MessageIn(BaseModel):
    text: constr(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_LENGTH)  # type: ignore[valid-type]


class MessageOut(BaseModel):
    delivered: bool
    channel: str


class ColleagueOut(BaseModel):
    """A staff account a handoff or a ticket can be given to."""

    username: str
    display_name: str


class TransferIn(BaseModel):
    """Whom to give the conversation to: a colleague's username."""

    to: constr(strip_whitespace=True, min_length=1, max_length=64)  # type: ignore[valid-type]


class AssignIn(BaseModel):
    """Whom to assign the ticket to: a colleague's username, or null for nobody."""

    to: Optional[constr(strip_whitespace=True, min_length=1, max_length=64)]  # type: ignore[valid-type]


class ConversationNoteIn(BaseModel):
    conversation_id: constr(strip_whitespace=True, min_length=1, max_length=255)  # type: ignore[valid-type]
    text: constr(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_LENGTH)  # type: ignore[valid-type]


class ConversationNoteOut(BaseModel):
    """A note between colleagues on a conversation; never sent to the patient."""

    id: int
    conversation_id: str
    staff: str
    staff_name: str
    text: MaskedText
    created_at: datetime


class CannedReplyOut(BaseModel):
    """A ready reply (bot/console/replies.yml) as the patient would receive it."""

    key: str
    topic: str
    topic_label: str
    title: str
    text: str


class TranscriptLine(BaseModel):
    role: str
    text: MaskedText
    time: datetime
    timestamp: float  # Rasa's event timestamp: names a patient message for POST /api/nlu/flag
    staff: Optional[str]


class TicketOut(BaseModel):
    number: str
    conversation_id: str
    kind: str
    category: str
    severity: str
    procedure: Optional[str]
    status: TicketStatus
    created_at: datetime
    phone_masked: str
    # Past the time limit of its current step (data/policies/tickets.yml).
    overdue: bool
    # The colleague working it (username and display name), if any.
    assigned_to: Optional[str] = None
    assigned_to_name: Optional[str] = None
    # Its tags (bot/console/tags.yml); filled in by the ticket list.
    tags: List[str] = []


class TicketEventOut(BaseModel):
    time: datetime
    actor: str
    from_status: Optional[str]
    to_status: Optional[str]
    note: Optional[MaskedText]
    patient_visible: bool = False


class TicketDetail(TicketOut):
    channel: Optional[str]
    surgery_time: Optional[str]
    description: Optional[MaskedText]
    updated_at: datetime
    history: List[TicketEventOut]


class TicketUpdate(BaseModel):
    status: Optional[TicketStatus]
    note: Optional[constr(strip_whitespace=True, min_length=1, max_length=MAX_NOTE_LENGTH)]  # type: ignore[valid-type]
    # A note is for staff only unless this is true: then the patient sees it when looking the ticket up.
    patient_visible: bool = False

    @root_validator(skip_on_failure=True)
    def _something_to_change(cls, values: dict) -> dict:  # noqa: N805 - pydantic validator
        if values.get("status") is None and values.get("note") is None:
            raise ValueError("give a new status, a note, or both")
        return values


class InboxItemOut(BaseModel):
    """A patient message in the NLU inbox."""

    id: int
    conversation_id: str
    timestamp: float
    time: datetime
    text: MaskedText
    predicted_intent: Optional[str]
    confidence: Optional[float]
    reason: InboxReason
    status: InboxStatus
    flagged_by: Optional[str]
    reviewed_intent: Optional[str]
    reviewed_procedure: Optional[str]
    reviewed_by: Optional[str]
    reviewed_at: Optional[datetime]


class InboxReview(BaseModel):
    """`confirm` the predicted intent, `correct` it to `intent` (an intent of the domain), or `dismiss`.
    `procedure`: the canonical procedure the message names, or empty."""

    action: ReviewAction
    intent: Optional[constr(strip_whitespace=True, max_length=64)]  # type: ignore[valid-type]
    procedure: Optional[constr(strip_whitespace=True, max_length=32)]  # type: ignore[valid-type]


class InboxFlag(BaseModel):
    """A patient message of the transcript (GET /api/conversations/{id}: `timestamp` of a `patient` line)."""

    conversation_id: constr(min_length=1, max_length=255)  # type: ignore[valid-type]
    timestamp: float


class IntentChoice(BaseModel):
    name: str
    label: str


class InboxOptions(BaseModel):
    """What a correction may choose: the domain's intents with their Chinese labels, the canonical procedures."""

    intents: List[IntentChoice]
    procedures: List[str]
    low_confidence: float


class FollowUpStatus(str, Enum):
    scheduled = "scheduled"
    sent = "sent"
    answered = "answered"
    failed = "failed"
    cancelled = "cancelled"


class FollowUpOut(BaseModel):
    id: int
    conversation_id: str
    channel: Optional[str]
    kind: str
    due_at: datetime
    status: str
    text: MaskedText
    ticket_number: Optional[str]
    procedure: Optional[str]
    sent_at: Optional[datetime]
    answer: Optional[MaskedText]
    last_error: Optional[str]


class TicketDeadlineOut(BaseModel):
    """A ticket against the time limit of its current status: `due_soon` (staff are warned) or `overdue`."""

    number: str
    conversation_id: str
    kind: str
    status: str
    steps: str
    due_at: datetime
    state: str
    new_due_at: Optional[datetime]


class MemberTier(str, Enum):
    ordinary = "ordinary"
    silver = "silver"
    gold = "gold"


class PostopPlanIn(BaseModel):
    """Staff record a patient's procedure and its day; the check-ins follow the schedule for it and the tier."""

    conversation_id: constr(strip_whitespace=True, min_length=1, max_length=255)  # type: ignore[valid-type]
    channel: constr(strip_whitespace=True, min_length=1, max_length=32)  # type: ignore[valid-type]
    procedure: constr(strip_whitespace=True, min_length=1, max_length=32)  # type: ignore[valid-type]
    surgery_date: date
    tier: MemberTier = MemberTier.ordinary


class PhoneOut(BaseModel):
    """A ticket's full phone number (GET /api/tickets/{number}/phone: supervisors and admins, audited)."""

    number: str
    phone: str


class AuditEntryOut(BaseModel):
    id: int
    actor: str
    # transcript_read, ticket_read, phone_revealed, patient_export, patient_delete
    action: str
    # conversation, ticket or patient, and its id, number or masked phone
    target_kind: str
    target: str
    client: str
    created_at: datetime


class ConversationSummaryOut(BaseModel):
    """One of the patient's conversations: `same` (the one being read: its sessions and handoffs so far) or
    linked by the `phone` on its tickets."""

    conversation_id: str
    linked_by: str
    sessions: int
    patient_messages: int
    first_message_at: Optional[datetime]
    last_message_at: Optional[datetime]
    handoffs: List[HandoffOut]


class PatientHistoryOut(BaseModel):
    """What the console shows beside a transcript (bot/console/history.py)."""

    conversations: List[ConversationSummaryOut]
    tickets: List[TicketOut]
    # The follow-ups of the other conversations (the conversation's own are listed with it).
    followups: List[FollowUpOut]


class TagTarget(str, Enum):
    conversation = "conversation"
    ticket = "ticket"


class TagsIn(BaseModel):
    """A conversation id or ticket number, and all of its tags (names from bot/console/tags.yml)."""

    target: constr(strip_whitespace=True, min_length=1, max_length=255)  # type: ignore[valid-type]
    tags: List[constr(strip_whitespace=True, min_length=1, max_length=32)] = Field(..., max_items=30)  # type: ignore[valid-type]


class TagsOut(BaseModel):
    target: str
    tags: List[str]


class TypingIn(BaseModel):
    """Whether the staff member is typing a reply now."""

    typing: bool


class TypingOut(BaseModel):
    """Whether the patient's channel was told (only the website widget shows it)."""

    sent: bool
