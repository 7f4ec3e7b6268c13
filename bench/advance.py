"""Acts per second through the application API, beside raw sqlite3 writing the same rows.

    .venv/bin/python bench/advance.py [--n 500] [--rounds 3] [--synchronous FULL] [--dir DIR]

Both sides run on SQLite files in one temp dir (WAL, synchronous=FULL unless told
otherwise), in this process, with kaigi's real schema (Alembic's migrations on both files).

kaigi:    N items filed through `Kaigi.file_item` (untimed), then N `skip` acts by the
          implementation manager and N `withdraw` acts by the general manager (timed), warm:
          the roster and rulebooks are cached after the first act, as in a web server.
raw:      the same 2N acts as plain stdlib sqlite3, each one transaction writing the rows
          kaigi writes: BEGIN IMMEDIATE; read the log head and the item; INSERT the event
          (canonical JSON, sha256 chained to the previous hash as store/chain.py does);
          UPDATE the item (every column kaigi writes, its planned reminders as JSON); UPDATE
          the head; COMMIT. It decides nothing and plans nothing: that is kaigi's work.

Rounds alternate which side goes first; medians are reported. Two figures: acts/s (kaigi /
raw) and CPU per act (kaigi / raw). The last line is `ratio: X`, the acts/s ratio.
"""

import argparse
import datetime as dt
import hashlib
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

UTC = dt.UTC
NOW = dt.datetime(2025, 6, 2, 1, 0, tzinfo=UTC)  # after the rulebook (2024-10-01) and the demo roster
GENESIS = "0" * 64
SKIPPER, WITHDRAWER, FILER = "yamamoto", "watanabe", "yamamoto"


