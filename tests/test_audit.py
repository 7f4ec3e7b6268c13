"""The tamper suite: `audit verify` catches every alteration, naming the first bad event (exit 7).

Each case edits the database with raw SQL, as someone with access to it could, after
dropping the triggers that make the event table append-only.
"""

import json

import pytest
import sqlalchemy as sa

from engine.audit import verify
from store.chain import canonical, envelope, link
from tests.conftest import held, walk_to


def sql(store, text, **params):
    with store.engine.begin() as conn:
        conn.execute(sa.text(text), params)


def drop_triggers(store):
    if store.is_sqlite:
        sql(store, "DROP TRIGGER event_no_update")
        sql(store, "DROP TRIGGER event_no_delete")
    else:
        sql(store, "DROP TRIGGER event_append_only ON event")


def rows(store):
    return list(store.stream_raw())


def rehash_from(store, seq, change):
    """Rewrite event `seq` with `change(payload)` and re-hash it and every later event, head included."""
    prev = None
    for r in rows(store):
        s, at, actor, authority, rulebook, item, meeting, type_, payload, prev_hash, digest = r
        if s < seq:
            prev = digest
            continue
        if s == seq:
            payload = canonical(change(json.loads(payload)))
        new = link(prev, envelope(s, at, actor, authority, rulebook, item, meeting, type_), payload)
        sql(store, "UPDATE event SET payload = :p, prev_hash = :ph, hash = :h WHERE seq = :s",
            p=payload, ph=prev, h=new, s=s)
        prev = new
    sql(store, "UPDATE log_head SET hash = :h", h=prev)


@pytest.fixture
def busy(svc):
    """A log with items at every stage, meetings, a refusal and reminders."""
    walk_to(svc, "in_progress")
    walk_to(svc, "council", title="second")
    held(svc, "yamamoto", "staff", [1], attendees=["yoshida"])
    try:
        svc.advance("nakamura", 2, "skip")
    except Exception:
        pass
    return svc


def seq_of(svc, type_, item=None):
    return next(e.seq for e in svc.store.events(item=item) if e.type == type_)


