"""A meeting as an iCalendar invitation (RFC 5545) or its cancellation (iTIP, RFC 5546).

The `icalendar` package writes the text: folding at 75 octets, escaping and CRLF are its
business, not ours. Pure: the caller passes every value, the DTSTAMP instant included.

One meeting is one calendar event wherever it comes from (R-N6): the mail, `kaigi meeting
ics` and the web's `.ics` carry the same UID, made from the log's name (`kaigi_meta`
`log_id`, the name its signed checkpoints carry) and the meeting's number — never from a
host or a sender's address, which differ between the three. Its SEQUENCE counts the
changes after convening, so a calendar takes an update or a cancellation as the newer.
"""

import datetime as dt
from typing import Any


def meeting_uid(log_id: str | None, meeting_id: int) -> str:
    """The meeting's calendar UID: the same in every copy of it, from this log."""
    log = "".join(c for c in (log_id or "") if c.isascii() and (c.isalnum() or c in "-.")) or "kaigi"
    return f"kaigi-meeting-{meeting_id}.{log}@kaigi"


def method_of(ics: str | None) -> str:
    """The iTIP method the calendar text says (REQUEST, CANCEL), for the mail's Content-Type."""
    for line in (ics or "").splitlines():
        if line.upper().startswith("METHOD:"):
            return line.partition(":")[2].strip().upper() or "REQUEST"
    return "REQUEST"


def meeting_calendar(book: Any, meeting: Any, members: dict[str, Any], now: dt.datetime,
                     log_id: str | None = None, duration: dt.timedelta = dt.timedelta(hours=1),
                     agenda: Any = None) -> str:
    """The meeting as a VCALENDAR with one VEVENT; a cancelled one as METHOD:CANCEL.
    `agenda`: the item ids to list (the reader's view of it, R-R1); default all of them.
    Only members with an address are its organizer and attendees (a calendar cannot
    answer anyone else)."""
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
    event.add("uid", meeting_uid(log_id, meeting.id))
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("dtstart", meeting.starts_at.astimezone(dt.UTC))
    event.add("dtend", (meeting.starts_at + duration).astimezone(dt.UTC))
    event.add("sequence", max(meeting.version - 1, 0))  # the changes since convening (agenda, time, place, cancel)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("summary", title)
    if getattr(meeting, "place", ""):
        event.add("location", meeting.place)
    listed = ", ".join(str(i) for i in (meeting.items if agenda is None else agenda)) or "-"
    event.add("description", f"kaigi meeting {meeting.id} / 会議{meeting.id}; agenda (付議案件): items {listed}")
    chair = _address(members, meeting.chair)
    if chair is not None:
        event.add("organizer", chair, parameters={"CN": _name(members, meeting.chair)})
    for login in dict.fromkeys((*meeting.attendees, *meeting.invited)):
        address = _address(members, login)
        if address is not None:
            event.add("attendee", address, parameters={"CN": _name(members, login), "ROLE": "REQ-PARTICIPANT"})
    cal.add_component(event)
    return str(cal.to_ical().decode("utf-8"))


def _name(members: dict[str, Any], login: str) -> str:
    m = members.get(login)
    return str(m.name) if m else login


def _address(members: dict[str, Any], login: str) -> str | None:
    m = members.get(login)
    email = getattr(m, "email", None) if m else None
    return f"mailto:{email}" if email else None
