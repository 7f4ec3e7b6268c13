"""Snapshots at signed checkpoints (issue 21, part 3): the replayed state after an event,
encoded canonically, restores to a replayer that continues exactly as one replayed from
genesis; `audit verify --since` resumes from a signed one; a full verify proves it."""

import datetime as dt
import itertools

import pytest

from engine.app.audit import legacy_text_until, verify
from engine.core import snapshot as snap
from engine.core.replay import Replayer
from engine.reminders.dispatch import Dispatcher
from tests.conftest import held, walk_to
from tests.unit.test_reminders import Collect


def busy_log(svc, clock):
    """Items through meetings, an order, a tabled item, reminders fired and sent over weeks."""
    d = Dispatcher(svc, {"email": Collect()})
    a = walk_to(svc, "in_progress", title="一件目")
    c = walk_to(svc, "pre_review", title="調査の件")
    o = svc.issue_order("watanabe", c, "nakamura", note="調査")
    b = walk_to(svc, "council", title="二件目")
    clock.advance(days=20)
    d.run_once()
    svc.complete_order("nakamura", o.fact.id, "結果")
    m = held(svc, "sato", "council", [a, b])
    svc.advance("watanabe", a, "check", meeting=m)
    clock.advance(days=100)
    d.run_once()
    walk_to(svc, "pre_review", title="三件目")
    clock.advance(days=3)
    d.run_once()


def _restore_in_pieces(data):
    """`restore_pieces` given the bytes in pieces of odd sizes (a record, a line, an offset
    table cut anywhere), as a split verify's worker gets them from the kept file."""
    sizes, pieces, at = itertools.cycle((1, 7, 4093, 13, 70000)), [], 0
    while at < len(data):
        k = next(sizes)
        pieces.append(data[at:at + k])
        at += k
    pos, r, sha = snap.restore_pieces(iter(pieces))
    assert sha == snap.digest_of(data)
    return pos, r


@pytest.fixture(params=["whole", "pieces"])
def restore(request):
    """Both ways a snapshot is restored: from its bytes (`--since`), from pieces held compressed
    (a split verify's worker)."""
    return snap.restore if request.param == "whole" else _restore_in_pieces


def rows(svc):
    with svc.store.read() as tx:
        return list(tx.stream()), legacy_text_until(tx)


def replay_whole(events, legacy):
    r = Replayer()
    r.legacy_text_until = legacy
    for rec in events:
        assert r.step(rec).allowed or rec.type == "ActRefused"
    return r


def test_a_snapshot_restores_to_a_replay_that_ends_where_the_full_replay_does(svc, clock, restore):
    busy_log(svc, clock)
    events, legacy = rows(svc)
    full = replay_whole(events, legacy)
    assert full.due and full.sent  # reminders went out and were settled: the kept state is not empty
    assert full.finish() is None
    want = snap.state_hash(full)
    resumed = 0
    for k in range(1, len(events), 7):
        r = replay_whole(events[:k], legacy)
        last = events[k - 1]
        try:
            data = snap.encode(r, k, last.hash, last.at.isoformat(), last.v)
        except snap.Unsnappable:
            continue  # inside an act
        assert snap.encode(r, k, last.hash, last.at.isoformat(), last.v) == data  # canonical: stable bytes
        (seq, digest, _, _), again = restore(data)
        assert (seq, digest) == (k, last.hash)
        assert snap.digest_of(snap.encode(again, k, last.hash, last.at.isoformat(), last.v)) == snap.digest_of(data)
        again.legacy_text_until = legacy
        for rec in events[k:]:
            assert again.step(rec).allowed or rec.type == "ActRefused"
        assert again.finish() is None
        assert snap.state_hash(again) == want, f"resumed after event {k}"
        resumed += 1
    assert resumed >= 5


def test_verify_since_a_snapshot_reads_only_the_later_events_and_agrees(svc, clock):
    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    assert v.ok and v.snapshot is not None
    k, digest = v.head
    cp = _Cp(svc, k, digest, snap.digest_of(v.snapshot))
    walk_to(svc, "in_progress", title="その後")
    clock.advance(days=95)
    Dispatcher(svc, {"email": Collect()}).run_once()
    full = verify(svc.store)
    since = verify(svc.store, since=("cp.json", cp, v.snapshot))
    assert full.ok and since.ok, since.problem
    assert since.since == k and since.events == full.events > k
    assert (since.items, since.meetings) == (full.items, full.meetings)
    assert 0 < since.deliveries < full.deliveries  # only the messages of reminders that went out since
    assert snap.state_hash(since.replayer) == snap.state_hash(full.replayer)


