"""Regressions found by review, one test each (the finding is in the docstring)."""

import datetime as dt
import json

import dataclasses

import pytest

from engine.app.audit import import_or_verdict, read_export, verify
from engine.core.errors import NotPermitted, NotPossible
from store import open_store
from store.chain import canonical
from store.db import upgrade
from tests.conftest import Peek, held, raw, walk_to


def test_r_t1_a_meeting_that_sat_before_the_item_came_back_cannot_move_it(svc):
    """A staff meeting that sat before the team-lead meeting returned the item does not refer it again."""
    m_staff = held(svc, "yamamoto", "staff", [1], attendees=["yoshida"])
    svc.advance("yamamoto", 1, "refer", meeting=m_staff)
    m_lead = held(svc, "watanabe", "team_lead", [1])
    svc.clock.advance(minutes=5)
    svc.advance("watanabe", 1, "return", meeting=m_lead)
    # the staff meeting that sat earlier is spent for this item: it needs a new sitting
    with pytest.raises(NotPossible, match="before item 1 became filed"):
        svc.advance("yamamoto", 1, "refer", meeting=m_staff)


def test_verify_catches_an_edited_roster(svc):
    """A hand-made assignment would let a team leader act as chief: verify must flag it."""
    raw(svc.store.inner, "UPDATE assignment SET position = 'keisatsu_honbucho' WHERE login = 'nakamura'")
    v = verify(svc.store)
    assert not v.ok and "stored assignment" in str(v.problem)


def test_r_c2_named_attendees_add_to_the_members(svc):
    """R-C2: --attendee cannot leave a council member out; members always attend."""
    m = svc.convene("sato", "council", svc.clock.now(), attendees=["suzuki"]).event.data
    assert {"takahashi", "tanaka", "ito", "watanabe", "yamamoto", "suzuki", "sato"} == set(m["attendees"])


def test_r_p1_only_the_hq_chief_appoints_a_station_chief(svc):
    """R-P1: a station chief organises the station HQ but does not appoint its head."""
    with pytest.raises(NotPermitted, match="appoints or removes the head"):
        svc.assign("matsumoto", "hayashi", "keisatsu_shocho", station="mito")
    svc.assign("sato", "hayashi", "keisatsu_shocho", station="mito")


def test_held_meeting_without_outcome_restarts_the_wait(svc, clock):
    """A team-lead meeting sat but did not deal with the item: its reminder comes back."""
    item = walk_to(svc, "pre_review")
    held(svc, "watanabe", "team_lead", [item])
    rem = [r for r in svc.reminders() if r.item == item]
    assert [("team_lead_meeting", clock.now() + dt.timedelta(days=14))] == [(r.key, r.due_at) for r in rem]


def test_cancelled_station_council_leaves_a_reminder(svc):
    """R-P2: the station council called off: the station chief is still reminded to report."""
    item = svc.file_item("inoue", "x", station="joso").fact.item
    m = svc.convene("inoue", "station_council", svc.clock.now() + dt.timedelta(days=3), items=[item]).fact.meeting
    assert [] == [r for r in svc.reminders() if r.item == item]
    svc.cancel("inoue", m)
    assert ["station_report"] == [r.key for r in svc.reminders() if r.item == item]


def test_orders_of_a_withdrawn_item_stop_reminding(svc):
    """R-T5: an order on an item that was withdrawn waits for nothing."""
    item = walk_to(svc, "pre_review")
    o = svc.issue_order("watanabe", item, "nakamura").event.data["id"]
    svc.advance("watanabe", item, "withdraw")
    assert [] == [r for r in svc.reminders() if r.item == item]
    with pytest.raises(NotPossible, match="wait for nothing"):
        svc.complete_order("nakamura", o, "late")


def test_an_item_named_twice_on_an_agenda(svc):
    item = svc.file_item("matsumoto", "x", station="mito").fact.item
    m = svc.convene("matsumoto", "station_council", svc.clock.now(), items=[item, item]).fact.meeting
    assert (item,) == svc.meeting(m).items and "station_council" == svc.item(item).state
    assert verify(svc.store).ok


def test_a_failed_import_writes_nothing(svc, tmp_path):
    """All or nothing: an export altered at event 41 leaves the target database empty."""
    from engine.app.audit import export_rows, write_export
    import io

    buf = io.StringIO()
    write_export(export_rows(svc.store), "jsonl", buf)
    lines = buf.getvalue().splitlines()
    doc = json.loads(lines[40])
    doc["actor"] = "sato" if doc["actor"] != "sato" else "nakamura"
    lines[40] = json.dumps(doc, ensure_ascii=False)
    url = f"sqlite:///{tmp_path}/t.db"
    upgrade(url)
    target = open_store(url)
    v = import_or_verdict(target, read_export("\n".join(lines), "jsonl"))
    assert (False, 41) == (v.ok, v.first_bad_seq)
    assert (0, []) == (Peek(target).head().seq, Peek(target).events())


def test_replay_refuses_roster_set_up_by_system_after_people_acted(svc):
    """Only `kaigi init` sets the roster up in the system's name, before anyone acts."""
    from engine.core.replay import Replayer

    r = Replayer()
    events = svc.peek.stream()
    for ev in events:
        assert r.step(ev).allowed or ev.type == "ActRefused"
    forged = next(e for e in events if e.type == "RoleAssigned")  # a system RoleAssigned, replayed after the acts
    late = dataclasses.replace(forged, seq=events[-1].seq + 1, at=events[-1].at, rulebook="2024-10-01",
                               payload=canonical({**forged.data, "id": 999}), prev_hash=events[-1].hash, hash="x")
    step = r.step(late)
    assert not step.allowed and "set up by `kaigi init` before anyone acts" in str(step.reason)
