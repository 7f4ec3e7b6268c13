"""`audit verify` over a big log: kaigi's chain pass beside raw sqlite3, and the full replay.

    .venv/bin/python bench/verify.py [--events 1000000] [--rounds 3] [--dir DIR] [--keep]
                                     [--compare-budget 300] [--profile]

Build (untimed): a SQLite file (WAL, synchronous=FULL, kaigi's schema by `store.db.upgrade`);
`kaigi init --demo` through the service (`setup.init`, FrozenClock); then the rest of the
events made WITHOUT the database by the pure code the service runs: `engine.decide`
(file; skip and staff meetings; investigation orders issued, completed or waived; team-lead
meetings that refer, return and see items withdrawn; HQ councils that decide, defer, reject,
check and close; a station council that tables its items, which are then reported, relayed,
received, and one escalated into a new linked HQ item; one refused attempt per round kept
as `ActRefused`), folded with `engine.state.apply` into the World folded from the demo's
log, each event hashed exactly as `Tx.append` does, the clock moving a few seconds per act.
Rows go in with executemany, 100k per transaction; then the projections (items, meetings,
attendees, agenda, orders) are written from the World and the log head is moved. No
reminder events are generated (the demo's four items keep theirs), so the stored reminder
table is what the replay gives. `verify(store)` must then say ok=True (checked below, by the
full replay run itself) or the bench fails.

Timed, each in a fresh interpreter (a subprocess: none of the builder's garbage, its own
peak RSS), on the same file:
  chain   kaigi `engine.audit.verify(store, replay=False)`: sequence, links, sha256 per row,
          streamed by `Store.stream_raw()` (the driver cursor under SQLAlchemy's connection)
  raw     stdlib sqlite3 only: SELECT ... FROM event ORDER BY seq, fetchmany(5000), the
          stored `at` made the instant text as stream_raw does, the envelope JSON and sha256
          (json + hashlib, the same text), sequence and links checked, head row compared
  replay  kaigi `verify(store)`: the chain pass, every act re-decided, folded, and the stored
          rows compared with the replay (that final `audit._compare` is timed apart). If the
          comparison runs longer than --compare-budget seconds the run is stopped and the
          replay runs again with `Store.meetings` replaced in-process by `meetings_grouped`
          below (patch P1: the rows grouped per meeting, not rescanned for every meeting; the
          store has it since 2026-11-25 21:06, so on a current tree this never triggers)
chain and raw alternate for --rounds rounds; medians are reported. Memory: peak RSS (VmHWM)
of each measuring process and its growth over the RSS just before the pass; flatness: Python
heap peak (tracemalloc) in separate untimed runs over the first quarter of the log and over
all of it, for chain and raw. --profile adds a cProfile run of the full replay.

The last line is `ratio: X` = kaigi chain-pass rate / raw rate (medians).
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 6, 2, 1, 0, tzinfo=UTC)  # after rulebook 2024-10-01 took effect and the demo roster
GENESIS = "0" * 64
SELECT = ("SELECT seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, prev_hash, hash "
          "FROM event ORDER BY seq")

HQ_FILERS = ["yamamoto", "nakamura", "kobayashi", "kato", "yoshida", "yamada", "sasaki", "watanabe"]
TEAMS = ["chiiki", "torishimari", "koho", "seian", "gaiji", "cyber", "somu"]
STAFF_CALLED = [("nakamura", "yoshida"), ("kobayashi", "yamada"), ("kato", "sasaki")]
STATIONS = [("mito", "matsumoto", "hayashi"), ("joso", "inoue", "shimizu"), ("hokota", "kimura", "yamazaki")]
TITLES = ["外国人防犯ボランティア団体との合同パトロール", "技能実習生向け110番通報講習", "不法就労助長事犯の取締り強化",
          "多言語広報啓発資料の作成", "在留カード常時携帯の周知", "交通安全講話(留学生)", "相談窓口の多言語化"]


def sqlite_ts(at: dt.datetime) -> str:
    """How SQLAlchemy's DateTime stores an aware UTC instant on SQLite (store.types.UTCDateTime)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


# =================================================================== building the log
class _Stop(Exception):
    pass