def test_verify_since_decodes_only_the_records_the_newest_events_touch(svc, clock):
    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    k, digest = v.head
    cp = _Cp(svc, k, digest, snap.digest_of(v.snapshot))
    (_, again) = snap.restore(v.snapshot)
    assert all(not m.touched() for m in (again.world.items, again.world.meetings, again.due, again.sent))
    late = walk_to(svc, "pre_review", title="その後")
    since = verify(svc.store, since=("cp.json", cp, v.snapshot))
    assert since.ok, since.problem
    items = since.replayer.world.items
    assert isinstance(items, snap.Packed) and late in items.touched()
    assert len(items.touched()) < len(items) == len(verify(svc.store).replayer.world.items)


def test_a_restored_big_map_is_a_dict_in_its_order_and_encodes_to_the_same_bytes(svc, clock, restore):
    """Reads, writes, a delete and the same key added again (it goes last, as in a dict):
    the restored map and the replayer's own dict agree, and encode alike."""
    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    (k, digest, at, ver), restored = restore(v.snapshot)
    plain = v.replayer
    assert snap.encode(restored, k, digest, at, ver) == v.snapshot
    for r in (plain, restored):
        keys = list(r.sent)
        first, second = keys[0], keys[1]
        value = r.sent[first]
        del r.sent[first]
        assert first not in r.sent and r.sent.get(first) is None
        r.sent[("new", 1)] = {"sato": "sent"}
        r.sent[first] = value
        r.sent[second] = {**dict(r.sent[second].items()), "kato": "failed"}  # a dict, or a replay's Settled
        del r.sent[("new", 1)]
        r.sent[("later", 2)] = {}
        r.due.get(("nothing", 1))
    assert isinstance(restored.sent, snap.Packed)
    assert list(restored.sent) == list(plain.sent) and len(restored.sent) == len(plain.sent)
    assert [restored.sent[x] for x in plain.sent] == list(plain.sent.values())
    assert snap.encode(restored, k, digest, at, ver) == snap.encode(plain, k, digest, at, ver) != v.snapshot


def test_verify_since_compares_what_the_newest_events_touched(svc, clock):
    from tests.conftest import drop_append_only, raw

    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    k, digest = v.head
    cp = _Cp(svc, k, digest, snap.digest_of(v.snapshot))
    late = walk_to(svc, "pre_review", title="その後")
    drop_append_only(svc.store)
    raw(svc.store, "UPDATE item SET title = 'forged' WHERE id = :i", i=late)
    bad = verify(svc.store, since=("cp.json", cp, v.snapshot))
    assert not bad.ok and bad.problem.render("en") == verify(svc.store).problem.render("en")
    assert f"item {late}" in bad.problem.render("en")


def test_a_full_verify_proves_a_signed_snapshot_and_names_one_that_differs(svc, clock):
    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    k, digest = v.head
    walk_to(svc, "council", title="その後")
    good = verify(svc.store, signed=[("cp.json", _Cp(svc, k, digest, snap.digest_of(v.snapshot)))])
    assert good.ok and good.snapshots == 1
    bad = verify(svc.store, signed=[("cp.json", _Cp(svc, k, digest, "0" * 64))])
    assert not bad.ok and bad.first_bad_seq == k
    assert "differs from the snapshot signed checkpoint cp.json" in bad.problem.render("en")


def test_a_snapshot_elsewhere_than_its_checkpoint_is_refused(svc, clock):
    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    k, digest = v.head
    other = verify(svc.store, since=("cp.json", _Cp(svc, k - 1, "a" * 64, snap.digest_of(v.snapshot)), v.snapshot))
    assert not other.ok and "cannot be read or is not at its checkpoint's event" in other.problem.render("en")
    garbled = verify(svc.store, since=("cp.json", _Cp(svc, k, digest, "0" * 64), b"{not json"))
    assert not garbled.ok and garbled.first_bad_seq == k


class _Cp:
    """A checkpoint whose signature was checked (what checkpoints.read_signed returns)."""

    def __init__(self, svc, seq, digest, snapshot):
        with svc.store.read() as tx:
            self.log = tx.meta("log_id")
        self.seq, self.hash, self.snapshot, self.key_id = seq, digest, snapshot, "k"


@pytest.mark.parametrize("value", [dt.datetime(2025, 1, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=9))),
                                   (1, "a", None), {3: {1, 2}}, [True, 0]])
def test_the_encoding_keeps_what_json_has_no_word_for(value):
    assert snap._dec(snap._enc(value)) == value
    assert type(snap._dec(snap._enc(value))) is type(value)


def test_a_restored_map_finds_each_of_many_keys_and_no_other(restore):
    from engine.core.replay import Fired

    r = Replayer()
    for n in range(1000):
        r.due[(f"item:{n * 7}:x", n % 3)] = Fired((f"m{n}",), (), ())
    data = snap.encode(r, 1, "a" * 64, "2025-01-01T00:00:00+00:00", 2)
    _, again = restore(data)
    assert all(again.due.peek(k) == v for k, v in r.due.items())
    assert all(k not in again.due for k in (("item:1:x", 0), ("a", 0), ("z", 9), ("item:7:x", 0)))
    assert list(again.due) == list(r.due) and len(again.due) == 1000