def canonical(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def instant(at: dt.datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def link(prev: str, env: str, payload: str) -> str:
    return hashlib.sha256(f"{prev}\n{env}\n{payload}".encode()).hexdigest()


def ts(at: dt.datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class Clock:
    """Moves a microsecond per reading: every act has its own time, as on a real clock."""

    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> dt.datetime:
        self.at += dt.timedelta(microseconds=1)
        return self.at


# ------------------------------------------------------------------ kaigi side
class KaigiSide:
    name = "kaigi"

    def __init__(self, path: Path, synchronous: str) -> None:
        from engine.app import bootstrap
        from engine.app.kaigi import Kaigi
        from store.sql import SqlStore

        url = f"sqlite:///{path}"
        bootstrap.upgrade(url)
        self.store = SqlStore(url, clock=Clock())
        if synchronous != "FULL":
            self.store.connection().execute(f"PRAGMA synchronous={synchronous}")
        self.kaigi = Kaigi(self.store)
        bootstrap.init(self.kaigi, demo=True)

    def prepare(self, n: int) -> list[int]:
        return [self.kaigi.file_item(FILER, f"bench item {k}", note="filed by bench/advance.py").fact.item
                for k in range(n)]

    def run(self, ids: list[int]) -> None:
        adv = self.kaigi.advance
        for i in ids:
            adv(SKIPPER, i, "skip")
        for i in ids:
            adv(WITHDRAWER, i, "withdraw")

    def check(self) -> str:
        c = self.store.connection()
        return (f"journal_mode={c.execute('PRAGMA journal_mode').fetchone()[0]} "
                f"synchronous={c.execute('PRAGMA synchronous').fetchone()[0]}")


# ------------------------------------------------------------------ raw sqlite3 side
class RawSide:
    name = "raw sqlite3"
    PLANNED = '[["team_lead_meeting","item:{i}","2024-10-01","{t}","{t}",0,"{t}",null]]'

    def __init__(self, path: Path, synchronous: str) -> None:
        from engine.app import bootstrap

        bootstrap.upgrade(f"sqlite:///{path}")  # the very schema kaigi uses, so rows and indexes match
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit: we say BEGIN ourselves
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", f"synchronous={synchronous}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.clock = Clock()

    def prepare(self, n: int) -> list[int]:
        db, t = self.db, ts(NOW)
        db.execute("BEGIN IMMEDIATE")
        seq, prev = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
        for i in range(1, n + 1):
            seq += 1
            payload = canonical({"title": f"bench item {i}", "body": "hq", "team": None, "note": "",
                                 "state": "filed", "origin": None})
            prev = self._event(seq, prev, FILER, i, "ItemFiled", payload, NOW)
            db.execute("INSERT INTO item (id, title, body, team, state, version, filed_by, filed_at, updated_at, "
                       "note, origin, sittings, orders, reminders, next_due_at) VALUES "
                       "(?, ?, 'hq', NULL, 'filed', 1, ?, ?, ?, '', NULL, '[]', '[]', '[]', NULL)",
                       (i, f"bench item {i}", FILER, t, t))
        db.execute("UPDATE log_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
        db.execute("COMMIT")
        return list(range(1, n + 1))

    def _event(self, seq: int, prev: str, actor: str, item: int, type_: str, payload: str, at: dt.datetime) -> str:
        env = canonical([2, seq, instant(at), actor, actor, "training", "2024-10-01", item, None, type_, 1])
        digest = link(prev, env, payload)
        self.db.execute("INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, "
                        "prev_hash, hash, identity, schema, v) VALUES (?, ?, ?, ?, '2024-10-01', ?, NULL, ?, ?, ?, ?, "
                        "'training', 1, 2)", (seq, ts(at), actor, actor, item, type_, payload, prev, digest))
        return digest

    def act(self, actor: str, item: int, trigger: str, to: str) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        at = self.clock()
        seq, prev = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
        state, version = db.execute("SELECT state, version FROM item WHERE id = ?", (item,)).fetchone()
        payload = canonical({"trigger": trigger, "from": state, "to": to, "note": ""})
        digest = self._event(seq + 1, prev, actor, item, "ItemAdvanced", payload, at)
        t = ts(at)
        db.execute("UPDATE item SET title = ?, body = 'hq', team = NULL, state = ?, version = ?, filed_by = ?, "
                   "filed_at = ?, updated_at = ?, note = '', origin = NULL, sittings = '[]', orders = '[]', "
                   "reminders = ?, next_due_at = ? WHERE id = ?",
                   (f"bench item {item}", to, version + 1, FILER, t, t, self.PLANNED.format(i=item, t=t), t, item))
        db.execute("UPDATE log_head SET seq = ?, hash = ?, at = ? WHERE id = 1", (seq + 1, digest, t))
        db.execute("COMMIT")

    def run(self, ids: list[int]) -> None:
        for i in ids:
            self.act(SKIPPER, i, "skip", "pre_review")
        for i in ids:
            self.act(WITHDRAWER, i, "withdraw", "withdrawn")

    def check(self) -> str:
        return (f"journal_mode={self.db.execute('PRAGMA journal_mode').fetchone()[0]} "
                f"synchronous={self.db.execute('PRAGMA synchronous').fetchone()[0]}")


def measure(side: Any, n: int) -> tuple[float, float]:
    ids = side.prepare(n)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    side.run(ids)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    acts = 2 * n
    return acts / wall, cpu / acts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--synchronous", default="FULL")
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    folder = Path(a.dir or tempfile.mkdtemp(prefix="kaigi-bench-"))
    rates: dict[str, list[float]] = {"kaigi": [], "raw sqlite3": []}
    cpus: dict[str, list[float]] = {"kaigi": [], "raw sqlite3": []}
    checks = {}
    for r in range(a.rounds):
        order = (KaigiSide, RawSide) if r % 2 == 0 else (RawSide, KaigiSide)
        for cls in order:
            path = folder / f"{cls.__name__}-{r}.db"
            side = cls(path, a.synchronous)
            rate, cpu = measure(side, a.n)
            checks[cls.name] = side.check()
            rates[cls.name].append(rate)
            cpus[cls.name].append(cpu)
            print(f"round {r + 1} {cls.name:12} {rate:8.1f} acts/s  {1000 / rate:6.3f} ms/act wall  "
                  f"{cpu * 1000:6.3f} ms/act CPU")
    print()
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}; "
          f"machine {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"files in {folder}; kaigi: {checks['kaigi']}; raw: {checks['raw sqlite3']}")
    print(f"N = {a.n} items, {2 * a.n} acts per round (skip, then withdraw), {a.rounds} rounds, medians:")
    med = {k: statistics.median(v) for k, v in rates.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    for k in med:
        print(f"  {k:12} {med[k]:8.1f} acts/s  {cpu[k] * 1000:6.3f} ms/act CPU")
    print(f"CPU per act: kaigi / raw = {cpu['kaigi'] / cpu['raw sqlite3']:.2f} (aim: at most 3)")
    print(f"acts/s: kaigi / raw = {med['kaigi'] / med['raw sqlite3']:.2f} (aim: at least 0.45)")
    print(f"ratio: {med['kaigi'] / med['raw sqlite3']:.2f}")


if __name__ == "__main__":
    main()
