"""Time runs one way (R-M5, R-I2): sittings are held after they start, act on what was
before them, keep both times when recorded after the fact; the log's times never go back."""

import datetime as dt

import pytest

from engine.core.errors import NotPossible
from tests.conftest import fingerprint, walk_to

H = dt.timedelta(hours=1)


@pytest.fixture
def svc(fast):
    return fast


def convene_at(svc, actor, kind, starts, **kw):
    return svc.convene(actor, kind, starts, **kw).fact.meeting


class TestSittings:
    def test_r_m5_no_sitting_before_it_starts(self, svc):
        """R-M5: a meeting cannot be recorded as held before its start; nothing is written."""
        m = convene_at(svc, "watanabe", "team_lead", svc.clock.now() + H)
        before = fingerprint(svc.store)
        with pytest.raises(NotPossible, match=r"R-M5"):
            svc.hold("watanabe", m)
        assert before == fingerprint(svc.store)
        svc.clock.advance(hours=1)
        svc.hold("watanabe", m)
        assert svc.meeting(m).status == "held"

    def test_r_m5_recorded_after_the_fact_keeps_both_times(self, svc):
        """R-M5: a sitting recorded a day late says when it sat and keeps when it was recorded."""
        start = svc.clock.now() + H
        m = convene_at(svc, "watanabe", "team_lead", start)
        svc.clock.advance(days=1)
        out = svc.hold("watanabe", m, sat_at=start + dt.timedelta(minutes=5))
        rec = svc.meeting(m)
        assert rec.sat_at == start + dt.timedelta(minutes=5)
        assert rec.held_at == svc.clock.now() == out.event.at
        assert out.fact.sat_at == start + dt.timedelta(minutes=5)

    def test_r_m5_a_sitting_is_not_in_the_future_nor_before_its_start(self, svc):
        start = svc.clock.now() + H
        m = convene_at(svc, "watanabe", "team_lead", start)
        svc.clock.advance(hours=3)
        before = fingerprint(svc.store)
        with pytest.raises(NotPossible, match=r"R-M5"):
            svc.hold("watanabe", m, sat_at=svc.clock.now() + H)
        with pytest.raises(NotPossible, match=r"R-M5"):
            svc.hold("watanabe", m, sat_at=start - dt.timedelta(minutes=1))
        assert before == fingerprint(svc.store)

    def test_r_m5_no_agenda_change_once_it_has_started(self, svc):
        """R-M5 (and R-M3): an item cannot be put on the agenda of a meeting that has started."""
        m = convene_at(svc, "watanabe", "team_lead", svc.clock.now() + H)
        item = walk_to(svc, "pre_review", title="late")
        svc.clock.advance(hours=2)
        with pytest.raises(NotPossible, match=r"R-M3"):
            svc.agenda("watanabe", m, "add", item)

    def test_r_m5_a_sitting_acts_only_on_what_was_before_it(self, svc):
        """R-M5: a sitting backdated before the item reached its state cannot move it."""
        item = walk_to(svc, "pre_review", title="twice")
        a = convene_at(svc, "watanabe", "team_lead", svc.clock.now() + H, items=[item])
        b = convene_at(svc, "watanabe", "team_lead", svc.clock.now() + H, items=[item])
        svc.clock.advance(hours=2)
        svc.hold("watanabe", b)
        svc.advance("watanabe", item, "return", meeting=b)  # back to filed at +2h
        svc.advance("yamamoto", item, "skip")  # pre_review again at +2h
        svc.clock.advance(hours=1)
        svc.hold("watanabe", a, sat_at=svc.clock.now() - dt.timedelta(hours=2))  # says it sat at +1h
        before = fingerprint(svc.store)
        with pytest.raises(NotPossible, match=r"R-M5"):
            svc.advance("watanabe", item, "refer", meeting=a)
        assert before == fingerprint(svc.store)


class TestTheLogsClock:
    def test_r_i2_a_clock_set_back_is_refused(self, svc):
        """R-I2: an act whose time is before the log's last event is refused; nothing is written."""
        svc.file_item("yamamoto", "now")
        before = fingerprint(svc.store)
        svc.clock.advance(minutes=-10)
        with pytest.raises(NotPossible, match=r"R-I2"):
            svc.file_item("yamamoto", "ten minutes ago")
        assert before == fingerprint(svc.store)
