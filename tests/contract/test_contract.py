"""The store port's contract (store/ports.py), held against every store: memory, SQLite,
PostgreSQL. What the engine relies on: appends are chained and serialised, a failed or
rolled-back transaction leaves nothing, records come back as they went in, due rows are
found by time, and a delivery is claimed once."""

import datetime as dt
import hashlib
import itertools

import pytest

from store import open_store
from store.chain import GENESIS, record_hash
from store.records import (DeliveryRecord, DocumentRecord, ItemRecord, MeetingRecord, Minutes, NewEvent,
                           OpenOrder, Planned, Sitting)

T0 = dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def port(any_url):
    from store.db import upgrade

    if not any_url.startswith("memory"):
        upgrade(any_url)
    clock = Clock()
    st = open_store(any_url, clock=clock)
    st.test_clock = clock
    yield st
    st.close()


def ev(n: int, item: int | None = None) -> NewEvent:
    return NewEvent("ItemFiled", 1, f'{{"n":{n}}}', item=item)


def item(i: int, **kw) -> ItemRecord:
    base = dict(id=i, title=f"案件{i}", body="hq", team=None, state="filed", version=1, filed_by="sato",
                filed_at=T0, updated_at=T0)
    return ItemRecord(**{**base, **kw})


class TestLog:
    def test_appends_are_chained_and_move_the_head(self, port):
        with port.act() as tx:
            a = tx.append("sato", "sato", "training", "2024-10-01", [ev(1, 1), ev(2, 1)])
        port.test_clock.at += dt.timedelta(seconds=1)
        with port.act() as tx:
            b = tx.append("sato", "sato", "training", "2024-10-01", [NewEvent("X", 1, "{}", roster=True)])
        log = a + b
        assert [1, 2, 3] == [r.seq for r in log]
        assert GENESIS == log[0].prev_hash and all(x.hash == y.prev_hash for x, y in itertools.pairwise(log))
        assert all(record_hash(r) == r.hash for r in log)
        with port.read() as tx:
            h = tx.head()
            stored = list(tx.stream())
        assert (3, log[-1].hash, 3) == (h.seq, h.hash, h.roster_seq)
        assert log == stored

    def test_a_failed_act_leaves_nothing(self, port):
        with pytest.raises(RuntimeError), port.act() as tx:
            tx.append("sato", "sato", "training", "2024-10-01", [ev(1, 1)])
            tx.save([("item", item(1), None)])
            raise RuntimeError("the decision failed after all")
        with port.read() as tx:
            assert (0, [], None) == (tx.head().seq, list(tx.stream()), tx.item(1))

    def test_a_dry_run_rolls_back(self, port):
        with port.act(rollback=True) as tx:
            tx.append("sato", "sato", "training", "2024-10-01", [ev(1, 1)])
            tx.save([("item", item(1), None)])
        with port.read() as tx:
            assert (0, None) == (tx.head().seq, tx.item(1))

    def test_the_clock_may_not_run_behind_the_log(self, port):
        with port.act() as tx:
            tx.append("sato", "sato", "training", "2024-10-01", [ev(1)])
        port.test_clock.at -= dt.timedelta(minutes=10)
        with pytest.raises(Exception, match="behind the log"), port.act() as tx:
            tx.append("sato", "sato", "training", "2024-10-01", [ev(2)])


class TestRecords:
    def test_an_item_comes_back_as_it_went_in(self, port):
        full = item(1, team="chiiki", note="備考", origin=None,
                    sittings=(Sitting(3, "staff", "held", T0, T0, "refer"),),
                    orders=(OpenOrder(2, "nakamura", T0, T0 + dt.timedelta(days=7)),),
                    reminders=(Planned("staff_meeting", "item:1", "2024-10-01", T0, T0 + dt.timedelta(days=14),
                                       1, T0 + dt.timedelta(days=21)),))
        with port.act() as tx:
            tx.save([("item", full, None)])
        with port.read() as tx:
            assert full == tx.item(1)
            assert [full] == tx.items(due_by=T0 + dt.timedelta(days=21))
            assert [] == tx.items(due_by=T0 + dt.timedelta(days=20))
        changed = ItemRecord(**{**{f: getattr(full, f) for f in full.__slots__}, "state": "pre_review", "version": 2})
        with port.act() as tx:
            tx.save([("item", changed, full)])
        with port.read() as tx:
            assert changed == tx.item(1) and [changed] == tx.items(state="pre_review")

    def test_a_meeting_comes_back_as_it_went_in(self, port):
        m = MeetingRecord(id=1, kind="council", body="hq", convener="sato", chair="sato", starts_at=T0,
                          status="held", version=3, convened_at=T0, attendees=("sato", "watanabe"),
                          invited=("nakamura",), present=("sato",), items=(4, 2), outcomes={4: "decide"},
                          held_at=T0, sat_at=T0, minutes=(Minutes(1, "ab" * 32, "議事録", "watanabe", T0),))
        with port.act() as tx:
            tx.save([("meeting", m, None)])
        with port.read() as tx:
            assert m == tx.meeting(1)
            assert [m] == tx.meetings(status="held") == tx.meetings(since=T0, until=T0 + dt.timedelta(hours=1))
            assert [] == tx.meetings(status="convened")

    def test_a_document_is_kept_by_its_hash(self, port):
        content = b"%PDF-1.4 \x00\xff"
        doc = DocumentRecord(hashlib.sha256(content).hexdigest(), "結果.pdf", "application/pdf", content)
        with port.act() as tx:
            tx.put_document(doc)
            tx.put_document(doc)  # the same document twice is one
        with port.read() as tx:
            assert doc == tx.document(doc.sha256)

    def test_a_document_under_another_hash_is_refused(self, port):
        with pytest.raises(Exception, match="sha256 of its content"), port.act() as tx:
            tx.put_document(DocumentRecord("cd" * 32, "x.pdf", "application/pdf", b"not that"))


