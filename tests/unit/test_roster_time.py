"""People rotate: who holds a role is always asked at a time (R-P1 for who may organise)."""

import datetime as dt

import pytest

from engine.core.errors import NotPermitted
from tests.conftest import fingerprint


@pytest.fixture
def svc(fast):
    """The rule tests run on the memory store too (the fast tier), and on SQLite and PostgreSQL."""
    return fast


def rotate(svc, old, new, position, at, station=None):
    """`old` leaves `position` at `at` and `new` takes it from then (the chief organises)."""
    mine = [a for a in svc.assignments_of(old) if a.position == position and a.valid_until is None]
    svc.end_assignment("sato", mine[0].id, at=at)
    svc.assign("sato", new, position, station=station, valid_from=at)


class TestRotation:
    def test_role_is_asked_at_a_time(self, svc, clock):
        """Before the rotation the old holder convenes; after it, only the new one (R-S1)."""
        at = clock.now() + dt.timedelta(days=10)
        rotate(svc, "yamamoto", "kobayashi", "soshiki2_kacho", at)
        assert ["implementation_manager"] == [h.role for h in svc.holdings("yamamoto")]
        clock.advance(days=11)
        assert [] == [h.role for h in svc.holdings("yamamoto")]
        with pytest.raises(NotPermitted, match=r"now: .*kobayashi"):
            svc.advance("yamamoto", 1, "skip")
        assert "pre_review" == svc.advance("kobayashi", 1, "skip").event.data["to"]

    def test_r_p1_only_the_chief_organises_the_hq(self, svc):
        before = fingerprint(svc.store)
        with pytest.raises(NotPermitted, match=r"only the HQ chief \(本部長\) organises promotion HQ"):
            svc.assign("watanabe", "yoshida", "team_leader", team="koho")
        assert before == fingerprint(svc.store)
        svc.assign("sato", "yoshida", "team_leader", team="koho")
        assert "team_leader" in {h.role for h in svc.holdings("yoshida")}
