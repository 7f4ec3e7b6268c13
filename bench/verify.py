"""`audit verify` over a long log: kaigi's chain pass and its full replay beside a raw
sqlite3 + hashlib chain pass over the same file, in one run.

    .venv/bin/python bench/verify.py [--events 1000000] [--rounds 2] [--dir DIR] [--keep]

Build (untimed): bench/loggen.py makes a valid log with kaigi itself (acts through the
application API on the memory store, the scheduler firing and sending reminders) and
writes it, with the projections, into a SQLite file (WAL, kaigi's schema).

Timed, in this process, alternating:
  raw     stdlib only: sqlite3 streams the rows in order (fetchmany), each event's
          envelope is made as store/chain.py makes it (json with sorted keys, compact), its
          sha256 computed and compared, its link to the previous hash and its sequence checked
  chain   kaigi's `engine.app.audit.verify(store, replay=False)`: the same checks, and time order
  replay  kaigi's `verify(store)`: the chain pass, every act re-decided by the code that made
          it, every reminder that went out re-decided, the projections compared with the replay
  since   kaigi's `verify --since`: from a snapshot of the state after 99 % of the log (made,
          untimed, by one more replay; its signature is not what is measured), the newest 1 %
          replayed and the whole stored state compared; its time against the full replay's
  split   the full replay given signed checkpoints with their snapshots kept beside them at
          25, 50 and 75 % of the log (made untimed, as `audit checkpoint --snapshot` keeps
          them): the log split there and its four segments replayed in worker processes (one
          a core), each checked against the next snapshot, the last against the stored state

Then each kaigi pass once more, alone in a fresh process, for its peak memory (the
process's peak resident set, `VmHWM`, the interpreter and imports included), printed
beside the log's size (VmHWM of the child; for the split pass, the largest of its worker
processes' too).

The last line is `ratio: X`: the full replay's rate over the raw pass's (medians); the
chain pass's and the split replay's ratios are printed before it.
"""

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

GENESIS = "0" * 64
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def raw_pass(path: Path) -> int:
    """The chain checked with the standard library alone."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cur = db.execute("SELECT seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, prev_hash, "
                     "hash, identity, schema, v FROM event ORDER BY seq")
    prev, expect, n = GENESIS, 1, 0
    sha = hashlib.sha256
    while True:
        rows = cur.fetchmany(5000)
        if not rows:
            break
        for seq, at, actor, authority, rulebook, item, meeting, type_, payload, prev_hash, digest, ident, schema, v in rows:
            if seq != expect or prev_hash != prev:
                raise SystemExit(f"raw pass: bad link at {seq}")
            stamp = f"{at[:10]}T{at[11:]}+00:00"
            env = (_ENCODE([seq, stamp, actor, authority, rulebook, item, meeting, type_]) if v == 1 else
                   _ENCODE([v, seq, stamp, actor, authority, ident, rulebook, item, meeting, type_, schema]))
            if sha(f"{prev}\n{env}\n{payload}".encode()).hexdigest() != digest:
                raise SystemExit(f"raw pass: bad hash at {seq}")
            prev, expect, n = digest, seq + 1, n + 1
    head = db.execute("SELECT seq, hash FROM log_head WHERE id = 1").fetchone()
    if tuple(head) != (n, prev):
        raise SystemExit("raw pass: the head does not match")
    db.close()
    return n


def kaigi_pass(path: Path, replay: bool) -> int:
    from engine.app.audit import verify
    from store.sql import SqlStore

    store = SqlStore(f"sqlite:///{path}")
    v = verify(store, replay=replay)
    store.close()
    if not v.ok:
        raise SystemExit(f"kaigi verify failed at {v.first_bad_seq}: {v.problem}")
    return v.events


class Signed:
    """What `checkpoints.read_signed` gives once a signature checked: the bench's own."""

    def __init__(self, log: str, seq: int, digest: str, snapshot: str) -> None:
        self.log, self.seq, self.hash, self.snapshot, self.key_id = log, seq, digest, snapshot, "bench"


