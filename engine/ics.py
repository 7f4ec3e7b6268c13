"""iCalendar (RFC 5545) text for one meeting, as an invitation or a cancellation (iTIP, RFC 5546).

Pure: the caller passes every value, including the DTSTAMP instant. This module owns the wire
details that calendar clients are strict about: CRLF, TEXT escaping, and folding at 75 octets
without splitting a UTF-8 character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Final

Person = tuple[str, str | None]
"""(display name, email address or None)."""

PRODID: Final = "-//kaigi//kaigi//EN"
CRLF: Final = "\r\n"
MAX_OCTETS: Final = 75
METHODS: Final = ("PUBLISH", "REQUEST", "REPLY", "ADD", "CANCEL", "REFRESH", "COUNTER", "DECLINECOUNTER")
STATUSES: Final = ("TENTATIVE", "CONFIRMED", "CANCELLED")
NO_ADDRESS: Final = "invalid:nomail"

# Control characters other than HTAB are not allowed in a content line (RFC 5545 3.1, 3.3.11).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NEEDS_QUOTES: Final = re.compile(r"[;:,]")


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and line breaks (RFC 5545 3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return _CONTROL.sub("", value)


def _param_value(value: str) -> str:
    """A parameter value: DQUOTE and controls cannot be escaped, so they are dropped."""
    value = _CONTROL.sub("", value.replace('"', ""))
    return f'"{value}"' if _NEEDS_QUOTES.search(value) else value


def _address(email: str | None) -> str:
    if email is None:
        return NO_ADDRESS
    if not email or any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in email):
        raise ValueError(f"email address {email!r} is empty or contains spaces or control characters")
    return f"mailto:{email}"


def _person(prop: str, person: Person, extra: str = "") -> str:
    name, email = person
    cn = f";CN={_param_value(name)}" if name else ""
    return f"{prop}{cn}{extra}:{_address(email)}"


def utc_stamp(moment: datetime) -> str:
    """An aware datetime as an RFC 5545 UTC DATE-TIME, e.g. 20261225T010000Z."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _chunks(line: str) -> Iterator[str]:
    """Split a line into pieces of at most 75 octets (74 after the first, for the leading space)."""
    piece: list[str] = []
    size, limit = 0, MAX_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            yield "".join(piece)
            piece, size, limit = [], 0, MAX_OCTETS - 1
        piece.append(ch)
        size += width
    yield "".join(piece)


def fold(line: str) -> str:
    """Fold one content line at 75 octets, never inside a multi-byte UTF-8 character."""
    return (CRLF + " ").join(_chunks(line))


def unfold(text: str) -> list[str]:
    """The logical content lines of folded iCalendar text (the inverse of ``fold``)."""
    return text.replace(CRLF + " ", "").replace(CRLF + "\t", "").split(CRLF)[:-1]


def _checked(value: str, allowed: tuple[str, ...], what: str) -> str:
    upper = value.upper()
    if upper not in allowed:
        raise ValueError(f"unknown {what} {value!r}: expected one of {', '.join(allowed)}")
    return upper


def _event_lines(
    *,
    uid: str,
    summary: str,
    starts_at: datetime,
    duration: timedelta,
    organizer: Person,
    attendees: list[Person],
    description: str,
    location: str,
    sequence: int,
    status: str,
    stamp: datetime,
) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(starts_at)}",
        f"DTEND:{utc_stamp(starts_at + duration)}",
        f"SEQUENCE:{sequence}",
        f"STATUS:{status}",
        f"SUMMARY:{escape_text(summary)}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    lines.append(_person("ORGANIZER", organizer))
    lines.extend(_person("ATTENDEE", a, ";ROLE=REQ-PARTICIPANT") for a in attendees)
    lines.append("END:VEVENT")
    return lines


def meeting_ics(
    *,
    uid: str,
    summary: str,
    starts_at: datetime,
    duration: timedelta = timedelta(hours=1),
    organizer: Person,
    attendees: list[Person],
    description: str = "",
    location: str = "",
    sequence: int = 0,
    method: str = "REQUEST",
    status: str = "CONFIRMED",
    stamp: datetime,
) -> str:
    """A VCALENDAR with one VEVENT for a meeting, CRLF-terminated and folded.

    Times are written in UTC. An empty description or location is left out. METHOD:CANCEL
    always carries STATUS:CANCELLED, whatever ``status`` says, since a cancellation that
    claims to be confirmed would confuse calendar clients.

    Raises:
        ValueError: a naive time, a non-positive duration, a negative sequence, an unknown
            method or status, or an email address with spaces or control characters.
    """
    method = _checked(method, METHODS, "METHOD")
    status = "CANCELLED" if method == "CANCEL" else _checked(status, STATUSES, "STATUS")
    if duration <= timedelta(0):
        raise ValueError(f"duration {duration} must be positive")
    if sequence < 0:
        raise ValueError(f"sequence {sequence} must not be negative")
    event = _event_lines(
        uid=uid,
        summary=summary,
        starts_at=starts_at,
        duration=duration,
        organizer=organizer,
        attendees=attendees,
        description=description,
        location=location,
        sequence=sequence,
        status=status,
        stamp=stamp,
    )
    header = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN", f"METHOD:{method}"]
    lines = [*header, *event, "END:VCALENDAR"]
    return "".join(fold(line) + CRLF for line in lines)
