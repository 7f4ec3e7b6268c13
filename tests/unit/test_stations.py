"""Stations report up (R-P1..R-P3), investigation orders (R-T5), the secretariat (R-A1)."""

import datetime as dt

import pytest

from engine.reminders.dispatch import Dispatcher
from engine.core.errors import BadInput, NotPermitted, NotPossible
from tests.conftest import fingerprint, held, walk_to
from tests.unit.test_reminders import Collect


@pytest.fixture
def svc(fast):
    """The rule tests run on the memory store too (the fast tier), and on SQLite and PostgreSQL."""
    return fast


def station_item(svc, chief="matsumoto", station="mito", title="実態把握"):
    return svc.file_item(chief, title, station=station).event.item


def reported(svc, chief="matsumoto", station="mito"):
    """A station item whose council sat and whose chief reported it (R-P2, R-P3)."""
    item = station_item(svc, chief, station)
    m = svc.convene(chief, "station_council", svc.clock.now(), items=[item]).event.meeting
    svc.hold(chief, m)
    svc.advance(chief, item, "report", meeting=m)
    return item


class TestStationPath:
    def test_r_p3_result_climbs_to_the_chief_and_into_the_hq_path(self, svc):
        """R-P3: report (station chief) → relay (general manager) → receive (chief) → HQ item."""
        item = reported(svc)
        assert "reported" == svc.item(item).state
        svc.advance("watanabe", item, "relay")
        svc.advance("sato", item, "receive")
        out = svc.advance("sato", item, "escalate")
        hq = out.event.data["spawned"]
        assert ("escalated", "pre_review", "hq", item) == (
            svc.item(item).state, svc.item(hq).state, svc.item(hq).body, svc.item(hq).origin)
        # the HQ decides it, and the station sees the decision in its item's history
        m = held(svc, "watanabe", "team_lead", [hq])
        svc.advance("watanabe", hq, "refer", meeting=m)
        m = held(svc, "sato", "council", [hq])
        svc.advance("watanabe", hq, "decide", meeting=m)
        seen = [(e.item, e.data.get("trigger")) for e in svc.history(item) if e.type == "ItemAdvanced"]
        assert (hq, "decide") == seen[-1]

    def test_r_p2_convening_tables_the_item(self, svc):
        """R-P2: a station council convened with the item on its agenda puts it before the council."""
        item = station_item(svc)
        m = svc.convene("matsumoto", "station_council", svc.clock.now(), items=[item]).event.meeting
        assert "station_council" == svc.item(item).state
        assert "matsumoto" == svc.meeting(m).chair
        with pytest.raises(NotPossible, match="not held"):
            svc.advance("matsumoto", item, "report", meeting=m)

    def test_r_p2_only_that_stations_chief_convenes_its_council(self, svc):
        """R-P2: the chief of another station, a station member and the HQ chief cannot."""
        item = station_item(svc)
        before = fingerprint(svc.store)
        for login in ("inoue", "hayashi", "sato"):
            with pytest.raises(NotPermitted, match=r"only the station chief \(警察署長\) convenes a station council"):
                svc.convene(login, "station_council", svc.clock.now(), items=[item], station="mito")
        assert before == fingerprint(svc.store)

    def test_r_p2_no_table_by_hand(self, svc):
        item = station_item(svc)
        with pytest.raises(NotPossible, match="happens when a station council is convened"):
            svc.advance("matsumoto", item, "table")

    def test_r_p3_station_items_do_not_take_the_hq_path(self, svc):
        """A station item cannot be skipped to pre-review; it goes through its station council."""
        item = station_item(svc)
        with pytest.raises(NotPossible, match="cannot `skip`; possible: table"):
            svc.advance("yamamoto", item, "skip")

    @pytest.mark.parametrize("trigger,state_before,allowed", [
        ("relay", "reported", {"watanabe"}),
        ("receive", "relayed", {"sato"}),
        ("escalate", "received", {"sato", "watanabe"}),
    ])
    def test_r_p3_authorization_matrix(self, svc, trigger, state_before, allowed):
        """R-P3: who relays, receives and escalates; station chiefs (own or other) never."""
        ok = set()
        for login in ("matsumoto", "inoue", "hayashi", "watanabe", "sato", "yamamoto", "suzuki"):
            item = reported(svc)
            if state_before in ("relayed", "received"):
                svc.advance("watanabe", item, "relay")
            if state_before == "received":
                svc.advance("sato", item, "receive")
            before = fingerprint(svc.store)
            try:
                svc.advance(login, item, trigger)
                ok.add(login)
            except NotPermitted:
                assert before == fingerprint(svc.store)
        assert allowed == ok

    def test_r_p3_report_only_by_the_chief_of_that_station(self, svc):
        item = station_item(svc)
        m = svc.convene("matsumoto", "station_council", svc.clock.now(), items=[item]).event.meeting
        svc.hold("matsumoto", m)
        for login in ("inoue", "hayashi", "watanabe"):
            with pytest.raises(NotPermitted):
                svc.advance(login, item, "report", meeting=m)
        svc.advance("matsumoto", item, "report", meeting=m)