class TestIntact:
    def test_intact_log_verifies_with_every_act_re_decided(self, busy, demo_cli):
        r = demo_cli("--json", "audit", "verify")
        assert 0 == r.exit_code, r.output
        v = json.loads(r.stdout)
        assert {"ok": True, "first_bad_seq": None, "problem": None}.items() <= v.items()
        assert v["refused_attempts"] >= 1

    def test_the_database_refuses_update_and_delete(self, busy):
        """Triggers on SQLite and PostgreSQL: the event table is append-only."""
        for stmt in ("UPDATE event SET actor = 'x' WHERE seq = 5", "DELETE FROM event WHERE seq = 5"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                sql(busy.store, stmt)
        assert verify(busy.store).ok


class TestTamper:
    def test_a_field_changed(self, busy, demo_cli):
        drop_triggers(busy.store)
        seq = seq_of(busy, "ItemFiled", item=2)
        sql(busy.store, "UPDATE event SET actor = 'sato' WHERE seq = :s", s=seq)  # filed by nakamura
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code and seq == json.loads(r.stdout)["first_bad_seq"]
        assert f"event {seq} was altered" in r.stderr

    def test_a_row_deleted(self, busy):
        drop_triggers(busy.store)
        sql(busy.store, "DELETE FROM event WHERE seq = 50")
        v = verify(busy.store)
        assert (False, 50) == (v.ok, v.first_bad_seq)

    def test_a_row_inserted_at_the_end(self, busy):
        """A forged event chained correctly behind the head: the head row gives it away."""
        last = rows(busy.store)[-1]
        seq, digest = last[0] + 1, last[-1]
        at, payload = last[1], canonical({"trigger": "close", "from": "in_progress", "to": "closed", "note": ""})
        env = envelope(seq, at, "nakamura", "nakamura", "2024-10-01", 1, None, "ItemAdvanced")
        sql(busy.store, "INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, "
                        "payload, prev_hash, hash) VALUES (:s, :at, 'nakamura', 'nakamura', '2024-10-01', 1, NULL, "
                        "'ItemAdvanced', :p, :ph, :h)",
            s=seq, at=busy.store.events()[-1].at, p=payload, ph=digest, h=link(digest, env, payload))
        v = verify(busy.store)
        assert (False, seq) == (v.ok, v.first_bad_seq)
        # with the head moved too, the forged act fails re-decision at the same event
        sql(busy.store, "UPDATE log_head SET seq = :s, hash = :h", s=seq, h=link(digest, env, payload))
        v = verify(busy.store)
        assert (False, seq) == (v.ok, v.first_bad_seq) and "re-decision" in v.problem

    def test_two_rows_swapped(self, busy):
        drop_triggers(busy.store)
        a, b = [r for r in rows(busy.store) if r[0] in (60, 61)]
        sql(busy.store, "UPDATE event SET hash = 'swap' WHERE seq = 60")  # hash is unique
        for mine, other in ((b, a), (a, b)):
            sql(busy.store, "UPDATE event SET actor = :ac, authority = :au, type = :t, payload = :p, item_id = :i, "
                            "meeting_id = :m, prev_hash = :ph, hash = :h WHERE seq = :s",
                ac=other[2], au=other[3], t=other[7], p=other[8], i=other[5], m=other[6], ph=other[9], h=other[10],
                s=mine[0])
        v = verify(busy.store)
        assert (False, 60) == (v.ok, v.first_bad_seq)

    def test_tail_re_hashed_consistently_is_caught_by_a_checkpoint(self, busy, demo_cli):
        """A note rewritten and every later hash recomputed: the chain holds, the checkpoint does not."""
        cp = json.loads(demo_cli("--json", "audit", "checkpoint").stdout)
        drop_triggers(busy.store)
        seq = seq_of(busy, "ItemFiled", item=2)
        rehash_from(busy.store, seq, lambda p: {**p, "note": "rewritten"})
        sql(busy.store, "UPDATE item SET note = 'rewritten' WHERE id = 2")  # and the table to match
        assert verify(busy.store).ok  # a consistent rewrite of a note fools chain, replay and tables
        r = demo_cli("--json", "audit", "verify", "--checkpoint", f"{cp['seq']}:{cp['hash']}")
        assert 7 == r.exit_code
        assert cp["seq"] == json.loads(r.stdout)["first_bad_seq"]
        assert "checkpoint" in r.stderr

    def test_tail_re_hashed_with_a_forged_actor_fails_re_decision(self, busy):
        """Rewriting who acted, even with every hash recomputed, fails re-decision at that event."""
        drop_triggers(busy.store)
        seq = next(e.seq for e in busy.store.events() if e.payload.get("trigger") == "decide")
        sql(busy.store, "UPDATE event SET actor = 'nakamura', authority = 'nakamura' WHERE seq = :s", s=seq)
        prev = [r for r in rows(busy.store) if r[0] == seq - 1][0][-1]
        rehash_from(busy.store, seq, lambda p: p)
        v = verify(busy.store)
        assert (False, seq) == (v.ok, v.first_bad_seq)
        assert "only the HQ chief" in v.problem and prev

    def test_triggers_dropped_and_a_row_edited(self, busy):
        drop_triggers(busy.store)
        import datetime as dt

        sql(busy.store, "UPDATE event SET at = :at WHERE seq = 70",
            at=(busy.store.events()[0].at - dt.timedelta(days=1)).replace(tzinfo=None))  # backdated a day
        v = verify(busy.store)
        assert (False, 70) == (v.ok, v.first_bad_seq)

    def test_changed_item_state_is_caught(self, busy, demo_cli):
        """The log is intact but the item row was edited: stored state differs from its replay."""
        sql(busy.store, "UPDATE item SET state = 'closed' WHERE id = 2")
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code
        v = json.loads(r.stdout)
        assert "stored item 2 differs from its replay" in v["problem"]
        assert v["first_bad_seq"] == max(e.seq for e in busy.store.events(item=2))

    def test_changed_reminder_is_caught(self, busy):
        sql(busy.store, "UPDATE reminder SET status = 'cancelled' WHERE id = (SELECT min(id) FROM reminder "
                        "WHERE status = 'pending')")
        v = verify(busy.store)
        assert not v.ok and "stored reminder" in v.problem
