"""iCalendar text for meetings: structure, escaping, UTC times and UTF-8-safe folding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ics import escape_text, fold, meeting_ics, unfold

JST = ZoneInfo("Asia/Tokyo")
STAMP = datetime(2026, 11, 30, 3, 4, 5, tzinfo=UTC)
START = datetime(2026, 12, 1, 10, 0, tzinfo=JST)


def make(**overrides: Any) -> str:
    args: dict[str, Any] = {
        "uid": "meeting-7@kaigi",
        "summary": "職員会議",
        "starts_at": START,
        "organizer": ("山田 太郎", "yamada@example.jp"),
        "attendees": [("佐藤 花子", "sato@example.jp"), ("鈴木", None)],
        "stamp": STAMP,
    }
    args.update(overrides)
    return meeting_ics(**args)


def props(text: str) -> dict[str, list[str]]:
    """Unfolded lines grouped by property name (the part before ';' or ':')."""
    out: dict[str, list[str]] = {}
    for line in unfold(text):
        name = line.split(":", 1)[0].split(";", 1)[0]
        out.setdefault(name, []).append(line)
    return out


class TestStructure:
    def test_calendar_and_event_lines(self) -> None:
        """A request has the calendar header, one VEVENT and the required properties in order."""
        lines = unfold(make(sequence=2, description="議題", location="本部 3F"))
        assert [
            "BEGIN:VCALENDAR",
            "PRODID:-//kaigi//kaigi//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:REQUEST",
            "BEGIN:VEVENT",
            "UID:meeting-7@kaigi",
            "DTSTAMP:20261130T030405Z",
            "DTSTART:20261201T010000Z",
            "DTEND:20261201T020000Z",
            "SEQUENCE:2",
            "STATUS:CONFIRMED",
            "SUMMARY:職員会議",
            "DESCRIPTION:議題",
            "LOCATION:本部 3F",
            "ORGANIZER;CN=山田 太郎:mailto:yamada@example.jp",
            "ATTENDEE;CN=佐藤 花子;ROLE=REQ-PARTICIPANT:mailto:sato@example.jp",
            "ATTENDEE;CN=鈴木;ROLE=REQ-PARTICIPANT:invalid:nomail",
            "END:VEVENT",
            "END:VCALENDAR",
        ] == lines

    def test_crlf_only(self) -> None:
        """Every line ends in CRLF, including the last, and there is no bare LF."""
        text = make(description="一行目\n二行目")
        assert text.endswith("END:VCALENDAR\r\n")
        assert text.count("\n") == text.count("\r\n")
        assert "\r\r" not in text

    def test_empty_description_and_location_left_out(self) -> None:
        """Empty optional TEXT properties are not written."""
        found = props(make())
        assert "DESCRIPTION" not in found
        assert "LOCATION" not in found

    def test_duration(self) -> None:
        """DTEND is DTSTART plus the duration."""
        assert ["DTEND:20261201T013000Z"] == props(make(duration=timedelta(minutes=30)))["DTEND"]

    def test_cancel(self) -> None:
        """A cancellation has METHOD:CANCEL and STATUS:CANCELLED."""
        found = props(make(method="CANCEL", status="CANCELLED", sequence=3))
        assert ["METHOD:CANCEL"] == found["METHOD"]
        assert ["STATUS:CANCELLED"] == found["STATUS"]
        assert ["SEQUENCE:3"] == found["SEQUENCE"]

    def test_cancel_forces_cancelled_status(self) -> None:
        """METHOD:CANCEL never goes out with STATUS:CONFIRMED."""
        assert ["STATUS:CANCELLED"] == props(make(method="cancel"))["STATUS"]

    def test_cn_with_special_characters_is_quoted(self) -> None:
        """A display name with ':' ';' or ',' is quoted; a double quote is dropped."""
        found = props(make(organizer=('Tanaka, "Ken"', "t@example.jp"), attendees=[]))
        assert ['ORGANIZER;CN="Tanaka, Ken":mailto:t@example.jp'] == found["ORGANIZER"]
        assert "ATTENDEE" not in found

    @pytest.mark.parametrize(
        ("overrides", "needle"),
        [
            ({"method": "PUBLISHED"}, "'PUBLISHED'"),
            ({"status": "DONE"}, "'DONE'"),
            ({"duration": timedelta(0)}, "duration"),
            ({"sequence": -1}, "sequence"),
            ({"starts_at": datetime(2026, 12, 1, 10, 0)}, "time zone"),
            ({"stamp": datetime(2026, 12, 1, 10, 0)}, "time zone"),
            ({"attendees": [("x", "a b@example.jp")]}, "a b@example.jp"),
        ],
        ids=["method", "status", "duration", "sequence", "naive-start", "naive-stamp", "email"],
    )
    def test_refused(self, overrides: dict[str, Any], needle: str) -> None:
        """Bad input is refused with a message naming the problem."""
        with pytest.raises(ValueError) as excinfo:
            make(**overrides)
        assert needle in str(excinfo.value)


class TestTimes:
    def test_jst_input_written_in_utc(self) -> None:
        """A JST start is written as the same instant in UTC with a Z suffix."""
        found = props(make(starts_at=datetime(2026, 12, 25, 9, 0, tzinfo=JST)))
        assert ["DTSTART:20261225T000000Z"] == found["DTSTART"]
        assert ["DTEND:20261225T010000Z"] == found["DTEND"]

    def test_date_changes_across_midnight(self) -> None:
        """An early-morning JST start falls on the previous UTC date."""
        found = props(make(starts_at=datetime(2027, 1, 4, 8, 30, tzinfo=JST)))
        assert ["DTSTART:20270103T233000Z"] == found["DTSTART"]


class TestEscaping:
    def test_escape_text(self) -> None:
        """Backslash, semicolon, comma and every kind of line break are escaped."""
        assert "a\\\\b\\;c\\,d\\ne\\nf\\ng" == escape_text("a\\b;c,d\ne\r\nf\rg")

    def test_in_properties(self) -> None:
        """SUMMARY, DESCRIPTION and LOCATION are escaped; the raw text never leaks a newline."""
        found = props(make(summary="議題; 予算, 人事", description="1行目\n2行目\\終", location="A;B"))
        assert ["SUMMARY:議題\\; 予算\\, 人事"] == found["SUMMARY"]
        assert ["DESCRIPTION:1行目\\n2行目\\\\終"] == found["DESCRIPTION"]
        assert ["LOCATION:A\\;B"] == found["LOCATION"]

    def test_control_characters_dropped(self) -> None:
        """Control characters other than tab cannot appear in a content line and are dropped."""
        assert "a\tb" == escape_text("a\x00\tb\x07")


class TestFolding:
    LONG = "令和八年度第三回茨城県本部職員会議（予算・人事・施設整備・防災訓練・地域連携に関する協議）" * 3

    def test_long_japanese_summary_survives(self) -> None:
        """A long Japanese SUMMARY is folded and unfolds to exactly the original text."""
        text = make(summary=self.LONG)
        assert ["SUMMARY:" + self.LONG] == props(text)["SUMMARY"]
        assert "\r\n " in text

    def test_no_line_longer_than_75_octets(self) -> None:
        """Every physical line, names and attendees included, is at most 75 octets."""
        many = [(f"参加者{i}" * 8, f"member{i}@example.jp") for i in range(5)]
        text = make(summary=self.LONG, description=self.LONG, location=self.LONG, attendees=many)
        for line in text.split("\r\n"):
            assert len(line.encode("utf-8")) <= 75, line

    def test_every_physical_line_is_valid_utf8(self) -> None:
        """Folding never splits a multi-byte character: each physical line decodes alone."""
        text = make(summary=self.LONG)
        for raw in text.encode("utf-8").split(b"\r\n"):
            raw.decode("utf-8")

    def test_short_line_untouched(self) -> None:
        """A line of exactly 75 octets is not folded; 76 octets are."""
        assert "x" * 75 == fold("x" * 75)
        assert "x" * 75 + "\r\n x" == fold("x" * 76)

    @given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
    def test_fold_round_trip(self, value: str) -> None:
        """Any text, folded, unfolds to itself and respects the octet limit."""
        line = "SUMMARY:" + escape_text(value)
        folded = fold(line)
        assert [line] == unfold(folded + "\r\n")
        assert all(len(p.encode("utf-8")) <= 75 for p in folded.split("\r\n"))
