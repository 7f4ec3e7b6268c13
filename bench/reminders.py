"""One scheduler pass over a backlog: 100,000 items waiting on a reminder, 10,000 of them due, on SQLite.

    .venv/bin/python bench/reminders.py [--total 100000] [--due 10000] [--batch 500] [--dir DIR]
                                        [--no-memory] [--profile N]

Set-up (untimed): a SQLite file with kaigi's schema (WAL, synchronous=FULL as the product runs),
`kaigi init --demo` without its items, then one item filed by a real act (its row carries the
`staff_meeting` reminder exactly as the fold writes it) and `total` copies of that row inserted
directly: every (total/due)-th is due a day ago, the others tomorrow, each filed that long
before so that its reminder is the one the fold's planner gives it (one message per due item:
a copy whose deadline alone was moved fired the fold's own overdue rung too, two per item).
The file is checkpointed, then copied, so every run below starts from the same bytes. The
items are not in the log (filing 100,000 by acts would take longer than the pass): `audit
verify` refuses this database; a test's database verifies after a pass.

kaigi:  Dispatcher(kaigi, {"outbox": OutboxSender(file)}, batch=500).run_once(): claims the due
        items through `ix_item_due`, appends a `ReminderDue` event per item (hash-chained),
        inserts the delivery rows, claims those with a lease, appends each message to the
        outbox file (kept open and locked for the batch, one fsync per batch) and marks the
        batch sent with its `ReminderSent` events in one transaction.
raw rows: stdlib sqlite3 (and orjson, as store/chain.py) writing, per message, the rows kaigi's
        pass writes, in kaigi's two transactions a batch, with no decision, no fold and one
        text template (`raw_rows_side`): a `ReminderDue` event chained to the head, the item's
        row, a delivery row claimed with a lease, the outbox line, a `ReminderSent` event, the
        row marked sent. A floor under the audit trail's own writes, printed beside the two
        others: how much of the gap to the raw claim is the rows, and how much kaigi's code.
raw:    stdlib sqlite3 with the same pragmas on a copy of the same file: in a loop until none,
        one transaction `UPDATE item SET next_due_at = NULL … WHERE id IN (SELECT … ORDER BY
        next_due_at LIMIT 500) RETURNING …`, then one JSON line per claimed row to an outbox
        file, fsync per batch. Claim and deliver; no events, no delivery rows.

Time is wall time (time.perf_counter) of a run without tracing; the CPU time of each side
(time.process_time) is printed beside it, and a ratio by CPU time before the last line. Peak memory is measured
in a second, untimed run of each side on its own fresh copy, with `tracemalloc`. The last
line is `ratio: X` = kaigi reminders/s / raw rows/s.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # a Monday, far from the office closure
FILER = "yamamoto"
CHUNK = 10_000


# ------------------------------------------------------------------ the database
def build(path: Path, total: int, due: int) -> dict[str, int]:
    """The kaigi database with `total` items each waiting on a reminder, `due` of them due at NOW.

    The demo (roster, rulebook) comes from `kaigi init --demo`; one item is filed by a real
    act, so its row carries the reminder exactly as the fold writes it; the other items are
    copies of that row (ids, titles, filing times and the reminder the planner gives those)
    inserted in bulk: filing 100,000 items one act each would take longer than the pass we time."""
    from dataclasses import replace

    from engine.app import bootstrap
    from engine.app.kaigi import Kaigi
    from engine.core.plan import plan_item
    from store.codec import planned_out
    from store.sql import SqlStore

    url = f"sqlite:///{path}"
    bootstrap.upgrade(url)
    filed = NOW - dt.timedelta(days=20)
    store = SqlStore(url, clock=lambda: filed)
    kaigi = Kaigi(store)
    bootstrap.init(kaigi, demo=True, items=False)
    template = kaigi.file_item(FILER, "bench item 0").fact.item
    with store.read() as tx:
        w = kaigi.world(tx)
    item = w.items[template]
    kind = w.body_kinds()[item.body]
    assert [p.key for p in item.reminders] == ["staff_meeting"], item.reminders
    lead = item.reminders[0].due_at - item.updated_at  # what the rule gives from filing to the deadline
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    cols = [r[1] for r in db.execute("PRAGMA table_info(item)")]
    row = dict(zip(cols, db.execute("SELECT * FROM item WHERE id = ?", (template,)).fetchone(), strict=True))
    step, made = max(total // max(due, 1), 1), 0
    db.execute("BEGIN")
    for start in range(0, total, CHUNK):
        rows = []
        for k in range(start, min(start + CHUNK, total)):
            if k % step == 0 and made < due:
                due_at = NOW - dt.timedelta(days=1, seconds=made)
                made += 1
            else:
                due_at = NOW + dt.timedelta(days=1, seconds=k)
            # filed `lead` before its deadline, and planned by the fold's own planner: the row
            # carries the reminder the fold would plan again when the rung fires (a planted
            # deadline the fold disagreed with had it fire its own overdue rung as well: two
            # messages, two ReminderDue and two ReminderSent per due item)
            at = due_at - lead
            copy = replace(item, id=template + k, title=f"bench item {k}", filed_at=at, updated_at=at)
            planned = plan_item(w.book(at), copy, kind)
            copy = replace(copy, reminders=planned)
            assert (copy.next_due_at is not None and copy.next_due_at <= NOW) == (due_at <= NOW), (k, planned)
            rows.append({**row, "id": copy.id, "title": copy.title, "filed_at": ts(at), "updated_at": ts(at),
                         "reminders": planned_out(planned), "next_due_at": ts(copy.next_due_at),
                         "deadline_at": ts(copy.deadline_at)})
        if start == 0:
            db.execute("DELETE FROM item WHERE id = ?", (template,))
        db.executemany(f"INSERT INTO item ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})", rows)
    db.execute("COMMIT")
    assert made == due, (made, due)
    pending = db.execute("SELECT count(*) FROM item WHERE next_due_at IS NOT NULL").fetchone()[0]
    now_due = db.execute("SELECT count(*) FROM item WHERE next_due_at <= ?", (ts(NOW),)).fetchone()[0]
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    db.close()
    assert busy == 0, "the checkpoint did not complete"
    return {"pending": pending, "due": now_due}


def iso(at: dt.datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


# ------------------------------------------------------------------ the two sides
def kaigi_side(path: Path, outbox: Path, batch: int) -> Callable[[], int]:
    """Set up a dispatcher on `path` (untimed); return the pass to time, which returns the
    reminders it fired (each sent to its recipients through the outbox, each an event)."""
    from engine.app.kaigi import Kaigi
    from engine.reminders.dispatch import Dispatcher
    from engine.reminders.senders import OutboxSender
    from store.sql import SqlStore

    store = SqlStore(f"sqlite:///{path}", clock=lambda: NOW)
    kaigi = Kaigi(store)
    kaigi.training()  # the roster and rulebook are read once per process; not part of a pass:
    with store.read() as tx:  # (training() reads the mode alone; the first world parses the rulebooks)
        kaigi.world(tx)
    dispatcher = Dispatcher(kaigi, {"outbox": OutboxSender(outbox)}, batch=batch)
    with store.read() as tx:
        due = len(tx.items(due_by=NOW))

    def run() -> int:
        stats = dispatcher.run_once()
        assert not stats.errors and stats.failed == 0 and stats.retried == 0, stats
        with store.read() as tx:
            assert not tx.items(due_by=NOW), "a due reminder was left"
        return due

    run.close = getattr(store, "dispose", lambda: None)  # type: ignore[attr-defined]
    return run


def ts(at: dt.datetime) -> str:
    """How SQLAlchemy's DateTime stores an instant on SQLite (UTCDateTime: naive UTC)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def raw_side(path: Path, outbox: Path, batch: int) -> Callable[[], int]:
    db = sqlite3.connect(path, isolation_level=None)  # autocommit: we say BEGIN ourselves
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "synchronous=FULL"):
        db.execute(f"PRAGMA {pragma}")
    claim = ("UPDATE item SET next_due_at = NULL, version = version + 1 WHERE id IN (SELECT id FROM item"
             " WHERE next_due_at <= ? ORDER BY next_due_at LIMIT ?) RETURNING id, reminders, body, title")

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
                for item, plan, body, title in rows:
                    out.write((json.dumps({"item": item, "reminders": plan, "body": body, "title": title},
                                          ensure_ascii=False) + "\n").encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
                sent += len(rows)

    run.close = db.close  # type: ignore[attr-defined]
    return run


def _canonical(value: object) -> str:
    import orjson  # (what store/chain.py and bench/advance.py's raw side encode with)

    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def raw_rows_side(path: Path, outbox: Path, batch: int) -> Callable[[], int]:
    """Plain sqlite3 writing, per message, the rows kaigi's pass writes, in kaigi's two
    transactions a batch, with no decision, no fold and one text template: a floor under
    the audit trail's own writes (what no code on top of SQLite can go below).

    Per batch of `batch`: BEGIN IMMEDIATE; the due items through `ix_item_due`; per item a
    `ReminderDue` event (canonical JSON payload with the message's sha256, envelope, sha256
    chained to the head), its item row written back (its reminder one rung on), a pending
    delivery row with subject and body; the head moved; the batch claimed (UPDATE …
    RETURNING); COMMIT. The outbox: one JSON line a message, one fsync. Then BEGIN
    IMMEDIATE; a `ReminderSent` event per message, chained; the head moved; the batch
    marked sent; COMMIT."""
    import hashlib

    from orjson import dumps, loads

    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "synchronous=FULL"):
        db.execute(f"PRAGMA {pragma}")
    member = db.execute("SELECT login, name, email FROM member WHERE login = ?", (FILER,)).fetchone()
    login, name, email = member
    worker, sha = f"bench:{os.getpid()}", hashlib.sha256
    event_sql = ("INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, "
                 "prev_hash, hash, identity, schema, v) VALUES (?, ?, 'scheduler', 'scheduler', ?, ?, NULL, ?, ?, "
                 "?, ?, 'scheduler', ?, 2)")

    def chain(seq: int, prev: str, at: str, item: int, type_: str, schema: int, book: str,
              payload: str) -> tuple[tuple[object, ...], str]:
        env = _canonical([2, seq, at, "scheduler", "scheduler", "scheduler", book, item, None, type_, schema])
        digest = sha(f"{prev}\n{env}\n{payload}".encode()).hexdigest()
        return (seq, now_ts, book, item, type_, payload, prev, digest, schema), digest

    now_ts, now_at = ts(NOW), iso(NOW)
    lease = ts(NOW + dt.timedelta(minutes=5))

    def run() -> int:
        sent = 0
        with open(outbox, "ab") as out:
            while True:
                db.execute("BEGIN IMMEDIATE")
                try:
                    rows = db.execute("SELECT id, title, reminders, fired FROM item WHERE next_due_at <= ? "
                                      "ORDER BY next_due_at LIMIT ?", (now_ts, batch)).fetchall()
                    if not rows:
                        db.execute("COMMIT")
                        return sent
                    seq, prev = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
                    events, items, deliveries = [], [], []
                    for item, title, reminders, fired in rows:
                        planned = loads(reminders)
                        key, subject_ref, book, started, due, rung, _next_at, order = planned[0]
                        ident = f"{key}/{subject_ref}/{due}"
                        subject = f"【kaigi】案件{item}「{title}」: 担当者会議の開催(又は開催不要の判断)({due}まで)"
                        body = (f"{name} 様\n\n案件{item}「{title}」について、担当者会議の開催(又は開催不要の判断)の"
                                f"期限が到来しています。\n期限: {due}\n\n次の操作を行ってください:\n"
                                f"  - 担当者会議を招集する:\n      kaigi --as {login} meeting convene staff --at WHEN "
                                f"--item {item} --attendee LOGIN\n  - 案件を「担当者会議省略(skip)」する:\n"
                                f"      kaigi --as {login} item advance {item} skip\n")
                        digest = sha(f"{login}\n{subject}\n{body}".encode()).hexdigest()
                        route = sha(f"{login}\nemail\n{email}\n".encode()).hexdigest()
                        mid = f"<kaigi.{sha(f'{ident}#{rung}#{login}'.encode()).hexdigest()[:20]}.{rung}.{login}@kaigi.local>"
                        payload = _canonical({"deadline": due, "digests": [digest], "key": key, "recipients": [login],
                                              "reminder": ident, "routes": [route], "rung": rung})
                        seq += 1
                        row, prev = chain(seq, prev, now_at, item, "ReminderDue", 2, book, payload)
                        events.append(row)
                        nxt = (dt.datetime.fromisoformat(due) + dt.timedelta(days=7)).isoformat(timespec="microseconds")
                        planned[0] = [key, subject_ref, book, started, due, rung + 1, nxt, order]
                        tally = dict(loads(fired))  # the item's tally of rungs fired, one more of this reminder
                        tally[ident] = rung + 1
                        items.append((_canonical(planned), _canonical([list(x) for x in tally.items()]), ts(dt.datetime.fromisoformat(nxt)),
                                      ts(dt.datetime.fromisoformat(due)), item))
                        deliveries.append((f"{ident}#{rung}#{login}", ident, item, rung, login, email, mid, subject,
                                           body, now_ts, now_ts))
                    db.executemany(event_sql, events)
                    db.executemany("UPDATE item SET reminders = ?, fired = ?, next_due_at = ?, deadline_at = ? "
                                   "WHERE id = ?", items)
                    db.execute("UPDATE log_head SET seq = ?, hash = ?, at = ? WHERE id = 1", (seq, prev, now_ts))
                    db.executemany("INSERT INTO delivery (dedupe_key, reminder, item_id, meeting_id, rung, recipient, "
                                   "channel, address, message_id, subject, body, ics, status, attempts, "
                                   "next_attempt_at, created_at, attachment) VALUES (?, ?, ?, NULL, ?, ?, 'email', ?, "
                                   "?, ?, ?, NULL, 'pending', 0, ?, ?, NULL) ON CONFLICT (dedupe_key) DO NOTHING",
                                   deliveries)
                    claimed = db.execute(
                        "UPDATE delivery SET status = 'sending', claimed_by = ?, lease_until = ?, attempts = attempts + 1 "
                        "WHERE id IN (SELECT id FROM delivery WHERE status = 'pending' AND next_attempt_at <= ? "
                        "ORDER BY next_attempt_at, id LIMIT ?) RETURNING id, item_id, reminder, rung, recipient, "
                        "address, message_id, subject, body", (worker, lease, now_ts, len(deliveries))).fetchall()
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                for _, _, _, _, _, address, mid, subject, body in claimed:
                    out.write(dumps({"message_id": mid, "to": [address], "subject": subject, "body": body,
                                     "ics": None, "headers": {}}) + b"\n")
                out.flush()
                os.fsync(out.fileno())
                db.execute("BEGIN IMMEDIATE")
                try:
                    seq, prev = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
                    events = []
                    for _, item, ident, rung, recipient, _, mid, _, _ in claimed:
                        payload = _canonical({"channel": "email", "message_id": mid, "recipient": recipient,
                                              "reminder": ident, "rung": rung})
                        seq += 1
                        row, prev = chain(seq, prev, now_at, item, "ReminderSent", 2, "2024-10-01", payload)
                        events.append(row)
                    db.executemany(event_sql, events)
                    db.execute("UPDATE log_head SET seq = ?, hash = ?, at = ? WHERE id = 1", (seq, prev, now_ts))
                    db.execute("UPDATE delivery SET status = 'sent', sent_at = ?, last_error = NULL WHERE claimed_by = ? "
                               "AND status = 'sending' AND id IN (" + ", ".join(str(r[0]) for r in claimed) + ")",
                               (now_ts, worker))
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                sent += len(claimed)

    run.close = db.close  # type: ignore[attr-defined]
    return run


