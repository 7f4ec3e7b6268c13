"""Who calls, chairs and attends each meeting (R-C2..R-C5, R-T2..R-T4, R-S1, R-S2)."""

import pytest

from engine.core.errors import BadInput, NotPermitted, NotPossible
from tests.conftest import fingerprint, held, walk_to

COUNCIL_MEMBERS = ["ito", "sato", "suzuki", "takahashi", "tanaka", "watanabe", "yamamoto"]


@pytest.fixture
def svc(fast):
    """The rule tests run on the memory store too (the fast tier), and on SQLite and PostgreSQL."""
    return fast


def convene(svc, actor, kind, **kw):
    return svc.convene(actor, kind, svc.clock.now(), **kw)


class TestCouncilMeetings:
    def test_r_c2_council_members_attend(self, svc):
        """R-C2: chief, deputy chief, staff officers, general manager and implementation manager."""
        m = convene(svc, "sato", "council").event.data
        assert COUNCIL_MEMBERS == m["attendees"]

    def test_r_c2_a_team_leader_is_no_council_member(self, svc):
        """R-C2: a team leader called as a member is refused; nothing is written."""
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"nakamura.*is not called to an HQ council"):
            convene(svc, "sato", "council", attendees=["sato", "nakamura"])
        assert before == fingerprint(svc.store)

    def test_r_c3_only_the_chief_convenes_and_presides(self, svc):
        """R-C3: the deputy chief and the general manager cannot call the council; the chief chairs it."""
        before = fingerprint(svc.store)
        for login in ("suzuki", "watanabe", "yamamoto", "nakamura", "matsumoto"):
            with pytest.raises(NotPermitted, match=r"only the HQ chief \(本部長\) convenes an HQ council"):
                convene(svc, login, "council")
        assert before == fingerprint(svc.store)
        m = svc.meeting(convene(svc, "sato", "council").event.meeting)
        assert ("sato", "sato") == (m.convener, m.chair)

    def test_r_c4_the_chief_invites_non_members(self, svc):
        """R-C4: the chief may have non-members attend; they may then be present."""
        m = convene(svc, "sato", "council", invited=["nakamura"]).event.meeting
        assert ("nakamura",) == svc.meeting(m).invited
        svc.hold("sato", m, present=["sato", "nakamura"])
        assert {"sato", "nakamura"} == set(svc.meeting(m).present)

    def test_r_c4_nobody_uninvited_attends(self, svc):
        """R-C4: a non-member neither called nor invited cannot be recorded present."""
        m = convene(svc, "sato", "council").event.meeting
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match="kobayashi\\) was not called"):
            svc.hold("sato", m, present=["sato", "kobayashi"])
        assert before == fingerprint(svc.store)

    def test_r_c5_the_general_manager_records_outcomes(self, svc):
        """R-C5: the general manager runs the council's business; a staff officer does not."""
        item = walk_to(svc, "council")
        m = held(svc, "sato", "council", [item])
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"only the HQ chief \(本部長\) or general manager"):
            svc.advance("takahashi", item, "decide", meeting=m)
        assert before == fingerprint(svc.store)
        assert "in_progress" == svc.advance("watanabe", item, "decide", meeting=m).event.data["to"]

    def test_r_c5_general_manager_records_the_sitting(self, svc):
        """R-C5: the general manager may record that the council sat."""
        m = convene(svc, "sato", "council").event.meeting
        svc.hold("watanabe", m)
        assert "held" == svc.meeting(m).status


class TestTeamLeadMeetings:
    def test_r_t2_members_are_general_manager_implementation_manager_team_leaders(self, svc):
        """R-T2: the team-lead meeting's attendees as of right."""
        m = convene(svc, "watanabe", "team_lead").event.data
        assert ["kato", "kobayashi", "nakamura", "watanabe", "yamamoto"] == m["attendees"]

    def test_r_t2_a_team_member_is_not_a_member(self, svc):
        """R-T2: a team member called as a member of the team-lead meeting is refused."""
        with pytest.raises(NotPermitted, match=r"yoshida.*is not called to a team-lead meeting"):
            convene(svc, "watanabe", "team_lead", attendees=["yoshida"])

    def test_r_t3_only_the_general_manager_convenes(self, svc):
        """R-T3: the chief, the implementation manager and a team leader cannot call it."""
        before = fingerprint(svc.store)
        for login in ("sato", "yamamoto", "nakamura"):
            with pytest.raises(NotPermitted, match=r"only the general manager \(総括責任者\) convenes a team-lead meeting"):
                convene(svc, login, "team_lead")
        assert before == fingerprint(svc.store)
        m = svc.meeting(convene(svc, "watanabe", "team_lead").event.meeting)
        assert "watanabe" == m.chair

    def test_r_t4_general_manager_invites_non_members(self, svc):
        """R-T4: the general manager may have a non-member attend the team-lead meeting."""
        m = convene(svc, "watanabe", "team_lead", invited=["yoshida"]).event.meeting
        assert ("yoshida",) == svc.meeting(m).invited

    def test_r_t4_an_invited_member_is_bad_input(self, svc):
        """R-T4: invitations are for non-members; a member is listed as an attendee."""
        with pytest.raises(BadInput, match="invite only non-members"):
            convene(svc, "watanabe", "team_lead", invited=["nakamura"])


class TestStaffMeetings:
    def test_r_s1_only_the_implementation_manager_convenes(self, svc):
        """R-S1: the general manager and a team leader cannot call a staff meeting."""
        for login in ("watanabe", "nakamura", "sato"):
            with pytest.raises(NotPermitted, match=r"only the implementation manager \(実施責任者\) convenes a staff meeting"):
                convene(svc, login, "staff", attendees=["yoshida"])

    def test_r_s2_attendees_are_the_team_members_called(self, svc):
        """R-S2: team members and team leaders chosen by the implementation manager attend."""
        m = convene(svc, "yamamoto", "staff", attendees=["yoshida", "nakamura"]).event.data
        assert ["nakamura", "yamamoto", "yoshida"] == m["attendees"]

    def test_r_s2_no_one_else_is_called(self, svc):
        """R-S2: a staff officer cannot be called, and no one can be invited."""
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"takahashi.*is not called to a staff meeting"):
            convene(svc, "yamamoto", "staff", attendees=["takahashi"])
        with pytest.raises(NotPermitted, match="R-S2"):
            convene(svc, "yamamoto", "staff", attendees=["yoshida"], invited=["takahashi"])
        assert before == fingerprint(svc.store)

    def test_r_s2_the_members_needed_must_be_named(self, svc):
        """R-S2: a staff meeting without any team member called is not possible."""
        with pytest.raises(NotPossible, match="give them with --attendee"):
            convene(svc, "yamamoto", "staff")


class TestSittings:
    def test_hold_only_after_it_starts(self, svc):
        """A meeting cannot be recorded as held before its start time."""
        later = svc.clock.now().replace(year=2027)
        m = svc.convene("sato", "council", later).event.meeting
        with pytest.raises(NotPossible, match="cannot sit before then"):
            svc.hold("sato", m)

    def test_cancelled_meeting_decides_nothing(self, svc):
        """A cancelled meeting can neither be held nor record an outcome."""
        item = walk_to(svc, "council")
        m = convene(svc, "sato", "council", items=[item]).event.meeting
        svc.cancel("sato", m, reason="typhoon")
        with pytest.raises(NotPossible, match="cancelled"):
            svc.hold("sato", m)
        with pytest.raises(NotPossible, match="not held"):
            svc.advance("watanabe", item, "decide", meeting=m)
