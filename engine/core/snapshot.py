"""A snapshot: the replayer's whole state after event `seq`, in one canonical encoding,
so that its sha256 names it and a signed checkpoint can vouch for it (issue 21, part 3).

`encode` writes the World (every record, the lazy fold's owed plans and agenda index) and
what the replayer keeps beside it (the reminders that went out and were settled, the
documents, the api tokens, the password commitments) as compact JSON with a tag for each
value that JSON has no word for: a tuple, a dict (its keys in insertion order, which the
fold's iteration follows), a set (sorted), a time, a date, a record (by class name and
its fields in order). Replay is deterministic, so two replays of the same log to the same
event encode to the same bytes; `restore` gives a Replayer that continues from there
exactly as the one that replayed from genesis (tests/unit/test_snapshots.py). The big maps
(items, meetings, orders, the reminders that went out) keep each value as its own JSON
text (`Packed`): a resumed replay decodes only what the newest events touch.

Encoding settles the world first (every plan the lazy replay still owes is made, as the
live path made it after each act), so a snapshot carries no debt a resumed replay would
pay for the whole world. A snapshot is only taken between acts: an act whose events are not all in yet has no
state of its own to resume (`Unsnappable`). Nothing here reads a file or the database.
"""

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson

from engine.core.fold import settle
from engine.core.replay import Fired, Replayer
from store.records import (AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, ItemRecord,
                           MeetingRecord, MemberRecord, Minutes, OpenOrder, OrderRecord, Planned, Sitting)

FORMAT = "kaigi-snapshot/1"
_CLASSES: dict[str, type] = {c.__name__: c for c in (
    AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, ItemRecord, MeetingRecord, MemberRecord,
    Minutes, OpenOrder, OrderRecord, Planned, Sitting)}
_FIELDS: dict[type, tuple[str, ...]] = {c: tuple(f.name for f in dataclasses.fields(c)) for c in _CLASSES.values()}
_NAMES: dict[type, str] = {c: n for n, c in _CLASSES.items()}
WORLD = ("bodies", "members", "assignments", "delegations", "adoptions", "items", "meetings", "orders", "legacy",
         "agenda_of", "dirty_items", "dirty_meetings")
KEPT = ("acted", "sent", "due", "documents", "tokens", "credentials")
# the big maps: each value its own JSON text inside the snapshot, decoded when first asked for
PACKED = frozenset({"items", "meetings", "orders", "agenda_of", "sent", "due"})