# ------------------------------------------------------------------ measuring
def timed(make: Callable[[Path, Path, int], Callable[[], int]], db: Path, outbox: Path,
          batch: int) -> tuple[int, float, float]:
    """(rows, wall seconds, CPU seconds of this process): on a machine others share, the CPU
    time says what the pass costs when the wall time mostly says how long it waited its turn."""
    run = make(db, outbox, batch)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        rows = run()
        return rows, time.perf_counter() - t0, time.process_time() - c0
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

    from engine.infra.logs import configure_logging

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
                                                                          "raw rows": raw_rows_side,
                                                                          "kaigi": kaigi_side}
        results: dict[str, dict[str, float]] = {}
        for name, make in sides.items():
            tag = name.split()[0]
            outbox = tmp / f"{tag}-outbox.jsonl"
            rows, wall, cpu = timed(make, copy(f"{tag}.db"), outbox, args.batch)
            assert rows == counts["due"] and lines(outbox) >= rows, (name, rows, lines(outbox))
            results[name] = {"rows": rows, "wall": wall, "cpu": cpu}
            print(f"{name:12s} {rows} rows in {wall:.2f} s = {rows / wall:9.1f} rows/s (CPU {cpu:.2f} s)", flush=True)
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
        print(f"by CPU time: raw {raw['cpu']:.2f} s, kaigi {kaigi['cpu']:.2f} s, ratio {raw['cpu'] / kaigi['cpu']:.2f}"
              " (the wall ratio below waits on the machine's load)")
        floor = results["raw rows"]
        print(f"raw writing kaigi's rows (events chained, items, deliveries, two commits a batch): "
              f"{floor['rows'] / floor['wall']:.1f} rows/s, CPU {floor['cpu']:.2f} s; kaigi / that: "
              f"{(kaigi['rows'] / kaigi['wall']) / (floor['rows'] / floor['wall']):.2f} by wall, "
              f"{floor['cpu'] / kaigi['cpu']:.2f} by CPU; that / raw: "
              f"{(floor['rows'] / floor['wall']) / (raw['rows'] / raw['wall']):.2f} (the rows' own share)")
        print(f"ratio: {(kaigi['rows'] / kaigi['wall']) / (raw['rows'] / raw['wall']):.2f}")


if __name__ == "__main__":
    sys.exit(main())
