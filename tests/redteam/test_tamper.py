"""The tamper suite: `audit verify` catches every alteration, naming the first bad event (exit 7).

Each case edits the database with raw SQL, as someone with access to it could, after
dropping the triggers that make the event table append-only.
"""

import dataclasses
import datetime as dt
import json

import orjson
import pytest

from engine.app.audit import verify
from store.chain import canonical, record_hash
from store.codec import t_out
from tests.conftest import drop_append_only, held, raw, walk_to


def events(store):
    with store.read() as tx:
        return list(tx.stream())


def at_value(store, at):
    return at if store.pg else t_out(at)


def rehash_from(store, seq, change=None, **fields):
    """Rewrite event `seq` (its payload by `change`, its columns by `fields`) and re-hash it
    and every later event, the head included: a consistent forgery of the tail."""
    prev = None
    for r in events(store):
        if r.seq < seq:
            prev = r.hash
            continue
        if r.seq == seq:
            payload = canonical(change(orjson.loads(r.payload))) if change else r.payload
            r = dataclasses.replace(r, payload=payload, **fields)
        r = dataclasses.replace(r, prev_hash=prev)
        digest = record_hash(r)
        raw(store, "UPDATE event SET payload = :p, prev_hash = :ph, hash = :h, actor = :ac, authority = :au "
                   "WHERE seq = :s", p=r.payload, ph=prev, h=digest, ac=r.actor, au=r.authority, s=r.seq)
        prev = digest
    raw(store, "UPDATE log_head SET hash = :h", h=prev)


@pytest.fixture
def busy(svc):
    """A log with items at every stage, meetings, a refusal and planned reminders."""
    walk_to(svc, "in_progress")
    walk_to(svc, "council", title="second")
    held(svc, "yamamoto", "staff", [1], attendees=["yoshida"])
    try:
        svc.advance("nakamura", 2, "skip")
    except Exception:
        pass
    return svc


def seq_of(svc, type_, item=None):
    return next(e.seq for e in svc.peek.events(item=item) if e.type == type_)


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
            with pytest.raises(Exception, match="append-only"):
                raw(busy.store.inner, stmt)
        assert verify(busy.store).ok


