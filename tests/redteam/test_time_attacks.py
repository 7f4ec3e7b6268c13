"""Attacks on time (R-I2, R-M5): a clock run backwards, a log edited so time runs backwards,
backdated sittings, and an expired delegation replayed under a moved clock. Each is refused
when attempted, or caught by `audit verify` (naming the first bad event) when forged."""

import dataclasses
import datetime as dt

import orjson
import pytest

from engine.app.audit import verify
from engine.core.errors import NotPermitted, NotPossible
from store.chain import record_hash
from tests.conftest import drop_append_only, fingerprint, held, raw, walk_to
from tests.redteam.test_tamper import at_value, events


def rewrite(store, seq, **fields):
    """Rewrite event `seq`'s columns and re-hash it and every later event and the head: what
    someone who can write the database (and knows the chain) would do."""
    prev = None
    for r in events(store):
        if r.seq < seq:
            prev = r.hash
            continue
        if r.seq == seq:
            r = dataclasses.replace(r, **fields)
        r = dataclasses.replace(r, prev_hash=prev)
        digest = record_hash(r)
        raw(store, "UPDATE event SET at = :at, payload = :p, prev_hash = :ph, hash = :h WHERE seq = :s",
            at=at_value(store, r.at), p=r.payload, ph=prev, h=digest, s=r.seq)
        prev = digest
    raw(store, "UPDATE log_head SET hash = :h", h=prev)


def test_r_i2_a_clock_run_backwards_cannot_record(svc):
    """R-I2: under a clock set back (faketime, a wrong NTP), nothing is recorded."""
    walk_to(svc, "pre_review")
    before = fingerprint(svc.store)
    svc.clock.advance(hours=-1)
    with pytest.raises(NotPossible, match="R-I2"):
        svc.file_item("yamamoto", "an hour ago")
    assert fingerprint(svc.store) == before


def test_r_i2_a_log_edited_to_run_backwards_is_named(svc):
    """R-I2: an event re-dated before its predecessor, every hash recomputed: verify names it."""
    walk_to(svc, "council")
    drop_append_only(svc.store.inner)
    log = events(svc.store)
    victim = log[-2]
    rewrite(svc.store.inner, victim.seq, at=log[-3].at - dt.timedelta(minutes=10))
    v = verify(svc.store)
    assert (v.ok, v.first_bad_seq) == (False, victim.seq)
    assert "earlier than event" in str(v.problem) or "backwards" in str(v.problem)


def test_r_m5_a_forged_backdated_sitting_fails_re_decision(svc):
    """R-M5: a sitting's recorded `sat_at` moved before its start (hashes recomputed) is caught
    by re-deciding the hold: a meeting cannot sit before it starts."""
    item = walk_to(svc, "pre_review")
    m = svc.convene("watanabe", "team_lead", svc.clock.now() + dt.timedelta(hours=1), items=[item]).fact.meeting
    svc.clock.advance(hours=2)
    held_ev = svc.hold("watanabe", m).event
    drop_append_only(svc.store.inner)
    payload = orjson.loads(held_ev.payload)
    payload["sat_at"] = (svc.clock.now() - dt.timedelta(days=1)).isoformat()
    rewrite(svc.store.inner, held_ev.seq, payload=orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode())
    v = verify(svc.store)
    assert (v.ok, v.first_bad_seq) == (False, held_ev.seq)
    assert "R-M5" in str(v.problem) or "before" in str(v.problem)


def test_r_m5_a_sitting_recorded_late_acts_on_what_was_before_it(svc):
    """R-M5: a sitting recorded late keeps its own time and may act on what was on its agenda before
    it sat (the refusal of the opposite is in tests/unit/test_time.py)."""
    m = svc.convene("watanabe", "team_lead", svc.clock.now() + dt.timedelta(minutes=30)).fact.meeting
    svc.clock.advance(minutes=10)
    item = walk_to(svc, "pre_review", title="after the call")
    svc.agenda("watanabe", m, "add", item)
    svc.clock.advance(hours=3)
    svc.hold("watanabe", m, sat_at=svc.clock.now() - dt.timedelta(hours=2))
    before = fingerprint(svc.store)
    svc.advance("watanabe", item, "refer", meeting=m)  # it sat after the item reached pre_review: fine
    assert fingerprint(svc.store) != before


def test_an_expired_delegation_replayed_under_a_moved_clock(svc):
    """A clerk records for the general manager inside a delegation; once it expires they cannot,
    and moving the clock back into its window is refused too (R-I2)."""
    svc.delegate("watanabe", "yamaguchi", valid_until=svc.clock.now() + dt.timedelta(days=1))
    item = walk_to(svc, "pre_review")
    m = held(svc, "watanabe", "team_lead", [item])
    svc.clock.advance(days=3)
    before = fingerprint(svc.store)
    with pytest.raises(NotPermitted):
        svc.advance("yamaguchi", item, "refer", meeting=m, on_behalf_of="watanabe")
    svc.clock.advance(days=-2, hours=-12)  # back inside the window
    with pytest.raises(NotPossible, match="R-I2"):
        svc.advance("yamaguchi", item, "refer", meeting=m, on_behalf_of="watanabe")
    assert fingerprint(svc.store) == before


def test_an_act_re_dated_into_an_expired_delegation_is_caught(svc):
    """The same, forged: an on-behalf act recorded after expiry and re-dated into the window
    breaks time order along the chain, which verify names."""
    svc.delegate("watanabe", "yamaguchi", valid_until=svc.clock.now() + dt.timedelta(days=1))
    item = walk_to(svc, "pre_review")
    m = held(svc, "watanabe", "team_lead", [item])
    svc.clock.advance(hours=2)
    act = svc.advance("yamaguchi", item, "refer", meeting=m, on_behalf_of="watanabe").event
    drop_append_only(svc.store.inner)
    rewrite(svc.store.inner, act.seq, at=act.at - dt.timedelta(days=5))
    v = verify(svc.store)
    assert (v.ok, v.first_bad_seq) == (False, act.seq)
