"""Fidelity to the circular (issue 19, item 1): R-C6, R-C7, R-P4 — rule tests on every store."""

import datetime as dt

import pytest

from engine.core.errors import NotPermitted, NotPossible
from tests.conftest import fingerprint, held, walk_to
from tests.unit.test_reminders import Collect
from engine.reminders.dispatch import Dispatcher


class TestDecidedItemsEndOnlyInCouncil:
    def test_r_c6_no_one_withdraws_a_decided_item_outside_the_council(self, fast):
        """R-C6: once the council decided, neither its filer nor the general manager withdraws it
        alone; the council closes it in a held sitting with it on the agenda."""
        svc = fast
        item = walk_to(svc, "in_progress", filer="yamamoto")
        before = fingerprint(svc.store)
        for who in ("yamamoto", "watanabe"):  # the filer, the general manager
            with pytest.raises(NotPossible, match="withdraw"):
                svc.advance(who, item, "withdraw")
        assert before == fingerprint(svc.store)
        m = held(svc, "sato", "council", [item])
        svc.advance("watanabe", item, "close", meeting=m)
        assert svc.item(item).state == "closed"

    def test_r_c6_before_the_decision_the_filer_still_withdraws(self, fast):
        """R-C6: before the council decided, the filer may still withdraw it."""
        item = walk_to(fast, "council", filer="yamamoto")
        fast.advance("yamamoto", item, "withdraw")
        assert fast.item(item).state == "withdrawn"


class TestProgressCheckIsAnOutcome:
    def test_r_c7_a_sitting_without_outcome_moves_no_deadline(self, svc, clock):
        """R-C7: a council that sat with the item on its agenda but recorded nothing leaves the
        90-day progress check where the decision put it; a recorded `check` moves it."""
        box = Collect()
        d = Dispatcher(svc, {"email": box})
        item = walk_to(svc, "in_progress")
        due = clock.now() + dt.timedelta(days=90)
        clock.advance(days=30)
        held(svc, "sato", "council", [item])  # sat, no outcome recorded for the item
        assert [due] == [r.due_at for r in svc.reminders() if r.item == item]
        clock.advance(days=60)
        d.run_once()
        assert [m for m in box.sent if f"案件{item}「" in m.subject and "yamamoto" in m.to[0]]
        m = held(svc, "sato", "council", [item])
        svc.advance("watanabe", item, "check", meeting=m)
        assert [clock.now() + dt.timedelta(days=90)] == [r.due_at for r in svc.reminders() if r.item == item]


class TestStationHQIsTheStationChiefs:
    def test_r_p4_the_hq_chief_assigns_only_the_body_head(self, fast):
        """R-P4: inside a station HQ the station chief assigns the posts; the HQ chief may not,
        and is told who does; the HQ chief still appoints the station's head."""
        svc = fast
        svc.add_member("sato", "kondo", name="近藤 実", name_en="Minoru Kondo")
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match="R-P4") as e:
            svc.assign("sato", "kondo", "sho_kacho", station="mito")
        assert "station chief" in str(e.value)
        assert before == fingerprint(svc.store)
        svc.assign("matsumoto", "kondo", "sho_kacho", station="mito")
        (a,) = svc.assignments_of("kondo")
        with pytest.raises(NotPermitted, match="R-P4"):
            svc.end_assignment("sato", a.id)
        svc.add_member("sato", "kubo", name="久保 修", name_en="Osamu Kubo")
        svc.assign("sato", "kubo", "keisatsu_shocho", station="joso", dry_run=True)  # the head: the HQ chief's
        with pytest.raises(NotPermitted, match="R-P1"):
            svc.assign("matsumoto", "kubo", "keisatsu_shocho", station="mito", dry_run=True)


class TestRemindersGoToTheHolderWhenSent:
    def test_r_n2_a_rotation_after_planning_reaches_the_new_holder(self, svc, clock):
        """R-N2: the implementation manager changed between the filing (when the staff-meeting
        reminder was planned) and day 14: the new holder gets it, the old one does not."""
        from tests.unit.test_roster_time import rotate

        box = Collect()
        d = Dispatcher(svc, {"email": box})
        rotate(svc, "yamamoto", "kobayashi", "soshiki2_kacho", at=clock.now() + dt.timedelta(days=3))
        clock.advance(days=14)
        d.run_once()
        to = {m.to[0].split("@")[0] for m in box.sent if "案件1「" in m.subject}
        assert "kobayashi" in to and "yamamoto" not in to, to
        (due,) = [e for e in svc.peek.events(item=1) if e.type == "ReminderDue"]
        assert due.data["recipients"] == ["kobayashi"] and due.data.get("vacant", []) == []

    def test_r_n2_a_vacant_role_is_said_and_the_next_rung_goes(self, svc, clock):
        """R-N2: nobody holds implementation manager on day 14: the ReminderDue names the role
        vacant, and on day 21 the general manager's escalation still goes, saying it is vacant."""
        box = Collect()
        d = Dispatcher(svc, {"email": box})
        (a,) = [x for x in svc.assignments_of("yamamoto") if x.position == "soshiki2_kacho" and x.valid_until is None]
        svc.end_assignment("sato", a.id, at=clock.now() + dt.timedelta(days=3))
        clock.advance(days=14)
        d.run_once()
        dues = [e for e in svc.peek.events(item=1) if e.type == "ReminderDue"]
        assert [(0, [], ["implementation_manager"])] == [
            (e.data["rung"], e.data["recipients"], e.data.get("vacant", [])) for e in dues]
        clock.advance(days=7)
        d.run_once()
        gm = [m for m in box.sent if "案件1「" in m.subject and m.to[0].startswith("watanabe@")]
        assert gm, [(m.to, m.subject) for m in box.sent]
        assert "実施責任者は現在不在です" in gm[0].body, gm[0].body
