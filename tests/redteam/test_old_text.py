"""An honest log written before this release's text rules still verifies; a new act that
breaks them does not (issue 15 item 9, R-I3's verify).

kaigi 0.2 accepted a title with a line break, and bidi or zero-width characters anywhere.
The text rules (engine/core/text.py) are decisions, so replay judges them again; an act
recorded before the database was upgraded to them is judged by the rule of its day (the
database's `text_rules_from`, set by migration 0007 to the head it upgraded), every later
one strictly — so an old log gets no false alarm, and an act slipped in around the engine
after the upgrade is still named.
"""

from engine.core.events import ItemFiled


def _slip_in(svc, title: str) -> int:
    """Append an item filing as yamamoto without the engine's decision (what a 0.2 kaigi
    recorded, or a member appending around the engine); its sequence number."""
    with svc.store.act() as tx:
        w = svc.world(tx)
        book = w.book(tx.now)
        fact = ItemFiled(item=tx.max_id("item") + 1, title=title, body=w.hq(), team=None, note="",
                         state=book.initial, origin=None)
        records = svc.record(tx, w, "yamamoto", "yamamoto", "training", book.version, [fact])
    return records[-1].seq


def test_an_old_title_with_a_line_break_still_verifies_a_new_one_is_named(fast):
    old = _slip_in(fast, "予算\n承認済み\u202e")
    verdict = fast.verify()
    assert not verdict.ok and verdict.first_bad_seq == old  # judged by today's rule: named
    with fast.store.act() as tx:  # what migration 0007 writes when it upgrades this database
        tx.set_meta("text_rules_from", str(old))
    assert fast.verify().ok  # the rule of its day: an honest 0.2 log gets no false alarm
    new = _slip_in(fast, "後から\u202e差し込み")
    verdict = fast.verify()
    assert not verdict.ok and verdict.first_bad_seq == new
    assert "U+202E" in verdict.as_dict("en")["problem"]