class TestTamper:
    def test_a_field_changed(self, busy, demo_cli):
        drop_append_only(busy.store.inner)
        seq = seq_of(busy, "ItemFiled", item=2)
        raw(busy.store.inner, "UPDATE event SET actor = 'sato' WHERE seq = :s", s=seq)  # filed by nakamura
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code and seq == json.loads(r.stdout)["first_bad_seq"]
        assert f"event {seq} was altered" in r.stderr

    def test_a_row_deleted(self, busy):
        drop_append_only(busy.store.inner)
        raw(busy.store.inner, "DELETE FROM event WHERE seq = 50")
        v = verify(busy.store)
        assert (False, 50) == (v.ok, v.first_bad_seq)

    def test_a_row_inserted_at_the_end(self, busy):
        """A forged event chained correctly behind the head: the head row gives it away."""
        last = events(busy.store)[-1]
        forged = dataclasses.replace(
            last, seq=last.seq + 1, actor="nakamura", authority="nakamura", item=1, meeting=None, type="ItemAdvanced",
            payload=canonical({"trigger": "close", "from": "in_progress", "to": "closed", "note": ""}),
            prev_hash=last.hash, identity="training", schema=1, v=2)
        forged = dataclasses.replace(forged, hash=record_hash(forged))
        raw(busy.store.inner, "INSERT INTO event (seq, at, actor, authority, rulebook, item_id, meeting_id, type, "
                              "payload, prev_hash, hash, identity, schema, v) VALUES (:s, :at, 'nakamura', 'nakamura', "
                              ":rb, 1, NULL, 'ItemAdvanced', :p, :ph, :h, 'training', 1, 2)",
            s=forged.seq, at=at_value(busy.store, forged.at), rb=forged.rulebook, p=forged.payload,
            ph=forged.prev_hash, h=forged.hash)
        v = verify(busy.store)
        assert (False, forged.seq) == (v.ok, v.first_bad_seq)
        # with the head moved too, the forged act fails re-decision at the same event
        raw(busy.store.inner, "UPDATE log_head SET seq = :s, hash = :h", s=forged.seq, h=forged.hash)
        v = verify(busy.store)
        assert (False, forged.seq) == (v.ok, v.first_bad_seq) and "re-decision" in str(v.problem)

    def test_two_rows_swapped(self, busy):
        drop_append_only(busy.store.inner)
        a, b = [r for r in events(busy.store) if r.seq in (60, 61)]
        raw(busy.store.inner, "UPDATE event SET hash = 'swap' WHERE seq = 60")  # hash is unique
        for mine, other in ((b, a), (a, b)):
            raw(busy.store.inner, "UPDATE event SET actor = :ac, authority = :au, type = :t, payload = :p, "
                                  "item_id = :i, meeting_id = :m, prev_hash = :ph, hash = :h WHERE seq = :s",
                ac=other.actor, au=other.authority, t=other.type, p=other.payload, i=other.item, m=other.meeting,
                ph=other.prev_hash, h=other.hash, s=mine.seq)
        v = verify(busy.store)
        assert (False, 60) == (v.ok, v.first_bad_seq)

    def test_tail_re_hashed_consistently_is_caught_by_a_checkpoint(self, busy, demo_cli):
        """A note rewritten and every later hash recomputed: the chain holds, the checkpoint does not."""
        cp = json.loads(demo_cli("--json", "audit", "checkpoint").stdout)
        drop_append_only(busy.store.inner)
        seq = seq_of(busy, "ItemFiled", item=2)
        rehash_from(busy.store.inner, seq, lambda p: {**p, "note": "rewritten"})
        raw(busy.store.inner, "UPDATE item SET note = 'rewritten' WHERE id = 2")  # and the table to match
        assert verify(busy.store).ok  # a consistent rewrite of a note fools chain, replay and tables
        r = demo_cli("--json", "audit", "verify", "--checkpoint", f"{cp['seq']}:{cp['hash']}")
        assert 7 == r.exit_code
        assert cp["seq"] == json.loads(r.stdout)["first_bad_seq"]
        assert "checkpoint" in r.stderr

    def test_tail_re_hashed_with_a_forged_actor_fails_re_decision(self, busy):
        """Rewriting who acted, even with every hash recomputed, fails re-decision at that event."""
        drop_append_only(busy.store.inner)
        seq = next(e.seq for e in events(busy.store) if e.data.get("trigger") == "decide")
        rehash_from(busy.store.inner, seq, actor="nakamura", authority="nakamura")
        v = verify(busy.store)
        assert (False, seq) == (v.ok, v.first_bad_seq)
        assert "only the HQ chief" in str(v.problem)

    def test_triggers_dropped_and_a_row_edited(self, busy):
        drop_append_only(busy.store.inner)
        log = events(busy.store)
        seq = log[-3].seq
        first = log[0].at - dt.timedelta(days=1)
        raw(busy.store.inner, "UPDATE event SET at = :at WHERE seq = :s", at=at_value(busy.store, first), s=seq)
        v = verify(busy.store)
        assert (False, seq) == (v.ok, v.first_bad_seq)

    def test_changed_item_state_is_caught(self, busy, demo_cli):
        """The log is intact but the item row was edited: stored state differs from its replay."""
        raw(busy.store.inner, "UPDATE item SET state = 'closed' WHERE id = 2")
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code
        v = json.loads(r.stdout)
        assert "stored item 2 differs from its replay" in v["problem"]
        assert v["first_bad_seq"] == max(e.seq for e in busy.peek.events(item=2))

    def test_changed_planned_reminder_is_caught(self, busy):
        """A planned reminder moved by hand (a deadline pushed back) is not what the log implies."""
        row = raw(busy.store.inner, "SELECT reminders FROM item WHERE id = 2")[0][0]
        planned = orjson.loads(row)
        planned[0][4] = "2030-01-01T00:00:00.000000+00:00"
        raw(busy.store.inner, "UPDATE item SET reminders = :r WHERE id = 2", r=orjson.dumps(planned).decode())
        v = verify(busy.store)
        assert not v.ok and "stored item 2" in str(v.problem)

    def test_changed_planned_meeting_reminder_is_caught(self, busy):
        """The same for a meeting's notice: verify plans each record as it compares it (the
        replay keeps none of the plans it owes), and a moved one is still named."""
        busy.convene("yamamoto", "staff", busy.clock.now() + dt.timedelta(days=3), items=[2], attendees=["yoshida"])
        mid, row = next((m, r) for m, r in raw(busy.store.inner, "SELECT id, reminders FROM meeting ORDER BY id")
                        if orjson.loads(r))
        planned = orjson.loads(row)
        planned[0][4] = "2030-01-01T00:00:00.000000+00:00"
        raw(busy.store.inner, "UPDATE meeting SET reminders = :r WHERE id = :i", r=orjson.dumps(planned).decode(), i=mid)
        v = verify(busy.store)
        assert not v.ok and f"stored meeting {mid}" in str(v.problem)