class TestStationOrganisation:
    def test_r_p1_station_chief_organises_own_station_only(self, svc):
        """R-P1: the station chief adds members and roles to their own station HQ, not another's."""
        svc.add_member("matsumoto", "kondo", name="近藤 実", name_en="Minoru Kondo")
        svc.assign("matsumoto", "kondo", "sho_kacho", station="mito")
        assert [("station_member", "mito")] == [(h.role, h.body) for h in svc.holdings("kondo")]
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match="R-P1"):
            svc.assign("matsumoto", "kondo", "sho_kacho", station="joso")
        with pytest.raises(NotPermitted, match="R-P1"):
            svc.assign("matsumoto", "kondo", "team_member", team="koho")  # an HQ post
        assert before == fingerprint(svc.store)
        (a,) = [x for x in svc.assignments_of("kondo")]
        with pytest.raises(NotPermitted):
            svc.end_assignment("inoue", a.id)
        svc.end_assignment("matsumoto", a.id, at=svc.clock.now() + dt.timedelta(hours=1))

    def test_r_p1_a_station_post_in_the_hq_is_bad_input(self, svc):
        with pytest.raises(BadInput, match="post of a station body"):
            svc.assign("sato", "yoshida", "keisatsu_shocho")


class TestStationReminders:
    def test_station_chief_reminded_to_report_only_their_own(self, svc, clock):
        """After the council sat: that station's chief (7 days), then the general manager.

        A member of one station never gets another station's reminders."""
        box = Collect()
        d = Dispatcher(svc, {"email": box})
        for chief, station in (("matsumoto", "mito"), ("inoue", "joso")):
            item = station_item(svc, chief, station)
            m = svc.convene(chief, "station_council", clock.now(), items=[item]).event.meeting
            svc.hold(chief, m)
        clock.advance(days=7)
        d.run_once()
        got = sorted((m.to[0].split("@")[0], m.subject) for m in box.sent if "署対策会議結果" in m.subject)
        assert ["inoue", "matsumoto"] == [who for who, _ in got]
        assert "署対策会議結果の報告" in got[0][1]
        subjects = {who: s for who, s in got}
        assert svc.item(6).title in subjects["inoue"] or "案件6" in subjects["inoue"]
        clock.advance(days=7)
        d.run_once()
        up = [m.to[0].split("@")[0] for m in box.sent if m.subject.startswith("【督促】") and "署対策会議" in m.subject]
        assert ["watanabe", "watanabe"] == up

    def test_relay_and_receive_reminders(self, svc, clock):
        box = Collect()
        d = Dispatcher(svc, {"email": box})
        item = reported(svc)
        clock.advance(days=3)
        d.run_once()
        svc.advance("watanabe", item, "relay")
        clock.advance(days=3)
        d.run_once()
        mine = [(m.to[0].split("@")[0], m.subject.split("」: ")[1][:6]) for m in box.sent if f"案件{item}「" in m.subject]
        assert [("watanabe", "署報告の本部"), ("sato", "署報告の受理")] == mine


