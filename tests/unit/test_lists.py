"""Lists that stay fast (issue 21, item 4): every list (`item list`, `/items`, `/api/items`,
the board, the overdue view) is answered by the store's indexed query over light rows, and
gives the items the old full read gave: for each filter, for the HQ and for a station member
(R-R1, their reports taken into the HQ path included), a page at a time with every item
exactly once. The scheduler's due queries go through `ix_item_due` / `ix_meeting_due`."""

import datetime as dt
from typing import Any

import pytest

from engine.app import finding
from engine.core import plan
from tests import visibility_world as vw

VIEWERS = (vw.HQ_MEMBER, vw.STATION_A, vw.STATION_B, vw.ENDED, None)


@pytest.fixture
def world(fast: Any) -> Any:
    """The R-R1 world, with more items: some overdue (filed 30 days ago), some not (today),
    in teams and pillars, at the HQ and at both stations."""
    k = fast
    seen = vw.build(k)
    for n in range(6):
        k.file_item("yamamoto", f"old hq {n}", team="chiiki" if n % 2 else None,
                    pillars=("policing",) if n % 3 == 0 else ())
    k.file_item("matsumoto", "old mito", station="mito")
    k.file_item("inoue", "old joso", station="joso", pillars=("liaison",))
    k.clock.advance(days=30)
    for n in range(4):
        k.file_item("yamamoto", f"new hq {n}", pillars=("policing",) if n % 2 else ())
    k.file_item("matsumoto", "new mito", station="mito")
    vw.end_post(k)
    return k, seen


def oracle(k: Any, viewer: str | None, *, state: str | None = None, body: str | None = None,
           team: str | None = None, overdue: bool = False, pillar: str | None = None,
           since: dt.datetime | None = None) -> list[int]:
    """The items as the lists chose them before: every full record, filtered in Python."""
    with k.read(viewer=viewer) as q:
        return [i.id for i in q.tx.items() if q.sees_item(i) and (state is None or i.state == state)
                and (body is None or i.body == body) and (team is None or i.team == team)
                and (not overdue or plan.overdue(i.reminders, q.now))
                and (pillar is None or pillar in i.pillars) and (since is None or i.updated_at >= since)]


FILTERS = [{}, {"overdue": True}, {"state": "filed"}, {"state": "received"}, {"body": "mito"},
           {"body": "mito", "overdue": True}, {"team": "chiiki"}, {"pillar": "policing"},
           {"pillar": "policing", "overdue": True}, {"pillar": "liaison"}, {"since": "new"}]


def _since(k: Any, f: dict[str, Any]) -> dict[str, Any]:
    return {**f, "since": k.clock.now() - dt.timedelta(hours=1)} if f.get("since") else f


@pytest.mark.parametrize("viewer", VIEWERS)
def test_every_list_gives_the_items_of_before_for_each_filter_R_R1(world: Any, viewer: str | None) -> None:
    """R-R1: each filter, each viewer: the API's pages, `item list`'s pages and the overdue
    list hold exactly the items the full read found, each once, in id order."""
    k, _ = world
    assert oracle(k, None, overdue=True) and oracle(k, None, overdue=False) != oracle(k, None, overdue=True)
    for f in FILTERS:
        f = _since(k, f)
        want = oracle(k, viewer, **f)
        with k.read(viewer=viewer) as q:
            station = f.get("body")
            pages, after = [], 0
            while True:  # the API: keyset pages of 2
                page, last = q.items_page(state=f.get("state"), station=station, overdue=f.get("overdue", False),
                                          since=f.get("since"), pillar=f.get("pillar"), after=after, limit=2)
                pages += [v["id"] for v in page]
                assert all(v["overdue"] for v in page) if f.get("overdue") else True
                if last is None:
                    break
                after = last
            assert pages == oracle(k, viewer, **{**f, "team": None}), (f, viewer)  # the API has no team filter
            if "since" in f:
                continue
            flt = finding.Filters(state=f.get("state"), station=station, team=f.get("team"),
                                  overdue=f.get("overdue", False), pillar=f.get("pillar"))
            found, offset = [], 0
            while True:  # `item list` and `/items`: offset pages of 3, with the total
                got = finding.find(q, flt, limit=3, offset=offset)
                assert got.total == len(want), (f, viewer)
                if not got.rows:
                    break
                found += [r["id"] for r in got.rows]
                offset += 3
            assert found == want, (f, viewer)
            if not f.get("pillar"):
                assert [v["id"] for v in q.items(state=f.get("state"), station=station, team=f.get("team"),
                                                 overdue=f.get("overdue", False))] == want


