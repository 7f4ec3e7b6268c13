"""A claim in the transaction that inserted its messages takes them as inserted (SQLite reads
back only their ids, status and attempts, not their texts): what it hands the dispatcher must
be what a claim reading each row gives, on every store; a message that existed already under
the same dedupe key is the stored one, not the one offered."""

import datetime as dt
from dataclasses import replace
from typing import Any

from store.records import DeliveryRecord

NOW = dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=5)


def delivery(n: int, **kw: Any) -> DeliveryRecord:
    fields: dict[str, Any] = {
        "id": 0, "dedupe_key": f"r/item:{n}/x#0#sato", "reminder": f"r/item:{n}/x", "rung": 0, "recipient": "sato",
        "channel": "email", "address": "sato@example.jp", "message_id": f"<kaigi.{n}@example.jp>",
        "subject": f"件名 {n}", "body": f"本文 {n}\n", "ics": None, "status": "pending", "attempts": 0,
        "next_attempt_at": NOW, "item": n}
    fields.update(kw)
    return DeliveryRecord(**fields)


def claim_read_back(store: Any, ids: list[int]) -> list[DeliveryRecord]:
    """The same rows claimed afresh in a later transaction (their lease run out), read whole."""
    later = NOW + 2 * LEASE
    with store.act(head=False) as tx:
        got = tx.claim_deliveries(later, "w2", LEASE, 100)
    assert sorted(d.id for d in got) == sorted(ids)
    return [replace(d, attempts=d.attempts - 1) for d in got]  # the second claim counted one more


def test_a_claim_after_the_insert_gives_the_rows_as_stored(store: Any) -> None:
    with store.act(head=False) as tx:
        tx.add_deliveries([delivery(1), delivery(2, ics="BEGIN:VCALENDAR\r\n", address=None), delivery(3)])
        claimed = tx.claim_deliveries(NOW, "w1", LEASE, 100)
    assert [d.status for d in claimed] == ["sending"] * 3 and [d.attempts for d in claimed] == [1, 1, 1]
    assert len({d.id for d in claimed}) == 3 and all(d.id > 0 for d in claimed)
    assert claimed == claim_read_back(store, [d.id for d in claimed])


def test_an_existing_message_is_claimed_as_stored_not_as_offered(store: Any) -> None:
    with store.act(head=False) as tx:
        tx.add_deliveries([delivery(1)])
    with store.act(head=False) as tx:
        tx.add_deliveries([delivery(1, subject="another text"), delivery(2)])
        claimed = tx.claim_deliveries(NOW, "w1", LEASE, 100)
    assert [d.subject for d in claimed] == ["件名 1", "件名 2"]
    assert claimed == claim_read_back(store, [d.id for d in claimed])


def test_what_the_claim_left_is_read_whole_later_in_the_transaction(store: Any) -> None:
    with store.act(head=False) as tx:
        tx.add_deliveries([delivery(1), delivery(2), delivery(3)])
        first = tx.claim_deliveries(NOW, "w1", LEASE, 2)
        rest = tx.claim_deliveries(NOW, "w1", LEASE, 2)
    assert [d.item for d in first + rest] == [1, 2, 3]
    assert first + rest == claim_read_back(store, [d.id for d in first + rest])
