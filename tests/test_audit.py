"""`audit verify` finds a log or a projection altered behind kaigi's back (exit 7, first bad seq)."""

import json

import sqlalchemy as sa

from tests.conftest import held


def tamper(store, sql, **params):
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


class TestVerify:
    def test_intact_log_verifies(self, svc, demo_cli):
        r = demo_cli("--json", "audit", "verify")
        assert 0 == r.exit_code
        v = json.loads(r.stdout)
        assert {"ok": True, "first_bad_seq": None, "problem": None}.items() <= v.items()
        assert v["events"] > 40 and v["items"] == 4

    def test_changed_event_row_is_caught(self, svc, demo_cli):
        """A row changed with raw SQL: exit 7, naming the first bad sequence."""
        tamper(svc.store, "UPDATE event SET actor = 'nakamura' WHERE seq = 46")
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code
        assert 46 == json.loads(r.stdout)["first_bad_seq"]
        assert "event 46 was altered" in r.stderr

    def test_changed_payload_is_caught(self, svc, demo_cli):
        seq = next(e.seq for e in svc.store.events(item=2) if e.type == "ItemFiled")
        tamper(svc.store, "UPDATE event SET payload = replace(payload, 'filed', 'council') WHERE seq = :s", s=seq)
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code and seq == json.loads(r.stdout)["first_bad_seq"]

    def test_changed_item_state_is_caught(self, svc, demo_cli):
        """The log is intact but the item row was edited: stored state differs from its replay."""
        tamper(svc.store, "UPDATE item SET state = 'council' WHERE id = 2")
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code
        v = json.loads(r.stdout)
        assert "stored item 2 differs from its replay" in v["problem"]
        assert v["first_bad_seq"] == max(e.seq for e in svc.store.events(item=2))

    def test_deleted_tail_is_caught(self, svc, demo_cli):
        """Removing the last events shows against the head row."""
        m = held(svc, "sato", "council", [])
        last = svc.store.head()[0]
        tamper(svc.store, "DELETE FROM event WHERE seq = :s", s=last)
        r = demo_cli("--json", "audit", "verify")
        assert 7 == r.exit_code and m
