"""A long, valid kaigi log made by kaigi itself: acts through the application API on the
memory store, a simulated clock, the scheduler firing and sending reminders; the events
and the projections are then written into a SQLite file with kaigi's schema.

    .venv/bin/python bench/loggen.py --events 200000 --out /tmp/log.db

Every event is what the real code decided and folded (nothing hand-made), so `audit
verify` must pass on the file. Used by bench/verify.py and bench/web.py.
"""

import argparse
import datetime as dt
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.app import bootstrap
from engine.app.audit import world_rows
from engine.app.kaigi import Kaigi
from engine.core.errors import DomainError
from engine.reminders.dispatch import Dispatcher
from store.codec import t_out
from store.memory import MemoryStore

UTC = dt.UTC
T0 = dt.datetime(2025, 1, 6, 0, 30, tzinfo=UTC)  # a Monday, 09:30 in Japan
TEAMS = ["chiiki", "torishimari", "koho", "seian", "gaiji", "cyber", "somu"]
FILERS = ["yamamoto", "nakamura", "kobayashi", "kato", "yoshida", "yamada", "sasaki", "watanabe"]
STATIONS = [("mito", "matsumoto"), ("joso", "inoue"), ("hokota", "kimura")]


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        self.at += dt.timedelta(microseconds=997)
        return self.at


class Sink:
    """A sender that accepts every message (the bench measures the log, not the mail)."""

    def send(self, msg: Any) -> None:
        return None