class Packed(MutableMapping[Any, Any]):
    """A dict restored from a snapshot whose values stay encoded (text) until read or
    written: a replay resumed for the newest events decodes only what they touch, and
    `touched()` names those keys (what `audit verify --since` compares). Iteration keeps
    the snapshot's order; re-encoding an untouched value gives back its very text."""

    __slots__ = ("d",)

    def __init__(self, d: dict[Any, Any]) -> None:
        self.d = d

    def __getitem__(self, key: Any) -> Any:
        v = self.d[key]
        t = type(v)
        if t is bytes or t is str:
            v = self.d[key] = _dec(orjson.loads(v))
        return v

    def peek(self, key: Any, default: Any = None) -> Any:
        """The value, decoded but left encoded here (a comparison reading every record)."""
        v = self.d.get(key, default)
        t = type(v)
        return _dec(orjson.loads(v)) if t is bytes or t is str else v

    def __setitem__(self, key: Any, value: Any) -> None:
        self.d[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.d[key]

    def __contains__(self, key: object) -> bool:
        return key in self.d

    def __iter__(self) -> Iterator[Any]:
        return iter(self.d)

    def __len__(self) -> int:
        return len(self.d)

    def touched(self) -> list[Any]:
        return [k for k, v in self.d.items() if type(v) is not str and type(v) is not bytes]

    def text(self, key: Any) -> str:
        v = self.d[key]
        t = type(v)
        return v if t is str else v.decode() if t is bytes else orjson.dumps(_enc(v)).decode()


class Unsnappable(ValueError):
    """The replayer is inside an act (events of it still to come)."""


class BadSnapshot(ValueError):
    """Bytes that are no snapshot this code wrote."""


def _enc(x: Any) -> Any:
    t = type(x)
    if t is str or t is int or t is bool or x is None:
        return x
    if t is tuple:
        return ["U", *[_enc(y) for y in x]]
    if t is dict:
        return ["D", *[[_enc(k), _enc(v)] for k, v in x.items()]]
    if t is dt.datetime:
        return ["T", x.isoformat()]
    name = _NAMES.get(t)
    if name is not None:
        return ["R", name, *[_enc(getattr(x, f)) for f in _FIELDS[t]]]
    if t is Fired:
        return ["F", _enc(tuple(x.recipients)), _enc(tuple(x.digests)), _enc(tuple(x.routes))]
    if t is set or t is frozenset:
        return ["S", *sorted(_enc(y) for y in x)]
    if t is list:
        return ["L", *[_enc(y) for y in x]]
    if t is dt.date:
        return ["d", x.isoformat()]
    raise Unsnappable(f"a {t.__name__} in the state")


def _dec(x: Any) -> Any:
    if type(x) is not list:
        return x
    tag = x[0]
    if tag == "R":
        return _CLASSES[x[1]](*[_dec(y) for y in x[2:]])
    if tag == "U":
        return tuple(_dec(y) for y in x[1:])
    if tag == "T":
        return dt.datetime.fromisoformat(x[1])
    if tag == "D":
        return {_dec(k): _dec(v) for k, v in x[1:]}
    if tag == "F":
        return Fired(_dec(x[1]), _dec(x[2]), _dec(x[3]))
    if tag == "S":
        return {_dec(y) for y in x[1:]}
    if tag == "L":
        return [_dec(y) for y in x[1:]]
    if tag == "d":
        return dt.date.fromisoformat(x[1])
    raise BadSnapshot(f"tag {tag!r}")


def encode(r: Replayer, seq: int, digest: str, at: str, v: int) -> bytes:
    """The canonical bytes of `r` after event `seq` (its chain hash `digest`, its time as
    the hashed text `at`, its envelope version `v`: where the chain pass resumes)."""
    if r._pending:
        raise Unsnappable("inside an act")
    w = r.world
    settle(w)  # the plans a lazy replay still owes are made first, as the live path made them at each act
    doc = {"format": FORMAT, "chain": [seq, digest, at, v], "schema": r._schema,
           "world": [_field(n, getattr(w, n)) for n in WORLD], "kept": [_field(n, getattr(r, n)) for n in KEPT]}
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _field(name: str, value: Any) -> Any:
    if name not in PACKED:
        return _enc(value)
    if isinstance(value, Packed):
        return ["P", *[[_enc(k), value.text(k)] for k in value]]
    dumps = orjson.dumps
    return ["P", *[[_enc(k), dumps(_enc(v)).decode()] for k, v in value.items()]]


def _unfield(name: str, value: Any) -> Any:
    if name not in PACKED:
        return _dec(value)
    if type(value) is not list or value[:1] != ["P"]:
        raise BadSnapshot(name)
    return Packed({_dec(k): str(v) for k, v in value[1:]})


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def restore(data: bytes) -> tuple[tuple[int, str, str, int], Replayer]:
    """The chain position ((seq, hash, at, v)) and a Replayer that continues from it."""
    try:
        doc = orjson.loads(data)
        if doc.get("format") != FORMAT or len(doc["world"]) != len(WORLD) or len(doc["kept"]) != len(KEPT):
            raise BadSnapshot("format")
        seq, digest, at, v = doc["chain"]
        r = Replayer()
        w = r.world
        for name, value in zip(WORLD, doc["world"], strict=True):
            setattr(w, name, _unfield(name, value))
        for name, value in zip(KEPT, doc["kept"], strict=True):
            setattr(r, name, _unfield(name, value))
        r._schema = int(doc["schema"])
        w.lazy = True
        return (int(seq), str(digest), str(at), int(v)), r
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise BadSnapshot(str(err)) from None


def state_hash(r: Replayer, seq: int = 0, digest: str = "", at: str = "", v: int = 1) -> str:
    """The sha256 of the replayer's state (tests compare two replays' with it)."""
    return digest_of(encode(r, seq, digest, at, v))
