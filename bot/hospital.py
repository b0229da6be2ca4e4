"""The hospital's facts (data/policies/hospital.yml): numbers, address, staff hours, handoff texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Optional
from zoneinfo import ZoneInfo

import yaml

from bot import settings

HOSPITAL_FILE = settings.PROJECT_ROOT / "data" / "policies" / "hospital.yml"


@dataclass(frozen=True)
class Hospital:
    timezone: ZoneInfo
    hotline: str
    on_call_line: str
    crisis_line: str
    address: str
    hotline_hours: str
    clinic_hours: str
    service_days: FrozenSet[int]
    opens: time
    closes: time
    minutes_per_waiting_patient: int
    messages: Dict[str, str]

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    def is_staffed(self, moment: datetime) -> bool:
        """Whether staff answer the console at this moment."""
        local = self.local(moment)
        return local.isoweekday() in self.service_days and self.opens <= local.time() < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """The next moment, at or after `moment`, when staff start answering."""
        local = self.local(moment)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            opening = datetime.combine(day, self.opens, tzinfo=self.timezone)
            if day.isoweekday() in self.service_days and opening >= local:
                return opening
        raise ValueError("staff_service.days names no weekday")

    def expected_wait_minutes(self, position: int) -> int:
        return position * self.minutes_per_waiting_patient

    def facts(self) -> Dict[str, str]:
        """What any patient-facing text may name as {hotline}, {on_call_line}, {crisis_line}, {address}, …"""
        return {
            "hotline": self.hotline,
            "hotline_hours": self.hotline_hours,
            "on_call_line": self.on_call_line,
            "crisis_line": self.crisis_line,
            "address": self.address,
            "clinic_hours": self.clinic_hours,
            "opens": self.opens.strftime("%H:%M"),
            "closes": self.closes.strftime("%H:%M"),
        }

    def message(self, name: str, **values: object) -> str:
        """One of `handoff_messages`, with the hospital's facts and `values` filled in."""
        return self.messages[name].format(**self.facts(), **values)

    def opens_at_text(self, opening: datetime) -> str:
        local = self.local(opening)
        return self.messages["opens_at_format"].format(
            month=local.month, day=local.day, time=local.strftime("%H:%M")
        )


def _clock(value: str) -> time:
    return datetime.strptime(str(value), "%H:%M").time()


def parse(document: dict) -> Hospital:
    facts, service = document["hospital"], document["staff_service"]
    hospital = Hospital(
        timezone=ZoneInfo(facts["timezone"]),
        hotline=str(facts["hotline"]),
        on_call_line=str(facts["on_call_line"]),
        crisis_line=str(facts["crisis_line"]),
        address=str(facts["address"]),
        hotline_hours=str(facts["hotline_hours"]),
        clinic_hours=str(facts["clinic_hours"]),
        service_days=frozenset(int(day) for day in service["days"]),
        opens=_clock(service["opens"]),
        closes=_clock(service["closes"]),
        minutes_per_waiting_patient=int(service["minutes_per_waiting_patient"]),
        messages={name: str(text) for name, text in document["handoff_messages"].items()},
    )
    if not hospital.service_days <= set(range(1, 8)) or not hospital.service_days:
        raise ValueError("staff_service.days must list ISO weekdays 1-7")
    if hospital.opens >= hospital.closes:
        raise ValueError("staff_service.opens must be before closes")
    return hospital


@lru_cache(maxsize=4)
def load(path: Optional[Path] = None) -> Hospital:
    with open(path or HOSPITAL_FILE, encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle))
