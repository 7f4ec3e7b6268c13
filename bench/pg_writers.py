"""Concurrent writers on PostgreSQL: acts/s through the Python API beside raw psycopg.

    .venv/bin/python bench/pg_writers.py [--url URL] [--writers 8] [--acts 60] [--rounds 1] [--processes] [--schedstat]

With no `--url` it uses KAIGI_TEST_PG_URL, else PostgreSQL on 127.0.0.1:5432 as `postgres`;
either way it makes two databases of its own beside the URL's (`kaigi_bench_<pid>_k`,
`…_r`), runs there with kaigi's real schema (Alembic's migrations on both), and drops them.

kaigi:  N writer threads share one `Kaigi` (as a web server's threads do; each thread has its
        own connection), or with `--processes` N processes with a `Kaigi` each (as `kaigi serve
        --workers N`). Each files its own items (untimed), then advances each `skip` as the
        implementation manager and `withdraw` as the general manager (timed): 2 acts an item,
        on the database's own clock (the witness stamps the time the head was taken).
raw:    the same N threads, each on its own psycopg connection, doing the same acts as plain
        SQL, each one transaction writing the rows kaigi writes, the head taken as late as
        it can be: BEGIN; read the item; UPDATE the item (every column kaigi writes, its
        planned reminder as JSON: the writer's own row, no wait on others); take the head
        (SELECT … FOR UPDATE, with the database's clock); INSERT the event (canonical JSON,
        sha256 chained to the previous hash as store/chain.py does); UPDATE the head; COMMIT.
        It decides nothing and plans nothing: that is kaigi's work.

Head hold: from the moment the server granted the head (its `clock_timestamp()` at the grant, on
the same host's clock; where the clocks disagree, when the locking statement answered) to the
COMMIT's answer, timed in the client around the locked section on both sides (kaigi's by
wrapping `SqlTx.lock_head` and `SqlStore.act`). Printed as the median and the 90th
percentile. With `--schedstat` (Linux), each kaigi hold also reads `/proc/<pid>/schedstat`
of the writer's thread and of its PostgreSQL backend at both ends, and the medians of their
CPU time and run-queue wait in the hold are printed: a hold that grows with the writers while
its CPU does not is the time it waited for a core (the reads are themselves in the hold and
lengthen it: take the acts/s and hold ratios from a run without it). The last line is `ratio: X`, kaigi's
acts/s over raw's (medians over rounds).
"""

import argparse
import datetime as dt
import hashlib
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

