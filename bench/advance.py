"""Acts per second through the service, beside raw sqlite3 doing the same writes.

    .venv/bin/python bench/advance.py [--n 500] [--rounds 3] [--synchronous FULL] [--dir DIR]

Both sides run on SQLite files in one temp dir (WAL, synchronous=FULL unless told
otherwise), in this process, with kaigi's real schema (`store.db.upgrade` on both files).

kaigi:    N items filed through the service (untimed), then N `skip` acts by the
          implementation manager and N `withdraw` acts by the general manager (timed).
raw:      the same 2N acts as plain stdlib sqlite3, each one transaction:
          BEGIN IMMEDIATE; read the log head; re-read the item (state, version);
          INSERT the event (canonical payload JSON, sha256 chained to the previous hash
          exactly as store/chain.py does); UPDATE item (state, version, updated_at)
          WHERE id AND version; UPDATE the log head; COMMIT.

Rounds alternate which side goes first; the median rate of each side is reported and
the last line is `ratio: X` = kaigi rate / raw rate.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 6, 2, 1, 0, tzinfo=UTC)  # after the rulebook (2024-10-01) and the demo roster
GENESIS = "0" * 64
SKIPPER, WITHDRAWER, FILER = "yamamoto", "watanabe", "yamamoto"


# ------------------------------------------------------------------ chain (as store/chain.py)
def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def instant(at: dt.datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def link(prev: str, env: str, payload: str) -> str:
    return hashlib.sha256(f"{prev}\n{env}\n{payload}".encode()).hexdigest()


# ------------------------------------------------------------------ kaigi side
class KaigiSide:
    name = "kaigi"

    def __init__(self, path: Path, synchronous: str) -> None:
        from engine import setup
        from engine.clock import FrozenClock
        from engine.logs import configure_logging
        from engine.service import Service
        from store.db import make_engine, upgrade
        from store.sql import Store

        configure_logging()  # what the CLI does by default: warnings and up to stderr
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        if synchronous != "FULL":  # runs after store.db's own connect hook, so it wins
            from sqlalchemy import event

            @event.listens_for(engine, "connect")
            def _sync(dbapi_conn: Any, _rec: Any) -> None:
                dbapi_conn.execute(f"PRAGMA synchronous={synchronous}")

        upgrade(engine)
        self.store = Store(url, engine=engine)
        self.svc = Service(self.store, clock=FrozenClock(NOW))
        setup.init(self.svc, demo=True)

    def prepare(self, n: int) -> list[int]:
        ids = []
        for k in range(n):
            out = self.svc.file_item(FILER, f"bench item {k}", note="filed by bench/advance.py")
            assert out.event is not None and out.event.item is not None
            ids.append(out.event.item)
        return ids

    def run(self, ids: list[int]) -> None:
        adv = self.svc.advance
        for i in ids:
            adv(SKIPPER, i, "skip")
        for i in ids:
            adv(WITHDRAWER, i, "withdraw")

    def seq(self) -> int:
        return int(self.store.head()[0])

    def check(self) -> str:
        with self.store.engine.connect() as c:
            sync = c.exec_driver_sql("PRAGMA synchronous").scalar()
            mode = c.exec_driver_sql("PRAGMA journal_mode").scalar()
        return f"journal_mode={mode} synchronous={sync}"


# ------------------------------------------------------------------ raw sqlite3 side
class RawSide:
    name = "raw sqlite3"

    def __init__(self, path: Path, synchronous: str) -> None:
        from store.db import make_engine, upgrade

        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)  # the very schema kaigi uses, so rows and indexes match
        engine.dispose()
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit: we say BEGIN ourselves
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", f"synchronous={synchronous}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO body (key, kind, ja, en) VALUES ('hq', 'hq', '推進本部', 'promotion HQ')")
        self.db.execute("COMMIT")
        self.next_id = 1

    @staticmethod
    def _ts(at: dt.datetime) -> str:  # how SQLAlchemy's DateTime stores an instant on SQLite
        return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def _append(self, seq: int, prev: str, actor: str, item: int, type_: str, payload: dict[str, Any]) -> str:
        text = canonical(payload)
        env = canonical([seq, instant(NOW), actor, actor, "2024-10-01", item, None, type_])
        digest = link(prev, env, text)
        self.db.execute(
            "INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, self._ts(NOW), actor, actor, "2024-10-01", item, None, type_, text, prev, digest))
        return digest

    def prepare(self, n: int) -> list[int]:
        db, ts = self.db, self._ts(NOW)
        db.execute("BEGIN IMMEDIATE")
        seq, prev = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
        ids = []
        for k in range(n):
            i, seq = self.next_id, seq + 1
            self.next_id += 1
            title, note = f"bench item {k}", "filed by bench/advance.py"
            db.execute("INSERT INTO item (id, title, body, team, state, version, filed_by, filed_at, updated_at,"
                       " note, origin) VALUES (?, ?, 'hq', NULL, 'filed', 1, ?, ?, ?, ?, NULL)",
                       (i, title, FILER, ts, ts, note))
            prev = self._append(seq, prev, FILER, i, "ItemFiled", {
                "title": title, "body": "hq", "team": None, "note": note, "state": "filed", "origin": None})
            ids.append(i)
        db.execute("UPDATE log_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
        db.execute("COMMIT")
        return ids

    def act(self, actor: str, item: int, trigger: str, dest: str) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            seq, prev = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
            state, version = db.execute("SELECT state, version FROM item WHERE id = ?", (item,)).fetchone()
            seq += 1
            digest = self._append(seq, prev, actor, item, "ItemAdvanced",
                                  {"trigger": trigger, "from": state, "to": dest, "note": ""})
            cur = db.execute("UPDATE item SET state = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                             (dest, version + 1, self._ts(NOW), item, version))
            if cur.rowcount != 1:
                raise RuntimeError("conflict")
            db.execute("UPDATE log_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def run(self, ids: list[int]) -> None:
        for i in ids:
            self.act(SKIPPER, i, "skip", "pre_review")
        for i in ids:
            self.act(WITHDRAWER, i, "withdraw", "withdrawn")

    def seq(self) -> int:
        return int(self.db.execute("SELECT seq FROM log_head WHERE id = 1").fetchone()[0])

    def check(self) -> str:
        sync = self.db.execute("PRAGMA synchronous").fetchone()[0]
        mode = self.db.execute("PRAGMA journal_mode").fetchone()[0]
        return f"journal_mode={mode} synchronous={sync}"


# ------------------------------------------------------------------ driver
def timed(side: Any, n: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, events appended) for 2n acts on n freshly filed items."""
    ids = side.prepare(n)
    s0 = side.seq()
    w0, c0 = time.perf_counter(), time.process_time()
    side.run(ids)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return wall, cpu, side.seq() - s0


