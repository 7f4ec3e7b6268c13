"""The auditor's checks: the hash chain, the sequence and time order, every act
re-decided, stored state equal to replayed state, deliveries against the reminders that
went out; plus replay of one item, checkpoints, export, import and rebuild.

Everything `verify` reads comes from one snapshot (`store.read()`), so a healthy
database never looks tampered with while others work. Every problem names the first
bad event.
"""

import base64
import csv
import datetime as dt
import hashlib
import io
import json
from sys import intern
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import orjson

from engine.core import events as ev
from engine.core import snapshot as snapshots
from engine.core.errors import BadInput, IntegrityFailure
from engine.core.fold import Changes, Stamp, apply
from engine.core.replay import Replayer, Step
from engine.core.world import World
from engine.i18n import Msg
from engine.infra.collector import held_off
from engine.reminders.digests import message_digest, route_digest
from store.chain import GENESIS, canonical, instant, record_hash
from store.records import EventRecord

ROSTER_KINDS = ("body", "member", "assignment", "delegation", "adoption")


@dataclass
class Verdict:
    ok: bool = True
    events: int = 0
    items: int = 0
    meetings: int = 0
    refused: int = 0
    deliveries: int = 0
    first_bad_seq: int | None = None
    problem: Msg | None = None
    head: tuple[int, str] = (0, GENESIS)
    checkpoint: dict[str, Any] | None = None
    replayer: Replayer = field(default_factory=Replayer, repr=False)
    since: int | None = None  # `--since`: the signed snapshot's event the replay resumed after
    snapshots: int = 0  # signed snapshots proven equal to the replay (a full verify)
    segments: int = 0  # a full verify split at snapshots: its segments (engine.app.segments); 0: one pass
    jobs: int = 1  # the processes that replayed them
    snapshot: bytes | None = field(default=None, repr=False)  # the state at the head, when asked
    head_at: Any = None

    def fail(self, seq: int | None, problem: Msg) -> None:
        if self.ok:
            self.ok, self.first_bad_seq, self.problem = False, seq, problem

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "items": self.items, "meetings": self.meetings,
                "refused_attempts": self.refused, "deliveries": self.deliveries, "first_bad_seq": self.first_bad_seq,
                "problem": self.problem.render(lang) if self.problem else None,
                "head": {"seq": self.head[0], "hash": self.head[1]}, "checkpoint": self.checkpoint,
                "since": self.since, "snapshots_proven": self.snapshots, "segments": self.segments}


def parse_checkpoint(text: str) -> tuple[int, str]:
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or len(seq) > 19 or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BadInput("checkpoint.bad", text=text[:80])
    return int(seq), digest


def verify(store: Any, *, replay: bool = True, checkpoints: Iterable[tuple[int, str]] = (),
           signed: Iterable[tuple[str, Any]] = (), since: tuple[str, Any, bytes] | None = None,
           snapshot: bool | int = False, jobs: int | None = None) -> Verdict:
    """Check the whole log in one snapshot; stop at the first bad event. `signed`: (file,
    `checkpoints.Checkpoint`) pairs whose signatures were checked: the log must be theirs
    and still extend each; a full replay proves each snapshot they sign equal to its state.
    `since`: (file, checkpoint, snapshot bytes) whose hash the checkpoint signs (checked by
    `checkpoints.read_snapshot`): the replay resumes from that state after its event, and the
    events before it are not read. `snapshot`: keep the state at the head (`Verdict.snapshot`),
    or (a number) after the first act that ends at or after that event (a bench's). `jobs`:
    a full replay given signed checkpoints whose snapshots are kept beside them is split at
    them and its segments replayed in up to `jobs` processes (default: one a core; 1: the
    serial pass; engine.app.segments)."""
    signed = list(signed)
    if since is not None:
        signed.append(since[:2])
        early = [s for s, _ in checkpoints if s < since[1].seq] + [cp.seq for _, cp in signed if cp.seq < since[1].seq]
        if early:
            raise BadInput("verify.since_later", seq=min(early), since=since[1].seq)
    with store.read() as tx:
        marks = dict(checkpoints)
        names: dict[int, str] = {}
        log = tx.meta("log_id")
        for file, cp in signed:
            if log is not None and cp.log != log:
                v = Verdict()
                v.fail(None, Msg("verify.other_log", file=file, log=cp.log, ours=log))
                return v
            if cp.seq in marks and marks[cp.seq] != cp.hash:
                v = Verdict()
                v.fail(cp.seq, Msg("verify.checkpoints_disagree", file=file, seq=cp.seq))
                return v
            marks[cp.seq], names[cp.seq] = cp.hash, file
        snaps = {cp.seq: (cp.snapshot, file) for file, cp in signed if getattr(cp, "snapshot", None)}
        start = None
        if since is not None:
            resumed = _resume(since)
            if isinstance(resumed, Verdict):
                return resumed
            start = resumed
        points = _split_points(store, signed) if replay and start is None and snapshot is False and jobs != 1 else []
        if points:
            from engine.app import segments

            plan = segments.plan(store.url, points, marks, names, snaps)
            n = segments.jobs_for(jobs, len(plan))
            v = _joined(segments.run(plan, n, replay_segment))
            v.segments, v.jobs = len(plan), n
        else:
            with held_off():
                v = _verify(tx, replay, marks, names, snaps=snaps, start=start, keep=snapshot)
        if signed:
            v.checkpoint = {"files": [f for f, _ in signed], "seqs": [cp.seq for _, cp in signed],
                            "key_ids": sorted({cp.key_id for _, cp in signed}), "ok": v.ok}
        return v


