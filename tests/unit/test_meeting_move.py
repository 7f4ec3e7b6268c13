"""A convened meeting moved to another time or place before it starts (R-M6, issue 17).

Only whoever may convene that kind of meeting at its body moves it (R-C3, R-T3, R-S1, R-P2;
a clerk under delegation, R-A1); only a convened meeting that has not started; to a time
still to come; something must change. The move is an act in the log: the meeting's time,
place, version and `changed_at` follow, its reminders are planned again, its calendar entry
says the new time and place with a higher SEQUENCE, and `audit verify` re-decides it.
Every store (memory, SQLite, PostgreSQL through `kaigi_append`).
"""

import datetime as dt

import pytest

from engine.core.errors import BadInput, NotFound, NotPermitted, NotPossible
from tests.conftest import fingerprint, walk_to

DAY = dt.timedelta(days=1)


@pytest.fixture
def svc(fast):
    return fast


def council(svc, days=3, **kw):
    return svc.convene("sato", "council", svc.clock.now() + days * DAY, place="本部4階大会議室", **kw).fact.meeting


def ics(svc, m):
    with svc.read() as q:
        return q.ics(m, svc.clock.now())


def test_r_m6_the_convener_moves_time_and_place(svc):
    """R-M6: the chief moves his council (R-C3): time, place, version, changed_at, the calendar."""
    m = council(svc)
    was = svc.meeting(m)
    assert "SEQUENCE:0" in ics(svc, m) and "LOCATION:本部4階大会議室" in ics(svc, m)
    svc.clock.advance(hours=2)
    new_at = svc.clock.now() + 5 * DAY
    out = svc.move("sato", m, starts_at=new_at, place="第二会議室", reason="本部長の日程変更")
    assert out.event.type == "MeetingMoved" and out.event.data["reason"] == "本部長の日程変更"
    now = svc.meeting(m)
    assert (now.starts_at, now.place, now.status) == (new_at, "第二会議室", "convened")
    assert now.version == was.version + 1 and now.changed_at == svc.clock.now()
    text = ics(svc, m)
    assert "LOCATION:第二会議室" in text and "SEQUENCE:1" in text
    assert "DTSTART:" + new_at.strftime("%Y%m%dT%H%M%SZ") in text
    with svc.read() as q:
        view = q.meeting(m, "en")
    assert view["place"] == "第二会議室" and dt.datetime.fromisoformat(view["starts_at"]) == new_at
    assert svc.verify().ok


def test_r_m6_the_reminders_are_planned_for_the_new_time(svc):
    """R-M6, R-N5: the attendees' reminder the day before follows the new time, and the
    move itself is a change their notice goes out for (an update, due at the move)."""
    m = council(svc)
    before = max(p.due_at for p in svc.meeting(m).reminders)
    svc.move("sato", m, starts_at=svc.meeting(m).starts_at + 7 * DAY)
    after = sorted(p.due_at for p in svc.meeting(m).reminders)
    assert after == [svc.meeting(m).changed_at, before + 7 * DAY]


def test_r_m6_one_of_time_or_place_keeps_the_other(svc):
    m = council(svc)
    at = svc.meeting(m).starts_at
    svc.move("sato", m, place="署長室")
    assert (svc.meeting(m).starts_at, svc.meeting(m).place) == (at, "署長室")
    svc.move("sato", m, starts_at=at + DAY)
    assert (svc.meeting(m).starts_at, svc.meeting(m).place) == (at + DAY, "署長室")
    svc.move("sato", m, place="")  # the place may be cleared
    assert svc.meeting(m).place == "" and svc.meeting(m).version == 4
    assert svc.verify().ok


def test_r_m6_the_items_on_the_agenda_see_the_new_time(svc):
    item = walk_to(svc, "pre_review")
    m = svc.convene("watanabe", "team_lead", svc.clock.now() + 2 * DAY, items=[item]).fact.meeting
    new_at = svc.clock.now() + 4 * DAY
    svc.move("watanabe", m, starts_at=new_at)  # the general manager convenes it (R-T3)
    assert [s.starts_at for s in svc.item(item).sittings if s.meeting == m] == [new_at]
    assert svc.verify().ok


def test_r_m6_r_c3_only_who_may_convene_moves_it(svc):
    """R-M6, R-C3: the deputy chief, the general manager, a team leader are refused; nothing changes."""
    m = council(svc)
    before = fingerprint(svc.store)
    for login in ("suzuki", "watanabe", "yamamoto", "nakamura"):
        with pytest.raises(NotPermitted, match=r"only the HQ chief \(本部長\) moves an HQ council"):
            svc.move(login, m, place="別室")
    assert fingerprint(svc.store) == before
    with svc.store.read() as tx:
        refused = [e for e in tx.stream() if e.type == "ActRefused"]
    assert refused and refused[-1].data["act"] == "move"