class Generator:
    """Acts decided by engine.decide, folded by engine.state.apply, hashed like Tx.append."""

    def __init__(self, world: Any, rules: Any, seq: int, prev: str, target: int, sink: Any) -> None:
        from engine import decide
        from engine.state import apply
        from store import chain
        from store.records import EventRecord

        self.decide, self.apply, self.chain, self.record = decide, apply, chain, EventRecord
        self.world, self.rules = world, rules
        self.seq, self.prev, self.target, self.sink = seq, prev, target, sink
        self.now = T0
        self.rows: list[tuple[Any, ...]] = []
        self.next_item = max(world.items, default=0) + 1
        self.next_meeting = max(world.meetings, default=0) + 1
        self.next_order = max(world.orders, default=0) + 1
        self.orders_of: dict[int, list[int]] = {}
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------ one act = one or more events
    def ctx(self, actor: str) -> Any:
        """A new act: the clock moves on a few seconds; stop (between acts) once the log is long enough."""
        if self.seq >= self.target:
            raise _Stop
        self.now += dt.timedelta(seconds=3, microseconds=(self.seq * 7919) % 1_000_000)
        book = self.rules.at(self.now)  # the version in force then, as Service.book(now) picks it
        return self.decide.Ctx(book, self.now, actor, actor, self.world)

    def emit(self, ctx: Any, draft: Any) -> Any:
        """Append one event exactly as Tx.append does (seq, instant, envelope, canonical payload, link)."""
        c = self.chain
        seq = self.seq + 1
        text = c.canonical(draft.payload)
        env = c.envelope(seq, c.instant(ctx.now), ctx.actor, ctx.authority, ctx.book.version, draft.item,
                         draft.meeting, draft.type)
        digest = c.link(self.prev, env, text)
        ev = self.record(seq, ctx.now, ctx.actor, ctx.authority, ctx.book.version, draft.item, draft.meeting,
                         draft.type, draft.payload, self.prev, digest)
        self.apply(self.world, ev)
        self.rows.append((seq, sqlite_ts(ctx.now), ctx.actor, ctx.authority, ctx.book.version, draft.item,
                          draft.meeting, draft.type, text, self.prev, digest))
        self.seq, self.prev = seq, digest
        self.counts[draft.type] = self.counts.get(draft.type, 0) + 1
        if len(self.rows) >= 100_000:
            self.sink(self.rows)
            self.rows = []
        return ev

    # ------------------------------------------------------------ acts (as Service does them)
    def file(self, actor: str, body: str, team: str | None) -> int:
        ctx = self.ctx(actor)
        item_id = self.next_item
        title = f"{TITLES[item_id % len(TITLES)]} (案件 {item_id})"
        draft = self.decide.file_item(ctx, item_id, title, self.world.bodies[body], team,
                                      "bench/verify.py" if item_id % 5 == 0 else "")
        self.next_item += 1
        self.emit(ctx, draft)
        return item_id

    def advance(self, actor: str, item_id: int, trigger: str, meeting: int | None = None) -> None:
        w = self.world
        ctx = self.ctx(actor)
        item = w.items[item_id]
        kind = w.bodies[item.body].kind
        m = w.meetings[meeting] if meeting is not None else None
        draft = self.decide.advance(ctx, item, trigger, m, "", kind, open_orders=self.open_orders(item_id))
        spec = ctx.book.transition(trigger, item.state, kind)
        follow = []
        if spec is not None and spec.spawns:  # escalate: the new HQ item, filed in the same act
            new_id = self.next_item
            self.next_item += 1
            draft = self.decide.Draft(draft.type, {**draft.payload, "spawned": new_id}, draft.item, draft.meeting,
                                      draft.rule)
            follow.append(self.decide.spawn(ctx, new_id, item, spec, w.bodies))
        self.emit(ctx, draft)
        for f in follow:
            self.emit(ctx, f)

    def refused(self, actor: str, item_id: int, trigger: str) -> None:
        """An attempt the rules refuse, kept as ActRefused the way Service._keep_refusal keeps it."""
        from engine.errors import NotPermitted, NotPossible

        ctx = self.ctx(actor)
        item = self.world.items[item_id]
        try:
            self.decide.advance(ctx, item, trigger, None, "", self.world.bodies[item.body].kind,
                                open_orders=self.open_orders(item_id))
        except (NotPermitted, NotPossible) as err:
            self.emit(ctx, self.decide.Draft("ActRefused", {"act": "advance", "kind": err.kind, "rule": err.rule,
                                                            "reason": str(err)}, item=item_id, meeting=None))
            return
        raise RuntimeError(f"{actor} {trigger} on item {item_id} was expected to be refused")

    def convene(self, actor: str, kind: str, body: str, items: list[int], attendees: tuple[str, ...] = (),
                invited: tuple[str, ...] = ()) -> int:
        w = self.world
        ctx = self.ctx(actor)
        mid = self.next_meeting
        kinds = {b.key: b.kind for b in w.bodies.values()}
        agenda = [w.items[i] for i in items]
        draft = self.decide.convene(ctx, mid, kind, w.bodies[body], ctx.now + dt.timedelta(minutes=30), agenda,
                                    list(attendees), list(invited), w.members, kinds)
        self.next_meeting += 1
        tabled = []  # edges fired by convening (a station council tables its items): Service._table_on_convene
        for item in agenda:
            for t in ctx.book.transitions_from(item.state, kinds[item.body]):
                if t.fired_by == "convene" and t.meeting == kind:
                    tabled.append((item, t.trigger))
        self.emit(ctx, draft)
        for item, trigger in tabled:
            self.emit(ctx, self.decide.advance(ctx, item, trigger, w.meetings[mid], "", kinds[item.body],
                                               by_convening=True))
        return mid

    def hold(self, actor: str, meeting: int, present: tuple[str, ...] | list[str] = ()) -> None:
        m = self.world.meetings[meeting]
        if self.now < m.starts_at:
            self.now = m.starts_at
        ctx = self.ctx(actor)
        self.emit(ctx, self.decide.hold(ctx, m, list(present)))

    def withdraw(self, actor: str, item_id: int) -> None:
        self.advance(actor, item_id, "withdraw")

    def open_orders(self, item_id: int) -> list[Any]:
        """What Service.advance reads: the item's open investigation orders (R-T5)."""
        return [o for o in (self.world.orders[i] for i in self.orders_of.get(item_id, ())) if o.status == "open"]

    def order(self, actor: str, item_id: int, to: str) -> int:
        """The general manager orders a team leader to investigate an item in pre-review (R-T5)."""
        w = self.world
        ctx = self.ctx(actor)
        oid = self.next_order
        self.next_order += 1
        self.orders_of.setdefault(item_id, []).append(oid)
        self.emit(ctx, self.decide.issue_order(ctx, oid, w.items[item_id], w.members[to],
                                               ctx.now + dt.timedelta(days=7), "調査・検討のこと"))
        return oid

    def settle(self, actor: str, order_id: int, waive: bool) -> None:
        ctx = self.ctx(actor)
        o = self.world.orders[order_id]
        item = self.world.items[o.item]
        draft = (self.decide.waive_order(ctx, o, "会議で直接確認する", item=item) if waive else
                 self.decide.complete_order(ctx, o, f"調査結果: 項目 {o.item} は対策会議への付議が相当", item=item))
        self.emit(ctx, draft)

    # ------------------------------------------------------------ one round of committee work
    def run(self, k: int = 20) -> int:
        carry_pre: list[int] = []      # HQ items waiting in pre-review (spawned from stations)
        carry_council: list[int] = []  # deferred by the council
        checking: list[int] = []       # decided last round: a progress check now
        closing: list[int] = []        # checked last round: closed now
        r = 0
        try:
            while True:
                r += 1
                # filed: K HQ items by members of the HQ, in several teams
                ids = [self.file(HQ_FILERS[(r + n) % len(HQ_FILERS)], "hq", TEAMS[(r + n) % len(TEAMS)])
                       for n in range(k)]
                # a team member tries to skip the staff meeting: refused, kept (R-S1)
                self.refused(["yoshida", "yamada", "sasaki"][r % 3], ids[0], "skip")
                # staff meeting for half of them, the implementation manager skips it for the rest
                half = k // 2
                leader, member = STAFF_CALLED[r % len(STAFF_CALLED)]
                staff = self.convene("yamamoto", "staff", "hq", ids[:half], attendees=(leader, member))
                for i in ids[half:]:
                    self.advance("yamamoto", i, "skip")
                self.hold("yamamoto", staff)
                for i in ids[:half]:
                    self.advance("yamamoto", i, "refer", staff)
                # an investigation order on one item before the team-lead meeting, completed (or waived)
                to = ("nakamura", "kobayashi", "kato")[r % 3]
                oid = self.order("watanabe", ids[3], to)
                if r % 4 == 0:
                    self.settle("watanabe", oid, waive=True)
                else:
                    self.settle(to, oid, waive=False)
                # team-lead meeting: refer to the council, return one (then withdrawn), one withdrawn by its filer
                tl_items = ids + carry_pre
                carry_pre = []
                tl = self.convene("watanabe", "team_lead", "hq", tl_items, invited=("yoshida",) if r % 3 == 0 else ())
                self.withdraw(self.world.items[tl_items[2]].filed_by, tl_items[2])
                called = self.world.meetings[tl].attendees + self.world.meetings[tl].invited
                self.hold("watanabe", tl, [p for p in called if p != "kato"] if r % 2 else [])
                referred = []
                for n, i in enumerate(tl_items):
                    if n == 2:
                        continue
                    if n == 1:
                        self.advance("watanabe", i, "return", tl)
                        self.withdraw("watanabe", i)
                    else:
                        self.advance("watanabe", i, "refer", tl)
                        referred.append(i)
                # the HQ council: decide (one rejected, one deferred), progress checks, closes
                c_items = carry_council + referred
                council = self.convene("sato", "council", "hq", c_items + checking + closing)
                self.hold("sato", council)
                rec = "sato" if r % 2 else "watanabe"
                carry_council, decided = [], []
                for n, i in enumerate(c_items):
                    if i in referred and n == len(c_items) - 1:
                        self.advance(rec, i, "defer", council)
                        carry_council.append(i)
                    elif n == len(c_items) - 2:
                        self.advance(rec, i, "reject", council)
                    else:
                        self.advance(rec, i, "decide", council)
                        decided.append(i)
                for i in checking:
                    self.advance(rec, i, "check", council)
                for i in closing:
                    self.advance(rec, i, "close", council)
                checking, closing = decided, checking
                # a station: three items tabled at its council, reported, relayed, received;
                # one taken into the HQ path (a new linked item), two closed
                station, chief, section = STATIONS[r % len(STATIONS)]
                s_ids = [self.file(section if n else chief, station, None) for n in range(3)]
                sc = self.convene(chief, "station_council", station, s_ids)
                self.hold(chief, sc)
                for i in s_ids:
                    self.advance(chief, i, "report", sc)
                for i in s_ids:
                    self.advance("watanabe", i, "relay")
                for i in s_ids:
                    self.advance("sato", i, "receive")
                spawned = self.next_item
                self.advance("sato", s_ids[0], "escalate")
                carry_pre.append(spawned)
                for i in s_ids[1:]:
                    self.advance("watanabe", i, "close")
        except _Stop:
            pass
        if self.rows:
            self.sink(self.rows)
            self.rows = []
        return r


