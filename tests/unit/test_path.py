"""The item path through real meetings (R-C1, R-T1, R-S1), on every storage engine."""

import pytest

from engine.core.errors import NotPermitted, NotPossible
from tests.conftest import fingerprint, held, walk_to


@pytest.fixture
def svc(fast):
    """The rule tests run on the memory store too (the fast tier), and on SQLite and PostgreSQL."""
    return fast


class TestFullPath:
    def test_item_climbs_from_filed_to_closed(self, svc):
        """A staff meeting, a team-lead meeting, a council decision and two progress checks."""
        # R-S1: the implementation manager's staff meeting refers it to pre-review
        m = held(svc, "yamamoto", "staff", [1], attendees=["nakamura", "yoshida"])
        assert "pre_review" == svc.advance("yamamoto", 1, "refer", meeting=m).event.data["to"]
        # R-T1: the team-lead meeting studies it and refers it to the council
        m = held(svc, "watanabe", "team_lead", [1])
        assert "council" == svc.advance("watanabe", 1, "refer", meeting=m).event.data["to"]
        # R-C1: the council decides; the general manager records it (R-C5)
        m = held(svc, "sato", "council", [1])
        assert "in_progress" == svc.advance("watanabe", 1, "decide", meeting=m).event.data["to"]
        m = held(svc, "sato", "council", [1])
        assert "in_progress" == svc.advance("sato", 1, "check", meeting=m).event.data["to"]
        m = held(svc, "sato", "council", [1])
        assert "closed" == svc.advance("watanabe", 1, "close", meeting=m).event.data["to"]
        assert "closed" == svc.item(1).state
        types = [e.type for e in svc.history(1) if e.type.startswith("Item")]
        assert ["ItemFiled"] + ["ItemAdvanced"] * 5 == types

    def test_every_event_records_the_rulebook_version(self, svc):
        """Each event names the rulebook version it was judged by."""
        walk_to(svc, "council")
        assert {"2024-10-01"} == {e.rulebook for e in svc.peek.events() if e.type != "RulebookAdopted"}


class TestCouncil:
    """R-C1: the council decides the policy and checks progress."""

    @pytest.mark.parametrize("trigger,to", [("decide", "in_progress"), ("return", "pre_review"),
                                            ("defer", "council"), ("reject", "rejected")])
    def test_r_c1_council_outcomes(self, svc, trigger, to):
        """R-C1: a held council records decide, return, defer or reject for an item before it."""
        item = walk_to(svc, "council")
        m = held(svc, "sato", "council", [item])
        assert to == svc.advance("watanabe", item, trigger, meeting=m).event.data["to"]
        assert to == svc.item(item).state

    def test_r_c1_progress_check_needs_a_new_sitting(self, svc):
        """R-C1: one outcome per item per sitting; the next check needs another council."""
        item = walk_to(svc, "in_progress")
        m = held(svc, "sato", "council", [item])
        svc.advance("watanabe", item, "check", meeting=m)
        with pytest.raises(NotPossible, match="already recorded `check`"):
            svc.advance("watanabe", item, "check", meeting=m)

    def test_r_c1_only_in_a_held_council(self, svc):
        """R-C1: a convened but not yet held council decides nothing."""
        item = walk_to(svc, "council")
        m = svc.convene("sato", "council", svc.clock.now(), items=[item]).event.meeting
        before = fingerprint(svc.store)
        with pytest.raises(NotPossible, match="not held"):
            svc.advance("watanabe", item, "decide", meeting=m)
        assert before == fingerprint(svc.store)

    def test_r_c1_item_must_be_on_the_agenda(self, svc):
        """R-C1: a council decides only the items on its agenda."""
        item = walk_to(svc, "council")
        other = walk_to(svc, "council", title="other")
        m = held(svc, "sato", "council", [other])
        with pytest.raises(NotPossible, match="not on the agenda"):
            svc.advance("watanabe", item, "decide", meeting=m)

    def test_r_c1_wrong_kind_of_meeting(self, svc):
        """R-C1: a team-lead meeting cannot decide what only the council decides."""
        item = walk_to(svc, "council")
        m = held(svc, "watanabe", "team_lead", [walk_to(svc, "pre_review", title="x")])
        with pytest.raises(NotPossible, match="needs an HQ council"):
            svc.advance("watanabe", item, "decide", meeting=m)


class TestPreReview:
    def test_r_t1_nothing_reaches_the_council_without_pre_review(self, svc):
        """R-T1: a filed item can neither be put before the council nor decided there."""
        before = fingerprint(svc.store)
        with pytest.raises(NotPossible, match="can do nothing with it"):
            svc.convene("sato", "council", svc.clock.now(), items=[1])
        assert before == fingerprint(svc.store)
        m = held(svc, "sato", "council", [])
        with pytest.raises(NotPossible, match="cannot `decide`"):
            svc.advance("watanabe", 1, "decide", meeting=m)
        assert "filed" == svc.item(1).state

    def test_r_t1_team_lead_meeting_returns_for_more_staff_work(self, svc):
        """R-T1: the team-lead meeting may send an item back to filed."""
        item = walk_to(svc, "pre_review")
        m = held(svc, "watanabe", "team_lead", [item])
        assert "filed" == svc.advance("watanabe", item, "return", meeting=m).event.data["to"]

    def test_r_s1_skip_only_by_the_implementation_manager(self, svc):
        """R-S1: no staff meeting needed is the implementation manager's call alone."""
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"only the implementation manager \(実施責任者\)"):
            svc.advance("watanabe", 1, "skip")
        assert before == fingerprint(svc.store)
        assert "pre_review" == svc.advance("yamamoto", 1, "skip").event.data["to"]


class TestWithdraw:
    def test_filer_or_general_manager_withdraws(self, svc):
        """Whoever filed an item, or the general manager, may withdraw it; no one else."""
        mine = svc.file_item("yoshida", "a team member's item").event.item
        with pytest.raises(NotPermitted, match="besides whoever filed it"):
            svc.advance("sasaki", mine, "withdraw")
        assert "withdrawn" == svc.advance("yoshida", mine, "withdraw").event.data["to"]
        other = svc.file_item("yoshida", "another").event.item
        assert "withdrawn" == svc.advance("watanabe", other, "withdraw").event.data["to"]

    def test_final_state_moves_no_more(self, svc):
        """A withdrawn item takes no trigger at all."""
        svc.advance("watanabe", 1, "withdraw")
        with pytest.raises(NotPossible, match="nothing more happens"):
            svc.advance("yamamoto", 1, "skip")
