"""Japan time at the edges: users type and read Asia/Tokyo, everything stored is UTC."""

import datetime as dt
from zoneinfo import ZoneInfo

from engine.errors import BadInput

JST = ZoneInfo("Asia/Tokyo")
UTC = dt.timezone.utc


def parse_when(text: str, now: dt.datetime) -> dt.datetime:
    """ISO 8601 date or time; no zone means Japan time; `now` is accepted. Returns aware UTC."""
    text = text.strip()
    if text.lower() == "now":
        return now.astimezone(UTC)
    try:
        if len(text) == 10:
            value = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0, 0))
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"not a time: {text!r}; give ISO 8601 like 2024-10-01 or 2024-10-01T10:00+09:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(UTC)


def jst(at: dt.datetime | None) -> str:
    """A time for people: Japan time, to the minute."""
    if at is None:
        return "-"
    return at.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def iso(at: dt.datetime | None) -> str | None:
    """A time for scripts: ISO 8601 with offset, in Japan time."""
    return None if at is None else at.astimezone(JST).isoformat(timespec="seconds")


def start_of_day_jst(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=JST).astimezone(UTC)
