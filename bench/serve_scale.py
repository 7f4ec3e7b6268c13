"""Acts per second through `/api` as `kaigi serve` processes are added over one PostgreSQL
database, beside a bare route of the same servers, in one run; and where the log's head
lock becomes the limit.

    .venv/bin/python bench/serve_scale.py [--pg URL] [--clients 8] [--seconds 15]
                                          [--servers 1,2,4] [--workers] [--pool N]

`--pg` names a PostgreSQL server (default `KAIGI_TEST_PG_URL`, else
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); the bench makes a database of its
own there (`kaigi init --demo`, a training database) and drops it at the end. For each
server count N it starts N `kaigi serve` processes on their own ports (with `--workers`:
one `kaigi serve --workers N` on one port), and `--clients` threads (httpx, one keep-alive
connection each, client i on server i mod N, as a proxy would spread them) each sign their
requests with an API token of their own (docs/api.md) and, for `--seconds`:

  acts    file an item, convene a staff meeting on it, hold the meeting, advance the item
          `refer` (four acts through POST /api/...; every answer must be 200/201)
  bare    GET /healthz: the servers' HTTP stack and routing, and nothing else (it asks the
          database at most once a second)

While the acts run, a sampler asks pg_stat_activity every 20 ms how many of the
database's sessions hold the head (a transaction with an xid not waiting on a lock: every
act takes the head first) and how many wait on a lock. The head's busy share U and the
acts/s give how long an act holds the head (U / acts/s) and the most acts/s the head would
let through (acts/s / U). Where U nears 1 the head lock is the limit; below it, what
stops growth is elsewhere (the CPU: the machine's busy share is printed beside it).

Prints per server count: acts/s, act p50/p95 (ms), bare req/s and p95, head busy share,
waiters, the head's ceiling, CPU busy and the most connections the servers held open to the
database at once; then a verdict line, then `ratio: X`, the best acts/s over the bare
route's req/s at that server count (ours / baseline).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KAIGI = [sys.executable, "-c", "from cli import main; main()"]
LIMIT_PER_CLIENT = 100_000  # a bound on the loop besides its time


def server_url(arg: str | None) -> str:
    url = arg or os.environ.get("KAIGI_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead (its query, if any, kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def libpq(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def env_for(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    return {**env, "KAIGI_LANG": "en", **extra}


def kaigi(db: str, *args: str) -> str:
    r = subprocess.run([*KAIGI, "--db", db, *args], cwd=ROOT, env=env_for(), capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        sys.exit(f"kaigi {' '.join(args)} failed: {r.stderr.strip()[-500:]}")
    return r.stdout


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Servers:
    """N `kaigi serve` processes (or one with --workers N), stopped on exit."""

    def __init__(self, db: str, n: int, workers: bool, pool: str | None, log_dir: Path) -> None:
        extra = {"KAIGI_SECRET": "bench-" + uuid.uuid4().hex}
        if pool:
            extra["KAIGI_PG_POOL"] = pool
        self.procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []
        self.logs = []
        for i in range(1 if workers else n):
            port = free_port()
            args = ["serve", "--host", "127.0.0.1", "--port", str(port)] + (["--workers", str(n)] if workers else [])
            log = open(log_dir / f"serve-{n}-{i}.err", "w+", encoding="utf-8")  # noqa: SIM115 (the child writes it)
            self.logs.append(log)
            self.procs.append(subprocess.Popen([*KAIGI, "--db", db, *args], cwd=ROOT, env=env_for(**extra),
                                               stdout=subprocess.DEVNULL, stderr=log))
            self.urls.append(f"http://127.0.0.1:{port}")

    def wait_ready(self, client: Any) -> None:
        end = time.monotonic() + 60
        for url, proc in zip(self.urls, self.procs, strict=True):
            while True:
                if proc.poll() is not None:
                    self.stop()
                    sys.exit(f"kaigi serve exited: {self.errors()[-1000:]}")
                try:
                    if client.get(url + "/healthz").status_code == 200:
                        break
                except Exception:  # noqa: BLE001 (not listening yet)
                    pass
                if time.monotonic() > end:
                    self.stop()
                    sys.exit("kaigi serve did not answer within 60 s")
                time.sleep(0.2)

    def errors(self) -> str:
        out = []
        for log in self.logs:
            log.seek(0)
            out.append(log.read())
        return "\n".join(out)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of every CPU of the machine, from /proc/stat (0, 0 elsewhere)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


class HeadSampler(threading.Thread):
    """How often a session of the database holds the head, and how many wait on a lock."""

    def __init__(self, conninfo: str) -> None:
        super().__init__(daemon=True)
        self.conninfo = conninfo
        self.samples: list[tuple[int, int, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        sql = ("SELECT count(*) FILTER (WHERE backend_xid IS NOT NULL AND wait_event_type IS DISTINCT FROM 'Lock'), "
               "count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) "
               "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self.stopping.wait(0.02):
                row = conn.execute(sql).fetchone()
                if row is not None:
                    self.samples.append((int(row[0]), int(row[1]), int(row[2])))

    def busy(self) -> tuple[float, float, int]:
        """(share of samples in which a session held the head, mean sessions waiting on a lock,
        the most sessions the servers had open to the database at once)."""
        if not self.samples:
            return 0.0, 0.0, 0
        return (sum(1 for h, _, _ in self.samples if h) / len(self.samples),
                statistics.fmean(w for _, w, _ in self.samples), max(n for _, _, n in self.samples))


def p(xs: list[float], q: float) -> float:
    return sorted(xs)[max(0, min(len(xs) - 1, int(len(xs) * q + 0.5) - 1))] if xs else float("nan")


def drive(urls: list[str], tokens: list[str], seconds: float, work: str) -> tuple[int, list[float], int]:
    """`len(tokens)` clients for `seconds`: (requests done, their latencies in ms, failures)."""
    import httpx

    done: list[int] = []
    times: list[float] = []
    failed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(tokens) + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        base = urls[i % len(urls)]
        mine: list[float] = []
        bad: list[str] = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=60) as c:
            start.wait()
            n = 0
            while time.monotonic() < stop_at[0] and n < LIMIT_PER_CLIENT:
                if work == "bare":
                    t = time.perf_counter()
                    r = c.get("/healthz")
                    mine.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200:
                        bad.append(f"healthz {r.status_code}")
                    n += 1
                    continue
                n += 1
                for step in cycle(c, i, n):
                    t = time.perf_counter()
                    r = step()
                    mine.append((time.perf_counter() - t) * 1000)
                    if r.status_code not in (200, 201):
                        bad.append(f"{r.request.method} {r.request.url.path} {r.status_code} {r.text[:200]}")
                        break
        with lock:
            done.append(len(mine))
            times.extend(mine)
            failed.extend(bad)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    for th in threads:
        th.start()
    stop_at[0] = time.monotonic() + seconds
    start.wait()
    for th in threads:
        th.join()
    if failed:
        print(f"  {len(failed)} failed, the first: {failed[0]}")
    return sum(done), times, len(failed)


def cycle(c: Any, i: int, n: int) -> Any:
    """One item's four acts, each a callable returning its response (later ones use earlier answers)."""
    import datetime as dt

    state: dict[str, int] = {}

    def file() -> Any:
        r = c.post("/api/items", json={"title": f"bench {i}-{n}"})
        if r.status_code == 201:
            state["item"] = r.json()["id"]
        return r

    def convene() -> Any:
        r = c.post("/api/meetings", json={"kind": "staff", "starts_at": dt.datetime.now(dt.UTC).isoformat(),
                                          "items": [state["item"]], "attendees": ["nakamura"]})
        if r.status_code == 201:
            state["meeting"] = r.json()["id"]
        return r

    def hold() -> Any:
        return c.post(f"/api/meetings/{state['meeting']}/hold", json={"present": []})

    def advance() -> Any:
        return c.post(f"/api/items/{state['item']}/advance", json={"trigger": "refer", "meeting": state["meeting"]})

    return (file, convene, hold, advance)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=None, help="a PostgreSQL server URL (the bench makes and drops its database)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15.0, help="each timed phase (acts, bare) per server count")
    ap.add_argument("--servers", default="1,2,4", help="server counts, comma-separated")
    ap.add_argument("--workers", action="store_true", help="one `kaigi serve --workers N` instead of N processes")
    ap.add_argument("--pool", default=None, help="KAIGI_PG_POOL for the servers (their default if not given)")
    a = ap.parse_args()
    counts = [int(x) for x in a.servers.split(",") if x.strip()]
    if a.clients < 1 or a.seconds <= 0 or not counts or min(counts) < 1 or max(counts) > 16:
        sys.exit("--clients ≥ 1, --seconds > 0, --servers 1..16 each")

    import httpx
    import psycopg

    base = server_url(a.pg)
    name = f"kaigi_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = libpq(with_database(base, "postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as err:
        sys.exit(f"cannot make a database on {with_database(base, 'postgres').split('@')[-1]}: "
                 f"{str(err).strip().splitlines()[0]}")
    db = with_database(base, name)
    import tempfile

    log_dir = Path(tempfile.mkdtemp(prefix="kaigi-serve-scale-"))
    rows: list[dict[str, float]] = []
    try:
        t0 = time.perf_counter()
        kaigi(db, "init", "--demo")
        tokens = [json.loads(kaigi(db, "--as", "yamamoto", "--json", "token", "create", "--name", f"bench {i}"))["token"]
                  for i in range(a.clients)]
        print(f"database {name}: demo roster, {a.clients} API tokens in {time.perf_counter() - t0:.0f} s (untimed); "
              f"{a.clients} clients, {a.seconds:g} s a phase, {'--workers N' if a.workers else 'N processes'}"
              f"{', KAIGI_PG_POOL=' + a.pool if a.pool else ''}; {os.cpu_count()} CPUs")
        print(f"{'servers':>7} {'acts/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'bare/s':>7} {'bare p95':>8} "
              f"{'head':>5} {'wait':>5} {'ceiling':>8} {'cpu':>5} {'conns':>5}")
        for n in counts:
            servers = Servers(db, n, a.workers, a.pool, log_dir)
            try:
                with httpx.Client(timeout=5) as probe:
                    servers.wait_ready(probe)
                if a.workers and n > 1:
                    time.sleep(2.0)  # the workers start after the parent answers
                drive(servers.urls, tokens, min(2.0, a.seconds), "acts")  # warm: roster, rulebooks, pools
                sampler = HeadSampler(libpq(db))
                sampler.start()
                c0 = cpu_times()
                t = time.monotonic()
                acts, act_ms, failed = drive(servers.urls, tokens, a.seconds, "acts")
                elapsed = time.monotonic() - t
                c1 = cpu_times()
                sampler.stopping.set()
                sampler.join()
                bare, bare_ms, _ = drive(servers.urls, tokens, a.seconds, "bare")
                bare_elapsed = a.seconds
                if "Traceback" in servers.errors():
                    print(servers.errors()[-2000:])
            finally:
                servers.stop()
            head, waiting, sessions = sampler.busy()
            row = {"n": n, "acts": acts / elapsed, "p50": p(act_ms, 0.5), "p95": p(act_ms, 0.95),
                   "bare": bare / bare_elapsed, "bare_p95": p(bare_ms, 0.95), "head": head, "waiting": waiting,
                   "cpu": (c1[0] - c0[0]) / (c1[1] - c0[1]) if c1[1] > c0[1] else float("nan"), "failed": failed,
                   "sessions": sessions}
            row["ceiling"] = row["acts"] / head if head > 0 else float("inf")
            rows.append(row)
            print(f"{n:>7} {row['acts']:>7.1f} {row['p50']:>7.1f} {row['p95']:>7.1f} {row['bare']:>7.0f} "
                  f"{row['bare_p95']:>8.1f} {head:>5.0%} {waiting:>5.2f} {row['ceiling']:>8.0f} {row['cpu']:>5.0%} {sessions:>5}",
                  flush=True)
    finally:
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error as err:
            print(f"could not drop database {name}: {str(err).strip().splitlines()[0]}", file=sys.stderr)

    print(verdict(rows))
    best = max(rows, key=lambda r: r["acts"])
    print(f"ratio: {best['acts'] / best['bare']:.4f}")


