"""The JSON API's item list under many clients: a page of `/api/v1/items` beside a bare
route of the same app, in one run.

    .venv/bin/python bench/api.py [--events 50000] [--clients 16] [--requests 20] [--db FILE]

Build (untimed): bench/loggen.py makes a valid log (some 4,000 items at 50,000 events) in a
SQLite file (WAL, synchronous=FULL). Timed, in this process, through FastAPI's TestClient
(no network), `--clients` threads at once, each signed in as the chief (who sees every item),
each request alternating:
  bare    GET /healthz: the app's middleware and routing, and nothing else
  page    GET /api/v1/items (a page of 50, following `Next-Cursor` to the end and round again)

Before pagination (main 71839af) the list answered every item at once: p95 14.6 s at about
4,000 items under 16 clients. Prints each route's median and p95 in milliseconds, then
`ratio: X`, the page's median over the bare route's.
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=20, help="pages per client (and as many bare requests)")
    ap.add_argument("--db", default=None, help="a log made by bench/loggen.py (else one is made)")
    a = ap.parse_args()

    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from fastapi.testclient import TestClient

    import engine
    from bench.loggen import generate
    from web import create_app

    path = Path(a.db) if a.db else Path(tempfile.mkdtemp(prefix="kaigi-api-")) / "log.db"
    if not path.exists():
        t = time.perf_counter()
        generate(path, a.events, quiet=True)
        print(f"built {path} in {time.perf_counter() - t:.0f} s (untimed)")
    k = engine.open_url(f"sqlite:///{path}")
    with k.read() as q:
        n_items, head = len(q.tx.items()), q.tx.head()
    n_events = head.seq
    import datetime as dt

    later = max(head.at, dt.datetime.now(dt.UTC)) + dt.timedelta(minutes=1)  # loggen's log runs ahead
    k = engine.open_url(f"sqlite:///{path}", clock=lambda: later)
    print(f"log: {n_events:,} events, {n_items:,} items; {a.clients} clients")
    app = create_app(k, secret="bench")

    from engine.app import accounts
    from engine.core.identity import Actor

    _, secret = accounts.create_token(k, Actor("sato", "training"), "bench")

    shared = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    shared.__enter__()  # one event loop for every thread, as a server has (one TestClient each would not)
    clients = [shared] * a.clients
    samples: dict[str, list[float]] = {"bare": [], "page": []}
    lock = threading.Lock()
    start = threading.Barrier(a.clients)

    def run(c: TestClient) -> None:
        url = "/api/v1/items"
        start.wait()
        for _ in range(a.requests):
            t = time.perf_counter()
            h = c.get("/healthz")
            assert h.status_code == 200, (h.status_code, h.text[:200])
            bare = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            r = c.get(url)
            page = (time.perf_counter() - t) * 1000
            assert r.status_code == 200 and len(r.json()) <= 50, (url, r.status_code)
            url = r.headers.get("Link", "<?>")[1:r.headers.get("Link", "<?>").index(">")] \
                if "Next-Cursor" in r.headers else "/api/v1/items"
            with lock:
                samples["bare"].append(bare)
                samples["page"].append(page)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    shared.__exit__(None, None, None)

    def p95(xs: list[float]) -> float:
        return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]

    for route, xs in samples.items():
        print(f"{route:5s} median {statistics.median(xs):8.2f} ms   p95 {p95(xs):8.2f} ms   ({len(xs)} requests)")
    print(f"ratio: {statistics.median(samples['page']) / statistics.median(samples['bare']):.2f}")


if __name__ == "__main__":
    main()
