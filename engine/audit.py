"""The auditor's checks: the hash chain, the sequence, and replayed state against stored state.

The chain pass streams the log (flat memory). The fold is `state.apply`, the very code
the live path uses, so a stored row that differs from the replayed one was altered
outside kaigi. Every problem names the first bad event.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ReplayMismatch
from engine.state import World, apply
from store.chain import GENESIS, envelope, instant, link
from store.records import EventRecord


@dataclass
class Verdict:
    ok: bool = True
    events: int = 0
    items: int = 0
    meetings: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None
    world: World = field(default_factory=World, repr=False)

    def fail(self, seq: int | None, problem: str) -> None:
        if self.ok:
            self.ok, self.first_bad_seq, self.problem = False, seq, problem

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "items": self.items, "meetings": self.meetings,
                "first_bad_seq": self.first_bad_seq, "problem": self.problem}


def verify(store: Any, fold: bool = True) -> Verdict:
    """Check the whole log; stop at the first broken link, else compare replayed state."""
    v = Verdict()
    prev, expect = GENESIS, 1
    for seq, at, actor, authority, rulebook, item, meeting, type_, payload, prev_hash, digest in store.stream_raw():
        if seq != expect:
            v.fail(expect if seq > expect else seq, f"sequence jumps from {expect - 1} to {seq}: events missing or inserted")
            return v
        if prev_hash != prev:
            v.fail(seq, f"event {seq} does not link to event {seq - 1} (prev_hash differs)")
            return v
        if link(prev, envelope(seq, instant(at), actor, authority, rulebook, item, meeting, type_), payload) != digest:
            v.fail(seq, f"event {seq} was altered: its content does not match its hash")
            return v
        if fold:
            ev = EventRecord(seq, at, actor, authority, rulebook, item, meeting, type_, json.loads(payload),
                             prev_hash, digest)
            try:
                apply(v.world, ev)
            except ReplayMismatch as err:
                v.fail(seq, str(err))
                return v
        prev, expect = digest, seq + 1
        v.events += 1
    head_seq, head_hash = store.head()
    if (head_seq, head_hash) != (v.events, prev):
        v.fail(v.events + 1 if head_seq > v.events else head_seq,
               f"the log ends at event {v.events} but its head says {head_seq}: events were removed")
        return v
    if fold:
        _compare(store, v)
    return v


def _compare(store: Any, v: Verdict) -> None:
    """Stored items and meetings must equal what the log replays to."""
    w = v.world
    stored_items = {i.id: i for i in store.items()}
    stored_meetings = {m.id: m for m in store.meetings()}
    v.items, v.meetings = len(w.items), len(w.meetings)
    for kind, replayed, stored in (("item", w.items, stored_items), ("meeting", w.meetings, stored_meetings)):
        for key in sorted(set(replayed) | set(stored)):
            if replayed.get(key) != stored.get(key):
                seq = _last_events(store).get((kind, key))
                what = "missing from the log" if key not in replayed else (
                    "missing from the database" if key not in stored else "differs from its replay")
                v.fail(seq, f"stored {kind} {key} {what}: the database was altered outside kaigi")
                return


def _last_events(store: Any) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for ev in store.events():
        if ev.item is not None:
            out[("item", ev.item)] = ev.seq
        if ev.meeting is not None:
            out[("meeting", ev.meeting)] = ev.seq
    return out