def test_a_snapshot_restored_from_pieces_holds_its_big_maps_in_a_fraction_of_their_bytes():
    """A split verify's worker keeps the state it starts from for its whole segment: the
    records held compressed, not the snapshot's bytes (280 MiB for the worker at 75 % of a
    1,000,000-event log, 119 of them the snapshot's). Every record still reads back."""
    from engine.core.replay import Fired

    r = Replayer()
    for n in range(5000):
        r.due[(f"item:{n}:reminder", n % 3)] = Fired(("sato", "kato", "tanaka", "suzuki", "watanabe", "ito",
                                                     "nakamura", "kobayashi", f"m{n % 40}"), (), ())
    data = snap.encode(r, 1, "a" * 64, "2025-01-01T00:00:00+00:00", 2)
    (_, _, _, _), again, sha = snap.restore_pieces(iter([data]))
    assert sha == snap.digest_of(data)
    sec = again.due.sec
    held = len(sec.keys) + sum(map(len, sec.blocks)) + 4 * (3 * sec.n + len(sec.first))
    assert held < len(data) / 2, (held, len(data))
    assert [again.due.peek(k) for k in r.due] == list(r.due.values())
    assert snap.encode(again, 1, "a" * 64, "2025-01-01T00:00:00+00:00", 2) == data


