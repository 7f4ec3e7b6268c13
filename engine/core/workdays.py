"""Working-day arithmetic for reminder deadlines, counted on Japan-time (Asia/Tokyo) dates.

Pure: no I/O and no clock reads; callers pass the start instant. Holidays come from
``jpholiday`` (never a hand-typed list) and the office closure from the caller's setting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final

import jpholiday

from workflows.timezone import JST

Closure = tuple[str, str]
"""The office closure as inclusive ("MM-DD", "MM-DD"); it may wrap the year end."""

DEFAULT_CLOSURE: Final[Closure] = ("12-29", "01-03")

UNITS: Final = ("days", "working_days")

_SATURDAY: Final = 5


def _month_day(text: str) -> tuple[int, int]:
    """Parse "MM-DD" into (month, day), checking it names a real day of some year."""
    try:
        month_text, day_text = text.split("-")
        parsed = date(2000, int(month_text), int(day_text))  # 2000 is a leap year: 02-29 is valid
    except ValueError:
        raise ValueError(f"closure day {text!r} is not MM-DD") from None
    return parsed.month, parsed.day


def is_closed(d: date, closure: Closure = DEFAULT_CLOSURE) -> bool:
    """True if ``d`` falls inside the inclusive office closure, which may wrap the year end."""
    first, last = _month_day(closure[0]), _month_day(closure[1])
    today = (d.month, d.day)
    if first <= last:
        return first <= today <= last
    return today >= first or today <= last


@lru_cache(maxsize=8192)
def is_working_day(d: date, closure: Closure = DEFAULT_CLOSURE) -> bool:
    """False on weekends, Japanese national holidays and days of the office closure."""
    if d.weekday() >= _SATURDAY:
        return False
    if jpholiday.is_holiday(d):
        return False
    return not is_closed(d, closure)


def _require_aware(start: datetime) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start {start.isoformat()} has no time zone")


def add_days(start: datetime, n: int) -> datetime:
    """The instant ``n`` calendar days after ``start``, in the same time zone (wall-clock time kept)."""
    _require_aware(start)
    return start + timedelta(days=n)


def _step_working_days(day: date, n: int, closure: Closure) -> date:
    """The date ``n`` working days after ``day`` (before it when ``n`` is negative)."""
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        day += step
        if is_working_day(day, closure):
            remaining -= 1
    return day


def add_working_days(start: datetime, n: int, closure: Closure = DEFAULT_CLOSURE) -> datetime:
    """The deadline ``n`` working days after ``start``, keeping its Japan-time time of day.

    Days are counted on Japan-time dates; the start day itself never counts, so a start on a
    Saturday plus one working day is the following Monday. ``n=0`` returns ``start``. The result
    is in UTC.
    """
    _require_aware(start)
    if n == 0:
        return start.astimezone(UTC)
    local = start.astimezone(JST)
    day = _step_working_days(local.date(), n, closure)
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def end_of_working_day(at: datetime) -> datetime:
    """The last instant of ``at``'s Japan-time day, in UTC (R-N4)."""
    local = at.astimezone(JST)
    return datetime.combine(local.date(), time(23, 59, 59, 999999), tzinfo=JST).astimezone(UTC)


def deadline(start: datetime, amount: int, unit: str, closure: Closure = DEFAULT_CLOSURE) -> datetime:
    """The instant ``amount`` ``unit`` after ``start``; ``unit`` is "days" or "working_days".

    A working-day deadline ends at the end of that working day, Japan time (R-N4); a
    calendar-day deadline keeps the time of day it started at.
    """
    if unit == "days":
        return add_days(start, amount)
    if unit == "working_days":
        return end_of_working_day(add_working_days(start, amount, closure)) if amount else start.astimezone(UTC)
    raise ValueError(f"unknown deadline unit {unit!r}: expected one of {', '.join(UNITS)}")
