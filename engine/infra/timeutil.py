"""Japan time at the edges: people type and read Asia/Tokyo, everything stored is UTC.

`parse_when` reads what people type (ISO 8601, `now`, `today`); a date without a time
is the start of that day for `--at`/`--from`, and its end for a deadline (R-N4).
Every instant it returns lies in the years kaigi accepts, so later arithmetic never
overflows at the ends of the calendar.
"""

import datetime as dt
from datetime import UTC

from engine.core.errors import BadInput
from workflows.checks import FIRST_YEAR, LAST_YEAR  # a kaigi time lies in these years
from workflows.timezone import JST as JST  # re-exported: the faces take it from here


def parse_when(text: str, now: dt.datetime, *, end_of_day: bool = False) -> dt.datetime:
    """ISO 8601 date or time; no zone means Japan time; `now` and `today` are accepted.

    `end_of_day`: a bare date is the last instant of that day, Japan time (R-N4).
    """
    raw = text.strip()
    low = raw.lower()
    if low == "now":
        return now.astimezone(UTC)
    try:
        if low == "today":
            day = now.astimezone(JST).date()
            value = _day_edge(day, end_of_day)
        elif len(raw) == 10 and raw[4:5] == "-":
            value = _day_edge(dt.date.fromisoformat(raw), end_of_day)
        else:
            value = dt.datetime.fromisoformat(raw)
            if value.tzinfo is None:
                value = value.replace(tzinfo=JST)
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError("out of range")
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadInput("time.bad", text=raw[:60], first=FIRST_YEAR, last=LAST_YEAR) from None


def _day_edge(day: dt.date, end: bool) -> dt.datetime:
    if end:
        return end_of_day_jst(day)
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=JST)


def start_of_day_jst(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=JST).astimezone(UTC)


def end_of_day_jst(day: dt.date) -> dt.datetime:
    """The last instant of `day` in Japan time (R-N4: a date without a time ends then)."""
    return dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=JST).astimezone(UTC)


def jst(at: dt.datetime | None) -> str:
    """A time for tables: Japan time, to the minute."""
    if at is None:
        return "-"
    return at.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def iso(at: dt.datetime | None) -> str | None:
    """A time for scripts: ISO 8601 with offset, in Japan time."""
    return None if at is None else at.astimezone(JST).isoformat(timespec="seconds")