@pytest.mark.parametrize("viewer", VIEWERS)
def test_the_board_counts_and_orders_as_before_R_R1(world: Any, viewer: str | None) -> None:
    """Each column counts the items of its state the viewer may see and shows the first
    `shown`: the overdue first, then the latest changed (R-N3; among items one act changed,
    the later id first)."""
    k, seen = world
    with k.read(viewer=viewer) as q:
        cards = q.cards()
        assert [c["id"] for c in cards] == oracle(k, viewer)
        for shown in (1, 3, 60):
            for col in q.board(shown=shown):
                here = sorted((c for c in cards if c["state"] == col["key"]),
                              key=lambda c: (c["updated_at"], c["id"]), reverse=True)
                here = [c for c in here if c["overdue"]] + [c for c in here if not c["overdue"]]
                assert col["count"] == len(here)
                assert [c["id"] for c in col["cards"]] == [c["id"] for c in here[:shown]], (col["key"], shown)
    if viewer == vw.STATION_A:  # their report taken into the HQ path is theirs to see; the HQ's own is not
        ids = {c["id"] for col in q.board() for c in col["cards"]}
        assert seen.escalated in ids and seen.mito_item in ids and seen.hq_item not in ids
        assert seen.joso_item not in ids


def test_the_overdue_view_holds_the_overdue_items_a_member_may_see_R_N3(world: Any) -> None:
    k, _ = world
    for viewer in VIEWERS:
        with k.read(viewer=viewer) as q:
            got = {r["id"] for g in finding.overdue(q) for role in g["roles"] for r in role["items"]}
        assert got <= set(oracle(k, viewer, overdue=True))
        if viewer in (vw.HQ_MEMBER, None):
            assert got  # the old HQ items wait on a deadline long past
        with k.read(viewer=viewer) as q:  # a page at a time (`/overdue?page=`): each item on one page
            total, pages = finding.overdue_total(q), []
            for offset in range(0, total + 2, 2):
                pages.append({r["id"] for g in finding.overdue(q, limit=2, offset=offset)
                              for role in g["roles"] for r in role["items"]})
        assert total == len(oracle(k, viewer, overdue=True))
        assert set().union(*pages) == got and sum(map(len, pages)) == len(got)


def _plans(store: Any, sql: str, params: dict[str, Any], pg_seqscan_off: bool) -> str:
    with store.read() as tx:
        if store.pg:
            if pg_seqscan_off:
                tx.x("SET LOCAL enable_seqscan = off")
            return "\n".join(r[0] for r in tx.all("EXPLAIN " + sql, params))
        return "\n".join(str(r[-1]) for r in tx.all("EXPLAIN QUERY PLAN " + sql, params))


def test_the_schedulers_due_queries_use_their_indexes(svc: Any) -> None:
    """`tx.items(due_by=…)` and `tx.meetings(due_by=…)` (a scheduler pass) read through
    `ix_item_due` and `ix_meeting_due`, not the whole table; an overdue list through
    `ix_item_deadline` (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN, seq scans off,
    since with a few rows a scan is its honest choice)."""
    from store.records import ItemQuery

    store = svc.store
    seen: list[tuple[str, dict[str, Any]]] = []
    with store.read() as tx:
        real = tx.all

        def spy(sql: str, params: Any = None) -> list[Any]:
            seen.append((sql, params or {}))
            return real(sql, params)
        tx.all = spy
        now = svc.clock.now()
        tx.items(due_by=now, limit=500)
        tx.meetings(due_by=now)
        tx.item_rows(ItemQuery(overdue_at=now), limit=50)
        tx.item_rows(ItemQuery(overdue_at=now), after=2, limit=50)
    assert len(seen) == 4
    for (sql, params), index in zip(seen, ("ix_item_due", "ix_meeting_due", "ix_item_deadline", "ix_item_deadline"),
                                    strict=True):
        text = _plans(store, sql, params, True)
        assert index in text, (sql, text)
        assert "SCAN item\n" not in text + "\n" and "SCAN meeting\n" not in text + "\n", text


def test_a_scheduler_batch_reads_only_its_own_rows_the_earliest_due_first(svc: Any) -> None:
    """A batch of the scheduler (`items(due_by=…, limit=N)`) is the N due earliest, in id
    order, their ids taken from `ix_item_due` in its own order: not every due row read and
    sorted to keep N (a backlog of 10,000 due made each batch of 500 read all 10,000; on
    SQLite that is a `TEMP B-TREE` over the rows)."""
    store = svc.store
    now = svc.clock.now() + dt.timedelta(days=3650)  # every reminder of the demo's items is due
    with store.read() as tx:
        due = sorted(tx.items(due_by=now), key=lambda i: (i.next_due_at, i.id))
        assert len(due) >= 3
        batch = tx.items(due_by=now, limit=2)
        assert [i.id for i in batch] == sorted(i.id for i in due[:2])
        seen: list[tuple[str, dict[str, Any]]] = []
        real = tx.all

        def spy(sql: str, params: Any = None) -> list[Any]:
            seen.append((sql, params or {}))
            return real(sql, params)
        tx.all = spy
        tx.items(due_by=now, limit=500)
    text = _plans(store, *seen[0], True)
    assert "ix_item_due" in text, text
    if not store.pg:
        assert "TEMP B-TREE" not in text, text


def test_a_pass_with_nothing_due_reads_no_item(svc: Any) -> None:
    """A scheduler pass with nothing due asks the index, which answers none: the same cost
    at 100 items as at 100,000 (the bench: bench/lists.py, bench/reminders.py)."""
    with svc.store.read() as tx:
        assert tx.items(due_by=svc.clock.now() - dt.timedelta(days=3650)) == []
        assert tx.meetings(due_by=svc.clock.now() - dt.timedelta(days=3650)) == []


