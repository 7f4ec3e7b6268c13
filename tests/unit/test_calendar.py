"""Working-day arithmetic on Japan-time dates: weekends, national holidays, the year-end closure."""

from __future__ import annotations

import datetime as dt

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.workdays import (
    JST,
    add_days,
    add_working_days,
    deadline,
    is_closed,
    is_working_day,
)


def jst(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=JST)


class TestIsWorkingDay:
    def test_ordinary_weekday(self) -> None:
        """A Friday that is no holiday is a working day."""
        assert is_working_day(date(2026, 12, 25))

    @pytest.mark.parametrize("d", [date(2026, 12, 26), date(2026, 12, 27)], ids=["sat", "sun"])
    def test_weekend(self, d: date) -> None:
        """Saturday and Sunday are not working days."""
        assert not is_working_day(d)

    @pytest.mark.parametrize(
        "d",
        [date(2027, 1, 11), date(2026, 11, 23), date(2026, 4, 29), date(2026, 9, 22)],
        ids=["seijin-no-hi", "kinro-kansha", "showa-no-hi", "kokumin-no-kyujitsu"],
    )
    def test_national_holiday(self, d: date) -> None:
        """National holidays, including a substitute-style 国民の休日, are not working days."""
        assert not is_working_day(d)

    @pytest.mark.parametrize("day", [29, 30, 31])
    def test_closure_december(self, day: int) -> None:
        """29-31 December are inside the default closure."""
        assert not is_working_day(date(2025, 12, day))

    @pytest.mark.parametrize("day", [1, 2, 3])
    def test_closure_january(self, day: int) -> None:
        """1-3 January are inside the default closure (3 Jan 2028 is a Monday)."""
        assert not is_working_day(date(2028, 1, day))

    def test_day_after_closure(self) -> None:
        """4 January is a working day again when it is a weekday."""
        assert is_working_day(date(2027, 1, 4))

    def test_custom_closure(self) -> None:
        """A closure inside one year applies only to its own days."""
        closure = ("08-13", "08-15")
        assert not is_working_day(date(2025, 8, 13), closure)
        assert not is_working_day(date(2025, 8, 15), closure)
        assert is_working_day(date(2025, 8, 12), closure)
        assert is_working_day(date(2025, 12, 29), closure)

    def test_bad_closure(self) -> None:
        """A closure day that is not MM-DD is refused with its text in the message."""
        with pytest.raises(ValueError) as excinfo:
            is_working_day(date(2025, 8, 13), ("13-01", "01-03"))
        assert "'13-01'" in str(excinfo.value)


class TestIsClosed:
    @pytest.mark.parametrize(
        ("d", "expected"),
        [
            (date(2025, 12, 28), False),
            (date(2025, 12, 29), True),
            (date(2026, 1, 1), True),
            (date(2026, 1, 3), True),
            (date(2026, 1, 4), False),
            (date(2026, 6, 1), False),
        ],
    )
    def test_wraps_year_end(self, d: date, expected: bool) -> None:
        """A closure from late December to early January covers both ends and nothing between."""
        assert expected == is_closed(d, ("12-29", "01-03"))

    def test_single_day(self) -> None:
        """A closure whose first and last day agree covers exactly that day."""
        assert is_closed(date(2025, 5, 1), ("05-01", "05-01"))
        assert not is_closed(date(2025, 5, 2), ("05-01", "05-01"))