def verdict(rows: list[dict[str, float]]) -> str:
    """Where the head lock is the limit: the first server count whose head is busy ≥ 85% of
    the time, or else what the figures say stopped the growth."""
    best = max(rows, key=lambda r: r["acts"])
    hold_ms = 1000 * best["head"] / best["acts"] if best["acts"] else float("nan")
    saturated = [r for r in rows if r["head"] >= 0.85]
    if saturated:
        r = saturated[0]
        return (f"head lock: the limit from {int(r['n'])} server(s) on (busy {r['head']:.0%}, "
                f"{r['waiting']:.1f} waiting); it lets ~{r['ceiling']:.0f} acts/s through at "
                f"~{1000 * r['head'] / r['acts']:.1f} ms held per act")
    grew = [f"{int(r['n'])}: {r['acts']:.1f}" for r in rows]
    cpu = max(r["cpu"] for r in rows)
    return (f"head lock: not the limit up to {int(rows[-1]['n'])} server(s) (busy at most "
            f"{max(r['head'] for r in rows):.0%}, ~{hold_ms:.1f} ms held per act: a ceiling near "
            f"{best['ceiling']:.0f} acts/s); acts/s by servers {', '.join(grew)}; "
            f"{'the CPU is (busy ' + format(cpu, '.0%') + ')' if cpu >= 0.85 else 'CPU busy at most ' + format(cpu, '.0%')}")


if __name__ == "__main__":
    main()
