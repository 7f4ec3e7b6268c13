"""Acts read and decide outside the head, then check under it (issue 21): attacked here.

An act first decides on a read snapshot, the store noting what it read; under the head the
store checks that none of it changed, and the act decides again there, at the time the head
was taken. These tests put something between the two (another writer's act, a roster change,
the clock moving) and look at what the log says: never two acts decided on the same state,
never a decision on a roster that has changed, never a time other than the act's own.

Every store (memory, SQLite, PostgreSQL); the path is switched on where the store would not
take it by itself (`decides_outside_head`: PostgreSQL's default), so each is held to it.
"""

import datetime as dt
import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from engine.core.errors import DomainError, NotPermitted
from tests.conftest import walk_to


@pytest.fixture
def hq(fast: Any) -> Any:
    fast.store.inner.decides_outside_head = True
    return fast


def between(k: Any, monkeypatch: pytest.MonkeyPatch, step: Callable[[], None]) -> list[Any]:
    """Run `step` after an act has decided on its snapshot and before it takes the head;
    the plans made are returned (a None would mean the act never decided outside)."""
    plans: list[Any] = []
    plan = k._plan

    def planned(*args: Any, **kw: Any) -> Any:
        out = plan(*args, **kw)
        plans.append(out)
        step()
        return out
    monkeypatch.setattr(k, "_plan", planned)
    return plans


def advances(k: Any, item: int) -> list[dict[str, Any]]:
    return [e.data for e in k.peek.events(item=item) if e.type == "ItemAdvanced"]


def race(k: Any, monkeypatch: pytest.MonkeyPatch, *acts: Callable[[], Any]) -> list[Any]:
    """Run the acts in threads, each deciding on its snapshot before any takes the head."""
    gate = threading.Barrier(len(acts), timeout=20)
    plans = between(k, monkeypatch, gate.wait)
    out: list[Any] = [None] * len(acts)

    def run(n: int) -> None:
        try:
            out[n] = acts[n]()
        except DomainError as err:
            out[n] = err
    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(acts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(plans) == len(acts) and all(p is not None for p in plans), plans
    return out


def test_two_advances_of_one_item_from_one_state_are_not_both_appended(hq, monkeypatch):
    item = walk_to(hq, "filed")
    out = race(hq, monkeypatch, lambda: hq.advance("yamamoto", item, "skip"),
               lambda: hq.advance("yamamoto", item, "skip"))
    steps = advances(hq, item)
    assert [s["from"] for s in steps].count("filed") == 1, (steps, out)
    for before, after in itertools.pairwise(steps):  # each step starts where the last ended
        assert after["from"] == before["to"]
    assert hq.item(item).state == steps[-1]["to"]


def test_the_second_of_two_racing_acts_is_decided_again_on_what_the_first_left(hq, monkeypatch):
    """Both decided on `filed`. Whichever takes the head second is decided again under it: a
    withdrawal after the skip starts from the skip's state; a skip after the withdrawal is
    refused (a withdrawn item moves no more), not appended from `filed`."""
    item = walk_to(hq, "filed")
    skip, withdraw = race(hq, monkeypatch, lambda: hq.advance("yamamoto", item, "skip"),
                          lambda: hq.advance("watanabe", item, "withdraw"))
    steps = advances(hq, item)
    assert not isinstance(withdraw, Exception), withdraw
    assert hq.item(item).state == "withdrawn" == steps[-1]["to"]
    if isinstance(skip, Exception):  # the withdrawal went first
        assert [s["from"] for s in steps] == ["filed"], steps
        assert "withdrawn" in skip.render("en"), skip.render("en")
    else:
        assert [s["from"] for s in steps] == ["filed", steps[0]["to"]], steps


def test_two_items_filed_at_once_get_two_ids(hq, monkeypatch):
    out = race(hq, monkeypatch, lambda: hq.file_item("yamamoto", "one"), lambda: hq.file_item("yamamoto", "two"))
    ids = sorted(o.fact.item for o in out)
    assert ids[0] != ids[1]
    assert sorted(hq.item(i).title for i in ids) == ["one", "two"]


def test_a_roster_change_between_the_read_and_the_append_is_noticed(hq, monkeypatch):
    """yamamoto decides a skip while he holds his post; before his act takes the head his post
    ends. The act is decided again under the head, on the roster as it is: refused."""
    item = walk_to(hq, "filed")
    with hq.read() as q:
        posts = [a for a in q.w.assignments.values() if a.login == "yamamoto" and a.valid_until is None]
    before = len(hq.peek.events())

    def end_posts() -> None:
        monkeypatch.undo()  # the organiser's own acts decide as usual
        for a in posts:
            hq.end_assignment("sato", a.id)
    plans = between(hq, monkeypatch, end_posts)
    with pytest.raises(NotPermitted):
        hq.advance("yamamoto", item, "skip")
    assert posts and plans and plans[0] is not None
    with hq.read() as q:
        assert all(q.w.assignments[a.id].valid_until is not None for a in posts)  # the posts did end
    assert hq.item(item).state == "filed"
    assert [] == advances(hq, item)
    assert len(hq.peek.events()) > before  # the ends, and the refusal kept as an ActRefused


def test_an_act_is_decided_at_the_time_the_head_was_taken(hq, monkeypatch):
    """The clock moves an hour between the decision on the snapshot and the head: a delegation
    made 'from now' starts when the act is recorded, not when it was first decided."""
    plans = between(hq, monkeypatch, lambda: hq.clock.advance(hours=1))
    out = hq.delegate("watanabe", "yamaguchi", valid_until=hq.clock.now() + dt.timedelta(days=30))
    assert plans and plans[0] is not None
    assert out.fact.valid_from == out.event.at == hq.clock.now()


def test_a_change_to_any_one_of_several_records_read_is_noticed_under_the_head(svc):
    """The store's own check, on SQLite and PostgreSQL: a decision that read three items, a
    meeting and the largest item id is unchanged under the head while nothing moved, and
    changed once any one of the items is advanced by another act (the re-read of several
    records of a kind is one statement with the ids as a parameter)."""
    store = svc.store.inner
    meeting = svc.convene("yamamoto", "staff", starts_at=svc.clock.now(), items=[1], attendees=["nakamura"]).fact.meeting
    with store.read() as tx:
        tx.track()
        for i in (1, 2, 3):
            assert tx.item(i) is not None
        assert tx.meeting(meeting) is not None and tx.max_id("item") >= 3
        seen = tx.read_set()
    assert {k for k, _ in seen.rows} == {"item", "meeting", "max"} and len(seen.rows) == 5
    with store.act(expect=seen, rollback=True) as tx:
        assert tx.unchanged
    svc.advance("yamamoto", 2, "skip")
    with store.act(expect=seen, rollback=True) as tx:
        assert not tx.unchanged