def _split_points(store: Any, signed: list[tuple[str, Any]]) -> list[Any]:
    """Where a full verify may split the log (engine.app.segments): a database the workers
    can open themselves (a file, a server; not one in this process's memory)."""
    url = getattr(store, "url", None) or ""
    if not url.startswith(("sqlite:///", "postgresql")) or ":memory:" in url or not signed:
        return []
    from engine.app import segments

    return segments.starts(signed)


def replay_segment(seg: Any) -> Any:
    """A worker's whole job in a full verify split at snapshots (engine.app.segments): open
    the database read-only, restore the snapshot the segment starts from, verify its events
    (up to the next snapshot, or to the head and the stored records for the last one)."""
    from engine.app.checkpoints import Checkpoint, snapshot_pieces
    from engine.app.segments import Outcome
    from store import open_store

    start = None
    if seg.start is not None:
        s = seg.start
        cp = Checkpoint(s.log, s.seq, s.hash, None, "", s.key_id, s.snapshot)
        resumed = _resume((s.file, cp, snapshot_pieces(s.file, cp)))
        if isinstance(resumed, Verdict):
            v = resumed
        else:
            start = resumed
    if seg.start is None or start is not None:
        store = open_store(seg.url, readonly=True, pool=1)
        try:
            with store.read() as tx, held_off():
                v = _verify(tx, True, dict(seg.marks), dict(seg.names), snaps=dict(seg.snaps), start=start,
                            until=seg.until, whole=True)
        finally:
            store.close()
    return Outcome(v.ok, v.events, v.refused, v.snapshots, v.first_bad_seq, v.problem, v.head, v.head_at,
                   v.items, v.meetings, v.deliveries)


def _joined(outcomes: list[Any]) -> Verdict:
    """One verdict from the segments': the first failing one's problem, the counts of all
    judged up to it (as the one pass counts up to its first bad event), the last's head."""
    v = Verdict()
    for o in outcomes:
        v.refused += o.refused
        v.snapshots += o.snapshots
        v.events = o.events  # a segment counts from its start's event
        v.head, v.head_at = o.head, o.head_at
        v.items, v.meetings, v.deliveries = o.items, o.meetings, o.deliveries
        if not o.ok:
            v.fail(o.first_bad_seq, o.problem)
            break
    return v


def _resume(since: tuple[str, Any, Any]) -> "tuple[tuple[int, str, str, int], Replayer] | Verdict":
    """The state a signed snapshot holds, where its checkpoint says it is; else the verdict.
    Its bytes whole (`--since`: the quickest to restore), or in pieces (a split verify's
    worker, which holds the state for its whole segment: `snapshot.restore_pieces`)."""
    file, cp, data = since
    try:
        if isinstance(data, bytes):
            pos, r = snapshots.restore(data)
        else:
            pos, r, sha = snapshots.restore_pieces(data)
            if sha != cp.snapshot:
                pos = None
    except snapshots.BadSnapshot:
        pos = None
    if pos is None or pos[:2] != (cp.seq, cp.hash):
        v = Verdict()
        v.fail(cp.seq, Msg("verify.snapshot_unreadable", file=file))
        return v
    return pos, r