def test_a_redirected_delivery_is_caught(svc, clock, tmp_path):
    """A message row pointed at another address (or stripped of its calendar) after the
    reminder fired: verify compares where it goes with what the ReminderDue recorded."""
    from engine.reminders.dispatch import Dispatcher
    from engine.reminders.senders import OutboxSender

    clock.advance(days=15)  # the filed items' staff-meeting reminders are due
    Dispatcher(svc, {"email": OutboxSender(tmp_path / "out.jsonl")}).run_once()
    assert verify(svc.store).ok
    rows = raw(svc.store.inner, "SELECT id FROM delivery")
    assert rows
    raw(svc.store.inner, "UPDATE delivery SET address = 'attacker@evil.example' WHERE id = :i", i=rows[0][0])
    v = verify(svc.store)
    assert not v.ok and "another address" in str(v.problem)


class TestStoredMeetingsAndOrders:
    """The stored meetings and orders are compared with the replay a chunk at a time (so a long
    log's two copies are never both held whole): a row edited, removed or invented in any
    chunk is still named, the first by key. Here one row a chunk, so every row is its own."""

    @pytest.fixture(autouse=True)
    def one_row_a_chunk(self, monkeypatch):
        from engine.app import audit

        monkeypatch.setattr(audit._differing, "__defaults__", (1, None))

    @pytest.fixture
    def ordered(self, busy):
        for title, leader in (("調査", "kobayashi"), ("確認", "nakamura")):
            busy.issue_order("watanabe", walk_to(busy, "pre_review", title=title), leader, note=title)
        return busy

    def _meetings(self, svc):
        with svc.store.read() as tx:
            return [m.id for m in tx.meetings()]

    def test_the_last_meeting_edited_is_named(self, ordered):
        last = max(self._meetings(ordered))
        raw(ordered.store.inner, "UPDATE meeting SET place = 'elsewhere' WHERE id = :i", i=last)
        v = verify(ordered.store)
        assert not v.ok and f"stored meeting {last} differs from its replay" in str(v.problem)
        assert v.first_bad_seq == max(e.seq for e in ordered.peek.events(meeting=last))

    def test_a_meeting_removed_is_named(self, ordered):
        ids = self._meetings(ordered)
        assert len(ids) >= 3
        raw(ordered.store.inner, "DELETE FROM meeting WHERE id = :i", i=ids[1])
        v = verify(ordered.store)
        assert not v.ok and f"meeting {ids[1]} is missing from the database" in str(v.problem)

    def test_an_order_invented_after_the_last_is_named(self, ordered):
        with ordered.store.read() as tx:
            orders = tx.orders()
        assert len(orders) == 2
        cols = raw(ordered.store.inner, "SELECT * FROM investigation_order WHERE id = :i", i=orders[-1].id)[0]
        marks = ", ".join(f":c{i}" for i in range(len(cols)))
        raw(ordered.store.inner, f"INSERT INTO investigation_order VALUES ({marks})",
            **{f"c{i}": (orders[-1].id + 10 if i == 0 else c) for i, c in enumerate(cols)})
        v = verify(ordered.store)
        assert not v.ok and f"stored order {orders[-1].id + 10} is missing from the log" in str(v.problem)

    def test_an_intact_log_still_verifies_a_row_at_a_time(self, ordered):
        assert verify(ordered.store).ok
