"""The hash chain of the event log: canonical encoding and links.

Each event's hash is sha256 over the previous hash, the canonical JSON of its envelope
and the payload text exactly as stored (so no database JSON type can re-order keys under
the hash, LIBRARIES.md 2.1). Envelope version 1 (kaigi 0.1) is
`[seq, at, actor, authority, rulebook, item, meeting, type]`; version 2 adds the identity
that authenticated the actor and the payload's schema number:
`[2, seq, at, actor, authority, identity, rulebook, item, meeting, type, schema]`.
PostgreSQL's append function builds the very same bytes (store/pg.py).
"""

import datetime as dt
import hashlib
from functools import lru_cache
from typing import Any

import orjson

from store.records import EventRecord

GENESIS = "0" * 64
ENVELOPE = 2  # the version new events are written with

_OPTS = orjson.OPT_SORT_KEYS


def canonical(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text kept as is (what json.dumps
    with sort_keys, compact separators and ensure_ascii=False gives, checked by a test)."""
    return orjson.dumps(value, option=_OPTS).decode("utf-8")


def instant(at: dt.datetime) -> str:
    """The one text form of a time inside hashed data: UTC, microseconds, offset."""
    if at.tzinfo is dt.UTC:  # an act's times are UTC already: no copy made to say so
        return at.isoformat(timespec="microseconds")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


@lru_cache(maxsize=8192)  # pure; an act stamps its time into the log, a row and a plan
def stamp(at: dt.datetime | None) -> str | None:
    """`instant`, remembered (None stays None): the one text of an act's time, which the
    store's rows derive theirs from (`store.codec`)."""
    return None if at is None else instant(at)


def envelope(seq: int, at: str, actor: str, authority: str, rulebook: str, item: int | None,
             meeting: int | None, type_: str, identity: str | None = None, schema: int = 1,
             v: int = 1) -> str:
    if v == 1:
        return canonical([seq, at, actor, authority, rulebook, item, meeting, type_])
    return canonical([v, seq, at, actor, authority, identity, rulebook, item, meeting, type_, schema])


def link(prev_hash: str, envelope_text: str, payload_text: str) -> str:
    data = f"{prev_hash}\n{envelope_text}\n{payload_text}".encode()
    return hashlib.sha256(data).hexdigest()


def seal(prev_seq: int, prev_hash: str, at: dt.datetime, actor: str, authority: str, identity: str,
         rulebook: str, events: Any) -> list[Any]:
    """Chain new events onto the head: each gets its sequence number and its link.

    The envelope (version 2) and the link are those of `envelope` and `link`, written out
    here: an act seals once per event, and the calls were a good part of sealing's cost."""
    out = []
    text = stamp(at)
    dumps, sha256 = orjson.dumps, hashlib.sha256
    for e in events:
        prev_seq += 1
        env = dumps([ENVELOPE, prev_seq, text, actor, authority, identity, rulebook, e.item, e.meeting, e.type,
                     e.schema], option=_OPTS)
        digest = sha256(b"%s\n%s\n%s" % (prev_hash.encode(), env, e.payload.encode())).hexdigest()
        out.append(EventRecord(prev_seq, at, actor, authority, rulebook, e.item, e.meeting, e.type, e.payload,
                               prev_hash, digest, identity, e.schema, ENVELOPE))
        prev_hash = digest
    return out


def record_hash(r: Any) -> str:
    """The hash an event record should carry, from its own fields (what verify recomputes)."""
    env = envelope(r.seq, instant(r.at), r.actor, r.authority, r.rulebook, r.item, r.meeting, r.type,
                   r.identity, r.schema, r.v)
    return link(r.prev_hash, env, r.payload)