def test_r_m6_r_t3_the_general_manager_moves_the_team_lead_meeting_not_the_chief(svc):
    m = svc.convene("watanabe", "team_lead", svc.clock.now() + DAY).fact.meeting
    with pytest.raises(NotPermitted, match="R-T3"):
        svc.move("sato", m, place="x")
    svc.move("watanabe", m, place="刑事部会議室")
    assert svc.meeting(m).place == "刑事部会議室"


def test_r_m6_r_a1_a_clerk_moves_it_under_delegation(svc):
    """R-A1: the secretariat clerk records the chief's move under his delegation, not without."""
    m = council(svc)
    with pytest.raises(NotPermitted, match="R-A1"):
        svc.move("yamaguchi", m, place="別室", on_behalf_of="sato")
    svc.delegate("sato", "yamaguchi", valid_until=svc.clock.now() + 30 * DAY)
    out = svc.move("yamaguchi", m, place="別室", on_behalf_of="sato")
    assert (out.event.actor, out.event.authority) == ("yamaguchi", "sato")
    assert svc.verify().ok


def test_r_m6_a_meeting_that_started_is_not_moved(svc):
    m = council(svc, days=1)
    svc.clock.advance(days=1)
    before = fingerprint(svc.store)
    with pytest.raises(NotPossible, match=r"started .*R-M6"):
        svc.move("sato", m, starts_at=svc.clock.now() + DAY)
    assert fingerprint(svc.store) == before


def test_r_m6_a_held_or_cancelled_meeting_is_not_moved(svc):
    m = council(svc, days=1)
    svc.clock.advance(days=1)
    svc.hold("sato", m)
    c = council(svc)
    svc.cancel("sato", c, reason="延期")
    before = fingerprint(svc.store)
    with pytest.raises(NotPossible, match=r"is held; only a convened meeting can be moved \(R-M6\)"):
        svc.move("sato", m, starts_at=svc.clock.now() + DAY)
    with pytest.raises(NotPossible, match=r"is cancelled; only a convened meeting can be moved \(R-M6\)"):
        svc.move("sato", c, starts_at=svc.clock.now() + 5 * DAY)
    assert fingerprint(svc.store) == before


def test_r_m6_a_past_time_or_no_change_is_refused(svc):
    m = council(svc)
    at = svc.meeting(m).starts_at
    before = fingerprint(svc.store)
    with pytest.raises(NotPossible, match=r"has passed; give a time still to come \(R-M6\)"):
        svc.move("sato", m, starts_at=svc.clock.now() - dt.timedelta(minutes=1))
    with pytest.raises(NotPossible, match=r"has passed"):
        svc.move("sato", m, starts_at=svc.clock.now())
    with pytest.raises(NotPossible, match=r"keeps its time and place; give a new time or place \(R-M6\)"):
        svc.move("sato", m, starts_at=at, place="本部4階大会議室")
    with pytest.raises(NotPossible, match="keeps its time and place"):
        svc.move("sato", m)
    with pytest.raises(BadInput, match="time zone"):
        svc.move("sato", m, starts_at=dt.datetime(2030, 1, 1, 10, 0))
    assert fingerprint(svc.store) == before


@pytest.mark.parametrize("place, reason", [("一行目\n二行目", ""), ("\u202e室議会", ""), ("x" * 201, ""),
                                           ("別室", "理由\n二行目"), ("別室", "\u202e逆"), ("別室", "x" * 501)])
def test_r_m6_place_and_reason_are_one_line_of_plain_text(svc, place, reason):
    m = council(svc)
    before = fingerprint(svc.store)
    with pytest.raises(BadInput):
        svc.move("sato", m, place=place, reason=reason)
    assert fingerprint(svc.store) == before


def test_r_m6_r_r1_a_hidden_meeting_is_absent(svc):
    """R-R1: a station chief moving the HQ council is told it does not exist, as for an id never used."""
    m = council(svc)
    before = fingerprint(svc.store)
    with pytest.raises(NotFound) as hidden:
        svc.move("matsumoto", m, place="水戸署")
    with pytest.raises(NotFound) as never:
        svc.move("matsumoto", 999_999, place="水戸署")
    assert str(hidden.value).replace(str(m), "#") == str(never.value).replace("999999", "#")
    assert fingerprint(svc.store) == before


def test_r_m6_replay_re_decides_the_move(svc):
    """`audit verify` re-runs the move's decision: a move, then the sitting at the new time."""
    m = council(svc, days=1)
    svc.move("sato", m, starts_at=svc.clock.now() + 2 * DAY, place="第二会議室")
    svc.clock.advance(days=2)
    svc.hold("sato", m)
    assert svc.meeting(m).status == "held"
    v = svc.verify()
    assert v.ok, v.problem