def _verify(tx: Any, replay: bool, marks: dict[int, str], names: dict[int, str] | None = None, *,
            snaps: dict[int, tuple[str, str]] | None = None,
            start: tuple[tuple[int, str, str, int], Replayer] | None = None, keep: bool | int = False,
            until: int | None = None, whole: bool = False) -> Verdict:
    """The chain over raw rows (the time as the text that was hashed: no parsing), then,
    if asked, each event replayed: from genesis, or from `start` (a restored snapshot's
    position and replayer). `snaps`: event -> (the signed snapshot hash, its file): the
    replayed state there must encode to it. `until`: one segment of a parallel verify
    (engine.app.segments), the events up to there only, its end a signed snapshot checked
    in `snaps`; the head and the stored records are the last segment's to check. `whole`:
    from `start`, every stored record compared (the last segment), not only those touched
    (`--since`)."""
    import hashlib as _h

    v = Verdict()
    prev, expect, last_at, envelope_v = GENESIS, 1, "", 1
    if start is not None:
        (done, prev, last_at, envelope_v), v.replayer = start
        expect, v.events, v.since = done + 1, done, done
    v.replayer.legacy_text_until = legacy_text_until(tx)
    sha = _h.sha256
    enc = canonical
    judge = v.replayer.judge if replay else None
    snaps = snaps if replay and snaps else {}
    keep_at = int(keep) if replay and keep is not True else 0
    for row in tx.stream_rows(after=expect - 1, until=until):
        seq, at, actor, authority, rulebook, item, meeting, type_, payload, prev_hash, digest, ident, schema, ver = row
        if seq != expect:
            v.fail(min(seq, expect), Msg("verify.gap", after=expect - 1, seq=seq))
            return v
        if prev_hash != prev:
            v.fail(seq, Msg("verify.unlinked", seq=seq, before=seq - 1))
            return v
        env = enc([seq, at, actor, authority, rulebook, item, meeting, type_] if ver == 1 else
                  [ver, seq, at, actor, authority, ident, rulebook, item, meeting, type_, schema])
        if sha(f"{prev}\n{env}\n{payload}".encode()).hexdigest() != digest:
            v.fail(seq, Msg("verify.altered", seq=seq))
            return v
        if seq in marks and marks[seq] != digest:
            file = (names or {}).get(seq)
            v.fail(seq, Msg("verify.signed_differs", seq=seq, file=file) if file else
                   Msg("verify.checkpoint_differs", seq=seq))
            return v
        if at < last_at:  # R-I2: time runs one way along the chain (one text form: it sorts)
            v.fail(seq, Msg("verify.backwards", seq=seq, at=at, before=last_at))
            return v
        if ver < envelope_v:
            v.fail(seq, Msg("verify.old_envelope", seq=seq))
            return v
        if judge is not None:  # the names kept in records, once each (a long log's thousands of copies)
            rec = EventRecord(seq, _parse_at(at), _name(actor), _name(authority), _name(rulebook), item, meeting,
                              type_, payload, prev_hash, digest, ident, schema, ver)
            _, allowed, reason = judge(rec)
            if not allowed and type_ != "ActRefused":
                v.fail(seq, Msg("verify.redecided", seq=seq, type=type_, actor=actor, reason=reason))
                return v
            v.refused += type_ == "ActRefused"
        prev, expect, last_at, envelope_v = digest, seq + 1, at, ver
        v.events += 1
        if keep_at and seq >= keep_at and v.snapshot is None and not v.replayer._pending:
            v.snapshot = snapshots.encode(v.replayer, seq, digest, at, ver)
        if seq in snaps:
            want, file = snaps[seq]
            try:
                got = snapshots.state_digest(v.replayer, seq, digest, at, ver)
            except snapshots.Unsnappable:
                got = None
            if got != want:
                v.fail(seq, Msg("verify.snapshot_differs", seq=seq, file=file))
                return v
            v.snapshots += 1
    v.head = (v.events, prev)
    missing = [s for s in marks if s > v.events]
    if missing:
        file = (names or {}).get(min(missing))
        v.fail(v.events + 1, Msg("verify.signed_beyond", end=v.events, seq=min(missing), file=file) if file else
               Msg("verify.checkpoint_beyond", end=v.events, seq=min(missing)))
        return v
    if until is not None:
        return v  # a segment: the signed snapshot at `until` was checked above
    head = tx.head()
    v.head_at = head.at
    if head.seq > v.events:
        v.fail(v.events + 1, Msg("verify.tail_removed", end=v.events, head=head.seq))
        return v
    if (head.seq, head.hash) != (v.events, prev):
        v.fail(head.seq + 1, Msg("verify.tail_added", head=head.seq, end=v.events))
        return v
    if replay:
        if keep is True and v.events:
            try:
                v.snapshot = snapshots.encode(v.replayer, v.events, prev, last_at, envelope_v)
            except snapshots.Unsnappable:
                v.snapshot = None  # the head inside an act: `finish` names it below
        every = start is None or whole
        cut = v.replayer.finish(plan=not every)  # every record is planned as `_compare` reads it
        if cut is not None:
            v.fail(v.events, cut)
            return v
        if every:
            _compare(tx, v)
            if v.ok:
                _deliveries(tx, v)
        else:
            _compare_touched(tx, v)
    return v