@pytest.mark.parametrize("cut", ["truncated", "a byte changed", "a byte more"])
def test_pieces_that_are_not_a_whole_snapshot_are_refused_or_hash_otherwise(cut):
    r = Replayer()
    for n in range(300):
        r.due[(f"item:{n}", 0)] = {"sato": "sent"}
    data = snap.encode(r, 1, "a" * 64, "2025-01-01T00:00:00+00:00", 2)
    bad = {"truncated": data[:-5], "a byte changed": data[:len(data) // 2] + b"X" + data[len(data) // 2 + 1:],
           "a byte more": data + b" "}[cut]
    try:
        _, _, sha = snap.restore_pieces(iter([bad[:1000], bad[1000:]]))
    except snap.BadSnapshot:
        return
    assert sha != snap.digest_of(data)


def test_a_record_without_its_value_is_refused_not_read_as_the_next_ones():
    """Bytes kaigi never writes (a record `KEY TAB LF`), built with a valid layout: refused,
    where a block index that counted it would have given a later key another record's value."""
    import orjson
    from array import array

    def key(s):
        return orjson.dumps(["U", s, 0])
    recs = [key("a") + b"\t\n", key("b") + b"\t" + orjson.dumps({"v": "B" * 5000}) + b"\n", key("c") + b'\t"C"\n']
    base = snap.encode(Replayer(), 1, "a" * 64, "2025-01-01T00:00:00+00:00", 2)
    doc = orjson.loads(base[:base.index(b"\n")])
    body, off = b"".join(recs), array("I", [0])
    for x in recs:
        off.append(off[-1] + len(x))
    order = array("I", sorted(range(3), key=lambda i: recs[i][:recs[i].index(b"\t")]))
    doc["sections"][snap.PACKED.index("due")] = [3, len(body)]
    head = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    out = [head + b" " * (-(len(head) + 1) % 8) + b"\n"]
    for name in snap.PACKED:
        out += ([body, b" " * (-len(body) % 4), off.tobytes(), order.tobytes()] if name == "due"
                else [array("I", [0]).tobytes()])
    with pytest.raises(snap.BadSnapshot):
        snap.restore_pieces(iter([b"".join(out)]))


# ---------------------------------------------------------------- a full verify in segments (issue 21, part 3)
def kept(svc, tmp_path, name, data):
    """A signed checkpoint (its signature taken as checked) with its snapshot kept beside it."""
    from engine.app.checkpoints import pack, snapshot_file

    (seq, digest, _, _), _r = snap.restore(data)
    file = str(tmp_path / name)
    with open(snapshot_file(file), "wb") as fh:
        fh.write(pack(data))
    return file, _Cp(svc, seq, digest, snap.digest_of(data))


def snapped_log(svc, clock, tmp_path):
    """A busy log with two snapshots kept along it, and events after the last."""
    busy_log(svc, clock)
    signed = [kept(svc, tmp_path, "a.json", verify(svc.store, snapshot=True).snapshot)]
    walk_to(svc, "in_progress", title="その後")
    clock.advance(days=30)
    Dispatcher(svc, {"email": Collect()}).run_once()
    signed.append(kept(svc, tmp_path, "b.json", verify(svc.store, snapshot=True).snapshot))
    walk_to(svc, "council", title="その後の後")
    return signed


def same(a, b):
    return (a.ok, a.events, a.refused, a.snapshots, a.first_bad_seq, a.problem and a.problem.render("en"),
            a.items, a.meetings, a.deliveries) == \
           (b.ok, b.events, b.refused, b.snapshots, b.first_bad_seq, b.problem and b.problem.render("en"),
            b.items, b.meetings, b.deliveries)


def test_a_full_verify_split_at_the_snapshots_agrees_with_the_serial_one(svc, clock, tmp_path):
    signed = snapped_log(svc, clock, tmp_path)
    serial = verify(svc.store, signed=signed, jobs=1)
    parallel = verify(svc.store, signed=signed, jobs=2)
    assert serial.ok and serial.snapshots == 2 and serial.segments == 0
    assert parallel.segments == 3 and same(parallel, serial) and parallel.head == serial.head


def test_a_snapshot_that_is_not_the_replay_up_to_it_fails_the_segmented_verify_naming_it(svc, clock, tmp_path):
    import dataclasses

    signed = snapped_log(svc, clock, tmp_path)
    import zlib
    from pathlib import Path

    from engine.app.checkpoints import snapshot_file

    file = signed[0][0]
    (k, digest, at, ver), r = snap.restore(zlib.decompress(Path(snapshot_file(file)).read_bytes()))
    first = next(iter(r.world.items))
    r.world.items[first] = dataclasses.replace(r.world.items[first], title="forged")  # signed, but not the replay
    signed[0] = kept(svc, tmp_path, "a.json", snap.encode(r, k, digest, at, ver))
    bad = verify(svc.store, signed=signed, jobs=2)
    assert bad.segments == 3 and not bad.ok and bad.first_bad_seq == k
    assert f"differs from the snapshot signed checkpoint {file}" in bad.problem.render("en")
    assert same(bad, verify(svc.store, signed=signed, jobs=1))


def test_altered_events_inside_a_segment_fail_it_as_the_serial_verify_fails(svc, clock, tmp_path):
    from tests.conftest import drop_append_only
    from tests.redteam.test_tamper import rehash_from

    signed = snapped_log(svc, clock, tmp_path)
    (_, a), (_, b) = signed
    with svc.store.read() as tx:
        inside = next(e.seq for e in tx.stream() if a.seq < e.seq <= b.seq and e.type == "ItemFiled")
    drop_append_only(svc.store)
    rehash_from(svc.store, inside, lambda d: {**d, "title": "forged"})  # a consistent forgery from there on
    bad = verify(svc.store, signed=signed, jobs=2)
    assert bad.segments == 3 and not bad.ok and a.seq < bad.first_bad_seq <= b.seq
    assert same(bad, verify(svc.store, signed=signed, jobs=1))


def test_the_last_segment_compares_every_stored_record(svc, clock, tmp_path):
    from tests.conftest import drop_append_only, raw

    signed = snapped_log(svc, clock, tmp_path)
    drop_append_only(svc.store)
    raw(svc.store, "UPDATE item SET title = 'forged' WHERE id = 1")  # untouched since the first snapshot
    bad = verify(svc.store, signed=signed, jobs=2)
    assert bad.segments == 3 and not bad.ok and "item 1" in bad.problem.render("en")
    assert same(bad, verify(svc.store, signed=signed, jobs=1))


def test_a_kept_snapshot_whose_bytes_are_not_the_signed_ones_is_not_split_at(svc, clock, tmp_path):
    from engine.app.checkpoints import snapshot_file

    signed = snapped_log(svc, clock, tmp_path)
    with open(snapshot_file(signed[0][0]), "wb") as fh:
        fh.write(b"garbage")
    v = verify(svc.store, signed=signed, jobs=2)
    assert v.ok and v.snapshots == 2 and v.segments == 2  # the first proven by the hash the segment reaches


def test_the_state_digest_is_the_hash_of_the_snapshot_it_never_holds(svc, clock):
    """A verify checks a signed snapshot's hash by `state_digest`, which hashes the state as
    it encodes it once (kept as zlib streams until the header is hashed), never holding the
    bytes: it must be the hash of exactly what `encode` writes, for a replay's own maps and
    for a restored one's, touched or not."""
    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    (k, digest, at, ver), restored = snap.restore(v.snapshot)
    assert snap.state_digest(v.replayer, k, digest, at, ver) == snap.digest_of(v.snapshot)
    assert snap.state_digest(restored, k, digest, at, ver) == snap.digest_of(v.snapshot)
    first = next(iter(restored.sent))
    restored.sent[first] = {"kato": "failed"}
    restored.world.items[next(iter(restored.world.items))]  # read: decoded, still the same bytes
    changed = snap.encode(restored, k, digest, at, ver)
    assert changed != v.snapshot
    assert snap.state_digest(restored, k, digest, at, ver) == snap.digest_of(changed)