def make_snapshot(path: Path, at: int, name: str = ".snapshot") -> Path:
    """A snapshot of the state after the first act ending at or after event `at`, beside the log."""
    from engine.app.audit import verify
    from engine.core.snapshot import restore
    from store.sql import SqlStore

    store = SqlStore(f"sqlite:///{path}")
    v = verify(store, snapshot=at)
    store.close()
    if not v.ok or v.snapshot is None:
        raise SystemExit(f"kaigi verify failed at {v.first_bad_seq}: {v.problem}")
    out = path.with_name(path.name + name)
    out.write_bytes(v.snapshot)
    (seq, digest, _, _), _r = restore(v.snapshot)
    out.with_name(out.name + ".at").write_text(f"{seq} {digest}")  # what its signed checkpoint would say
    return out


SPLITS = (25, 50, 75)


def make_split_points(path: Path, total: int) -> list[Path]:
    """Checkpoint files at 25, 50 and 75 % of the log, each with its snapshot beside it
    (compressed, as `audit checkpoint --snapshot` writes it) and its statement (`.at`)."""
    from engine.app.checkpoints import pack, snapshot_file

    out = []
    for pct in SPLITS:
        snap = make_snapshot(path, total * pct // 100, f".at{pct}")
        cp = path.with_name(f"{path.name}.cp{pct}")
        Path(snapshot_file(str(cp))).write_bytes(pack(snap.read_bytes()))
        sha = hashlib.sha256(snap.read_bytes()).hexdigest()  # what the checkpoint would sign
        cp.with_name(cp.name + ".at").write_text(f"{snap.with_name(snap.name + '.at').read_text()} {sha}")
        snap.unlink()
        snap.with_name(snap.name + ".at").unlink()
        out.append(cp)
    return out


def split_pass(path: Path, cps: list[Path]) -> int:
    """The full verify, split at the kept snapshots and replayed in worker processes."""
    from engine.app.audit import verify
    from store.sql import SqlStore

    store = SqlStore(f"sqlite:///{path}")
    with store.read() as tx:
        log = tx.meta("log_id") or ""
    signed = []
    for cp in cps:  # what `checkpoints.read_signed` gives once each signature is checked
        at, digest, sha = cp.with_name(cp.name + ".at").read_text().split()
        signed.append((str(cp), Signed(log, int(at), digest, sha)))
    v = verify(store, signed=signed)
    store.close()
    if not v.ok or v.segments != len(cps) + 1:
        raise SystemExit(f"kaigi split verify failed at {v.first_bad_seq}: {v.problem} ({v.segments} segments)")
    return v.events


def since_pass(path: Path, snap: Path) -> int:
    """`audit verify --since`: the snapshot read and hashed, the newest events replayed."""
    import hashlib as h

    from engine.app.audit import verify
    from store.sql import SqlStore

    data = snap.read_bytes()
    at, digest = snap.with_name(snap.name + ".at").read_text().split()
    seq = int(at)
    store = SqlStore(f"sqlite:///{path}")
    with store.read() as tx:
        log = tx.meta("log_id") or ""
    v = verify(store, since=("bench", Signed(log, seq, digest, h.sha256(data).hexdigest()), data))
    store.close()
    if not v.ok:
        raise SystemExit(f"kaigi verify --since failed at {v.first_bad_seq}: {v.problem}")
    return v.events - seq


def peak_rss(path: Path, replay: bool, since: Path | None = None, split: list[Path] | None = None) -> list[float]:
    """MiB: the peak resident set of a fresh process that runs one kaigi pass over `path`
    (and, for the split pass, the largest of its workers')."""
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--peak-of", str(path)] + (["--replay"] if replay else [])
                         + (["--since-file", str(since)] if since else [])
                         + (["--split-files", ",".join(map(str, split))] if split else []),
                         check=True, capture_output=True, text=True).stdout
    return [float(x) for x in out.split()]


def _peak_of(path: Path, replay: bool, since: str | None, split: str | None) -> None:
    import resource

    if since:
        since_pass(path, Path(since))
    elif split:
        split_pass(path, [Path(p) for p in split.split(",")])
    else:
        kaigi_pass(path, replay)
    # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across fork and exec
    # (the workers are spawned from this process while it is still small: their ru_maxrss is theirs)
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM"))
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if split else None
    print(f"{int(hwm.split()[1]) / 1024:.1f}" + (f" {workers:.1f}" if workers is not None else ""))  # KiB


CPU: dict[str, list[float]] = {}  # seconds of CPU per pass, its worker processes' included