def build(path: Path, events: int) -> dict[str, Any]:
    """The demo through the service, then the generated acts bulk-inserted; returns what was made."""
    from engine import setup
    from engine.audit import verify
    from engine.clock import FrozenClock
    from engine.logs import configure_logging
    from engine.service import Service
    from store.db import make_engine, upgrade
    from store.sql import Store

    configure_logging()  # warnings and up to stderr, as the CLI does
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    store = Store(url, engine=engine)
    setup.init(Service(store, clock=FrozenClock(T0)), demo=True)
    demo = verify(store)  # the demo's log, folded: the World the generated acts start from
    if not demo.ok:
        raise SystemExit(f"the demo log does not verify: {demo.problem}")
    world, rules = demo.replayer.world, demo.replayer.rules()
    demo_items, demo_meetings, demo_orders = set(world.items), set(world.meetings), set(world.orders)
    seq, prev = store.head()
    engine.dispose()

    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000", "cache_size=-262144"):
        db.execute(f"PRAGMA {pragma}")
    ins = ("INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, prev_hash,"
           " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    timing = {"decide+fold+hash": 0.0, "insert events": 0.0}

    def sink(rows: list[tuple[Any, ...]]) -> None:
        t = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany(ins, rows)
        db.execute("COMMIT")
        timing["insert events"] += time.perf_counter() - t

    gen = Generator(world, rules, seq, prev, events, sink)
    t0 = time.perf_counter()
    rounds = gen.run()
    timing["decide+fold+hash"] = time.perf_counter() - t0 - timing["insert events"]

    # the projections, from the folded World (what Tx.save_all would have left)
    t = time.perf_counter()
    items = [w for i, w in sorted(world.items.items()) if i not in demo_items]
    meetings = [m for i, m in sorted(world.meetings.items()) if i not in demo_meetings]
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO item (id, title, body, team, state, version, filed_by, filed_at, updated_at, note,"
                   " origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(i.id, i.title, i.body, i.team, i.state, i.version, i.filed_by, sqlite_ts(i.filed_at),
                     sqlite_ts(i.updated_at), i.note, i.origin) for i in items])
    db.executemany("INSERT INTO meeting (id, kind, body, convener, chair, starts_at, status, version, convened_at,"
                   " held_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(m.id, m.kind, m.body, m.convener, m.chair, sqlite_ts(m.starts_at), m.status, m.version,
                     sqlite_ts(m.convened_at), sqlite_ts(m.held_at) if m.held_at else None) for m in meetings])
    db.executemany("INSERT INTO meeting_attendee (meeting_id, login, invited, present) VALUES (?, ?, ?, ?)",
                   [(m.id, login, invited, login in m.present) for m in meetings
                    for logins, invited in ((m.attendees, False), (m.invited, True)) for login in logins])
    db.executemany("INSERT INTO agenda_entry (meeting_id, item_id, position, outcome) VALUES (?, ?, ?, ?)",
                   [(m.id, i, n, m.outcomes.get(i)) for m in meetings for n, i in enumerate(m.items)])
    db.executemany("INSERT INTO investigation_order (id, item_id, issued_by, \"to\", issued_at, due_at, status, note,"
                   " finding, reason, settled_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(o.id, o.item, o.issued_by, o.to, sqlite_ts(o.issued_at), sqlite_ts(o.due_at), o.status, o.note,
                     o.finding, o.reason, sqlite_ts(o.settled_at) if o.settled_at else None, o.version)
                    for _, o in sorted(world.orders.items()) if o.id not in demo_orders])
    db.execute("UPDATE log_head SET seq = ?, hash = ? WHERE id = 1", (gen.seq, gen.prev))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    timing["projections"] = time.perf_counter() - t
    db.close()
    return {"events": gen.seq, "generated": gen.seq - seq, "demo_events": seq, "rounds": rounds,
            "items": len(world.items), "meetings": len(world.meetings), "orders": len(world.orders),
            "types": gen.counts, "timing": timing}


