"""An act's faster encoding writes and hashes the very bytes the reference encoding gives
(issue 21): the straight-line payload encoders, the sealing loop and the updates that write
only an item's or a meeting's changed columns.

A scripted scenario (every demo role in front of work, then an order settled and a meeting
moved) runs on SQLite and PostgreSQL; then every event's hash is recomputed by the reference
chain functions (`chain.envelope`, `chain.link`) from its payload as the reference loop
(`Event.payload`, the base class's) encodes its decoded event, and every item and meeting row
is compared with the full row `codec.item_row` / `codec.meeting_row` makes of its record.
"""

import datetime as dt
from typing import Any

from engine.core import events as ev
from engine.core.fold import settle
from engine.core.replay import Replayer
from store import codec
from store.chain import GENESIS, canonical, envelope, instant, link
from tests import work_world
from tests.conftest import raw


def _scenario(svc: Any) -> None:
    w = work_world.build(svc)
    svc.complete_order("nakamura", w.order, "集住地域を確認")
    svc.move("watanabe", w.team_lead_later, starts_at=svc.clock.now() + dt.timedelta(days=4), place="本部4階")
    svc.advance("yamamoto", 4, "skip")
    svc.advance("watanabe", 4, "withdraw")


def test_the_log_hashes_as_the_reference_encoding_says(svc: Any) -> None:
    _scenario(svc)
    events = svc.peek.stream()
    assert len(events) > 60
    prev = GENESIS
    for e in events:
        fact = ev.decode(e.type, e.schema, e.payload, e.item, e.meeting)
        if e.schema == type(fact).schema:
            assert canonical(ev.Event.payload(fact)) == fact.payload_text() == e.payload, e.type
        env = envelope(e.seq, instant(e.at), e.actor, e.authority, e.rulebook, e.item, e.meeting, e.type,
                       e.identity, e.schema, e.v)
        assert e.prev_hash == prev and link(prev, env, e.payload) == e.hash, e.seq
        prev = e.hash


def test_items_and_meetings_are_stored_as_the_full_rows_of_the_replayed_log(svc: Any) -> None:
    """Each row as the reference `item_row` / `meeting_row` encodes the record a replay of
    the log folds: an update that left out a changed column would leave the old value."""
    _scenario(svc)
    r = Replayer()
    for e in svc.peek.stream():
        r.step(e)
    settle(r.world)
    items, meetings = r.world.items, r.world.meetings
    assert len(items) > 10 and len(meetings) > 5
    assert any(m.minutes for m in meetings.values()) and any(m.changed_at for m in meetings.values())
    t = (lambda x: x) if svc.store.pg else codec.t_out
    stored = {r[0]: tuple(r) for r in raw(svc.store, "SELECT " + ", ".join(codec.ITEM_COLS) + " FROM item")}
    assert stored == {i.id: tuple(codec.item_row(i, t).values()) for i in items.values()}
    stored = {r[0]: tuple(r) for r in raw(svc.store, "SELECT " + ", ".join(codec.MEETING_COLS) + " FROM meeting")}
    assert stored == {m.id: tuple(codec.meeting_row(m, t).values()) for m in meetings.values()}


def test_an_update_writes_only_what_changed() -> None:
    at = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    from store.records import ItemRecord, Planned

    old = ItemRecord(7, "t", "hq", None, "filed", 1, "yamamoto", at, at)
    new = ItemRecord(7, "t", "hq", None, "pre_review", 2, "yamamoto", at, at + dt.timedelta(hours=1),
                     reminders=(Planned("k", "item:7", "2024-10-01", at, at + dt.timedelta(days=3)),))
    row = codec.item_changes(new, old)
    full = codec.item_row(new)
    assert {"id", "state", "version", "updated_at", "reminders", "next_due_at", "deadline_at"} == set(row)
    assert all(full[k] == v for k, v in row.items())
    assert {"id": 7} == codec.item_changes(old, old)