_parse_at = dt.datetime.fromisoformat


def _name(text: Any) -> Any:
    return intern(text) if type(text) is str else text


def _stored(tx: Any) -> dict[str, dict[Any, Any]]:
    """The stored roster and rules (the items, meetings and orders are read apart: `_compare`)."""
    bodies, members, assignments, delegations, adoptions = tx.roster()
    return {"member": {m.login: m for m in members}, "assignment": {a.id: a for a in assignments},
            "delegation": {d.id: d for d in delegations}, "body": {b.key: b for b in bodies},
            "adoption": {a.version: a for a in adoptions}}


def _compare(tx: Any, v: Verdict) -> None:
    """Stored records must equal what the log replays to, planned reminders included."""
    w = v.replayer.world
    v.items, v.meetings = len(w.items), len(w.meetings)
    for kind, mine, read in (("item", w.items, tx.items), ("meeting", w.meetings, tx.meetings),
                             ("order", w.orders, tx.orders)):
        differing = _differing(read, mine, planned=partial(v.replayer.planned_record, kind))
        if differing is not None:
            key, want, row = differing
            what = "log" if want is None else ("db" if row is None else "differs")
            v.fail(_last_touch(tx, kind, key, row or want), Msg(f"verify.stored_{what}", kind=kind, key=str(key)))
            return
    replayed: dict[str, Mapping[Any, Any]] = {"member": w.members, "assignment": w.assignments,
                                              "delegation": w.delegations, "body": w.bodies, "adoption": w.adoptions}
    roster = _stored(tx)
    for kind in replayed:  # the roster and the rules: small, read whole
        rows = roster[kind]
        ours = replayed[kind]
        get = ours.peek if isinstance(ours, snapshots.Packed) else ours.get
        for key in sorted(set(ours) | set(rows), key=str):
            if get(key) != rows.get(key):
                what = "log" if key not in ours else ("db" if key not in rows else "differs")
                v.fail(_last_touch(tx, kind, key, rows.get(key) or get(key)),
                       Msg(f"verify.stored_{what}", kind=kind, key=str(key)))
                return
    if not _credentials(tx, v):
        return
    for sha, seq in v.replayer.documents.items():  # documents an act carried must be there, unaltered
        doc = tx.document(sha)
        if doc is None or hashlib.sha256(doc.content).hexdigest() != sha:
            v.fail(seq, Msg("verify.document", seq=seq, sha=sha[:12]))
            return


def _compare_touched(tx: Any, v: Verdict) -> None:
    """`--since`: what the newest events touched must be stored as they replay to: each item,
    meeting and order they read or wrote (the snapshot's others stay encoded), the roster,
    rules and credentials whole (they are small), and the message rows of the reminders
    that went out or were settled since. The stored records no new event touched are the
    full verify's to compare (docs/threat-model.md)."""
    w, r = v.replayer.world, v.replayer
    v.items, v.meetings = len(w.items), len(w.meetings)
    for kind, mine, read in (("item", w.items, tx.items), ("meeting", w.meetings, tx.meetings),
                             ("order", w.orders, tx.orders)):
        keys = sorted(mine.touched() if isinstance(mine, snapshots.Packed) else mine, key=str)
        for i in range(0, len(keys), 500):
            rows = {row.id: row for row in read(ids=keys[i:i + 500])}
            for key in keys[i:i + 500]:
                want, got = mine[key], rows.get(key)
                if want != got:
                    v.fail(_last_touch(tx, kind, key, got or want),
                           Msg("verify.stored_db" if got is None else "verify.stored_differs", kind=kind, key=str(key)))
                    return
    stored = _stored(tx)
    replayed: dict[str, Mapping[Any, Any]] = {"member": w.members, "assignment": w.assignments,
                                              "delegation": w.delegations, "body": w.bodies, "adoption": w.adoptions}
    for kind, held in stored.items():
        ours = replayed[kind]
        for key in sorted(set(ours) | set(held), key=str):
            if ours.get(key) != held.get(key):
                what = "log" if key not in ours else ("db" if key not in held else "differs")
                v.fail(_last_touch(tx, kind, key, held.get(key) or ours.get(key)),
                       Msg(f"verify.stored_{what}", kind=kind, key=str(key)))
                return
    if not _credentials(tx, v):
        return
    for sha, seq in r.documents.items():
        doc = tx.document(sha)
        if doc is None or hashlib.sha256(doc.content).hexdigest() != sha:
            v.fail(seq, Msg("verify.document", seq=seq, sha=sha[:12]))
            return
    idents: set[str] = set()
    for kept in (r.due, r.sent):
        idents.update(k[0] for k in (kept.touched() if isinstance(kept, snapshots.Packed) else kept))
    for ident in sorted(idents):
        _deliveries(tx, v, tx.deliveries(reminder=ident))
        if not v.ok:
            return


