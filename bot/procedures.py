"""The procedure catalog: canonical names and their complaint category (seed 003).

The catalog is policy data (`procedures.<name>.category` in data/policies/), so the
procedure → category map has exactly one home and changes with a policy reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from bot.policies import PROCEDURES_SECTION, PolicySnapshot
from bot.store.models import TICKET_CATEGORIES

OTHER_CATEGORY = "other"


@dataclass(frozen=True)
class Procedure:
    name: str
    category: str


def catalog(snapshot: PolicySnapshot) -> List[Procedure]:
    """Every procedure of the policies, surgery first and `other` last (the order buttons show)."""
    procedures = []
    for name in snapshot.children(PROCEDURES_SECTION):
        category = snapshot.get(f"{PROCEDURES_SECTION}.{name}.category") or OTHER_CATEGORY
        procedures.append(Procedure(name, category if category in TICKET_CATEGORIES else OTHER_CATEGORY))
    rank = {category: index for index, category in enumerate(TICKET_CATEGORIES)}
    return sorted(procedures, key=lambda p: rank[p.category])


def category_of(name: Optional[str], snapshot: PolicySnapshot) -> str:
    """`surgery` / `skin` / `dental` / `other`; a procedure the catalog does not know is `other`."""
    for procedure in catalog(snapshot):
        if procedure.name == name:
            return procedure.category
    return OTHER_CATEGORY


def recognize(text: Optional[str], snapshot: PolicySnapshot) -> Optional[str]:
    """The canonical procedure a free answer names ("做的是双眼皮" → 双眼皮), if exactly clear."""
    value = (text or "").strip()
    if not value:
        return None
    names = [procedure.name for procedure in catalog(snapshot)]
    if value in names:
        return value
    found = [name for name in names if name in value]
    return found[0] if len(found) == 1 else None
