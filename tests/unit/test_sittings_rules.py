"""Presiding, presence, agenda and minutes (R-C3, R-C5, R-T3, R-M1..R-M4), as the circular
runs its meetings: the chair present, the recorder present, the general manager keeping the
agenda before the sitting, minutes recorded by who keeps the business and approved by the chair."""

import datetime as dt

import pytest

from engine.core.errors import NotFound, NotPermitted, NotPossible
from tests.conftest import fingerprint, walk_to

H = dt.timedelta(hours=1)


@pytest.fixture
def svc(fast):
    return fast


def council(svc, items, present=None, **kw):
    m = svc.convene("sato", "council", svc.clock.now(), items=items, **kw).fact.meeting
    out = svc.hold("watanabe", m, present=present or [])
    return m, out


class TestPresiding:
    def test_r_m1_a_council_without_its_chair_decides_nothing(self, svc):
        """R-M1, R-C3: the chief was not there: no outcome is recorded; nothing is written."""
        item = walk_to(svc, "council")
        m, held = council(svc, [item], present=["watanabe", "suzuki", "yamamoto"])
        assert "sato" not in held.fact.present  # who was present is part of the held event
        before = fingerprint(svc.store)
        with pytest.raises(NotPossible, match=r"R-M1"):
            svc.advance("watanabe", item, "decide", meeting=m)
        assert before == fingerprint(svc.store)

    def test_r_m1_with_the_chair_present_it_decides(self, svc):
        item = walk_to(svc, "council")
        m, held = council(svc, [item], present=["sato", "watanabe"])
        assert set(held.fact.present) == {"sato", "watanabe"}
        svc.advance("watanabe", item, "decide", meeting=m)
        assert svc.item(item).state == "in_progress"

    def test_r_t3_a_team_lead_meeting_sits_only_with_the_general_manager(self, svc):
        """R-T3, R-M1: the general manager chairs the pre-review; without him it refers nothing."""
        item = walk_to(svc, "pre_review")
        m = svc.convene("watanabe", "team_lead", svc.clock.now(), items=[item]).fact.meeting
        svc.hold("watanabe", m, present=["nakamura", "kobayashi"])
        with pytest.raises(NotPossible, match=r"R-M1"):
            svc.advance("watanabe", item, "refer", meeting=m)

    def test_only_those_called_and_the_chair_can_be_present(self, svc):
        m = svc.convene("sato", "council", svc.clock.now()).fact.meeting
        with pytest.raises(NotPermitted, match="was not called"):
            svc.hold("watanabe", m, present=["sato", "kobayashi"])


class TestRecorderPresent:
    def test_r_m2_the_recorder_was_present(self, svc):
        """R-M2, R-C5: the general manager records the council's outcome only if he sat in it."""
        item = walk_to(svc, "council")
        m, _ = council(svc, [item], present=["sato", "suzuki"])
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"R-M2"):
            svc.advance("watanabe", item, "decide", meeting=m)
        assert before == fingerprint(svc.store)

    def test_r_m2_a_clerk_records_for_a_present_recorder_under_delegation(self, svc):
        """R-M2, R-A1: the secretariat clerk records for the general manager, who was there."""
        svc.delegate("watanabe", "yamaguchi", valid_until=svc.clock.now() + dt.timedelta(days=30))
        item = walk_to(svc, "council")
        m, _ = council(svc, [item], present=["sato", "watanabe"])
        out = svc.advance("yamaguchi", item, "decide", meeting=m, on_behalf_of="watanabe")
        assert (out.event.actor, out.event.authority) == ("yamaguchi", "watanabe")

    def test_r_m2_nor_for_an_absent_one(self, svc):
        svc.delegate("watanabe", "yamaguchi", valid_until=svc.clock.now() + dt.timedelta(days=30))
        item = walk_to(svc, "council")
        m, _ = council(svc, [item], present=["sato", "suzuki"])
        with pytest.raises(NotPermitted, match=r"R-M2"):
            svc.advance("yamaguchi", item, "decide", meeting=m, on_behalf_of="watanabe")


