"""One scheduler pass over a backlog: 100,000 pending reminders, 10,000 of them due, on SQLite.

    .venv/bin/python bench/reminders.py [--total 100000] [--due 10000] [--batch 500] [--dir DIR]
                                        [--no-memory] [--profile N]

Set-up (untimed): a SQLite file with kaigi's schema (`store.db.upgrade`; WAL, synchronous=FULL
as the product runs), `setup.init(demo=True)`, then the item and reminder rows inserted
directly with SQLAlchemy Core (filing 100k items one act each would take too long): every
tenth reminder is due (`staff_meeting`, rung 0, due a day ago; its rung 1 is six days ahead),
the others are due tomorrow. The demo's own pending reminders count towards the total.
The file is checkpointed and closed, then copied, so every run below starts from the same bytes.

kaigi:  Dispatcher(svc, {"outbox": OutboxSender(file)}, batch=500).run_once():
        claims the due reminders, appends `ReminderDue` events (hash-chained), inserts the
        delivery rows, claims those with a lease, appends each message to the outbox file
        and marks it `sent` with a `ReminderSent` event.
raw:    stdlib sqlite3 with the same pragmas on a copy of the same file: in a loop until none,
        one transaction `UPDATE reminder SET status='sending' WHERE id IN (SELECT … LIMIT 500)
        RETURNING …`, then one JSON line per claimed row to an outbox file, fsync per batch.
        Claim and deliver; no events, no delivery rows, no per-message fsync.

Time is wall time (time.perf_counter) of a run without tracing. Peak memory is measured
in a second, untimed run of each side on its own fresh copy, with `tracemalloc` (peak of
Python allocations during the run; SQLite's own page cache is not Python memory and is
counted on neither side). The last line is `ratio: X` = kaigi rows/s / raw rows/s.
"""

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # a Monday, far from the office closure
FILER = "yamamoto"
CHUNK = 10_000