def _differing(read: Any, mine: Any, chunk: int = 500,
               planned: Callable[[Any, Any], Any] | None = None) -> tuple[int, Any, Any] | None:
    """The first record (in the order `_compare` names keys) whose stored row is not the
    replayed one: (id, replayed, stored), either None where missing. `read` is the store's
    `items`, `meetings` or `orders`: the stored rows are read a chunk at a time in id order
    (from the lowest id a row may have), so the replayed and the stored copies of a long log
    are never both held whole (at 300,000 events, reading every meeting and order at once
    took the verify's peak from 149 to 188 MiB). `planned(key, record)`: the replayed record
    as planned (the replay leaves the plans it owes to here, so that a long log's planned
    records are made one at a time and not all held: 28 MiB of the peak at 1,000,000 events)."""
    bad: list[int] = []
    found = 0  # stored rows that were replayed: all of them when none is missing (no set of ids held)
    after = -(2**63)
    peek = mine.peek if isinstance(mine, snapshots.Packed) else mine.get
    get = peek if planned is None else (lambda key: None if (r := peek(key)) is None else planned(key, r))
    while rows := read(after=after, limit=chunk):
        for row in rows:
            want = get(row.id)
            found += want is not None
            if want != row:
                bad.append(row.id)
        after = rows[-1].id
    if found != len(mine):  # a replayed record has no row: which, from the ids read again
        stored: set[int] = set()
        after = -(2**63)
        while rows := read(after=after, limit=chunk):
            stored.update(row.id for row in rows)
            after = rows[-1].id
        bad += [k for k in mine if k not in stored]
    if not bad:
        return None
    key = min(bad, key=str)
    return key, get(key), next((r for r in read(ids=[key])), None)


_TOKEN_FIELDS = ("login", "name", "digest", "created_at", "expires_at", "revoked_at")


def _credentials(tx: Any, v: Verdict) -> bool:
    """R-I5: the api_token table is what TokenCreated/TokenRevoked fold to, row for row
    (an owner changed, a revocation cleared, a digest swapped is named); each stored password
    hash is the one its member's latest CredentialSet committed to. A token or password
    from before R-I5 carried no hash in the log: its digest, or its password, is not checked."""
    mine = v.replayer.tokens
    rows = {t["id"]: t for t in tx.tokens()}
    for tid in sorted(set(mine) | set(rows)):
        want, got = mine.get(tid), rows.get(tid)
        if got is None and want is not None and want["digest"] is None:
            continue  # a token from before R-I5, not carried by an import: it signs nobody in
        if want is None or got is None:
            v.fail(want["seq"] if want else None, Msg("verify.stored_log" if want is None else "verify.stored_db",
                                                      kind="api_token", key=str(tid)))
            return False
        for f in _TOKEN_FIELDS:
            if f == "digest" and want[f] is None:
                continue
            if want[f] != got[f]:
                v.fail(want["seq"], Msg("verify.token", id=tid, field=f))
                return False
    commitments = v.replayer.credentials
    for login, digest in sorted(tx.credential_commitments().items()):
        if login not in commitments:
            v.fail(None, Msg("verify.credential", login=login))
            return False
        if commitments[login] is not None and commitments[login] != digest:
            v.fail(None, Msg("verify.credential", login=login))
            return False
    return True