class TestInvestigationOrders:
    def test_r_t5_order_blocks_referral_until_complete(self, svc):
        """R-T5: the team-lead meeting refers to the council only when orders are settled."""
        item = walk_to(svc, "pre_review")
        o = svc.issue_order("watanabe", item, "nakamura", note="現地調査").event.data["id"]
        m = held(svc, "watanabe", "team_lead", [item])
        before = fingerprint(svc.store)
        with pytest.raises(NotPossible, match=f"order {o} to .*nakamura.* is open"):
            svc.advance("watanabe", item, "refer", meeting=m)
        assert before == fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"only .*nakamura"):
            svc.complete_order("kobayashi", o, "x")
        svc.complete_order("nakamura", o, "集住地域を確認")
        assert "council" == svc.advance("watanabe", item, "refer", meeting=m).event.data["to"]

    def test_r_t5_waive_with_a_reason(self, svc):
        item = walk_to(svc, "pre_review")
        o = svc.issue_order("watanabe", item, "nakamura").event.data["id"]
        with pytest.raises(BadInput, match="needs a reason"):
            svc.waive_order("watanabe", o, " ")
        with pytest.raises(NotPermitted, match="R-T5"):
            svc.waive_order("sato", o, "不要")
        svc.waive_order("watanabe", o, "既に把握済み")
        m = held(svc, "watanabe", "team_lead", [item])
        svc.advance("watanabe", item, "refer", meeting=m)

    @pytest.mark.parametrize("login,ok", [("watanabe", True), ("sato", False), ("yamamoto", False),
                                          ("nakamura", False), ("matsumoto", False)])
    def test_r_t5_only_the_general_manager_orders(self, svc, login, ok):
        item = walk_to(svc, "pre_review")
        if ok:
            svc.issue_order(login, item, "kobayashi")
        else:
            with pytest.raises(NotPermitted, match="general manager"):
                svc.issue_order(login, item, "kobayashi")

    def test_r_t5_orders_go_to_team_leaders_in_pre_review(self, svc):
        item = walk_to(svc, "pre_review")
        with pytest.raises(NotPermitted, match="orders go to team leaders"):
            svc.issue_order("watanabe", item, "yoshida")
        with pytest.raises(NotPossible, match="pre-review"):
            svc.issue_order("watanabe", 1, "nakamura")

    def test_r_t5_order_reminders_escalate_to_the_general_manager(self, svc, clock):
        box = Collect()
        d = Dispatcher(svc, {"email": box})
        item = walk_to(svc, "pre_review")
        svc.issue_order("watanabe", item, "nakamura", due_at=clock.now() + dt.timedelta(days=5))
        clock.advance(days=5)
        d.run_once()
        clock.advance(days=7)
        d.run_once()
        mine = [m.to[0].split("@")[0] for m in box.sent if "調査・検討命令" in m.subject]
        assert ["nakamura", "watanabe"] == mine


class TestSecretariat:
    def test_r_a1_clerk_records_on_behalf_under_delegation(self, svc, clock):
        """R-A1: the event carries both the clerk (actor) and the holder (authority)."""
        with pytest.raises(NotPermitted, match=r"no delegation from .*watanabe"):
            svc.convene("yamaguchi", "team_lead", clock.now(), on_behalf_of="watanabe")
        svc.delegate("watanabe", "yamaguchi", valid_until=clock.now() + dt.timedelta(days=30))
        ev = svc.convene("yamaguchi", "team_lead", clock.now(), on_behalf_of="watanabe").event
        assert ("yamaguchi", "watanabe") == (ev.actor, ev.authority)
        types = [e.type for e in svc.peek.events()]
        assert "RecordingDelegated" in types

    def test_r_a1_never_in_their_own_name(self, svc):
        with pytest.raises(NotPermitted):
            svc.convene("yamaguchi", "team_lead", svc.clock.now())
        with pytest.raises(NotPermitted, match="only a member"):
            svc.file_item("yamaguchi", "x")

    def test_r_a1_delegation_past_its_end(self, svc, clock):
        svc.delegate("watanabe", "yamaguchi", valid_until=clock.now() + dt.timedelta(days=1))
        clock.advance(days=2)
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match="no delegation"):
            svc.convene("yamaguchi", "team_lead", clock.now(), on_behalf_of="watanabe")
        assert before == fingerprint(svc.store)

    def test_r_a1_ended_delegation_and_other_holders(self, svc, clock):
        d = svc.delegate("watanabe", "yamaguchi", valid_until=clock.now() + dt.timedelta(days=30))
        with pytest.raises(NotPermitted, match=r"no delegation from .*sato"):
            svc.convene("yamaguchi", "council", clock.now(), on_behalf_of="sato")
        svc.end_delegation("watanabe", d.event.data["id"])
        clock.advance(minutes=1)
        with pytest.raises(NotPermitted):
            svc.convene("yamaguchi", "team_lead", clock.now(), on_behalf_of="watanabe")
        assert "DelegationEnded" in [e.type for e in svc.peek.events()]

    def test_r_a1_only_to_a_clerk(self, svc, clock):
        """R-A1: recording is delegated to a secretariat clerk, not to anyone."""
        with pytest.raises(NotPermitted, match="secretariat clerk"):
            svc.delegate("watanabe", "nakamura", valid_until=clock.now() + dt.timedelta(days=1))
        svc.delegate("watanabe", "yamaguchi", valid_until=clock.now() + dt.timedelta(days=1))
        with pytest.raises(NotPermitted, match="only a secretariat clerk"):
            svc.convene("nakamura", "team_lead", clock.now(), on_behalf_of="watanabe")

    def test_r_a1_clerk_acts_with_the_holders_roles_only(self, svc, clock):
        """On the general manager's behalf a clerk cannot do what only the chief may."""
        svc.delegate("watanabe", "yamaguchi", valid_until=clock.now() + dt.timedelta(days=30))
        with pytest.raises(NotPermitted, match="only the HQ chief"):
            svc.convene("yamaguchi", "council", clock.now(), on_behalf_of="watanabe")
