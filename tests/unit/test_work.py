"""My work in the engine (`engine.app.work`, `Reader.my_work`): what is asked of each member
now, and only that, each entry with a form the rules accept (WEB.md, "Every act in the
browser"; issue 16)."""

import datetime as dt

import pytest

from engine.core.errors import DomainError
from tests import work_world as ww


@pytest.fixture
def world(fast):
    return fast, ww.build(fast)


def test_each_role_is_asked_exactly_its_work(world):
    """R-C1, R-C5, R-M3, R-M4, R-M5, R-P2, R-P3, R-S1, R-T5: each demo role's list names
    exactly the acts the rules ask of them in this world."""
    k, _ = world
    got = {login: {e["act"] for e in ww.acts(k, login)} for login in ww.EXPECTED}
    assert ww.EXPECTED == got


def test_every_offered_form_is_accepted_as_a_dry_run(world):
    """Only what is possible is offered: every choice of every form, submitted as a dry run
    by its member, is accepted by the act's own decision (R-M5, R-C3, R-M4, R-T5, R-P3)."""
    k, _ = world
    tried = 0
    for login in ww.EXPECTED:
        for e in ww.acts(k, login):
            for fields in ww.combos(e["form"]):
                try:
                    ww.submit_dry(k, login, e["form"]["method"], e["form"]["action"], fields)
                except DomainError as err:
                    pytest.fail(f"{login}: {e['act']} {fields} offered but refused: {err.render('en')}")
                tried += 1
    assert tried >= 20


def test_withdrawal_is_never_work(world):
    """A team leader who filed an item is not asked to withdraw it, nor the general manager
    to withdraw a council's decision: withdrawal is a secondary act, never a work item."""
    k, _w = world
    for login in ww.EXPECTED:
        for e in ww.acts(k, login):
            assert e["act"] != "withdraw"
            for c in e["form"]["choices"]:
                assert "withdraw" not in [o["value"] for o in c["options"]]
    assert [e["act"] for e in ww.acts(k, "nakamura")] == ["complete_order"]


def test_the_chief_sees_minutes_waiting_for_his_approval(world):
    """R-M4: minutes recorded by the general manager wait for the chair's approval, on the
    chair's list (and on no one else's), with their text."""
    k, w = world
    mine = [e for e in ww.acts(k, "sato") if e["act"] == "approve_minutes"]
    assert [e["meeting"] for e in mine] == [w.council_old]
    assert mine[0]["minutes_text"] == "推進本部対策会議 議事録 案"
    assert all(e["meeting"] != w.council_old for e in ww.acts(k, "watanabe") if e["act"] == "approve_minutes")
    k.approve_minutes("sato", w.council_old)
    assert "approve_minutes" not in {e["act"] for e in ww.acts(k, "sato")}


def test_steps_cite_only_sittings_the_rules_accept(fast):
    """R-C3, R-M1: a council that sat without its chief decides nothing, so no `decide` is
    offered there; R-M5: a meeting not yet started is not held, nor are its steps offered."""
    k = fast
    item = ww.walk_to(k, "council", title="議長欠席")
    m = k.convene("sato", "council", k.clock.now(), items=[item]).fact.meeting
    k.hold("watanabe", m, present=["watanabe", "suzuki"])
    assert not [e for e in ww.acts(k, "watanabe") if e.get("item") == item and e["kind"] == "step"]
    later = k.convene("watanabe", "team_lead", k.clock.now() + dt.timedelta(days=1), items=[]).fact.meeting
    assert "hold" not in {e["act"] for e in ww.acts(k, "watanabe") if e["meeting"] == later}
    k.clock.advance(days=1)
    assert "hold" in {e["act"] for e in ww.acts(k, "watanabe") if e["meeting"] == later}


def test_earliest_deadline_first_and_overdue_marked(world):
    """R-N3: entries come by deadline, earliest first, those without one last; an entry whose
    deadline has passed is marked overdue."""
    k, _w = world
    for login in ("sato", "watanabe", "yamamoto", "matsumoto"):
        dues = [e["deadline"] for e in ww.acts(k, login)]
        dated = [dt.datetime.fromisoformat(d) for d in dues if d]
        assert dated == sorted(dated)
        assert dues == [d for d in dues if d] + [d for d in dues if not d]
    first = ww.acts(k, "sato")[0]
    assert (first["act"], first["overdue"]) == ("receive", False)  # R-P3: three days to receive
    k.clock.advance(days=4)
    first = ww.acts(k, "sato")[0]
    assert (first["act"], first["overdue"]) == ("receive", True)


def test_a_station_sees_only_its_own_work(world):
    """R-R1: another station's chief is asked nothing about mito; mito's chief nothing of the HQ's."""
    k, w = world
    assert ww.acts(k, "inoue") == []
    assert {e["item"] for e in ww.acts(k, "matsumoto") if e["item"]} <= {w.st_filed, w.st_tabled}


def test_convening_is_asked_only_where_no_sitting_is_called(world):
    """A pre-review item is asked of the general manager as an agenda entry when a team-lead
    meeting is already called, not as a second meeting to convene (R-M3, R-T1)."""
    k, w = world
    mine = ww.acts(k, "watanabe")
    assert not [e for e in mine if e["act"] == "convene"]
    agenda = next(e for e in mine if e["act"] == "agenda")
    assert agenda["meeting"] == w.team_lead_later
    assert [o["value"] for o in agenda["form"]["choices"][0]["options"]] == [3]
    conv = [e for e in ww.acts(k, "yamamoto") if e["act"] == "convene"]
    assert [(e["item"], e["form"]["hidden"]) for e in conv] == [(4, {"kind": "staff", "item": 4})]
