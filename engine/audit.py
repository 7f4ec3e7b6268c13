"""The auditor's checks: the hash chain, the sequence, every act re-decided, and stored
state equal to replayed state; plus checkpoints, export and import.

The chain pass streams the log (flat memory). The replay uses `replay.Replayer`, which
asks the very decision code the service used; a stored row that differs from its replay
was altered outside kaigi. Every problem names the first bad event.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from engine.errors import BadInput, IntegrityFailure
from engine.replay import Replayer, Step
from store.chain import GENESIS, canonical, envelope, link
from store.records import EventRecord


@dataclass
class Verdict:
    ok: bool = True
    events: int = 0
    items: int = 0
    meetings: int = 0
    refused: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None
    head: tuple[int, str] = (0, GENESIS)
    replayer: Replayer = field(default_factory=Replayer, repr=False)

    def fail(self, seq: int | None, problem: str) -> None:
        if self.ok:
            self.ok, self.first_bad_seq, self.problem = False, seq, problem

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "items": self.items, "meetings": self.meetings,
                "refused_attempts": self.refused, "first_bad_seq": self.first_bad_seq, "problem": self.problem,
                "head": {"seq": self.head[0], "hash": self.head[1]}}


def parse_checkpoint(text: str) -> tuple[int, str]:
    seq, _, digest = text.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise BadInput(f"a checkpoint is SEQ:HASH as `kaigi audit checkpoint` prints it; got {text!r}")
    return int(seq), digest


def verify(store: Any, *, replay: bool = True, checkpoints: Iterable[tuple[int, str]] = ()) -> Verdict:
    """Check the whole log; stop at the first bad event. `replay=False`: the chain pass only."""
    v = Verdict()
    marks = dict(checkpoints)
    prev, expect = GENESIS, 1
    for row in store.stream_raw():
        seq, at_text, actor, authority, rulebook, item, meeting, type_, payload, prev_hash, digest = row
        if seq != expect:
            v.fail(min(seq, expect), f"sequence jumps from {expect - 1} to {seq}: events missing or inserted")
            return v
        if prev_hash != prev:
            v.fail(seq, f"event {seq} does not link to event {seq - 1} (prev_hash differs)")
            return v
        if link(prev, envelope(seq, at_text, actor, authority, rulebook, item, meeting, type_), payload) != digest:
            v.fail(seq, f"event {seq} was altered: its content does not match its hash")
            return v
        if seq in marks and marks[seq] != digest:
            v.fail(seq, f"event {seq} differs from the checkpoint kept for it: the log was rewritten at or before it")
            return v
        if replay:
            step = v.replayer.step(_record(row))
            if not step.allowed and type_ != "ActRefused":
                v.fail(seq, f"event {seq} ({type_} by {actor}) fails re-decision: {step.reason}")
                return v
            v.refused += type_ == "ActRefused"
        prev, expect = digest, seq + 1
        v.events += 1
    v.head = (v.events, prev)
    missing = [s for s in marks if s > v.events]
    if missing:
        v.fail(v.events + 1, f"the log ends at event {v.events}, but a checkpoint was kept for event {min(missing)}")
        return v
    head_seq, head_hash = store.head()
    if head_seq > v.events:
        v.fail(v.events + 1, f"the log ends at event {v.events} but its head says {head_seq}: events were removed")
        return v
    if (head_seq, head_hash) != (v.events, prev):
        v.fail(head_seq + 1, f"the head says the log ends at event {head_seq}, but it goes on to {v.events}: "
                             f"events were added behind kaigi's back")
        return v
    if replay:
        _compare(store, v)
    return v


def _record(row: tuple[Any, ...]) -> EventRecord:
    import datetime as dt

    seq, at_text, actor, authority, rulebook, item, meeting, type_, payload, prev_hash, digest = row
    return EventRecord(seq, dt.datetime.fromisoformat(at_text), actor, authority, rulebook, item, meeting, type_,
                       json.loads(payload), prev_hash, digest)


def _compare(store: Any, v: Verdict) -> None:
    """Stored items, meetings, orders and reminders must equal what the log replays to."""
    w = v.replayer.world
    v.items, v.meetings = len(w.items), len(w.meetings)
    # everything a decision reads: an edited roster or delegation would let someone act
    tables = (("item", w.items, {i.id: i for i in store.items()}),
              ("meeting", w.meetings, {m.id: m for m in store.meetings()}),
              ("order", w.orders, {o.id: o for o in store.orders()}),
              ("reminder", w.reminders, {r.id: r for r in store.reminders(status=None)}),
              ("member", w.members, {m.login: m for m in store.members()}),
              ("assignment", w.assignments, {a.id: a for a in store.assignments()}),
              ("delegation", w.delegations, {d.id: d for d in store.delegations()}),
              ("body", w.bodies, {b.key: b for b in store.bodies()}),
              ("rulebook", w.adoptions, {a.version: a for a in store.adoptions()}))
    for kind, replayed, stored in tables:
        for key in sorted(set(replayed) | set(stored)):
            if replayed.get(key) != stored.get(key):
                what = "missing from the log" if key not in replayed else (
                    "missing from the database" if key not in stored else "differs from its replay")
                v.fail(_last_touch(store, kind, key, stored.get(key) or replayed.get(key)),
                       f"stored {kind} {key} {what}: the database was altered outside kaigi")
                return


def _last_touch(store: Any, kind: str, key: Any, record: Any) -> int | None:
    """The last event about the altered row: where an auditor starts looking."""
    if kind in ("member", "assignment", "delegation", "body", "rulebook"):
        field = {"member": "login", "body": "key", "rulebook": "version"}.get(kind, "id")
        hits = [e for e in store.events() if e.payload.get(field) == key
                or (kind == "member" and e.payload.get("login") == key)]
        return hits[-1].seq if hits else None
    if kind == "item":
        events = store.events(item=key)
    elif kind == "meeting":
        events = store.events(meeting=key)
    else:
        item = getattr(record, "item", None)
        events = [e for e in (store.events(item=item) if item else store.events())
                  if e.payload.get("id") == key or e.item == key]
    return events[-1].seq if events else None


def replay_item(store: Any, item_id: int, at: Any = None) -> tuple[list[Step], Replayer]:
    """Replay the log up to `at` (or all of it); return the steps about the item and its meetings."""
    r = Replayer()
    steps: list[Step] = []
    for row in store.stream_raw():
        ev = _record(row)
        if at is not None and ev.at > at:
            break
        step = r.step(ev)
        if ev.item == item_id:
            steps.append(step)
        if not step.allowed and ev.type != "ActRefused":
            raise IntegrityFailure(f"event {ev.seq} fails re-decision: {step.reason}")
    return steps, r


# ---------------------------------------------------------------- export and import
FIELDS = ("seq", "at", "actor", "authority", "rulebook", "item", "meeting", "type", "payload", "prev_hash", "hash")


def export_rows(store: Any, since: Any = None) -> Iterator[dict[str, Any]]:
    import datetime as dt

    for row in store.stream_raw():
        d = dict(zip(FIELDS, row, strict=True))
        if since is not None and dt.datetime.fromisoformat(d["at"]) < since:
            continue
        yield d


def write_export(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    n = 0
    if fmt == "csv":
        w = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for d in rows:
            w.writerow(d)
            n += 1
        return n
    for d in rows:
        out.write(json.dumps({**d, "payload": json.loads(d["payload"])}, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n


def read_export(text: str, fmt: str) -> Iterator[dict[str, Any]]:
    if fmt == "csv":
        for d in csv.DictReader(io.StringIO(text)):
            yield {**d, "seq": int(d["seq"]), "item": int(d["item"]) if d["item"] else None,
                   "meeting": int(d["meeting"]) if d["meeting"] else None}
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                d = json.loads(line)
            except json.JSONDecodeError as err:
                raise BadInput(f"line {n} is not JSON: {err}") from None
            yield {**d, "payload": canonical(d["payload"])}


def import_log(store: Any, rows: Iterable[dict[str, Any]], batch: int = 2000) -> Verdict:
    """Load an exported log into an empty database: each event checked (chain and re-decision),
    written as it was, and folded into the tables. All or nothing: at the first bad event the
    whole import is rolled back (a half-imported log would verify)."""
    if store.head()[0] != 0:
        raise BadInput("import needs an empty database (no events); this one has a log already")
    try:
        with store.act() as tx:
            return _import(tx, rows, batch)
    except _Abort as abort:
        return abort.verdict


class _Abort(Exception):
    verdict: "Verdict"


def _import(tx: Any, rows: Iterable[dict[str, Any]], batch: int) -> Verdict:
    import datetime as dt

    from engine.state import World, apply

    v = Verdict()
    prev = GENESIS
    tables = World()  # what the tables hold so far: the database starts empty
    failed = _Abort()
    failed.verdict = v
    for d in rows:
        seq = int(d["seq"])
        if seq != v.events + 1 or d["prev_hash"] != prev:
            v.fail(seq, f"event {seq} does not follow event {v.events} in the export")
            break
        env = envelope(seq, d["at"], d["actor"], d["authority"], d["rulebook"], d["item"], d["meeting"], d["type"])
        if link(prev, env, d["payload"]) != d["hash"]:
            v.fail(seq, f"event {seq} was altered: its content does not match its hash")
            break
        ev = EventRecord(seq, dt.datetime.fromisoformat(d["at"]), d["actor"], d["authority"], d["rulebook"],
                         d["item"], d["meeting"], d["type"], json.loads(d["payload"]), d["prev_hash"], d["hash"])
        step = v.replayer.step(ev)
        if not step.allowed and ev.type != "ActRefused":
            v.fail(seq, f"event {seq} fails re-decision: {step.reason}")
            break
        tx.put_raw_event(ev, d["payload"])
        tx.save_all(apply(tables, ev))
        prev, v.events = d["hash"], seq
        if seq % batch == 0:
            tx.flush()  # keep memory flat; still one transaction
    if not v.ok:
        raise failed  # roll the whole import back: a half-imported log would verify
    v.head = (v.events, prev)
    return v