# =================================================================== the measured passes
def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: Linux carries the parent's
    peak across fork+exec into the child's ru_maxrss, so a child would report the builder's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Prefix:
    """The store, cut after `n` events (head = event n): for the memory-flatness runs."""

    def __init__(self, store: Any, n: int) -> None:
        self.store, self.n = store, n

    def stream_raw(self) -> Any:
        import itertools

        return itertools.islice(self.store.stream_raw(), self.n)

    def head(self) -> tuple[int, str]:
        import sqlalchemy as sa

        with self.store.ro.connect() as c:
            row = c.execute(sa.text("SELECT seq, hash FROM event WHERE seq = :n"), {"n": self.n}).one()
        return int(row[0]), str(row[1])


def raw_pass(path: str, limit: int | None) -> tuple[bool, int]:
    """The chain pass with stdlib sqlite3 and hashlib only: same rows, same text, same checks.
    The canonical JSON encoder is built once (json.dumps with options builds one per call)."""
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    sha256 = hashlib.sha256
    db = sqlite3.connect(path)
    try:
        cur = db.cursor()
        cur.execute(SELECT)
        prev, expect, n = GENESIS, 1, 0
        while True:
            rows = cur.fetchmany(5000)
            if not rows:
                break
            for seq, at, actor, authority, rulebook, item, meeting, type_, payload, prev_hash, digest in rows:
                at = (f"{at[:10]}T{at[11:]}+00:00" if len(at) == 26 else
                      dt.datetime.fromisoformat(at).replace(tzinfo=UTC).isoformat(timespec="microseconds"))
                env = encode([seq, at, actor, authority, rulebook, item, meeting, type_])
                if seq != expect or prev_hash != prev or sha256(
                        f"{prev}\n{env}\n{payload}".encode("utf-8")).hexdigest() != digest:
                    return False, n
                prev, expect, n = digest, seq + 1, n + 1
                if limit is not None and n >= limit:
                    return True, n
        head = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
        return tuple(head) == (n, prev), n
    finally:
        db.close()


