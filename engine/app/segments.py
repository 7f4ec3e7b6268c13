"""The full `audit verify` in segments replayed side by side (issue 21, part 3).

A signed checkpoint may carry the hash of the whole replayed state at its event, and keep
that state beside it (`audit checkpoint --snapshot`). A full verify given such checkpoints
splits the log at them: the first segment is replayed from genesis, each later one from
the snapshot it starts at (restored as `--since` restores it), each in a process of its
own. A segment's replay must end in exactly the state the next snapshot encodes (its
sha256, which the checkpoint signs), and the last segment's must equal the stored
projections, the message rows and the credentials, as a serial verify compares them. By
induction every snapshot is proven equal to the replay from genesis up to it, and the
state at the head to the stored one: what the serial pass proves, in the time of the
longest segment.

The hash chain is still checked over the whole log: each segment checks the links and
hashes of its own events, from the chain position its snapshot holds, which must be the
one its checkpoint signs; the segment before checks that its last event has that hash.

A snapshot file whose bytes are not the signed ones is not used to split (the segment
before runs on through it, and still proves the signed hash there): the verdict is the
serial one whatever the files beside the checkpoints hold. So is the first problem named:
segments are judged in order, and the first failing one speaks, with the sequence and the
file where replay and snapshot differ.

Workers are spawned (no inherited connection or lock) and open the database read-only
themselves; each reads its segment in its own snapshot of the database. Earlier segments'
events are immutable in a healthy log; only the last reads the head.
"""

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from engine.i18n import Msg


@dataclass(frozen=True)
class Start:
    """Where a segment starts: a snapshot kept beside a signed checkpoint file (only plain
    values, so that it crosses to a spawned worker)."""

    file: str  # the checkpoint file; its snapshot is `checkpoints.snapshot_file(file)`
    log: str
    seq: int
    hash: str
    snapshot: str  # the sha256 the checkpoint signs
    key_id: str


@dataclass(frozen=True)
class Segment:
    url: str
    start: Start | None  # None: from genesis
    until: int | None  # the next snapshot's event; None: to the head (the last segment)
    marks: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    snaps: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Outcome:
    """A segment's verdict, without the replayed state (which stays in the worker)."""

    ok: bool
    events: int
    refused: int
    snapshots: int
    first_bad_seq: int | None
    problem: Msg | None
    head: tuple[int, str]
    head_at: Any
    items: int
    meetings: int
    deliveries: int


def starts(signed: Iterable[tuple[str, Any]]) -> list[Start]:
    """The signed checkpoints whose snapshot is kept beside them, with the bytes they sign:
    where the log may be split. Each file is read once here, a piece at a time (its hash
    only; nothing held): a missing or altered one is left out."""
    from engine.app.checkpoints import snapshot_intact

    out = {}
    for file, cp in signed:
        sha = getattr(cp, "snapshot", None)
        if sha and cp.seq > 0 and cp.seq not in out and snapshot_intact(file, sha):
            out[cp.seq] = Start(file, cp.log, cp.seq, cp.hash, sha, cp.key_id)
    return [out[s] for s in sorted(out)]


def plan(url: str, points: Sequence[Start], marks: dict[int, str], names: dict[int, str],
         snaps: dict[int, tuple[str, str]]) -> list[Segment]:
    """The segments between the split points, each with the checkpoints that fall in it."""
    seqs = [p.seq for p in points]
    out = []
    for i, hi in enumerate([*seqs, None]):
        lo = seqs[i - 1] if i else 0

        def inside(s: int, lo: int = lo, hi: int | None = hi) -> bool:
            return s > lo and (hi is None or s <= hi)

        out.append(Segment(url, points[i - 1] if i else None, hi,
                           {s: h for s, h in marks.items() if inside(s)},
                           {s: f for s, f in names.items() if inside(s)},
                           {s: x for s, x in snaps.items() if inside(s)}))
    return out


def jobs_for(jobs: int | None, segments: int) -> int:
    """Worker processes: as asked (never more than the machine's cores nor the segments)."""
    cores = os.cpu_count() or 1
    return max(1, min(jobs or cores, cores, segments))


def run(segments: Sequence[Segment], jobs: int, worker: Callable[[Segment], Outcome]) -> list[Outcome]:
    """Each segment given to `worker` (a module-level function: a spawned process imports it
    by name) in a process of its own, the last first; their outcomes in the log's order. Once
    one fails, the segments after it that have not started are not run (their outcomes are
    not read)."""
    out: list[Outcome] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        # the last segments first: each later one restores a larger state, and the last also
        # compares every stored record, so they are the longest; started first, the shorter
        # ones fill in beside them (a 1,000,000-event log in 4 segments on 2 cores: the longest
        # pair no longer runs one after the other)
        submitted = {i: pool.submit(worker, segments[i]) for i in reversed(range(len(segments)))}
        futures = [submitted[i] for i in range(len(segments))]
        for f in futures:
            out.append(f.result())
            if not out[-1].ok:
                for rest in futures:
                    rest.cancel()
                break
    return out