def _deliveries(tx: Any, v: Verdict, rows: Iterable[Any] | None = None) -> None:
    """Every message row (or each of `rows`) answers to a rung that went out, to that
    recipient, with the text that was queued; every sent or failed row to the fact recorded
    of it (TRUST.md)."""
    r = v.replayer
    due = r.due.peek if isinstance(r.due, snapshots.Packed) else r.due.get
    sent = r.sent.peek if isinstance(r.sent, snapshots.Packed) else r.sent.get
    key: Any = None
    fired: Any = None
    settling: Any = None
    for d in _chunked_deliveries(tx) if rows is None else rows:
        v.deliveries += 1
        if (d.reminder, d.rung) != key:  # a rung's messages lie together: its records read once (a snapshot's decoded)
            key = (d.reminder, d.rung)
            fired, settling = due(key), sent(key) or {}
        if fired is None or d.recipient not in fired.recipients:
            v.fail(None, Msg("verify.delivery_stray", id=d.id, reminder=d.reminder, rung=d.rung, who=d.recipient))
            return
        if fired.digests:
            digest = message_digest(d.recipient, d.subject, d.body)
            if not fired.has_digest(digest):
                v.fail(None, Msg("verify.delivery_text", id=d.id, who=d.recipient))
                return
        if fired.routes and not fired.has_route(route_digest(d.recipient, d.channel, d.address or "", d.ics)):
            v.fail(None, Msg("verify.delivery_route", id=d.id, who=d.recipient))
            return
        settled = settling.get(d.recipient)
        if d.status in ("sent", "failed") and settled != d.status:
            v.fail(None, Msg("verify.delivery_status", id=d.id, status=d.status))
            return


def _chunked_deliveries(tx: Any, chunk: int = 2000) -> Iterator[Any]:
    """Every message row, read a chunk at a time: a long log's are never held whole."""
    after = 0
    while rows := tx.deliveries(after=after, limit=chunk):
        yield from rows
        after = rows[-1].id


def _last_touch(tx: Any, kind: str, key: Any, record: Any) -> int | None:
    """The last event about the altered row: where an auditor starts looking."""
    if kind == "item":
        events = tx.events(item=key)
    elif kind == "meeting":
        events = tx.events(meeting=key)
    elif kind == "order":
        events = tx.events(item=getattr(record, "item", None)) if record is not None else []
    else:
        field_ = {"member": "login", "body": "key", "adoption": "version"}.get(kind, "id")
        events = [e for e in tx.stream() if e.type in ev.ROSTER_TYPES and e.data.get(field_) == key]
    return events[-1].seq if events else None


TEXT_RULES_FROM = "text_rules_from"


def legacy_text_until(tx: Any) -> int:
    """The last event recorded before this release's text rules (engine.core.text): the head
    when the database was upgraded to them (migration 0007), 0 for a database made since."""
    value = tx.meta(TEXT_RULES_FROM)
    return int(value) if value and value.isdigit() else 0


def replay_item(store: Any, item_id: int, at: dt.datetime | None = None) -> tuple[list[Step], Replayer]:
    """Replay the log up to `at` (or all of it); the steps about the item (and those taken
    from it), and the replayer as it stood then."""
    r = Replayer()
    steps: list[Step] = []
    family = {item_id}
    with store.read() as tx, held_off():
        r.legacy_text_until = legacy_text_until(tx)
        for rec in tx.stream():
            if at is not None and rec.at > at:
                break
            step = r.step(rec)
            if isinstance(step.event, ev.ItemFiled) and step.event.origin in family:
                family.add(step.event.item)
            if rec.item in family:
                steps.append(step)
            if not step.allowed and rec.type != "ActRefused":
                raise IntegrityFailure("verify.redecided", seq=rec.seq, type=rec.type, actor=rec.actor,
                                       reason=step.reason)
    r.finish()
    return steps, r


# ---------------------------------------------------------------- rebuilding the projections
def fold_log(records: Iterable[EventRecord]) -> World:
    """The world the log describes, by folding alone (after a migration: no re-decision)."""
    from engine.core.fold import settle

    w = World()
    w.lazy = True
    nothing = _Nothing()
    for rec in records:
        event = ev.decode(rec.type, rec.schema, rec.payload, rec.item, rec.meeting)
        apply(w, Stamp(rec.seq, rec.at, rec.actor, rec.authority, rec.rulebook), event, nothing)
    settle(w)
    w.lazy = False
    return w


