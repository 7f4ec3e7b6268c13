"""Meetings and orders read a chunk at a time (`after`, `limit`: keyset pages in id order), as
audit's comparison reads a long log's stored rows: every store gives the same rows as one
whole read, none twice, none left out."""

from typing import Any

from tests.conftest import held, walk_to


def _chunks(read: Any, size: int) -> list[Any]:
    out: list[Any] = []
    after = -(2**63)
    while rows := read(after=after, limit=size):
        assert len(rows) <= size
        out += rows
        after = rows[-1].id
    return out


def test_meetings_and_orders_in_chunks_are_the_whole_read(fast):
    for title in ("一", "二", "三"):
        item = walk_to(fast, "pre_review", title=title)
        fast.issue_order("watanabe", item, "kobayashi", note=title)
    for item in (1, 2, 3):
        held(fast, "yamamoto", "staff", [item], attendees=["yoshida"])
    with fast.store.read() as tx:
        meetings, orders = tx.meetings(), tx.orders()
        assert len(meetings) >= 2 and len(orders) == 3
        for size in (1, 2, 1000):
            assert _chunks(tx.meetings, size) == meetings
            assert _chunks(tx.orders, size) == orders
        assert tx.meetings(after=meetings[0].id, limit=1) == meetings[1:2]
        assert tx.orders(after=orders[-1].id, limit=5) == []