def meetings_grouped(self: Any, ids: list[int] | None = None, status: str | None = None,
                     people: bool = True, of_items: list[int] | None = None) -> list[Any]:
    """Patch P1 of store/sql.py `Store.meetings` (now in the store), applied in-process only with
    --patched to older trees: the same queries, attendees and agenda rows grouped by meeting in one pass
    instead of a scan of all of them for every meeting (quadratic in the number of meetings)."""
    import sqlalchemy as sa

    from store.sql import T_AGENDA, T_ATTEND, T_MEETING

    q = sa.select(T_MEETING).order_by(T_MEETING.c.id)
    if ids is not None:
        q = q.where(T_MEETING.c.id.in_(ids))
    if of_items is not None:
        q = q.where(T_MEETING.c.id.in_(sa.select(T_AGENDA.c.meeting_id).where(T_AGENDA.c.item_id.in_(of_items))))
    if status:
        q = q.where(T_MEETING.c.status == status)
    with self._conn() as conn:
        rows = list(conn.execute(q))
        if not rows:
            return []
        mids = [r.id for r in rows]
        att = [] if not people else list(conn.execute(
            sa.select(T_ATTEND).where(T_ATTEND.c.meeting_id.in_(mids))
            .order_by(T_ATTEND.c.meeting_id, T_ATTEND.c.login)))
        ag = list(conn.execute(sa.select(T_AGENDA).where(T_AGENDA.c.meeting_id.in_(mids))
                               .order_by(T_AGENDA.c.meeting_id, T_AGENDA.c.position)))
    att_of: dict[int, list[Any]] = {}
    for a in att:
        att_of.setdefault(a.meeting_id, []).append(a)
    ag_of: dict[int, list[Any]] = {}
    for g in ag:
        ag_of.setdefault(g.meeting_id, []).append(g)
    return [self._meeting(r, att_of.get(r.id, []), ag_of.get(r.id, [])) for r in rows]