class Flushing(MemoryStore):
    """The memory store, whose log moves to a SQLite file in batches (flat memory)."""

    def __init__(self, clock: Clock, out: sqlite3.Connection) -> None:
        super().__init__(clock=clock)
        self.out = out
        self.written = 0

    def flush(self) -> None:
        rows = [(r.seq, t_out(r.at), r.actor, r.authority, r.rulebook, r.item, r.meeting, r.type, r.payload,
                 r.prev_hash, r.hash, r.identity, r.schema, r.v) for r in self.log]
        self.out.executemany("INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, "
                             "payload, prev_hash, hash, identity, schema, v) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.written += len(rows)
        self.log.clear()


def generate(out_path: Path, target: int, seed: int = 7, quiet: bool = False) -> dict[str, int]:
    """Write a log of about `target` events into a new SQLite file at `out_path`."""
    out_path.unlink(missing_ok=True)
    url = f"sqlite:///{out_path}"
    bootstrap.upgrade(url)
    db = sqlite3.connect(out_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # the build is untimed; the timed passes read it back
    db.execute("BEGIN")
    clock = Clock()
    store = Flushing(clock, db)
    k = Kaigi(store)
    bootstrap.init(k, demo=True, items=False)
    d = Dispatcher(k, {"email": Sink(), "outbox": Sink()}, batch=500)
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    started = time.monotonic()

    def total() -> int:
        return store.written + len(store.log)

    def act(fn: Any, *a: Any, **kw: Any) -> Any:
        try:
            out = fn(*a, **kw)
        except DomainError:
            counts["refused"] = counts.get("refused", 0) + 1
            return None
        counts[fn.__name__] = counts.get(fn.__name__, 0) + 1
        return out

    day = 0
    while total() < target:
        day += 1
        clock.at = max(clock.at, T0 + dt.timedelta(days=day))
        _day(k, clock, rng, act)
        if day % 3 == 0:
            d.run_once()
        if len(store.log) > 50_000:
            store.flush()
        if not quiet and day % 20 == 0:
            print(f"  day {day}: {total():,} events, {time.monotonic() - started:.0f} s", file=sys.stderr)
    store.flush()
    _projections(store, db)
    db.execute("UPDATE log_head SET seq = ?, hash = ?, at = ?, roster_seq = ? WHERE id = 1",
               (store.head_row.seq, store.head_row.hash, t_out(store.head_row.at), store.head_row.roster_seq))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    counts["events"] = store.written
    return counts


def _projections(store: Flushing, db: sqlite3.Connection) -> None:
    from store.sql import SqlStore

    sql = SqlStore(f"sqlite:///{db.execute('PRAGMA database_list').fetchone()[2]}")
    sql._local.conn = db  # write through the very connection of the build's transaction
    from store.sql import SqlTx

    tx = SqlTx(sql, db, write=True)
    t = store.tables
    from engine.core.world import World

    w = World(bodies=t["body"], members=t["member"], assignments=t["assignment"], delegations=t["delegation"],
              adoptions=t["adoption"], items=t["item"], meetings=t["meeting"], orders=t["order"])
    tx.save(world_rows(w))
    rows = [(d.id, d.dedupe_key, d.reminder, d.item, d.meeting, d.rung, d.recipient, d.channel, d.address,
             d.message_id, d.subject, d.body, d.ics, d.status, d.attempts, t_out(d.next_attempt_at), t_out(d.sent_at),
             t_out(d.next_attempt_at)) for d in store.deliveries_.values()]
    db.executemany("INSERT INTO delivery (id, dedupe_key, reminder, item_id, meeting_id, rung, recipient, channel, "
                   "address, message_id, subject, body, ics, status, attempts, next_attempt_at, sent_at, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _held(k: Kaigi, clock: Clock, who: str, kind: str, items: list[int], act: Any, **kw: Any) -> int | None:
    out = act(k.convene, who, kind, clock.at + dt.timedelta(seconds=1), items=items, **kw)
    if out is None:
        return None
    clock.at += dt.timedelta(seconds=2)
    m = out.fact.meeting
    return m if act(k.hold, who, m) is not None else None


def _open(k: Kaigi, state: str, body: str = "hq", limit: int | None = None) -> list[int]:
    with k.store.read() as tx:  # the first `limit` by id: the backlog grows with the log
        return [i.id for i in tx.items(state=state, body=body, limit=limit)]


def _day(k: Kaigi, clock: Clock, rng: random.Random, act: Any) -> None:
    """One working day of the HQ: new items, a staff meeting, a team-lead meeting, a council."""
    for _ in range(rng.randint(3, 6)):
        act(k.file_item, rng.choice(FILERS), "案件", team=rng.choice(TEAMS), note="bench")
    filed = _open(k, "filed")
    rng.shuffle(filed)
    if filed:
        skip, staff = filed[: len(filed) // 2], filed[len(filed) // 2:][:8]
        for i in skip:
            act(k.advance, "yamamoto", i, "skip")
        m = _held(k, clock, "yamamoto", "staff", staff, act, attendees=["nakamura", "yoshida"])
        if m is not None:
            for i in staff:
                act(k.advance, "yamamoto", i, "refer", meeting=m)
    pre = _open(k, "pre_review", limit=10)
    for i in pre[:2]:
        out = act(k.issue_order, "watanabe", i, rng.choice(["nakamura", "kobayashi", "kato"]), note="調査")
        if out is not None and rng.random() < 0.7:
            act(k.complete_order, out.fact.to, out.fact.id, "結果")
        elif out is not None:
            act(k.waive_order, "watanabe", out.fact.id, "不要")
    m = _held(k, clock, "watanabe", "team_lead", pre, act)
    if m is not None:
        for i in pre:
            act(k.advance, "watanabe", i, "refer" if rng.random() < 0.85 else "return", meeting=m)
    council = (_open(k, "council", limit=12) + _open(k, "in_progress", limit=12))[:12]
    m = _held(k, clock, "sato", "council", council, act)
    if m is not None:
        with k.store.read() as tx:
            states = {i: tx.item(i).state for i in council}
        for i in council:
            if states[i] == "council":
                trigger = rng.choices(["decide", "defer", "reject", "return"], [70, 15, 5, 10])[0]
            else:
                trigger = "close" if rng.random() < 0.4 else "check"
            act(k.advance, rng.choice(["watanabe", "sato"]), i, trigger, meeting=m)
    act(k.advance, "nakamura", rng.choice(_open(k, "pre_review") or [1]), "skip")  # refused: kept
    if rng.random() < 0.3:
        station, chief = rng.choice(STATIONS)
        out = act(k.file_item, chief, "署の実態把握", station=station)
        if out is not None:
            s = out.fact.item
            m = _held(k, clock, chief, "station_council", [s], act)
            if m is not None:
                act(k.advance, chief, s, "report", meeting=m)
                act(k.advance, "watanabe", s, "relay")
                act(k.advance, "sato", s, "receive")
                act(k.advance, "sato", s, "escalate" if rng.random() < 0.5 else "close")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    started = time.monotonic()
    counts = generate(Path(a.out), a.events)
    print(f"{counts['events']:,} events in {time.monotonic() - started:.0f} s: {counts}")


if __name__ == "__main__":
    main()
