"""Working days (data/policies/calendar.yml): the hospital's weekdays, minus public holidays, plus the
weekends worked in their place. The refund policy's time limits count in these days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, Optional
from zoneinfo import ZoneInfo

import yaml

from bot import hospital, settings

CALENDAR_FILE = settings.PROJECT_ROOT / "data" / "policies" / "calendar.yml"
# More consecutive days off than any holiday has means the calendar names no working day.
MAX_DAYS_OFF = 60


@dataclass(frozen=True)
class WorkCalendar:
    timezone: ZoneInfo
    working_weekdays: FrozenSet[int]
    holidays: FrozenSet[date]
    extra_working_days: FrozenSet[date]

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.isoweekday() in self.working_weekdays and day not in self.holidays

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """The end of the `working_days`-th working day after the day of `start` (hospital time).

        Opened on Friday 16:00, 1 working day → the end of Monday (or of the next working day after a
        holiday); the day of `start` itself never counts, so a late-afternoon request gets a full day."""
        if working_days < 1:
            raise ValueError("a time limit is at least one working day")
        day, counted, idle = self.local_day(start), 0, 0
        while counted < working_days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted, idle = counted + 1, 0
            else:
                idle += 1
                if idle > MAX_DAYS_OFF:
                    raise ValueError(f"no working day in the {MAX_DAYS_OFF} days after {day - timedelta(days=idle)}")
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.timezone)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.timezone).date()

    def last_day(self, deadline: datetime) -> date:
        """The date a deadline is written with: the last day still in time."""
        return self.local_day(deadline - timedelta(microseconds=1))


def _dates(values: object, name: str) -> FrozenSet[date]:
    if not isinstance(values, list):
        raise ValueError(f"calendar.{name} must be a list of dates")
    return frozenset(date.fromisoformat(str(value)) for value in values)


def parse(document: dict, timezone: ZoneInfo) -> WorkCalendar:
    body = document["calendar"]
    weekdays = frozenset(int(day) for day in body["working_weekdays"])
    if not weekdays or not weekdays <= set(range(1, 8)):
        raise ValueError("calendar.working_weekdays must list ISO weekdays 1-7")
    return WorkCalendar(
        timezone=timezone,
        working_weekdays=weekdays,
        holidays=_dates(body.get("holidays") or [], "holidays"),
        extra_working_days=_dates(body.get("extra_working_days") or [], "extra_working_days"),
    )


@lru_cache(maxsize=4)
def load(path: Optional[Path] = None) -> WorkCalendar:
    with open(path or CALENDAR_FILE, encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle), hospital.load().timezone)