UTC = dt.UTC
SKIPPER, WITHDRAWER, FILER = "yamamoto", "watanabe", "yamamoto"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def canonical(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def conninfo(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def with_database(url: str, name: str) -> str:
    base, sep, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}{sep}{query}"


@contextmanager
def database(url: str, name: str) -> Iterator[str]:
    """A database of our own beside `url`'s, dropped afterwards."""
    import psycopg

    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def since_granted(granted: dt.datetime) -> float:
    """Seconds since the server granted the head, by its `clock_timestamp()` at the grant (the
    witness's stamp; the raw side reads the same): a hold starts there, not when the client
    reads the answer, so what the server ran between the two (kaigi's re-read, pipelined behind
    the lock) is in it. Clocks of one host; 0 where they disagree (another host)."""
    gap = time.time() - granted.timestamp()
    return gap if 0 <= gap < 1 else 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def run_writers(n: int, ready: Callable[[int], Callable[[], list[Any]]], processes: bool,
                armed: Callable[[], None] = lambda: None) -> tuple[float, list[Any]]:
    """`ready(k)` in n threads (or processes): each connects and warms up (its first act,
    untimed), then gives the timed work, which all start together once every one is ready
    (`armed` runs in between, in the parent). The wall time of the slowest, and what each
    work returned. A writer's first act costs ~27 ms of CPU (its connection, its caches):
    inside the timed window it was a bias of a few per cent against the side that pays more."""
    if processes:
        return run_processes(n, ready)
    times: list[Any] = []
    wall = run_threads(n, ready, armed, times.extend)
    return wall, times


def run_processes(n: int, ready: Callable[[int], Callable[[], list[Any]]]) -> tuple[float, list[Any]]:
    """`ready(k)`'s work in n forked processes (as `kaigi serve --workers N`: no GIL shared)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    start = ctx.Barrier(n + 1)
    out: Any = ctx.Queue()

    def body(k: int) -> None:
        go, err = None, None
        try:
            go = ready(k)
        except BaseException as e:  # noqa: BLE001 (reported in the parent)
            err = repr(e)
        start.wait()
        try:
            out.put((k, go() if go else [], err))
        except BaseException as e:  # noqa: BLE001 (reported in the parent)
            out.put((k, [], repr(e)))
    procs = [ctx.Process(target=body, args=(k,)) for k in range(n)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    results = [out.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    errors = [e for _, _, e in results if e]
    if errors:
        raise RuntimeError(errors[0])
    return wall, [t for _, times, _ in results for t in times]


def run_threads(n: int, ready: Callable[[int], Callable[[], list[Any]]], armed: Callable[[], None],
                keep: Callable[[list[Any]], None]) -> float:
    """`ready(k)` in n threads, then their works started together; the wall time of the slowest."""
    warm, start = threading.Barrier(n + 1), threading.Barrier(n + 1)
    errors: list[BaseException] = []

    def body(k: int) -> None:
        go = None
        try:
            go = ready(k)
        except BaseException as err:  # noqa: BLE001 (reported below)
            errors.append(err)
        warm.wait()
        start.wait()
        try:
            if go is not None:
                keep(go())
        except BaseException as err:  # noqa: BLE001 (reported below)
            errors.append(err)
    threads = [threading.Thread(target=body, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    warm.wait()
    armed()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return wall


# ------------------------------------------------------------------ kaigi side
NAN = float("nan")


def schedstat(task: int | str) -> tuple[int, int] | None:
    """(CPU time, time waiting on a run queue) of a task (a pid, or `self/task/<tid>`: a thread)
    so far, in ns, or None if unreadable."""
    try:
        with open(f"/proc/{task}/schedstat") as f:
            run, wait, _ = f.read().split()
        return int(run), int(wait)
    except (OSError, ValueError):
        return None


class Holds:
    """The head's hold times of kaigi's acts, timed around the locked section; with
    `schedstat`, also each hold's CPU time and run-queue wait, of the writer and of its
    PostgreSQL backend (`/proc/<pid>/schedstat`: where a hold that grows with the writers goes)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.sched: list[tuple[float, float, float, float]] = []  # beside `times`, one per hold
        self.on = False
        self.schedstat = False

    @staticmethod
    def spent(start: Any) -> tuple[float, float, float, float]:
        """(writer CPU, writer run-queue wait, backend CPU, backend run-queue wait) in s, since `start`."""
        if start is None or start[0] is None or start[1] is None:
            return (NAN, NAN, NAN, NAN)
        me, backend = schedstat(f"self/task/{threading.get_native_id()}"), schedstat(start[2])  # this thread's
        if me is None or backend is None:
            return (NAN, NAN, NAN, NAN)
        return ((me[0] - start[0][0]) / 1e9, (me[1] - start[0][1]) / 1e9,
                (backend[0] - start[1][0]) / 1e9, (backend[1] - start[1][1]) / 1e9)

    def install(self) -> None:
        from store.sql import SqlStore, SqlTx

        lock, act = SqlTx.lock_head, SqlStore.act
        holds = self

        def lock_head(tx: Any, *a: Any, **kw: Any) -> Any:
            out = lock(tx, *a, **kw)
            if holds.schedstat:
                backend = tx.conn.info.backend_pid
                tx.bench_sched = (schedstat(f"self/task/{threading.get_native_id()}"), schedstat(backend), backend)
            tx.bench_locked = time.perf_counter() - since_granted(tx.now)
            return out

        @contextmanager
        def timed_act(store: Any, **kw: Any) -> Iterator[Any]:
            with act(store, **kw) as tx:
                yield tx
            locked = getattr(tx, "bench_locked", None)
            if locked is not None and holds.on:
                holds.times.append(time.perf_counter() - locked)
                holds.sched.append(holds.spent(getattr(tx, "bench_sched", None)))

        SqlTx.lock_head = lock_head  # type: ignore[method-assign]
        SqlStore.act = timed_act  # type: ignore[method-assign,assignment]


class KaigiSide:
    name = "kaigi"

    def __init__(self, url: str, holds: Holds) -> None:
        from engine.app import bootstrap
        from engine.app.kaigi import Kaigi
        from store.sql import SqlStore

        bootstrap.upgrade(url)
        self.store = SqlStore(url)
        self.kaigi = Kaigi(self.store)
        bootstrap.init(self.kaigi, demo=True)
        self.holds = holds

    def prepare(self, writers: int, per: int) -> list[list[int]]:
        k = self.kaigi
        return [[k.file_item(FILER, f"bench item {w}.{i}", note="filed by bench/pg_writers.py").fact.item
                 for i in range(per)] for w in range(writers)]

    def run(self, ids: list[list[int]], processes: bool) -> tuple[float, list[float]]:
        """Each writer's first item is its warm-up (untimed); its holds are not counted."""
        from engine.app.kaigi import Kaigi
        from store.sql import SqlStore

        holds = self.holds

        def ready(w: int) -> Callable[[], list[Any]]:
            k = Kaigi(SqlStore(self.store.url)) if processes else self.kaigi  # a process: its own connection
            adv = k.advance
            warm, *mine = ids[w]
            adv(SKIPPER, warm, "skip")
            adv(WITHDRAWER, warm, "withdraw")

            def go() -> list[Any]:
                for i in mine:
                    adv(SKIPPER, i, "skip")
                for i in mine:
                    adv(WITHDRAWER, i, "withdraw")
                # a process's own copy holds its own only: each hold with its schedstat figures
                return [(t, *x) for t, x in zip(holds.times, holds.sched, strict=True)] if processes else []
            if processes:  # this process's copy: from here on
                arm()
            return go

        def arm() -> None:
            holds.times.clear()
            holds.sched.clear()
            holds.on = True
        holds.on = False
        try:
            wall, rows = run_writers(len(ids), ready, processes, arm)
            if processes:
                self.sched: list[Any] = [tuple(r[1:]) for r in rows]
                return wall, [r[0] for r in rows]
            self.sched = list(holds.sched)
            return wall, list(holds.times)
        finally:
            holds.on = False

    def close(self) -> None:
        self.store.close()


# ------------------------------------------------------------------ raw psycopg side
class RawSide:
    name = "raw psycopg"
    PLANNED = '[["team_lead_meeting","item:{i}","2024-10-01","{t}","{t}",0,"{t}",null]]'

    def __init__(self, url: str) -> None:
        from engine.app import bootstrap

        bootstrap.upgrade(url)  # the very schema kaigi uses, so rows, indexes and triggers match
        self.url = url

    def prepare(self, writers: int, per: int) -> list[list[int]]:
        import psycopg

        now = dt.datetime.now(UTC)
        with psycopg.connect(conninfo(self.url)) as db:
            seq, prev = db.execute("SELECT seq, hash FROM log_head WHERE id = 1 FOR UPDATE").fetchone()
            n = writers * per
            for i in range(1, n + 1):
                seq += 1
                payload = canonical({"title": f"bench item {i}", "body": "hq", "team": None, "note": "",
                                     "state": "filed", "origin": None})
                prev = self.event(db, seq, prev, FILER, i, "ItemFiled", payload, now)
                db.execute("INSERT INTO item (id, title, body, team, state, version, filed_by, filed_at, "
                           "updated_at, note, origin, sittings, orders, reminders, next_due_at) VALUES "
                           "(%s, %s, 'hq', NULL, 'filed', 1, %s, %s, %s, '', NULL, '[]', '[]', '[]', NULL)",
                           (i, f"bench item {i}", FILER, now, now))
            db.execute("UPDATE log_head SET seq = %s, hash = %s, at = %s WHERE id = 1", (seq, prev, now))
        return [list(range(w * per + 1, (w + 1) * per + 1)) for w in range(writers)]

    @staticmethod
    def event(db: Any, seq: int, prev: str, actor: str, item: int, type_: str, payload: str,
              at: dt.datetime) -> str:
        env = canonical([2, seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, actor, "training",
                         "2024-10-01", item, None, type_, 1])
        digest = hashlib.sha256(f"{prev}\n{env}\n{payload}".encode()).hexdigest()
        db.execute("INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, "
                   "prev_hash, hash, identity, schema, v) VALUES (%s, %s, %s, %s, '2024-10-01', %s, NULL, %s, %s, "
                   "%s, %s, 'training', 1, 2)", (seq, at, actor, actor, item, type_, payload, prev, digest))
        return digest

    def act(self, db: Any, actor: str, item: int, trigger: str, to: str) -> float:
        db.execute("BEGIN")
        state, version = db.execute("SELECT state, version FROM item WHERE id = %s", (item,)).fetchone()
        at = dt.datetime.now(UTC)  # this writer's own item: written before the head is taken
        db.execute("UPDATE item SET title = %s, body = 'hq', team = NULL, state = %s, version = %s, filed_by = %s, "
                   "filed_at = %s, updated_at = %s, note = '', origin = NULL, sittings = '[]', orders = '[]', "
                   "reminders = %s, next_due_at = %s WHERE id = %s",
                   (f"bench item {item}", to, version + 1, FILER, at, at, self.PLANNED.format(i=item, t=at), at,
                    item))
        seq, prev, at = db.execute("SELECT seq, hash, clock_timestamp() FROM log_head WHERE id = 1 "
                                   "FOR UPDATE").fetchone()
        locked = time.perf_counter() - since_granted(at)
        payload = canonical({"trigger": trigger, "from": state, "to": to, "note": ""})
        digest = self.event(db, seq + 1, prev, actor, item, "ItemAdvanced", payload, at)
        db.execute("UPDATE log_head SET seq = %s, hash = %s, at = %s WHERE id = 1", (seq + 1, digest, at))
        db.execute("COMMIT")
        return time.perf_counter() - locked

    def run(self, ids: list[list[int]], processes: bool) -> tuple[float, list[float]]:
        """Each writer's first item is its warm-up (untimed), as on kaigi's side."""
        import psycopg

        def ready(w: int) -> Callable[[], list[float]]:
            db = psycopg.connect(conninfo(self.url), autocommit=True)
            warm, *mine = ids[w]
            self.act(db, SKIPPER, warm, "skip", "pre_review")
            self.act(db, WITHDRAWER, warm, "withdraw", "withdrawn")

            def go() -> list[float]:
                with db:
                    out = [self.act(db, SKIPPER, i, "skip", "pre_review") for i in mine]
                    return out + [self.act(db, WITHDRAWER, i, "withdraw", "withdrawn") for i in mine]
            return go
        return run_writers(len(ids), ready, processes)

    def close(self) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=None, help="a PostgreSQL URL (default KAIGI_TEST_PG_URL, else local postgres)")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--acts", type=int, default=60, help="items per writer (2 acts each)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--processes", action="store_true", help="writers as processes (as serve --workers), not threads")
    ap.add_argument("--schedstat", action="store_true",
                    help="also each kaigi hold's CPU time and run-queue wait, the writer's and its backend's (Linux)")
    a = ap.parse_args()
    url = a.url or os.environ.get("KAIGI_TEST_PG_URL") or DEFAULT_URL
    os.environ.setdefault("KAIGI_HEAD_WAIT", "30")  # a bench measures throughput, not the busy bound
    holds = Holds()
    holds.schedstat = a.schedstat
    holds.install()
    spent: list[tuple[float, ...]] = []
    rates: dict[str, list[float]] = {"kaigi": [], "raw psycopg": []}
    hold: dict[str, list[float]] = {"kaigi": [], "raw psycopg": []}
    tag = f"kaigi_bench_{os.getpid()}"
    for r in range(a.rounds):
        order = ("kaigi", "raw") if r % 2 == 0 else ("raw", "kaigi")
        for which in order:
            with database(url, f"{tag}_{which[0]}") as db_url:
                side: Any = KaigiSide(db_url, holds) if which == "kaigi" else RawSide(db_url)
                try:
                    ids = side.prepare(a.writers, a.acts + 1)  # each writer's first: its warm-up
                    wall, times = side.run(ids, a.processes)
                finally:
                    side.close()
            acts = 2 * a.writers * a.acts
            if which == "kaigi":
                spent += getattr(side, "sched", [])
            rates[side.name].append(acts / wall)
            hold[side.name].extend(times)
            print(f"round {r + 1} {side.name:12} {acts / wall:8.1f} acts/s  head held median "
                  f"{statistics.median(times) * 1000:6.3f} ms, p90 {pct(times, 0.9) * 1000:6.3f} ms "
                  f"({len(times)} acts)")
    print()
    print(f"{a.writers} writers ({'processes' if a.processes else 'threads'}), {a.acts} items each, 2 acts an item, {a.rounds} rounds; load "
          f"{os.getloadavg()[0]:.2f}; medians:")
    med = {k: statistics.median(v) for k, v in rates.items()}
    held = {k: statistics.median(v) for k, v in hold.items()}
    for k in med:
        print(f"  {k:12} {med[k]:8.1f} acts/s  head held {held[k] * 1000:6.3f} ms")
    measured = [x for x in spent if x[0] == x[0]]  # (NaN: not readable)
    if a.schedstat and measured:
        cols = ("writer CPU", "writer run-queue wait", "backend CPU", "backend run-queue wait")
        print("  kaigi's hold, medians: " + ", ".join(
            f"{c} {statistics.median(x[i] for x in measured) * 1000:.3f} ms" for i, c in enumerate(cols)))
    elif a.schedstat:
        print("  kaigi's hold: /proc/<pid>/schedstat not readable here (Linux, and the backend's needs its user or root)")
    print(f"head held: kaigi / raw = {held['kaigi'] / held['raw psycopg']:.2f} (aim: at most 1.5)")
    print(f"acts/s: kaigi / raw = {med['kaigi'] / med['raw psycopg']:.2f} (aim: at least 0.8)")
    print(f"ratio: {med['kaigi'] / med['raw psycopg']:.2f}")


if __name__ == "__main__":
    main()