class _Nothing(Changes):
    def put(self, kind: str, key: Any, new: Any, old: Any) -> None:
        return None


def world_rows(w: World) -> Iterator[tuple[str, Any, Any]]:
    """Every record of a world, as new rows for the store."""
    for kind, rows in (("body", w.bodies), ("member", w.members), ("assignment", w.assignments),
                       ("delegation", w.delegations), ("adoption", w.adoptions), ("item", w.items),
                       ("meeting", w.meetings), ("order", w.orders)):
        for rec in rows.values():
            yield kind, rec, None


# ---------------------------------------------------------------- export and import
FIELDS = ("seq", "at", "actor", "authority", "rulebook", "item", "meeting", "type", "payload", "prev_hash", "hash",
          "identity", "schema", "v")


def export_rows(store: Any, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    with store.read() as tx:
        for r in tx.stream():
            if since is not None and r.at < since:
                continue
            yield {"seq": r.seq, "at": instant(r.at), "actor": r.actor, "authority": r.authority,
                   "rulebook": r.rulebook, "item": r.item, "meeting": r.meeting, "type": r.type,
                   "payload": r.payload, "prev_hash": r.prev_hash, "hash": r.hash, "identity": r.identity,
                   "schema": r.schema, "v": r.v}
        docs = [tx.document(h) for h in _document_hashes(tx)]
    for d in docs:
        if d is not None:
            yield {"document": d.sha256, "name": d.name, "media_type": d.media_type,
                   "content": base64.b64encode(d.content).decode("ascii")}


def _document_hashes(tx: Any) -> list[str]:
    out = []
    for e in tx.events():
        if e.type == "ItemAdvanced" and e.data.get("document"):
            out.append(e.data["document"])
    return list(dict.fromkeys(out))


def write_export(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    n = 0
    if fmt == "csv":
        w = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        for d in rows:
            if "document" in d:
                continue
            w.writerow(d)
            n += 1
        return n
    for d in rows:
        if "document" in d:
            out.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")
            continue
        out.write(json.dumps({**d, "payload": orjson.loads(d["payload"])}, ensure_ascii=False, sort_keys=True) + "\n")
        n += 1
    return n


def read_export(text: str, fmt: str) -> Iterator[dict[str, Any]]:
    if fmt == "csv":
        for n, d in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            try:
                yield {**d, "seq": int(d["seq"]), "item": int(d["item"]) if d["item"] else None,
                       "meeting": int(d["meeting"]) if d["meeting"] else None,
                       "identity": d.get("identity") or None, "schema": int(d.get("schema") or 1),
                       "v": int(d.get("v") or 1)}
            except (KeyError, TypeError, ValueError):
                raise BadInput("import.bad_line", n=n) from None
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            if "document" in d:
                yield d
                continue
            yield {**d, "payload": canonical(d["payload"]), "schema": int(d.get("schema", 1)),
                   "v": int(d.get("v", 1)), "identity": d.get("identity")}
        except (ValueError, KeyError, TypeError):
            raise BadInput("import.bad_line", n=n) from None


def import_log(store: Any, rows: Iterable[dict[str, Any]]) -> Verdict:
    """Load an exported log into an empty database: each event checked (chain and
    re-decision), written as it was, and the tables rebuilt from the replay. All or
    nothing: at the first bad event the whole import is rolled back."""
    v = Verdict()
    with store.act() as tx, held_off():
        if tx.head().seq != 0:
            raise BadInput("import.not_empty")
        prev = GENESIS
        for d in rows:
            if "document" in d:
                from store.records import DocumentRecord

                content = base64.b64decode(d["content"])
                if hashlib.sha256(content).hexdigest() != d["document"]:
                    raise IntegrityFailure("import.document", sha=str(d["document"])[:12])
                tx.put_document(DocumentRecord(d["document"], d["name"], d["media_type"], content))
                continue
            try:
                rec = EventRecord(int(d["seq"]), dt.datetime.fromisoformat(d["at"]), d["actor"], d["authority"],
                                  d["rulebook"], d["item"], d["meeting"], d["type"], d["payload"], d["prev_hash"],
                                  d["hash"], d.get("identity"), int(d.get("schema") or 1), int(d.get("v") or 1))
            except (KeyError, TypeError, ValueError):
                raise BadInput("import.bad_line", n=v.events + 1) from None
            if rec.seq != v.events + 1 or rec.prev_hash != prev:
                v.fail(rec.seq, Msg("verify.unlinked", seq=rec.seq, before=v.events))
                break
            if record_hash(rec) != rec.hash:
                v.fail(rec.seq, Msg("verify.altered", seq=rec.seq))
                break
            step = v.replayer.step(rec)
            if not step.allowed and rec.type != "ActRefused":
                v.fail(rec.seq, Msg("verify.redecided", seq=rec.seq, type=rec.type, actor=rec.actor,
                                    reason=step.reason))
                break
            tx.put_raw_event(rec, roster=rec.type in ev.ROSTER_TYPES)
            prev, v.events = rec.hash, rec.seq
        cut = v.replayer.finish() if v.ok else None
        if cut is not None:
            v.fail(v.events, cut)
        if v.ok:
            tx.save(world_rows(v.replayer.world))
            for t in v.replayer.tokens.values():  # the api_token table is the log's too (R-I5)
                # a token from before R-I5 has no digest in the log: its row keeps its id
                # and signs nobody in (as on PostgreSQL's append function)
                digest = t["digest"] or f"unlogged:{t['id']}"
                tx.add_token(t["id"], t["login"], t["name"], digest, t["expires_at"], t["created_at"])
                if t["revoked_at"] is not None:
                    tx.revoke_token(t["id"], t["revoked_at"])
            v.head = (v.events, prev)
        else:
            raise _Abort(v)
    return v


class _Abort(Exception):
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict


def import_or_verdict(store: Any, rows: Iterable[dict[str, Any]]) -> Verdict:
    try:
        return import_log(store, rows)
    except _Abort as abort:
        return abort.verdict


# ---------------------------------------------------------------- a replayed step in words
def step_words(q: Any, step: Step, rec: EventRecord | None, lang: str) -> dict[str, Any]:
    """One replayed step as the audit page says it: `Step.as_dict` plus what happened in
    words (the line the item's history gives the event), who by name, and the verdict in a
    sentence: allowed under which rulebook version (and why, when the reason is more than
    "allowed"), or refused and why, in the reader's language. `q` is the `Reader`."""
    from engine.i18n import act_title, event_title

    out = step.as_dict(lang)
    view = q.event_view(rec, lang) if rec is not None else None
    actor, authority = q.name(step.actor, lang), q.name(step.authority, lang)
    out.update({"actor_name": actor, "authority_name": authority,
                "who": actor if step.authority == step.actor else
                Msg("audit.step.for", actor=actor, authority=authority).render(lang),
                "type_title": event_title(step.type, lang),
                "what": view["summary"] if view is not None else event_title(step.type, lang),
                "note": view["note"] if view is not None and step.type != "ActRefused" else None})
    if step.type == "ActRefused" and isinstance(step.event, ev.ActRefused):
        from engine.i18n import Said

        out["what"] = Msg("audit.step.attempt", act=act_title(step.event.act, lang)).render(lang)  # why: the verdict
        out["verdict"] = Msg("audit.step.refused_then", act=act_title(step.event.act, lang), version=step.rulebook,
                             reason=Said(step.event.reason, step.event.reason_ja)).render(lang)
    elif not step.allowed:
        out["verdict"] = Msg("audit.step.refused", version=step.rulebook, reason=step.reason).render(lang)
    elif step.reason.key == "replay.allowed":
        out["verdict"] = Msg("audit.step.allowed", version=step.rulebook).render(lang)
    else:
        out["verdict"] = Msg("audit.step.allowed_because", version=step.rulebook, reason=step.reason).render(lang)
    return out


def item_then(replayed: Any, item_id: int) -> dict[str, Any] | None:
    """`audit replay --at`: the item as it stood then (None before it was filed)."""
    from engine.infra.timeutil import iso

    item = replayed.world.items.get(item_id)
    return None if item is None else {"id": item.id, "state": item.state, "version": item.version,
                                      "updated_at": iso(item.updated_at)}


def reminders_then(replayed: Any, item_id: int, at: Any) -> list[dict[str, Any]]:
    """`audit replay --at`: the item's reminders that were due by `at`, and what had been sent of each."""
    from engine.infra.timeutil import iso

    out = []
    item = replayed.world.items.get(item_id)
    for p in item.reminders if item else ():
        if p.due_at <= at:
            sent = [{"rung": rung, "recipients": list(f.recipients)} for (ident, rung), f in replayed.due.items()
                    if ident == p.ident]
            out.append({"id": p.ident, "key": p.key, "due_at": iso(p.due_at), "fired": p.fired, "rungs": sent})
    return out
