"""What the replay keeps of every reminder rung that went out, to the end of a long log, in
less memory, read and encoded as before (engine/core/replay.py `Fired`, `Settled`): the
digests and routes as packed sha256 bytes, the settlings as a flat tuple read as a dict."""

import datetime as dt
import hashlib

from hypothesis import given
from hypothesis import strategies as st

from engine.core import snapshot as snap
from engine.core.replay import Fired, Replayer, Settled, holds, pack, unpack

hexes = st.lists(st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest()), max_size=6)


@given(hexes, hexes)
def test_packed_digests_hold_each_of_theirs_and_no_other(mine, others):
    packed = pack(tuple(mine))
    assert unpack(packed) == tuple(mine)
    assert all(holds(packed, d) for d in mine)
    assert not any(holds(packed, d) for d in others if d not in mine)


def test_a_digest_straddling_two_packed_ones_is_not_held():
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    packed = pack((a, b))
    straddling = (bytes.fromhex(a) + bytes.fromhex(b))[16:48].hex()
    assert not holds(packed, straddling)
    assert holds(packed, a) and holds(packed, b)


def test_what_a_forged_event_carries_is_kept_as_it_came():
    odd = ("not a digest", "ABCDEF" * 10 + "abcd")
    assert pack(odd) == odd and holds(odd, "not a digest") and not holds(odd, "x")
    assert pack(()) == () and not holds((), hashlib.sha256(b"").hexdigest())


def test_a_rung_with_packed_digests_encodes_to_the_snapshot_bytes_of_before():
    d = tuple(hashlib.sha256(bytes([i])).hexdigest() for i in range(3))
    packed, plain = Fired(("sato",), pack(d), pack(d[:1])), Fired(("sato",), d, d[:1])
    assert snap._enc(packed) == snap._enc(plain) == ["F", ["U", "sato"], ["U", *d], ["U", d[0]]]
    assert snap._dec(snap._enc(plain)) == packed


def test_settled_reads_as_the_dict_it_stands_for_and_encodes_as_one():
    s = Settled.adding(None, "sato", "sent")
    s = Settled.adding(s, "kato", "failed")
    s = Settled.adding(s, "sato", "failed")  # as a dict updates a key: where it was
    as_dict = {"sato": "failed", "kato": "failed"}
    assert s == as_dict and list(s.items()) == list(as_dict.items())
    assert "kato" in s and "ito" not in s and s.get("ito") is None and s.get("sato") == "failed"
    assert snap._enc(s) == snap._enc(as_dict)
    restored = {"sato": "sent"}
    assert Settled.adding(restored, "kato", "sent") is restored == {"sato": "sent", "kato": "sent"}


def test_a_replayer_keeps_packed_rungs_and_settlings():
    r = Replayer()
    r.sent[("item:1:deadline", 0)] = Settled.adding(None, "sato", "sent")
    r.due[("item:1:deadline", 0)] = Fired(("sato",), pack((hashlib.sha256(b"m").hexdigest(),)), ())
    data = snap.encode(r, 1, "a" * 64, "2025-01-01T00:00:00+00:00", 2)
    _, again = snap.restore(data)
    assert again.sent.peek(("item:1:deadline", 0)) == {"sato": "sent"}
    assert again.due.peek(("item:1:deadline", 0)) == r.due[("item:1:deadline", 0)]
    assert snap.encode(again, 1, "a" * 64, "2025-01-01T00:00:00+00:00", 2) == data


def test_an_agenda_reads_and_encodes_as_the_set_it_stands_for():
    from engine.core.world import Agenda

    a = Agenda.put(None, 12, True)
    a = Agenda.put(a, 3, True)
    a = Agenda.put(a, 12, True)
    assert a == {3, 12} and tuple(a) == (3, 12) and sorted(a) == [3, 12]
    assert Agenda.put(a, 3, False) == {12} and Agenda.put(Agenda.put(a, 3, False), 12, False) == set()
    assert Agenda.put(None, 5, False) == set()  # an item taken off: its entry stays, empty, as before
    assert snap._enc(a) == snap._enc({12, 3}) == ["S", 3, 12]
    restored = {3}
    assert Agenda.put(restored, 9, True) is restored == {3, 9}


def test_a_replayed_agenda_index_encodes_as_before(svc, clock):
    """A real log's replay: the index holds tuples now, and its snapshot bytes are those a
    set-holding index encodes to (so signed snapshots keep their hashes)."""
    from engine.app.audit import verify
    from engine.core.world import Agenda
    from tests.conftest import held, walk_to

    for title in ("一", "二"):
        walk_to(svc, "in_progress", title=title)
    held(svc, "yamamoto", "staff", [1, 2], attendees=["yoshida"])
    v = verify(svc.store, snapshot=True)
    index = v.replayer.world.agenda_of
    assert index and all(type(x) is Agenda for x in index.values())
    as_sets = {k: set(x) for k, x in index.items()}
    assert snap._enc(as_sets) == snap._enc(dict(index))
    (_, _, _, _), again = snap.restore(v.snapshot)
    assert all(again.world.agenda_of.peek(k) == x for k, x in index.items())


