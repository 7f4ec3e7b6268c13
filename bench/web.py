"""The web face over a big log: the board and an item page beside a bare route of the same
app, in one run.

    .venv/bin/python bench/web.py [--events 200000] [--requests 200] [--db FILE]

Build (untimed): bench/loggen.py makes a valid log of about `--events` events with kaigi
itself (some 16,000 items at 200,000 events), in a SQLite file (WAL, synchronous=FULL).

Timed, in this process, through FastAPI's TestClient (no network, the same for every
route), with a signed-in session, alternating routes request by request:
  bare    GET /healthz: the app's middleware and routing, and nothing else
  item    GET /items/{id}: state, next acts as forms, timeline, deadlines, the item path
  board   GET /board: every item by state, overdue marked

Prints each route's median and p95 in milliseconds, then `ratio: X`, the item page's
median over the bare route's (the aim: within 10).
"""

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--board-requests", type=int, default=20)
    ap.add_argument("--db", default=None, help="a log made by bench/loggen.py (else one is made)")
    a = ap.parse_args()

    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from fastapi.testclient import TestClient

    import engine
    from bench.loggen import generate
    from web import create_app

    path = Path(a.db) if a.db else Path(tempfile.mkdtemp(prefix="kaigi-web-")) / "log.db"
    if not path.exists():
        t = time.perf_counter()
        generate(path, a.events, quiet=True)
        print(f"built {path} in {time.perf_counter() - t:.0f} s (untimed)")
    k = engine.open_url(f"sqlite:///{path}")
    with k.read() as q:
        ids = [i.id for i in q.tx.items()]
        n_events = q.tx.head().seq
    print(f"log: {n_events:,} events, {len(ids):,} items")
    c = TestClient(create_app(k, secret="bench"))
    page = c.get("/switch").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert c.post("/switch", data={"login": "sato", "csrf_token": token}).status_code == 200

    rnd = random.Random(7)
    samples: dict[str, list[float]] = {"bare": [], "item": [], "board": []}

    def timed(route: str, url: str) -> None:
        t = time.perf_counter()
        r = c.get(url)
        samples[route].append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)

    for _ in range(10):  # warm
        timed("bare", "/healthz")
        timed("item", f"/items/{rnd.choice(ids)}")
    samples = {"bare": [], "item": [], "board": []}
    for n in range(a.requests):
        timed("bare", "/healthz")
        timed("item", f"/items/{rnd.choice(ids)}")
        if n < a.board_requests:
            timed("board", "/board")

    def p95(xs: list[float]) -> float:
        return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]

    for route, xs in samples.items():
        print(f"{route:6s} median {statistics.median(xs):8.2f} ms   p95 {p95(xs):8.2f} ms   ({len(xs)} requests)")
    ratio = statistics.median(samples["item"]) / statistics.median(samples["bare"])
    print(f"board/bare: {statistics.median(samples['board']) / statistics.median(samples['bare']):.1f}")
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