def measure(mode: str, path: str, limit: int | None, trace: bool, profile: bool,
            patched: bool = False) -> dict[str, Any]:
    """One pass in this (fresh) interpreter; prints a JSON line for the parent."""
    import gc
    import tracemalloc

    out: dict[str, Any] = {"mode": mode}
    if mode != "raw":
        from engine import audit
        from store.sql import Store

        store: Any = Store(f"sqlite:///{path}")
        if limit is not None:
            store = Prefix(store, limit)
        compare = {"seconds": 0.0}
        real_compare = audit._compare

        def timed_compare(s: Any, v: Any) -> None:  # the final stored-vs-replayed comparison, timed apart
            t = time.perf_counter()
            print(f"PASS_DONE {t - t0:.3f}", file=sys.stderr, flush=True)  # the parent may stop us after this
            real_compare(s, v)
            compare["seconds"] = time.perf_counter() - t

        audit._compare = timed_compare
        if patched:
            from store.sql import Store as _S

            _S.meetings = meetings_grouped  # type: ignore[method-assign]
    gc.collect()
    base = _status_mb("VmRSS")
    if trace:
        tracemalloc.start()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "raw":
        ok, n = raw_pass(path, limit)
    else:
        v = audit.verify(store, replay=(mode == "replay"))
        ok, n = v.ok, v.events
        if not ok:
            out["problem"] = f"{v.first_bad_seq}: {v.problem}"
        if mode == "replay":
            out["compare_seconds"] = compare["seconds"]
            out["items"], out["meetings"], out["refused"] = v.items, v.meetings, v.refused
    out["seconds"], out["cpu_seconds"] = time.perf_counter() - t0, time.process_time() - c0
    if prof is not None:
        import io
        import pstats

        prof.disable()
        for key in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(30)
            out[f"profile_{key}"] = buf.getvalue()
    if trace:
        out["trace_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    out.update(ok=ok, events=n, base_rss_mb=base, maxrss_mb=_status_mb("VmHWM"))
    return out


def run_child(mode: str, path: Path, limit: int | None = None, trace: bool = False, profile: bool = False,
              patched: bool = False, budget: float | None = None) -> dict[str, Any]:
    """One pass in a fresh interpreter. With `budget`, a replay whose final comparison runs past
    `budget` seconds is stopped: {"stopped": True, "pass_seconds": ..., "waited": ...}."""
    cmd = [sys.executable, __file__, "--measure", mode, "--db", str(path)]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    for flag, on in (("--trace", trace), ("--profile", profile), ("--patched", patched)):
        if on:
            cmd.append(flag)
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err, \
            subprocess.Popen(cmd, stdout=out_f, stderr=err, text=True) as proc:
        if budget is None:
            proc.wait()
        else:
            passed = None
            while proc.poll() is None:
                time.sleep(0.5)
                if passed is None:
                    err.seek(0)
                    for line in err.read().splitlines():
                        if line.startswith("PASS_DONE "):
                            passed = (float(line.split()[1]), time.perf_counter())
                elif time.perf_counter() - passed[1] > budget:
                    proc.kill()
                    proc.wait()
                    waited = time.perf_counter() - passed[1]
                    return {"stopped": True, "pass_seconds": passed[0], "waited": waited,
                            "seconds": passed[0] + waited}
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read()}")
        out_f.seek(0)
        out = out_f.read()
    return json.loads(out.strip().splitlines()[-1])