def test_a_replayed_meeting_shares_its_lists_of_people_and_its_item_ids(svc):
    """One copy of what repeats across a long log's meetings: the same attendees are one
    tuple, and an item id on an agenda is the item record's own int, not the event's copy;
    the records still equal the stored ones and encode as before."""
    from engine.app.audit import verify
    from tests.conftest import held, walk_to

    for title in ("一", "二"):
        walk_to(svc, "in_progress", title=title)
    for _ in range(2):
        held(svc, "yamamoto", "staff", [1, 2], attendees=["yoshida"])
    v = verify(svc.store, snapshot=True)
    assert v.ok
    w = v.replayer.world
    staff = [m for m in w.meetings.values() if m.kind == "staff" and len(m.items) == 2]
    assert len(staff) >= 2
    assert staff[0].attendees is staff[1].attendees and staff[0].present is staff[1].present
    for m in staff:
        assert all(i is w.items[i].id for i in m.items)  # (ids this small are one object anyway: below)
    assert {m.id: m for m in svc.peek.meetings()} == {m.id: w.meetings[m.id] for m in svc.peek.meetings()}
    (_, _, _, _), again = snap.restore(v.snapshot)
    assert snap.state_hash(again) == snap.state_hash(v.replayer)


def test_item_ids_are_the_item_records_own_ints():
    """Ids past the interpreter's small-int cache, as an event decodes them: new objects each
    time, which a replay's meetings held one of per mention."""
    from engine.core.world import World
    from store.records import ItemRecord

    w = World()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    held_id = int("70001")
    w.items[held_id] = ItemRecord(held_id, "t", "hq", None, "filed", 1, "sato", at, at)
    decoded = (int("70001"), int("70002"))
    assert decoded[0] is not held_id
    shared = w.item_ids(decoded)
    assert shared == decoded and shared[0] is held_id and shared[1] is decoded[1]  # one not filed stays as it came


def test_settlings_live_on_the_rungs_that_fired(svc, clock):
    """A real log's replay: each settled rung's settling is kept on its `Fired` in `due`,
    keyed by due's own key tuple (no second dict, no second key), read as the dict it was,
    in the order first settled, and a snapshot of it restores to the same."""
    from engine.app.audit import verify
    from engine.core.replay import Settlings
    from tests.unit.test_snapshots import busy_log

    busy_log(svc, clock)
    v = verify(svc.store, snapshot=True)
    r = v.replayer
    assert isinstance(r.sent, Settlings) and r.sent.due is r.due and len(r.sent) > 0
    for key in r.sent:
        fired = r.due[key]
        assert fired.settled is r.sent[key] and fired.key is key
    (_, _, _, _), again = snap.restore(v.snapshot)
    assert [again.sent.peek(k) for k in r.sent] == [r.sent[k] for k in r.sent]
    assert list(again.sent) == list(r.sent)


def test_a_replayed_meetings_outcomes_read_and_encode_as_the_dict_they_stand_for(svc):
    """A replay keeps each meeting's outcomes as a flat tuple (`Outcomes`): equal to the
    stored dict both ways, in the order decided, `in`/`get`/`[]` as a dict's, stored as the
    dict by an import, and encoded in a snapshot as that dict (its bytes unchanged)."""
    import pytest

    from engine.app.audit import verify
    from engine.core.world import Outcomes
    from tests.conftest import held, walk_to

    d = {70001: "refer", 3: "decide"}
    o = Outcomes(d)
    assert o == d and d == o and list(o.items()) == list(d.items()) and len(o) == 2
    assert 3 in o and o[70001] == "refer" and o.get(4) is None and 4 not in o
    with pytest.raises(KeyError):
        o[4]
    assert snap._enc(o) == snap._enc(d)
    assert o != {70001: "refer"} and o != {70001: "refer", 3: "reject"}

    for title in ("一", "二"):
        walk_to(svc, "in_progress", title=title)
    held(svc, "yamamoto", "staff", [1, 2], attendees=["yoshida"])
    v = verify(svc.store)
    assert v.ok
    kept = [m for m in v.replayer.world.meetings.values() if m.outcomes]
    assert kept and all(type(m.outcomes) is Outcomes for m in kept)
    stored = {m.id: m.outcomes for m in svc.peek.meetings()}
    assert all(stored[m.id] == m.outcomes and type(stored[m.id]) is dict for m in kept)
