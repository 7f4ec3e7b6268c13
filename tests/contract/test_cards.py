"""`item_cards` (the board's read) agrees with the full records on every store."""


def test_cards_agree_with_the_items(fast):
    fast.clock.advance(days=20)
    with fast.store.read() as tx:
        items = {i.id: i for i in tx.items()}
        cards = tx.item_cards()
        assert [c.id for c in cards] == sorted(items)
        for c in cards:
            i = items[c.id]
            assert (c.title, c.state, c.body, c.team, c.origin, c.updated_at) == \
                (i.title, i.state, i.body, i.team, i.origin, i.updated_at)
            assert c.earliest_due == min((p.due_at for p in i.reminders), default=None)
        assert [c.id for c in tx.item_cards(body="mito")] == [i for i in sorted(items) if items[i].body == "mito"]