class TestAgenda:
    def test_r_m3_the_general_manager_keeps_the_councils_agenda(self, svc):
        """R-M3, R-C5: add, order and remove before the sitting; the chief convenes, the GM keeps it."""
        a = walk_to(svc, "council", title="a")
        b = walk_to(svc, "council", title="b")
        m = svc.convene("sato", "council", svc.clock.now() + H, items=[a]).fact.meeting
        svc.agenda("watanabe", m, "add", b)
        assert svc.meeting(m).items == (a, b)
        svc.agenda("watanabe", m, "move", b, position=1)
        assert svc.meeting(m).items == (b, a)
        svc.agenda("watanabe", m, "remove", a)
        assert svc.meeting(m).items == (b,)

    def test_r_m3_nobody_else_changes_it(self, svc):
        a = walk_to(svc, "council", title="a")
        m = svc.convene("sato", "council", svc.clock.now() + H).fact.meeting
        before = fingerprint(svc.store)
        for who in ("yamamoto", "nakamura"):
            with pytest.raises(NotPermitted, match=r"R-M3"):
                svc.agenda(who, m, "add", a)
        assert before == fingerprint(svc.store)

    def test_r_m3_a_staff_meetings_agenda_is_the_implementation_managers(self, svc):
        item = svc.file_item("yamamoto", "staff agenda").fact.item
        m = svc.convene("yamamoto", "staff", svc.clock.now() + H, attendees=["nakamura"]).fact.meeting
        svc.agenda("yamamoto", m, "add", item)
        assert svc.meeting(m).items == (item,)

    def test_r_m3_not_once_it_has_started(self, svc):
        a = walk_to(svc, "council", title="a")
        m = svc.convene("sato", "council", svc.clock.now() + H).fact.meeting
        svc.clock.advance(hours=2)
        with pytest.raises(NotPossible, match=r"R-M3"):
            svc.agenda("watanabe", m, "add", a)

    def test_r_m3_an_item_the_meeting_cannot_take_is_refused(self, svc):
        filed = svc.file_item("yamamoto", "still filed").fact.item
        m = svc.convene("sato", "council", svc.clock.now() + H).fact.meeting
        with pytest.raises(NotPossible):
            svc.agenda("watanabe", m, "add", filed)


class TestMinutes:
    def test_r_m4_recorded_by_the_keeper_approved_by_the_chair(self, svc):
        """R-M4: the general manager records the council's minutes; the chief approves them."""
        m, _ = council(svc, [], present=["sato", "watanabe"])
        rec = svc.record_minutes("watanabe", m, "議事録: 案件なし").fact
        assert rec.n == 1 and len(rec.sha256) == 64
        svc.approve_minutes("sato", m)
        entry = svc.meeting(m).minutes[0]
        assert (entry.n, entry.approved_by) == (1, "sato")

    def test_r_m4_approved_minutes_do_not_change_a_correction_is_a_new_entry(self, svc):
        m, _ = council(svc, [], present=["sato", "watanabe"])
        svc.record_minutes("watanabe", m, "第1版")
        svc.approve_minutes("sato", m)
        with pytest.raises(NotPossible, match=r"R-M4"):
            svc.approve_minutes("sato", m, n=1)
        svc.record_minutes("watanabe", m, "訂正: 第2版")
        assert [e.n for e in svc.meeting(m).minutes] == [1, 2]
        assert svc.meeting(m).minutes[0].text == "第1版"

    def test_r_m4_nobody_else_records_or_approves(self, svc):
        m, _ = council(svc, [], present=["sato", "watanabe"])
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"R-M4"):
            svc.record_minutes("yamamoto", m, "not mine")
        assert before == fingerprint(svc.store)
        svc.record_minutes("watanabe", m, "GM's")
        with pytest.raises(NotPermitted, match=r"R-M4"):
            svc.approve_minutes("watanabe", m)
        with pytest.raises(NotFound):
            svc.approve_minutes("sato", m, n=9)

    def test_r_m4_no_minutes_before_the_sitting(self, svc):
        m = svc.convene("sato", "council", svc.clock.now() + H).fact.meeting
        with pytest.raises(NotPossible, match=r"R-M4"):
            svc.record_minutes("watanabe", m, "too early")
