"""The day of a procedure from the words patients use: 今天, 昨天, 前天, 三天前, 上周五, 12月3日, 3号, 2026-12-03."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Optional

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}
WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
NUMBER = r"([0-9]{1,2}|[零〇一二两三四五六七八九十]{1,3})"
# Far enough back for every check-in schedule (the longest is 180 days).
MAX_DAYS_AGO = 366


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (DIGITS[tens] if tens else 1) * 10 + (DIGITS[ones] if ones else 0)
    return DIGITS[text]


def _month_day(year: int, month: int, day: int) -> Optional[date]:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse(text: Optional[str], today: date) -> Optional[date]:
    """The day meant, never after `today` and at most a year before it; None when the words name no day."""
    words = (text or "").strip()
    if not words or len(words) > 40:
        return None
    found = _parse(words, today)
    if found is None or found > today or (today - found).days > MAX_DAYS_AGO:
        return None
    return found


def _parse(words: str, today: date) -> Optional[date]:
    for name in sorted(RELATIVE_DAYS, key=len, reverse=True):
        if name in words:
            return today - timedelta(days=RELATIVE_DAYS[name])
    match = re.search(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", words)
    if match:
        return _month_day(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    match = re.search(NUMBER + r"\s*天(以)?前", words)
    if match:
        return today - timedelta(days=_number(match.group(1)))
    match = re.search(r"(上)?(周|星期|礼拜)([一二三四五六日天])", words)
    if match:
        monday = today - timedelta(days=today.isoweekday() - 1)
        day = monday + timedelta(days=WEEKDAYS[match.group(3)] - 1)
        return day - timedelta(days=7) if match.group(1) or day > today else day
    match = re.search(r"(上个?月)?" + NUMBER + r"\s*月?\s*" + NUMBER + r"\s*[日号]", words)
    if match and "月" in words[match.start():match.end()] and not match.group(1):
        month, day = _number(match.group(2)), _number(match.group(3))
        candidate = _month_day(today.year, month, day)
        if candidate is not None and candidate > today:
            candidate = _month_day(today.year - 1, month, day)
        return candidate
    match = re.search(r"(上个?月)?" + NUMBER + r"\s*[日号]", words)
    if match:
        day = _number(match.group(2))
        month_start = today.replace(day=1)
        if match.group(1):
            month_start = (month_start - timedelta(days=1)).replace(day=1)
        candidate = _month_day(month_start.year, month_start.month, day)
        if candidate is not None and candidate > today and not match.group(1):
            previous = (month_start - timedelta(days=1)).replace(day=1)
            candidate = _month_day(previous.year, previous.month, day)
        return candidate
    return None
