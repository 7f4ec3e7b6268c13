"""The memory store answers "items in a state", "items due", "messages waiting" and "the
largest id" from indexes kept beside its tables (bench/loggen.py builds 1,000,000 events on
it: a pass over every record per act made that quadratic). A rolled-back write leaves the
answers as they were, and every answer is the one a pass over the records would give."""

import datetime as dt
from dataclasses import replace
from typing import Any

from engine.reminders.dispatch import Dispatcher
from store.memory import MemoryStore
from store.records import DeliveryRecord


def scanned(store: MemoryStore, state: str) -> list[int]:
    return sorted(i.id for i in store.tables["item"].values() if i.state == state)


def test_a_rolled_back_write_leaves_the_indexes_as_they_were(fast: Any, clock: Any) -> None:
    store = getattr(fast.store, "_store", fast.store)  # under the Guarded wrapper
    if not isinstance(store, MemoryStore):
        assert not store.url.startswith("memory"), store
        return  # the indexes are the memory store's; the SQL stores have theirs in the database
    first = fast.file_item("yamamoto", "one").fact.item
    with store.read() as tx:
        before = ([i.id for i in tx.items(state="filed")], tx.max_id("item"), [i.id for i in tx.items(due_by=tx.now)])
    with store.act(rollback=True) as tx:  # a refused act: what it wrote is undone
        old = tx.item(first)
        tx.save([("item", replace(old, id=first + 1, state="council"), None),
                 ("item", replace(old, state="closed"), old)])
        assert [i.id for i in tx.items(state="council")] == [first + 1] and tx.max_id("item") == first + 1
    with store.read() as tx:
        after = ([i.id for i in tx.items(state="filed")], tx.max_id("item"), [i.id for i in tx.items(due_by=tx.now)])
        assert tx.items(state="council") == [] and tx.items(state="closed") == []
    assert after == before
    assert after[0] == scanned(store, "filed")


def test_the_scheduler_on_the_memory_store_claims_each_message_once(fast: Any, clock: Any) -> None:
    sent: list[str] = []

    class Sink:
        def send(self, msg: Any) -> None:
            sent.append(msg.message_id)

    clock.advance(days=14)
    stats = Dispatcher(fast, {"email": Sink(), "outbox": Sink()}).run_once()
    assert stats.sent == len(sent) == len(set(sent)) > 0
    with fast.store.act() as tx:  # the same rows again: the dedupe keys turn them away
        rows = tx.deliveries()
        tx.add_deliveries([replace(d, id=0) for d in rows])
        assert len(tx.deliveries()) == len(rows)
        assert tx.claim_deliveries(tx.now + dt.timedelta(days=1), "w", dt.timedelta(minutes=5), 100) == []
    assert all(isinstance(d, DeliveryRecord) and d.status == "sent" for d in rows)