class TestDeliveries:
    def row(self, key: str) -> DeliveryRecord:
        return DeliveryRecord(id=0, dedupe_key=key, reminder="r/item:1/x", rung=0, recipient="yamamoto",
                              channel="email", address="y@example.jp", message_id=f"<{key}@x>", subject="s",
                              body="b", ics=None, status="pending", attempts=0, next_attempt_at=T0, item=1)

    def test_one_row_per_key_claimed_once_then_settled(self, port):
        with port.act(head=False) as tx:
            tx.add_deliveries([self.row("a"), self.row("b")])
            tx.add_deliveries([self.row("a")])
        lease = dt.timedelta(minutes=5)
        with port.act(head=False) as tx:
            first = tx.claim_deliveries(T0, "w1", lease, 10)
        with port.act(head=False) as tx:
            second = tx.claim_deliveries(T0, "w2", lease, 10)
        assert (["a", "b"], []) == ([d.dedupe_key for d in first], second)
        with port.act(head=False) as tx:
            assert tx.settle_delivery(first[0].id, "w1", status="sent", sent_at=T0)
            assert not tx.settle_delivery(first[1].id, "w2", status="sent", sent_at=T0)  # not w2's claim
            tx.release_deliveries([first[1].id], "w1")
        with port.act(head=False) as tx:  # after the lease, or once released, another may claim
            again = tx.claim_deliveries(T0 + dt.timedelta(minutes=6), "w2", lease, 10)
        assert ["b"] == [d.dedupe_key for d in again]
        with port.read() as tx:
            assert {"sent", "sending"} == {d.status for d in tx.deliveries()}


OUT_OF_RANGE = [2**63, 2**64 + 1, 10**30, 0, -1, -(2**63) - 1]


class TestIdsOutOfRange:
    """Issue 15 (input): an id no 64-bit column can hold names no record. Every lookup by id
    answers "absent" without reaching the driver; on main SQLite raised OverflowError
    (HTTP 500 on `/items/9223372036854775808`)."""

    @pytest.fixture
    def filled(self, port):
        m = MeetingRecord(id=1, kind="council", body="hq", convener="sato", chair="sato", starts_at=T0,
                          status="convened", version=1, convened_at=T0, items=(1,))
        with port.act() as tx:
            tx.append("sato", "sato", "training", "2024-10-01", [ev(1, 1)])
            tx.save([("item", item(1), None), ("meeting", m, None)])
        return port

    @pytest.mark.parametrize("bad", OUT_OF_RANGE)
    def test_lookups_by_an_id_out_of_range_find_nothing(self, filled, bad):
        with filled.read() as tx:
            assert tx.item(bad) is None and tx.meeting(bad) is None
            assert [] == tx.items(ids=[bad]) == tx.items(origin=bad) == tx.meetings(ids=[bad])
            assert [] == tx.orders(ids=[bad]) == tx.orders(item=bad)
            assert [] == tx.events(item=bad) == tx.events(meeting=bad) == tx.events(items=[bad])
            assert [1] == [i.id for i in tx.items(ids=[bad, 1])]  # the others still count
            assert [1] == [e.item for e in tx.events(items=[1, bad])]

    def test_an_act_about_an_id_out_of_range_still_takes_the_head(self, filled):
        with filled.act(item=2**63) as tx:
            assert tx.head().seq == 1 and tx.item(2**63) is None
