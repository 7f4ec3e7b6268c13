"""A meeting as an iCalendar invitation (RFC 5545) or its cancellation (iTIP, RFC 5546).

The `icalendar` package writes the text: folding at 75 octets, escaping and CRLF are its
business, not ours. Pure: the caller passes every value, the DTSTAMP instant included.
"""

import datetime as dt
from typing import Any

NO_ADDRESS = "invalid:nomail"


def meeting_calendar(book: Any, meeting: Any, members: dict[str, Any], now: dt.datetime,
                     domain: str = "kaigi.local", duration: dt.timedelta = dt.timedelta(hours=1),
                     agenda: Any = None) -> str:
    """The meeting as a VCALENDAR with one VEVENT; a cancelled one as METHOD:CANCEL.
    `agenda`: the item ids to list (the reader's view of it, R-R1); default all of them."""
    import icalendar

    kind = book.meetings.get(meeting.kind)
    title = f"{kind.title.ja} / {kind.title.en}" if kind else meeting.kind
    cancelled = meeting.status == "cancelled"
    cal = icalendar.Calendar()
    cal.add("prodid", "-//kaigi//kaigi//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", f"kaigi-meeting-{meeting.id}@{domain}")
    event.add("dtstamp", now.astimezone(dt.timezone.utc))
    event.add("dtstart", meeting.starts_at.astimezone(dt.timezone.utc))
    event.add("dtend", (meeting.starts_at + duration).astimezone(dt.timezone.utc))
    event.add("sequence", max(meeting.version - 1, 0))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", title)
    if getattr(meeting, "place", ""):
        event.add("location", meeting.place)
    listed = ", ".join(str(i) for i in (meeting.items if agenda is None else agenda)) or "-"
    event.add("description", f"kaigi meeting {meeting.id} / 会議{meeting.id}; agenda (付議案件): items {listed}")
    event.add("organizer", _address(members, meeting.chair), parameters={"CN": _name(members, meeting.chair)})
    for login in (*meeting.attendees, *meeting.invited):
        event.add("attendee", _address(members, login),
                  parameters={"CN": _name(members, login), "ROLE": "REQ-PARTICIPANT"})
    cal.add_component(event)
    return str(cal.to_ical().decode("utf-8"))


def _name(members: dict[str, Any], login: str) -> str:
    m = members.get(login)
    return str(m.name) if m else login


def _address(members: dict[str, Any], login: str) -> str:
    m = members.get(login)
    email = getattr(m, "email", None) if m else None
    return f"mailto:{email}" if email else NO_ADDRESS