# =================================================================== driver
def fs_type(path: Path) -> str:
    best = ("?", "")
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mnt, kind = line.split()[:3]
            if str(path.resolve()).startswith(mnt) and len(mnt) >= len(best[1]):
                best = (f"{kind} ({dev} on {mnt})", mnt)
    except OSError:
        pass
    return best[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="events in the log (default 1000000)")
    ap.add_argument("--rounds", type=int, default=3, help="timed chain/raw runs each, alternating (default 3)")
    ap.add_argument("--dir", default=None, help="where the database goes (default: the system temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the database (its path is printed)")
    ap.add_argument("--profile", action="store_true", help="also run the full replay under cProfile, print top costs")
    ap.add_argument("--measure", choices=["chain", "raw", "replay"], help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--patched", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--compare-budget", type=float, default=300.0,
                    help="stop the as-is full replay when its final comparison has run this many seconds "
                         "(default 300) and run it again with the Store.meetings patch P1")
    args = ap.parse_args()

    if args.measure:  # child: one pass, one JSON line
        print(json.dumps(measure(args.measure, args.db, args.limit, args.trace, args.profile, args.patched)))
        return 0

    import sqlalchemy

    tmp = Path(tempfile.mkdtemp(prefix="kaigi-verify-", dir=args.dir))
    path = tmp / "kaigi.db"
    try:
        t = time.perf_counter()
        made = build(path, args.events)
        build_s = time.perf_counter() - t
        n = made["events"]
        size = path.stat().st_size / 2**20
        print(f"built {n} events ({made['demo_events']} by `init --demo` through the service, {made['generated']} "
              f"generated in {made['rounds']} rounds) in {build_s:.1f} s "
              f"({', '.join(f'{k} {v:.1f} s' for k, v in made['timing'].items())}); {path} {size:.0f} MiB", flush=True)
        print(f"  {made['items']} items, {made['meetings']} meetings, {made['orders']} orders; events by type: "
              + ", ".join(f"{k} {v}" for k, v in sorted(made["types"].items(), key=lambda kv: -kv[1])), flush=True)

        runs: dict[str, list[dict[str, Any]]] = {"chain": [], "raw": []}
        for r in range(args.rounds):
            for mode in (("chain", "raw") if r % 2 == 0 else ("raw", "chain")):
                res = run_child(mode, path)
                if not res["ok"] or res["events"] != n:
                    raise SystemExit(f"{mode} pass failed: {res}")
                runs[mode].append(res)
                print(f"round {r + 1} {mode:6s} {res['seconds']:7.2f} s (CPU {res['cpu_seconds']:.2f} s) "
                      f"{n / res['seconds']:10.0f} events/s  "
                      f"peak RSS {res['maxrss_mb']:6.1f} MB (+{res['maxrss_mb'] - res['base_rss_mb']:.1f})", flush=True)
        flat: dict[str, dict[str, Any]] = {}
        quarter = max(1, n // 4)
        for mode in ("chain", "raw"):
            flat[mode] = {"quarter": run_child(mode, path, limit=quarter, trace=True),
                          "whole": run_child(mode, path, trace=True)}
        rep = run_child("replay", path, budget=args.compare_budget)
        if not rep.get("stopped") and (not rep["ok"] or rep["events"] != n):
            raise SystemExit(f"the full replay does not pass: {rep}")
        fix = None
        if rep.get("stopped"):  # prove the log anyway, and time the rest, with the comparison fixed
            fix = run_child("replay", path, patched=True)
            if not fix["ok"] or fix["events"] != n:
                raise SystemExit(f"the full replay (patch P1) does not pass: {fix}")
        proof = fix or rep

        print()
        print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
              f"SQLAlchemy {sqlalchemy.__version__}; "
              f"{platform.machine()} {os.cpu_count()} CPUs, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"{fs_type(tmp)}")
        print(f"log: {n} events, {size:.0f} MiB (WAL, synchronous=FULL, checkpointed); "
              f"verify(store) ok=True, {proof['items']} items, {proof['meetings']} meetings, "
              f"{proof['refused']} refused")
        print("memory: peak RSS = VmHWM of the measuring process (+ growth over its RSS just before the pass); "
              "heap = tracemalloc peak in separate untimed runs over the first quarter of the log and over all of it")
        rates = {}
        for mode, label in (("chain", "kaigi chain pass  verify(store, replay=False)"),
                            ("raw", "raw sqlite3 + hashlib, same checks")):
            secs = statistics.median(x["seconds"] for x in runs[mode])
            rates[mode] = n / secs
            rss = max(x["maxrss_mb"] for x in runs[mode])
            grow = max(x["maxrss_mb"] - x["base_rss_mb"] for x in runs[mode])
            q, w = flat[mode]["quarter"], flat[mode]["whole"]
            print(f"  {label:50s} {n} events {secs:8.2f} s {rates[mode]:9.0f} events/s  peak RSS {rss:6.1f} MB "
                  f"(+{grow:.1f}); heap peak {q['trace_peak_mb']:.2f} MB at {q['events']} events, "
                  f"{w['trace_peak_mb']:.2f} MB at {w['events']}")
        label = "kaigi full replay verify(store), as is"
        if rep.get("stopped"):
            p = rep["pass_seconds"]
            print(f"  {label:50s} {n} events  > {rep['seconds']:.0f} s  < {n / rep['seconds']:.0f} events/s: "
                  f"STOPPED, its final comparison (audit._compare) still ran after {rep['waited']:.0f} s")
            print(f"    the per-event pass (chain + re-decide + fold) before it took {p:.2f} s = {n / p:.0f} events/s")
        else:
            print(f"  {label:50s} {n} events {rep['seconds']:8.2f} s {n / rep['seconds']:9.0f} events/s  "
                  f"peak RSS {rep['maxrss_mb']:6.1f} MB (+{rep['maxrss_mb'] - rep['base_rss_mb']:.1f})")
            loop = rep["seconds"] - rep["compare_seconds"]
            print(f"    per-event pass (chain + re-decide + fold) {loop:.2f} s = {n / loop:.0f} events/s; "
                  f"final comparison (audit._compare) {rep['compare_seconds']:.2f} s")
        if fix is not None:
            label = "kaigi full replay, Store.meetings patch P1"
            loop = fix["seconds"] - fix["compare_seconds"]
            print(f"  {label:50s} {n} events {fix['seconds']:8.2f} s {n / fix['seconds']:9.0f} events/s  "
                  f"peak RSS {fix['maxrss_mb']:6.1f} MB (+{fix['maxrss_mb'] - fix['base_rss_mb']:.1f})")
            print(f"    per-event pass (chain + re-decide + fold) {loop:.2f} s = {n / loop:.0f} events/s; "
                  f"final comparison (audit._compare) {fix['compare_seconds']:.2f} s")
        if args.profile:
            prof = run_child("replay", path, profile=True, patched=fix is not None)
            print(f"\ncProfile of verify(store){' with patch P1' if fix is not None else ''}, {n} events "
                  f"({prof['seconds']:.1f} s under the profiler):")
            print(prof["profile_tottime"])
            print(prof["profile_cumulative"])
        print(f"ratio: {rates['chain'] / rates['raw']:.2f}")
    finally:
        if args.keep:
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
