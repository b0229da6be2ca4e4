"""Staff roles and what each may do in the console (least privilege, issue #14).

- agent: the handoff queue (claim, reply, release their own), transcripts, conversation notes, tickets,
  follow-ups and canned replies; phone numbers masked.
- supervisor: an agent's work, plus the reports, releasing or moving a conversation someone else holds,
  and a patient's full phone number (each reveal is written to the audit log).
- admin: a supervisor's work, plus staff accounts, the audit log, a patient's export and deletion, and the
  NLU inbox.
- trainer: the NLU inbox only.

The console's API enforces these in its dependencies (bot/console/deps.py), answering 403.
"""

from __future__ import annotations

from enum import Enum
from typing import Dict, FrozenSet


class Role(str, Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    TRAINER = "trainer"


class Permission(str, Enum):
    # The queue: handoffs, transcripts, notes, tickets, follow-ups, canned replies, the live event stream.
    QUEUE = "queue"
    REPORTS = "reports"
    # Release or move a conversation another member of staff holds.
    REASSIGN = "reassign"
    # A patient's full phone number, on explicit request, audited.
    REVEAL_PHONE = "reveal_phone"
    MANAGE_STAFF = "manage_staff"
    READ_AUDIT = "read_audit"
    PATIENT_DATA = "patient_data"
    # Review the NLU inbox.
    TRAIN = "train"


_AGENT = frozenset({Permission.QUEUE})
_SUPERVISOR = _AGENT | {Permission.REPORTS, Permission.REASSIGN, Permission.REVEAL_PHONE}

PERMISSIONS: Dict[Role, FrozenSet[Permission]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.ADMIN: frozenset(Permission),
    Role.TRAINER: frozenset({Permission.TRAIN}),
}

ROLE_NAMES = tuple(role.value for role in Role)


def permissions(role: str) -> FrozenSet[Permission]:
    """What `role` may do; an unknown role (a row written by hand) may do nothing."""
    try:
        return PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()