def fs_type(path: Path) -> str:
    try:
        best = ("?", "")
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mnt, kind = line.split()[:3]
            if str(path.resolve()).startswith(mnt) and len(mnt) >= len(best[1]):
                best = (f"{kind} ({dev} on {mnt})", mnt)
        return best[0]
    except OSError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="items per round; each round times 2N acts (default 500)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per side (default 3)")
    ap.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL", "OFF"],
                    help="SQLite synchronous for both sides (the product uses FULL)")
    ap.add_argument("--dir", default=None, help="where the temp databases go (default: the system temp dir)")
    args = ap.parse_args()

    import sqlalchemy

    with tempfile.TemporaryDirectory(prefix="kaigi-bench-", dir=args.dir) as tmp:
        kaigi = KaigiSide(Path(tmp) / "kaigi.db", args.synchronous)
        raw = RawSide(Path(tmp) / "raw.db", args.synchronous)
        warm = min(20, args.n)
        for side in (kaigi, raw):  # untimed: first-use caches (SQLAlchemy statements, the machine)
            timed(side, warm)

        results: dict[str, list[tuple[float, float, int]]] = {kaigi.name: [], raw.name: []}
        for r in range(args.rounds):
            order = (kaigi, raw) if r % 2 == 0 else (raw, kaigi)
            for side in order:
                results[side.name].append(timed(side, args.n))
                wall, cpu, _ = results[side.name][-1]
                print(f"round {r + 1} {side.name:12s} {2 * args.n / wall:9.1f} acts/s  "
                      f"{1000 * wall / (2 * args.n):7.3f} ms/act wall  {1000 * cpu / (2 * args.n):7.3f} ms/act CPU",
                      flush=True)

        acts = 2 * args.n
        print()
        print(f"python {platform.python_version()} ({platform.python_implementation()}), "
              f"sqlite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}")
        print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} CPUs, "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"files: {tmp} on {fs_type(Path(tmp))}")
        print(f"kaigi: {kaigi.check()}; raw: {raw.check()}")
        print(f"N = {args.n} items, {acts} acts per round ({args.n} skip + {args.n} withdraw), "
              f"{args.rounds} rounds, medians:")
        rates = {}
        for name, runs in results.items():
            walls = [w for w, _, _ in runs]
            cpus = [c for _, c, _ in runs]
            events = sum(e for _, _, e in runs) / (acts * len(runs))
            rates[name] = acts / statistics.median(walls)
            print(f"  {name:12s} {rates[name]:9.1f} acts/s  {1000 * statistics.median(walls) / acts:7.3f} ms/act wall"
                  f"  {1000 * statistics.median(cpus) / acts:7.3f} ms/act CPU  {events:.2f} events/act")
        print(f"ratio: {rates[kaigi.name] / rates[raw.name]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