def timed(name, fn, *args):  # type: ignore[no-untyped-def]
    import resource

    def cpu() -> float:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + kids.ru_utime + kids.ru_stime

    t, c = time.perf_counter(), cpu()
    n = fn(*args)
    CPU.setdefault(name, []).append(cpu() - c)
    return n / (time.perf_counter() - t), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the generated file (reused if present)")
    ap.add_argument("--peak-of", default=None, help=argparse.SUPPRESS)  # the child of peak_rss
    ap.add_argument("--replay", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--since-file", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--split-files", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peak_of:
        return _peak_of(Path(a.peak_of), a.replay, a.since_file, a.split_files)
    folder = Path(a.dir or tempfile.mkdtemp(prefix="kaigi-verify-"))
    path = folder / f"log-{a.events}.db"
    if not (a.keep and path.exists()):
        from loggen import generate

        started = time.monotonic()
        counts = generate(path, a.events, quiet=True)
        print(f"built {counts['events']:,} events in {time.monotonic() - started:.0f} s "
              f"({path.stat().st_size / 2**20:.0f} MiB): {counts}")
    n_all = raw_pass(path)
    started = time.monotonic()
    snap = make_snapshot(path, n_all - n_all // 100)
    print(f"snapshot after 99 % made in {time.monotonic() - started:.0f} s ({snap.stat().st_size / 2**20:.1f} MiB)")
    started = time.monotonic()
    cps = make_split_points(path, n_all)
    print(f"snapshots kept at {', '.join(f'{p} %' for p in SPLITS)} made in {time.monotonic() - started:.0f} s")
    rates: dict[str, list[float]] = {"raw": [], "chain": [], "replay": [], "split": []}
    secs: dict[str, list[float]] = {"replay": [], "since": []}
    n = 0
    for r in range(a.rounds):
        for name, fn, args in (("raw", raw_pass, (path,)), ("chain", kaigi_pass, (path, False)),
                               ("replay", kaigi_pass, (path, True)), ("split", split_pass, (path, cps)),
                               ("since", since_pass, (path, snap))):
            rate, k = timed(name, fn, *args)
            if name == "since":
                secs["since"].append(k / rate)
                print(f"round {r + 1} {name:7} {k / rate:10.2f} s for the newest {k:,} events")
                continue
            n = k
            rates[name].append(rate)
            if name == "replay":
                secs["replay"].append(n / rate)
            print(f"round {r + 1} {name:7} {rate:10,.0f} events/s")
    med = {k: statistics.median(v) for k, v in rates.items()}
    since_share = statistics.median(secs["since"]) / statistics.median(secs["replay"])
    print()
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}; {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}; {n:,} events")
    for k, v in med.items():
        print(f"  {k:7} {v:10,.0f} events/s")
    print(f"chain / raw = {med['chain'] / med['raw']:.2f} (aim: at least 0.9)")
    print(f"replay / raw = {med['replay'] / med['raw']:.2f} (aim: at least 0.5)")
    print(f"split replay (4 segments between snapshots, {os.cpu_count()} workers at most) / raw = "
          f"{med['split'] / med['raw']:.2f} (aim: at least 0.5)")
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    print(f"CPU seconds (worker processes included): raw {cpu['raw']:.1f}, chain {cpu['chain']:.1f}, "
          f"replay {cpu['replay']:.1f}, split {cpu['split']:.1f}; replay / raw by CPU = "
          f"{cpu['raw'] / cpu['replay']:.2f}, split's CPU / serial replay's = {cpu['split'] / cpu['replay']:.2f}")
    print(f"since (newest 1 %) / full replay, in time = {since_share:.3f} (aim: at most 0.03)")
    size = sum(p.stat().st_size for p in folder.glob(f"{path.name}*")
               if not p.name.endswith((".snapshot", ".at"))) / 2**20
    parent, worker = peak_rss(path, True, split=cps)
    print(f"peak memory (RSS of a process doing one pass): chain {peak_rss(path, False)[0]:.0f} MiB, "
          f"replay {peak_rss(path, True)[0]:.0f} MiB, split replay {parent:.0f} MiB and its largest worker "
          f"{worker:.0f} MiB, since {peak_rss(path, True, snap)[0]:.0f} MiB; "
          f"the log file {size:.0f} MiB (aim: replay at most 256 MiB at 1,000,000 events)")
    for p in [snap, *cps]:
        for q in folder.glob(f"{p.name}*"):
            q.unlink()
    if not a.keep:
        for p in folder.glob(f"{path.name}*"):
            p.unlink()
    print(f"ratio: {med['replay'] / med['raw']:.2f}")


if __name__ == "__main__":
    main()