# ------------------------------------------------------------------ the database
def build(path: Path, total: int, due: int) -> dict[str, int]:
    """The kaigi database with `total` pending reminders, `due` of them due at NOW."""
    from engine import setup
    from engine.clock import FrozenClock
    from engine.service import Service
    from store.db import upgrade
    from store.sql import T_ITEM, T_REMIND, Store

    store = Store(f"sqlite:///{path}")
    upgrade(store.engine)
    svc = Service(store, clock=FrozenClock(NOW))
    setup.init(svc, demo=True)  # roster and rulebook; the demo items' reminders are due in 14 days
    have = store.reminders()
    assert not store.reminders(due_by=NOW), "the demo left something due"
    n = total - len(have)
    step = max(total // due, 1)
    first_item, first_reminder = store.next_id("item"), store.next_id("reminder")
    made = 0
    with store.engine.begin() as conn:
        for start in range(0, n, CHUNK):
            items, reminders = [], []
            for k in range(start, min(start + CHUNK, n)):
                if k % step == 0 and made < due:
                    due_at = NOW - dt.timedelta(days=1, seconds=made)
                    made += 1
                else:
                    due_at = NOW + dt.timedelta(days=1, seconds=k)
                filed = due_at - dt.timedelta(days=14)
                item = first_item + k
                items.append({"id": item, "title": f"bench item {k}", "body": "hq", "team": None, "state": "filed",
                              "version": 1, "filed_by": FILER, "filed_at": filed, "updated_at": filed,
                              "note": "", "origin": None})
                reminders.append({"id": first_reminder + k, "key": "staff_meeting", "item_id": item,
                                  "meeting_id": None, "order_id": None, "body": "hq", "started_at": filed,
                                  "due_at": due_at, "next_rung": 0, "next_at": due_at, "status": "pending",
                                  "version": 1})
            conn.execute(T_ITEM.insert(), items)
            conn.execute(T_REMIND.insert(), reminders)
    assert made == due, (made, due)
    pending, now_due = len(store.reminders()), len(store.reminders(due_by=NOW))
    store.engine.dispose()
    db = sqlite3.connect(path)  # everything into the main file, so a plain copy of it is the database
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    db.close()
    assert busy == 0 and not Path(f"{path}-wal").exists(), "the checkpoint did not complete"
    return {"pending": pending, "due": now_due}


# ------------------------------------------------------------------ the two sides
def kaigi_side(path: Path, outbox: Path, batch: int) -> Callable[[], int]:
    """Set up a dispatcher on `path` (untimed); return the pass to time, which returns rows sent."""
    from engine.clock import FrozenClock
    from engine.delivery import OutboxSender
    from engine.dispatch import Dispatcher
    from engine.service import Service
    from store.sql import Store

    store = Store(f"sqlite:///{path}")
    store.check_schema()
    svc = Service(store, clock=FrozenClock(NOW))
    svc.rules()  # the rulebook is parsed once per process; not part of a pass
    dispatcher = Dispatcher(svc, {"outbox": OutboxSender(outbox)}, batch=batch)

    def run() -> int:
        stats = dispatcher.run_once()
        assert not stats.errors and stats.failed == 0 and stats.retried == 0, stats
        assert stats.fired == stats.sent, stats
        return stats.sent

    run.close = store.engine.dispose  # type: ignore[attr-defined]
    return run


def ts(at: dt.datetime) -> str:
    """How SQLAlchemy's DateTime stores an instant on SQLite (UTCDateTime: naive UTC)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def raw_side(path: Path, outbox: Path, batch: int) -> Callable[[], int]:
    db = sqlite3.connect(path, isolation_level=None)  # autocommit: we say BEGIN ourselves
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "synchronous=FULL"):
        db.execute(f"PRAGMA {pragma}")
    claim = ("UPDATE reminder SET status = 'sending' WHERE id IN (SELECT id FROM reminder WHERE status = 'pending'"
             " AND next_at <= ? ORDER BY next_at LIMIT ?) RETURNING id, key, item_id, body, next_rung, next_at")

    def run() -> int:
        now, sent = ts(NOW), 0
        with open(outbox, "ab") as out:
            while True:
                db.execute("BEGIN IMMEDIATE")
                try:
                    rows = db.execute(claim, (now, batch)).fetchall()
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                if not rows:
                    return sent
                for rid, key, item, body, rung, at in rows:
                    out.write((json.dumps({"reminder": rid, "key": key, "item": item, "body": body, "rung": rung,
                                           "deadline": at}, ensure_ascii=False) + "\n").encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
                sent += len(rows)

    run.close = db.close  # type: ignore[attr-defined]
    return run


# ------------------------------------------------------------------ measuring
def timed(make: Callable[[Path, Path, int], Callable[[], int]], db: Path, outbox: Path,
          batch: int) -> tuple[int, float]:
    run = make(db, outbox, batch)
    try:
        t0 = time.perf_counter()
        rows = run()
        return rows, time.perf_counter() - t0
    finally:
        run.close()  # type: ignore[attr-defined]


def peak_memory(make: Callable[[Path, Path, int], Callable[[], int]], db: Path, outbox: Path, batch: int) -> int:
    run = make(db, outbox, batch)
    try:
        tracemalloc.start()
        tracemalloc.reset_peak()
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        run.close()  # type: ignore[attr-defined]


def profiled(db: Path, outbox: Path, batch: int, top: int) -> str:
    run = kaigi_side(db, outbox, batch)
    prof = cProfile.Profile()
    try:
        prof.enable()
        run()
        prof.disable()
    finally:
        run.close()  # type: ignore[attr-defined]
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--total", type=int, default=100_000, help="pending reminders (default 100000)")
    ap.add_argument("--due", type=int, default=10_000, help="of which due now (default 10000)")
    ap.add_argument("--batch", type=int, default=500, help="claim batch (default 500)")
    ap.add_argument("--dir", default=None, help="where the temp databases go (default: the system temp dir)")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="also cProfile the kaigi pass on a fresh copy and print the top N functions")
    args = ap.parse_args()

    from engine.logs import configure_logging

    configure_logging()  # as the CLI does by default: warnings and up to stderr

    import sqlalchemy

    with tempfile.TemporaryDirectory(prefix="kaigi-bench-rem-", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        origin = tmp / "origin.db"
        t0 = time.perf_counter()
        counts = build(origin, args.total, args.due)
        print(f"set-up: {counts['pending']} pending reminders, {counts['due']} due, "
              f"{origin.stat().st_size / 2**20:.1f} MiB, built in {time.perf_counter() - t0:.1f} s", flush=True)

        def copy(name: str) -> Path:
            dst = tmp / name
            shutil.copy(origin, dst)
            return dst

        sides: dict[str, Callable[[Path, Path, int], Callable[[], int]]] = {"raw sqlite3": raw_side,
                                                                          "kaigi": kaigi_side}
        results: dict[str, dict[str, float]] = {}
        for name, make in sides.items():
            tag = name.split()[0]
            outbox = tmp / f"{tag}-outbox.jsonl"
            rows, wall = timed(make, copy(f"{tag}.db"), outbox, args.batch)
            assert rows == counts["due"] and lines(outbox) == rows, (name, rows, lines(outbox))
            results[name] = {"rows": rows, "wall": wall}
            print(f"{name:12s} {rows} rows in {wall:.2f} s = {rows / wall:9.1f} rows/s", flush=True)
        if not args.no_memory:
            for name, make in sides.items():
                tag = name.split()[0]
                results[name]["peak"] = peak_memory(make, copy(f"{tag}-mem.db"), tmp / f"{tag}-mem.jsonl",
                                                    args.batch)
                print(f"{name:12s} peak Python memory (tracemalloc) {results[name]['peak'] / 2**20:.1f} MiB",
                      flush=True)
        if args.profile:
            print(profiled(copy("kaigi-prof.db"), tmp / "kaigi-prof.jsonl", args.batch, args.profile))

        print()
        print(f"python {platform.python_version()} ({platform.python_implementation()}), "
              f"sqlite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}")
        print(f"machine: {platform.machine()} {os.cpu_count()} CPUs, "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"files: {tmp} on {fs_type(tmp)}; journal_mode=WAL synchronous=FULL on both sides")
        print(f"{counts['pending']} pending reminders, {counts['due']} due; batch {args.batch}:")
        for name, r in results.items():
            peak = f"  peak {r['peak'] / 2**20:7.1f} MiB (tracemalloc)" if "peak" in r else ""
            print(f"  {name:12s} {int(r['rows'])} rows  {r['wall']:8.2f} s  {r['rows'] / r['wall']:9.1f} rows/s"
                  f"  {1000 * r['wall'] / r['rows']:7.3f} ms/row{peak}")
        kaigi, raw = results["kaigi"], results["raw sqlite3"]
        print(f"ratio: {(kaigi['rows'] / kaigi['wall']) / (raw['rows'] / raw['wall']):.2f}")


if __name__ == "__main__":
    sys.exit(main())
