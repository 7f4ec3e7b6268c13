"""A meeting as an iCalendar invitation, written by the `icalendar` package: what a
calendar client reads back, UTC times, Japanese names folded safely, cancellations."""

import datetime as dt

import icalendar

from engine.infra.timeutil import JST
from engine.reminders.ics import meeting_calendar, meeting_uid
from store.records import MeetingRecord, MemberRecord
from workflows import bundled_rulebooks

BOOK = bundled_rulebooks()[-1]
STAMP = dt.datetime(2026, 11, 30, 3, 4, 5, tzinfo=dt.UTC)
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=JST)
MEMBERS = {"sato": MemberRecord("sato", "佐藤 一郎", "Ichiro Sato", "sato@example.jp"),
           "yamamoto": MemberRecord("yamamoto", "山本 七子、「総括」; 係", "Nanako Yamamoto", "yamamoto@example.jp"),
           "ito": MemberRecord("ito", "伊藤 五郎", "Goro Ito", None)}


def meeting(status: str = "convened", version: int = 1) -> MeetingRecord:
    return MeetingRecord(id=7, kind="council", body="hq", convener="sato", chair="sato", starts_at=START,
                         status=status, version=version, convened_at=STAMP, attendees=("ito", "sato", "yamamoto"),
                         items=(3, 5))


def parsed(text: str) -> icalendar.Event:
    cal = icalendar.Calendar.from_ical(text)
    events = cal.walk("VEVENT")
    assert 1 == len(events)
    return events[0]


class TestInvitation:
    def test_a_calendar_reads_back_what_was_written(self) -> None:
        """UID, start in UTC, an hour long, the chair as organizer, each attendee with their name."""
        ev = parsed(meeting_calendar(BOOK, meeting(), MEMBERS, STAMP, "4f1c-log"))
        assert meeting_uid("4f1c-log", 7) == str(ev["uid"]) == "kaigi-meeting-7.4f1c-log@kaigi"
        assert START == ev.decoded("dtstart")
        assert dt.timedelta(hours=1) == ev.decoded("dtend") - ev.decoded("dtstart")
        assert "mailto:sato@example.jp" == str(ev["organizer"])
        names = sorted(a.params["CN"] for a in ev["attendee"])
        assert ["佐藤 一郎", "山本 七子、「総括」; 係"] == names
        assert "推進本部対策会議 / HQ council" == str(ev["summary"])

    def test_someone_without_an_address_is_no_attendee(self) -> None:
        """R-N6: a calendar cannot answer a member without an address (no `invalid:nomail`)."""
        text = meeting_calendar(BOOK, meeting(), MEMBERS, STAMP)
        assert "nomail" not in text and "伊藤" not in str(parsed(text)["attendee"])

    def test_lines_are_folded_at_75_octets_and_crlf_terminated(self) -> None:
        text = meeting_calendar(BOOK, meeting(), MEMBERS, STAMP)
        raw = text.encode("utf-8")
        assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
        assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
        for line in raw.split(b"\r\n"):
            line.decode("utf-8")  # no character split across a fold

    def test_a_cancelled_meeting_is_a_cancel_with_a_newer_sequence(self) -> None:
        text = meeting_calendar(BOOK, meeting("cancelled", version=3), MEMBERS, STAMP)
        cal = icalendar.Calendar.from_ical(text)
        ev = parsed(text)
        assert ("CANCEL", "CANCELLED", 2) == (str(cal["method"]), str(ev["status"]), int(ev["sequence"]))
