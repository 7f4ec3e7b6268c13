"""Every (role, act) pair: allowed exactly where RULES.md allows, refused everywhere else.

The expected table below is written from RULES.md, not computed from the rulebook, so it
checks the rulebook data as well as the engine. A refused act must leave the database
exactly as it was (R-C3, R-C5, R-T3, R-S1 and the withdraw rule).
"""

import pytest

from engine.core.errors import NotPermitted
from tests.conftest import fingerprint, held, walk_to

# one demo member per role
ROLES = {
    "chief": "sato", "deputy_chief": "suzuki", "staff_officer": "takahashi", "general_manager": "watanabe",
    "implementation_manager": "yamamoto", "team_leader": "nakamura", "team_member": "yoshida",
    "secretariat": "yamaguchi", "station_chief": "matsumoto", "station_member": "hayashi",
}
HQ_MEMBERS = {"chief", "deputy_chief", "staff_officer", "general_manager", "implementation_manager",
              "team_leader", "team_member"}
COUNCIL_RECORDERS = {"chief", "general_manager"}  # R-C3 (chair), R-C5 (general manager)


@pytest.fixture
def svc(fast):
    """The rule tests run on the memory store too (the fast tier), and on SQLite and PostgreSQL."""
    return fast


def _item_in(state):
    def prepare(svc):
        return walk_to(svc, state, filer="sasaki")  # filed by a team member outside the table
    return prepare


def _meeting(kind, convener, state="council", **kw):
    def prepare(svc):
        item = walk_to(svc, state, filer="sasaki")
        return item, held(svc, convener, kind, [item], **kw)
    return prepare


def _convened(kind, convener, **kw):
    def prepare(svc):
        return svc.convene(convener, kind, svc.clock.now(), **kw).event.meeting
    return prepare


ACTS = {
    # act: (prepare, do, roles allowed)
    "file an HQ item": (lambda svc: None, lambda svc, who, _: svc.file_item(who, "x"), HQ_MEMBERS),
    "convene staff": (lambda svc: None, lambda svc, who, _: svc.convene(
        who, "staff", svc.clock.now(), attendees=["yoshida"]), {"implementation_manager"}),
    "convene team_lead": (lambda svc: None, lambda svc, who, _: svc.convene(
        who, "team_lead", svc.clock.now()), {"general_manager"}),
    "convene council": (lambda svc: None, lambda svc, who, _: svc.convene(
        who, "council", svc.clock.now()), {"chief"}),
    "hold staff": (_convened("staff", "yamamoto", attendees=["yoshida"]),
                   lambda svc, who, m: svc.hold(who, m), {"implementation_manager"}),
    "hold team_lead": (_convened("team_lead", "watanabe"), lambda svc, who, m: svc.hold(who, m),
                       {"general_manager"}),
    "hold council": (_convened("council", "sato"), lambda svc, who, m: svc.hold(who, m), COUNCIL_RECORDERS),
    "cancel council": (_convened("council", "sato"), lambda svc, who, m: svc.cancel(who, m), {"chief"}),  # R-C3
    "skip": (_item_in("filed"), lambda svc, who, i: svc.advance(who, i, "skip"), {"implementation_manager"}),
    "refer in staff": (_meeting("staff", "yamamoto", "filed", attendees=["yoshida"]),
                       lambda svc, who, im: svc.advance(who, im[0], "refer", meeting=im[1]),
                       {"implementation_manager"}),
    "withdraw": (_item_in("pre_review"), lambda svc, who, i: svc.advance(who, i, "withdraw"), {"general_manager"}),
}
for trig in ("refer", "return"):
    ACTS[f"{trig} in team_lead"] = (
        _meeting("team_lead", "watanabe", "pre_review"),
        lambda svc, who, im, t=trig: svc.advance(who, im[0], t, meeting=im[1]), {"general_manager"})
for trig in ("decide", "return", "defer", "reject"):
    ACTS[f"{trig} in council"] = (
        _meeting("council", "sato", "council"),
        lambda svc, who, im, t=trig: svc.advance(who, im[0], t, meeting=im[1]), COUNCIL_RECORDERS)
for trig in ("check", "close"):
    ACTS[f"{trig} in council"] = (
        _meeting("council", "sato", "in_progress"),
        lambda svc, who, im, t=trig: svc.advance(who, im[0], t, meeting=im[1]), COUNCIL_RECORDERS)


@pytest.mark.parametrize("act", sorted(ACTS))
def test_authorization_matrix(svc, act):
    """Each role tries the act on a fresh target; allowed roles succeed, the rest change nothing."""
    prepare, do, allowed = ACTS[act]
    results = {}
    for role, login in ROLES.items():
        target = prepare(svc)
        before = fingerprint(svc.store)
        try:
            out = do(svc, login, target)
        except NotPermitted:
            results[role] = False
            assert before == fingerprint(svc.store), f"{role} was refused {act} but the database changed"
        else:
            results[role] = True
            assert out.event is not None
            assert out.event.hash == svc.peek.events(after=out.event.seq - 1)[0].hash  # it was written
    assert {r for r, ok in results.items() if ok} == allowed
