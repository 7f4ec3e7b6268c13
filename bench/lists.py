"""Lists that stay fast (issue 21, item 4): the overdue list, the API's overdue page and the
board over many items, beside a raw indexed read of the same rows and a bare route.

    .venv/bin/python bench/lists.py [--items 100000] [--overdue 10000] [--rounds 20] [--dir DIR]

Set-up (untimed): bench/reminders.py's build(): a SQLite file with kaigi's schema and the demo
roster, one item filed by a real act, and `items` copies of its row inserted in bulk, `overdue`
of them with a deadline a day before NOW (the others tomorrow); each copy is then given a
time of change of its own (copies of one row would all share it).

Timed (wall time, median of `rounds`, after one warm-up each), a signed-in HQ member (sees all):
  list    `kaigi item list --overdue` through the application API, as cli.py calls it:
          finding.find(Filters(overdue=True), limit=100), then Reader.views_of the page's ids
  raw     stdlib sqlite3: the same 100 rows, their ids by `SELECT id FROM item INDEXED BY
          ix_item_deadline WHERE deadline_at <= NOW ORDER BY id LIMIT 100`, then the rows by id,
          their JSON columns decoded
  api     GET /api/v1/items?overdue=true (a page of 50, its cursor) through FastAPI's TestClient
  board   GET /board (per state: a count, and the first 60 cards)
  bare    GET /healthz: the app's middleware and routing, nothing else
  idle    a scheduler pass (`Dispatcher.run_once()`) at a time nothing is due, on this database
          and (idle@small) on one of 100 items built the same way: the due queries go through
          ix_item_due / ix_meeting_due / ix_delivery_due, so the two should cost the same

Prints each median in milliseconds and four ratios (list/raw, api/bare, board/bare, and
idle/idle@small, the aim for which is 1); the last line is `ratio: X`, the largest of them
(the aim: within 10 at 100,000 items).
"""

import argparse
import datetime as dt
import json
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reminders import NOW, build, ts

PAGE = 100  # `kaigi item list`'s default --limit
SMALL = 100  # items of the database the idle scheduler pass is compared with
IDLE = NOW - dt.timedelta(days=2)  # nothing is due yet: the earliest reminder is due a day before NOW


def median_ms(fn: Callable[[], Any], rounds: int) -> float:
    fn()  # warm: caches, the statement cache, the rulebook read once per process
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def idle_pass(path: Path) -> Callable[[], int]:
    """`Dispatcher.run_once()` at a time when nothing is due (a day before the first due
    reminder): the due queries (items, meetings, deliveries) and nothing else."""
    from engine.app.kaigi import Kaigi
    from engine.reminders.dispatch import Dispatcher
    from engine.reminders.senders import OutboxSender
    from store.sql import SqlStore

    k = Kaigi(SqlStore(f"sqlite:///{path}", clock=lambda: IDLE))
    k.training()
    d = Dispatcher(k, {"outbox": OutboxSender(path.with_suffix(".outbox.jsonl"))})

    def run() -> int:
        stats = d.run_once()
        assert stats.fired == stats.sent == 0, stats
        return 0
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--overdue", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--dir", default=None, help="where the database is built (else a temporary folder)")
    a = ap.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    from fastapi.testclient import TestClient

    from engine.app import finding
    from engine.app.kaigi import Kaigi
    from store.sql import SqlStore
    from web import create_app

    path = Path(a.dir or tempfile.mkdtemp(prefix="kaigi-lists-")) / "lists.db"
    t = time.perf_counter()
    counts = build(path, a.items, a.overdue)
    db = sqlite3.connect(path, isolation_level=None)
    ids = [r[0] for r in db.execute("SELECT id FROM item ORDER BY id")]
    db.execute("BEGIN")  # each copy changed at a time of its own, as items are (the board's order)
    db.executemany("UPDATE item SET updated_at = ? WHERE id = ?",
                   [(ts(NOW - dt.timedelta(days=10, seconds=-n)), i) for n, i in enumerate(ids)])
    db.execute("COMMIT")
    print(f"built {a.items:,} items ({counts['due']:,} overdue) in {time.perf_counter() - t:.1f} s (untimed)")

    k = Kaigi(SqlStore(f"sqlite:///{path}", clock=lambda: NOW))
    viewer = "sato"

    def app_list() -> int:  # cli.py item_list, without click and the table
        with k.read(viewer=viewer) as q:
            found = finding.find(q, finding.Filters(overdue=True), limit=PAGE, offset=0, lang="ja")
            views = q.views_of([r["id"] for r in found.rows], "ja")
        assert len(views) == min(PAGE, counts["due"]) and all(v["overdue"] for v in views), len(views)
        return len(views)

    cols = [r[1] for r in db.execute("PRAGMA table_info(item)")]
    page_sql = "SELECT id FROM item INDEXED BY ix_item_deadline WHERE deadline_at <= ? ORDER BY id LIMIT ?"

    def raw() -> int:
        ids = [r[0] for r in db.execute(page_sql, (ts(NOW), PAGE))]
        rows = [dict(zip(cols, r, strict=True)) for r in db.execute(f"SELECT * FROM item WHERE id IN ({','.join('?' * len(ids))})"
                                                        " ORDER BY id", ids)]
        for r in rows:
            for c in ("sittings", "orders", "reminders", "fired", "pillars"):
                r[c] = json.loads(r[c])
        assert len(rows) == min(PAGE, counts["due"])
        return len(rows)

    from engine.app import accounts
    from engine.core.identity import Actor

    app = create_app(k, secret="bench")
    _, secret = accounts.create_token(k, Actor(viewer, "training"), "bench")
    api = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    web = TestClient(app)
    page = web.get("/switch").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert web.post("/switch", data={"login": viewer, "csrf_token": token}).status_code == 200

    def get(client: TestClient, url: str) -> Callable[[], int]:
        def run() -> int:
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
            return len(r.content)
        return run

    first = api.get("/api/v1/items?overdue=true").json()
    assert first and all(v["overdue"] for v in first), first[:1]
    ms = {"list": median_ms(app_list, a.rounds), "raw": median_ms(raw, a.rounds),
          "api": median_ms(get(api, "/api/v1/items?overdue=true"), a.rounds),
          "board": median_ms(get(web, "/board"), a.rounds), "bare": median_ms(get(web, "/healthz"), a.rounds)}
    # a scheduler pass with nothing due, on this database and on one of SMALL items
    small = path.with_name("lists-small.db")
    build(small, min(SMALL, a.items), max(min(SMALL, a.items) // 10, 1))
    ms["idle"] = median_ms(idle_pass(path), a.rounds)
    ms["idle@small"] = median_ms(idle_pass(small), a.rounds)
    for name, v in ms.items():
        print(f"{name:10s} median {v:9.2f} ms")
    ratios = {"list/raw": ms["list"] / ms["raw"], "api/bare": ms["api"] / ms["bare"],
              "board/bare": ms["board"] / ms["bare"], "idle/idle@small": ms["idle"] / ms["idle@small"]}
    print("  ".join(f"{k_}: {v:.1f}" for k_, v in ratios.items()))
    print(f"at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {a.items:,} items, {a.rounds} rounds")
    print(f"ratio: {max(ratios.values()):.2f}")


if __name__ == "__main__":
    main()