class TestAddWorkingDays:
    def test_year_end(self) -> None:
        """From Fri 25 Dec: Mon 28 Dec, then the closure, then 4-7 Jan."""
        assert jst(2027, 1, 7) == add_working_days(jst(2026, 12, 25), 5)

    def test_year_end_and_seijin_no_hi(self) -> None:
        """Counting on past Fri 8 Jan skips Mon 11 Jan 2027 (成人の日)."""
        # 28 Dec, 4, 5, 6, 7, 8 Jan, (11 Jan holiday), 12, 13 Jan
        assert jst(2027, 1, 13) == add_working_days(jst(2026, 12, 25), 8)

    def test_keeps_time_of_day_and_returns_utc(self) -> None:
        """The result keeps the Japan-time time of day and is expressed in UTC."""
        result = add_working_days(jst(2026, 12, 25, 17, 30), 5)
        assert UTC == result.tzinfo
        assert datetime(2027, 1, 7, 8, 30, tzinfo=UTC) == result
        assert (17, 30) == (result.astimezone(JST).hour, result.astimezone(JST).minute)

    def test_holiday_mid_week(self) -> None:
        """Wed 29 Apr 2026 (昭和の日) is skipped: Mon 27 Apr + 3 is Tue 28, Thu 30, Fri 1 May."""
        assert jst(2026, 5, 1) == add_working_days(jst(2026, 4, 27), 3)

    def test_kinro_kansha_no_hi(self) -> None:
        """Mon 23 Nov 2026 (勤労感謝の日) is skipped: Fri 20 Nov + 1 is Tue 24 Nov."""
        assert jst(2026, 11, 24) == add_working_days(jst(2026, 11, 20), 1)

    def test_japan_date_not_utc_date(self) -> None:
        """Days are counted on the Japan-time date, even when the UTC date is the day before."""
        # Mon 2026-11-02 20:00 UTC is Tue 3 Nov 05:00 JST (文化の日); +1 is Wed 4 Nov 05:00 JST
        start = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)
        assert jst(2026, 11, 4, 5, 0) == add_working_days(start, 1)

    def test_other_input_zone(self) -> None:
        """Any aware input works; the result is the same instant as from the JST equivalent."""
        start = jst(2026, 12, 25).astimezone(timezone(timedelta(hours=-5)))
        assert add_working_days(jst(2026, 12, 25), 5) == add_working_days(start, 5)

    def test_start_on_weekend(self) -> None:
        """The start day never counts: Saturday plus one working day is Monday."""
        assert jst(2026, 12, 28) == add_working_days(jst(2026, 12, 26), 1)

    def test_zero(self) -> None:
        """n=0 returns the start instant, even on a holiday."""
        start = jst(2027, 1, 11, 9, 15)
        assert start == add_working_days(start, 0)

    def test_negative(self) -> None:
        """Negative n counts backwards over the same closure and holidays."""
        assert jst(2026, 12, 25) == add_working_days(jst(2027, 1, 7), -5)
        assert jst(2026, 12, 28) == add_working_days(jst(2027, 1, 4), -1)
        assert jst(2027, 1, 8) == add_working_days(jst(2027, 1, 12), -1)

    def test_custom_closure(self) -> None:
        """Without a year-end closure only weekends and holidays are skipped."""
        no_closure = ("08-13", "08-13")
        # 28, 29, 30, 31 Dec; 1 Jan is 元日
        assert jst(2027, 1, 4) == add_working_days(jst(2026, 12, 25), 5, no_closure)

    def test_naive_refused(self) -> None:
        """A naive start is refused rather than guessed."""
        with pytest.raises(ValueError):
            add_working_days(datetime(2026, 12, 25, 10, 0), 1)

    @given(
        start=st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
        ),
        n=st.integers(min_value=1, max_value=40),
    )
    def test_lands_on_working_day_and_round_trips(self, start: datetime, n: int) -> None:
        """Forward n lands on a working day; back n from there lands on or before the start."""
        result = add_working_days(start, n)
        assert is_working_day(result.astimezone(JST).date())
        assert result > start
        back = add_working_days(result, -n)
        if is_working_day(start.astimezone(JST).date()):
            assert start == back
        assert back <= start
        assert (start.astimezone(JST).time()) == back.astimezone(JST).time()


class TestAddDays:
    def test_ignores_weekends_holidays_closure(self) -> None:
        """Calendar days ignore weekends, holidays and the closure."""
        assert jst(2026, 12, 30) == add_days(jst(2026, 12, 25), 5)
        assert jst(2027, 1, 11) == add_days(jst(2027, 1, 4), 7)

    def test_same_zone(self) -> None:
        """The result stays in the input's time zone."""
        start = datetime(2026, 12, 25, 1, 0, tzinfo=UTC)
        result = add_days(start, 3)
        assert UTC == result.tzinfo
        assert datetime(2026, 12, 28, 1, 0, tzinfo=UTC) == result

    def test_negative(self) -> None:
        """Negative n goes back in calendar days."""
        assert jst(2026, 12, 20) == add_days(jst(2026, 12, 25), -5)


class TestDeadline:
    def test_days(self) -> None:
        """Unit "days" counts calendar days."""
        assert jst(2027, 1, 8) == deadline(jst(2026, 12, 25), 14, "days")

    def test_working_days(self) -> None:
        """R-N4: unit "working_days" counts working days, and ends at the end of that working day."""
        end = dt.datetime(2027, 1, 13, 23, 59, 59, 999999, tzinfo=JST)
        assert end == deadline(jst(2026, 12, 25), 8, "working_days")

    def test_working_days_custom_closure(self) -> None:
        """The closure is passed through to the working-day count."""
        closure = ("01-05", "01-05")
        end = dt.datetime(2026, 12, 29, 23, 59, 59, 999999, tzinfo=JST)
        assert end == deadline(jst(2026, 12, 25), 2, "working_days", closure)

    def test_unknown_unit(self) -> None:
        """An unknown unit is refused with its name and the valid ones in the message."""
        with pytest.raises(ValueError) as excinfo:
            deadline(jst(2026, 12, 25), 3, "weeks")
        assert "'weeks'" in str(excinfo.value)
        assert "working_days" in str(excinfo.value)
