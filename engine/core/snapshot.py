"""A snapshot: the replayer's whole state after event `seq`, in one canonical encoding,
so that its sha256 names it and a signed checkpoint can vouch for it (issue 21, part 3).

`encode` writes the World (every record, the lazy fold's owed plans and agenda index) and
what the replayer keeps beside it (the reminders that went out and were settled, the
documents, the api tokens, the password commitments) with a tag for each value that JSON
has no word for: a tuple, a dict (its keys in insertion order, which the fold's iteration
follows), a set (sorted), a time, a date, a record (by class name and its fields in order).
Replay is deterministic, so two replays of the same log to the same event encode to the
same bytes; `restore` gives a Replayer that continues from there exactly as the one that
replayed from genesis (tests/unit/test_snapshots.py).

The layout (`kaigi-snapshot/2`): one line of JSON, the header (the chain position, the
roster, rules, documents, tokens and credentials; each big map's record count and size),
then a section per big map (items, meetings, orders, the agenda index, the reminders that
went out and were settled): its records `KEY TAB VALUE LF` in the map's order, then their
offsets and the record numbers sorted by key text (unsigned 32-bit, little-endian). So
`restore` parses the header alone and a resumed replay decodes only the records the newest
events touch, each found by a binary search (`Packed`); the signed sha256 is of every byte.

Encoding settles the world first (every plan the lazy replay still owes is made, as the
live path made it after each act), so a snapshot carries no debt a resumed replay would
pay for the whole world. A snapshot is only taken between acts: an act whose events are not all in yet has no
state of its own to resume (`Unsnappable`). Nothing here reads a file or the database.
"""

import dataclasses
import datetime as dt
import hashlib
import sys
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from itertools import chain
from typing import Any

import orjson

from engine.core.fold import settle
from engine.core.replay import Fired, Replayer, Settled, pack, unpack
from engine.core.world import Agenda, Outcomes
from store.records import (AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, ItemRecord,
                           MeetingRecord, MemberRecord, Minutes, OpenOrder, OrderRecord, Planned, Sitting)

FORMAT = "kaigi-snapshot/2"
_CLASSES: dict[str, type] = {c.__name__: c for c in (
    AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, ItemRecord, MeetingRecord, MemberRecord,
    Minutes, OpenOrder, OrderRecord, Planned, Sitting)}
_FIELDS: dict[type, tuple[str, ...]] = {c: tuple(f.name for f in dataclasses.fields(c)) for c in _CLASSES.values()}
_NAMES: dict[type, str] = {c: n for n, c in _CLASSES.items()}
WORLD = ("bodies", "members", "assignments", "delegations", "adoptions", "items", "meetings", "orders", "legacy",
         "agenda_of", "dirty_items", "dirty_meetings")
KEPT = ("acted", "sent", "due", "documents", "tokens", "credentials")
# the big maps, each a section of its own after the header (in this order), a record decoded when first asked for
PACKED = ("items", "meetings", "orders", "agenda_of", "sent", "due")
_PACKED = frozenset(PACKED)


class _Section:
    """One big map's records where they lie in the snapshot's bytes, read in place: record
    `i` is `KEY TAB VALUE LF` (the JSON text of each one's encoding) from `off[i]` to
    `off[i + 1]`, in the map's own order; `order` lists the records by their key text, so
    one key is found by a binary search without reading any other record."""

    __slots__ = ("base", "buf", "end", "fence", "mv", "n", "off", "order")

    def __init__(self, buf: bytes, base: int, n: int, size: int) -> None:
        if n < 0 or size < 0 or base + size > len(buf):
            raise BadSnapshot("section")
        self.buf, self.mv, self.base, self.n = buf, memoryview(buf), base, n
        self.fence: list[bytes] | None = None
        at = base + size + (-size % 4)
        self.off = _ints(self.mv[at:at + 4 * (n + 1)], n + 1)
        self.order = _ints(self.mv[at + 4 * (n + 1):at + 4 * (2 * n + 1)], n)
        self.end = at + 4 * (2 * n + 1)
        if self.off[0] != 0 or self.off[n] != size:
            raise BadSnapshot("section offsets")

    def find(self, kt: bytes) -> int:
        return _search(self, kt)

    def key(self, i: int) -> Any:
        s = self.base + self.off[i]
        return _dec(orjson.loads(self.mv[s:self.buf.index(b"\t", s)]))

    def value(self, i: int) -> Any:
        s = self.base + self.off[i]
        return _dec(orjson.loads(self.mv[self.buf.index(b"\t", s) + 1:self.base + self.off[i + 1] - 1]))

    def key_text(self, i: int) -> bytes:
        s = self.base + self.off[i]
        return self.buf[s:self.buf.index(b"\t", s)]

    def record(self, i: int) -> bytes:
        return self.buf[self.base + self.off[i]:self.base + self.off[i + 1]]


BLOCK = 4096  # a compressed block's size before compression (a record read costs ~10 µs to inflate)


class _Blocks:
    """One big map's records held compressed, for a split verify's worker (`restore_pieces`),
    which keeps the snapshot it starts from for its whole segment: the key texts plainly
    (the binary search reads them), the values in zlib blocks of about 4 KiB in the map's
    order, a block inflated when one of its records is read and the last one kept (a walk
    in the map's order inflates each block once). Holding the snapshot's bytes instead took
    that worker 119 of its 280 MiB at 750,000 of 1,000,000 events. The same reads as
    `_Section`; the bytes each gives are the snapshot's own."""

    __slots__ = ("_at", "_raw", "blocks", "fence", "first", "kend", "keys", "n", "order", "vend")

    def __init__(self, n: int, keys: bytes, kend: Any, vend: Any, blocks: list[bytes], first: Any,
                 order: Any) -> None:
        self.n, self.keys, self.kend, self.vend = n, keys, kend, vend
        self.blocks, self.first, self.order = blocks, first, order
        self.fence: list[bytes] | None = None
        self._at, self._raw = -1, b""

    def find(self, kt: bytes) -> int:
        return _search(self, kt)

    def _text(self, i: int) -> bytes:
        b = bisect_right(self.first, i) - 1
        if b != self._at:
            self._raw, self._at = zlib.decompress(self.blocks[b]), b
        base = self.vend[self.first[b]]
        return self._raw[self.vend[i] - base:self.vend[i + 1] - base]

    def key_text(self, i: int) -> bytes:
        return self.keys[self.kend[i]:self.kend[i + 1]]

    def key(self, i: int) -> Any:
        return _dec(orjson.loads(self.key_text(i)))

    def value(self, i: int) -> Any:
        return _dec(orjson.loads(self._text(i)))

    def record(self, i: int) -> bytes:
        return b"".join((self.key_text(i), b"\t", self._text(i), b"\n"))


class _Reader:
    """The canonical bytes, arriving in pieces (decompressed from the kept file), read by
    line or by count; every byte read is hashed. A line or a count that spans pieces is
    gathered in a list and joined once (linear in its length, whatever the pieces' size)."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self.it, self.buf, self.pos, self.sha = iter(pieces), b"", 0, hashlib.sha256()

    def _next(self) -> bytes:
        for piece in self.it:
            if piece:
                self.sha.update(piece)
                return bytes(piece)
        raise BadSnapshot("truncated")

    def line(self) -> bytes:
        j = self.buf.find(b"\n", self.pos)
        if j >= 0:
            out, self.pos = self.buf[self.pos:j + 1], j + 1
            return out
        parts = [self.buf[self.pos:]]
        while (j := (piece := self._next()).find(b"\n")) < 0:
            parts.append(piece)
        parts.append(piece[:j + 1])
        self.buf, self.pos = piece, j + 1
        return b"".join(parts)

    def take(self, k: int) -> bytes:
        if len(self.buf) - self.pos >= k:
            out, self.pos = self.buf[self.pos:self.pos + k], self.pos + k
            return out
        parts, need = [self.buf[self.pos:]], k - (len(self.buf) - self.pos)
        while need > 0:
            piece = self._next()
            parts.append(piece[:need])
            self.buf, self.pos = piece, min(need, len(piece))
            need -= len(piece)
        return b"".join(parts)

    def done(self) -> bool:
        if self.pos < len(self.buf):
            return False
        try:
            self._next()
        except BadSnapshot:
            return True
        return False


def _blocks(rd: _Reader, n: int, size: int) -> _Blocks:
    """A section read from the stream into `_Blocks`: its records one line each (the JSON
    texts hold no raw line feed nor tab), their offsets checked against the section's own."""
    if n < 0 or size < 0:
        raise BadSnapshot("section")
    keys, kend, vend, off = bytearray(), array("I", [0]), array("I", [0]), array("I", [0])
    blocks: list[bytes] = []
    first = array("I")
    cur = bytearray()
    for i in range(n):
        rec = rd.line()
        t = rec.find(b"\t")
        if t < 0 or t + 2 >= len(rec) or off[-1] + len(rec) > size:  # a key, a tab, a value (never empty), LF
            raise BadSnapshot("section record")
        keys += rec[:t]
        kend.append(len(keys))
        if not cur:
            first.append(i)
        cur += memoryview(rec)[t + 1:-1]
        vend.append(vend[-1] + len(rec) - t - 2)
        off.append(off[-1] + len(rec))
        if len(cur) >= BLOCK:
            blocks.append(zlib.compress(cur, 1))
            cur = bytearray()
    if cur:
        blocks.append(zlib.compress(cur, 1))
    if off[-1] != size or rd.take(-size % 4).strip(b" "):
        raise BadSnapshot("section size")
    if sys.byteorder != "little":
        off.byteswap()
    if rd.take(4 * (n + 1)) != off.tobytes():
        raise BadSnapshot("section offsets")
    order = _ints(memoryview(rd.take(4 * n)), n)
    return _Blocks(n, bytes(keys), kend, vend, blocks, first, order)


def _search(sec: "_Section | _Blocks", kt: bytes) -> int:
    """The record of `sec` whose key text is `kt`, or -1: the key of every 32nd record in key
    order (read at the first search) narrows it to 32 records, then a binary search."""
    fence = sec.fence
    if fence is None:
        fence = sec.fence = [sec.key_text(sec.order[j]) for j in range(0, sec.n, 32)]
    lo = (bisect_right(fence, kt) - 1) * 32
    if lo < 0:
        return -1
    key_text, order = sec.key_text, sec.order
    hi = min(lo + 32, sec.n)
    while lo < hi:
        mid = (lo + hi) >> 1
        i: int = order[mid]
        k = key_text(i)
        if k < kt:
            lo = mid + 1
        elif k > kt:
            hi = mid
        else:
            return i
    return -1


def _ints(mv: memoryview, n: int) -> Any:
    """`n` unsigned 32-bit little-endian numbers, read in place where the machine's are such."""
    if len(mv) != 4 * n:
        raise BadSnapshot("section size")
    if sys.byteorder == "little":
        return mv.cast("I")
    a = array("I")
    a.frombytes(mv)
    a.byteswap()
    return a


_NONE = object()


def _ktext(key: Any) -> bytes:
    return orjson.dumps(_enc(key))


class Packed(MutableMapping[Any, Any]):
    """A big map restored from a snapshot, left in the snapshot's bytes: a key is found
    there by a binary search and decoded when first read or written (then kept in `own`);
    a resumed replay for the newest events decodes only what they touch, and `touched()`
    names those keys (what `audit verify --since` compares). Iteration keeps the map's
    order (a dict's: a key added, or deleted and added again, comes last); re-encoding
    an untouched record gives back its very bytes."""

    __slots__ = ("gone", "miss", "new", "own", "sec")

    def __init__(self, sec: "_Section | _Blocks") -> None:
        self.sec = sec
        self.own: dict[Any, Any] = {}  # decoded: read or written since the restore
        self.gone: set[Any] = set()  # keys deleted from their place in the snapshot
        self.new: dict[Any, None] = {}  # keys after the snapshot's, in the order they came
        self.miss: Any = _NONE  # the last key found in neither

    def _find(self, key: Any) -> int:
        if key in self.gone:
            return -1
        try:
            kt = _ktext(key)
        except Unsnappable:
            return -1
        return self.sec.find(kt)

    def __getitem__(self, key: Any) -> Any:
        own = self.own
        try:
            return own[key]
        except KeyError:
            pass
        i = self._find(key)
        if i < 0:
            self.miss = key  # a new key is asked about first, then set
            raise KeyError(key)
        v = own[key] = self.sec.value(i)
        return v

    def peek(self, key: Any, default: Any = None) -> Any:
        """The value, decoded but not kept (a comparison reading every record)."""
        if key in self.own:
            return self.own[key]
        i = self._find(key)
        return default if i < 0 else self.sec.value(i)

    def __setitem__(self, key: Any, value: Any) -> None:
        own = self.own
        if key not in own and (key == self.miss or self._find(key) < 0):
            self.new[key] = None
        own[key] = value

    def __delitem__(self, key: Any) -> None:
        if key in self.own:
            del self.own[key]
            if key in self.new:
                del self.new[key]
            else:
                self.gone.add(key)
            return
        if self._find(key) < 0:
            raise KeyError(key)
        self.gone.add(key)

    def __contains__(self, key: object) -> bool:
        try:  # decoded and kept: a key asked about is nearly always read next
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Any]:
        gone, sec = self.gone, self.sec
        for i in range(sec.n):
            k = sec.key(i)
            if not gone or k not in gone:
                yield k
        yield from list(self.new)

    def __len__(self) -> int:
        return self.sec.n - len(self.gone) + len(self.new)

    def touched(self) -> list[Any]:
        return list(self.own)

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        """(key text, record bytes) in the map's order: those not touched as they lie."""
        sec, own = self.sec, self.own
        skip = {i for k in self.gone if (i := sec.find(_ktext(k))) >= 0}
        changed = {i: k for k in own if k not in self.new and (i := sec.find(_ktext(k))) >= 0}
        dumps = orjson.dumps
        for i in range(sec.n):
            if i in skip:
                continue
            k = changed.get(i, _NONE)
            if k is _NONE:
                yield sec.key_text(i), sec.record(i)
            else:
                kt = sec.key_text(i)
                yield kt, kt + b"\t" + dumps(_enc(own[k])) + b"\n"
        for k in self.new:
            kt = _ktext(k)
            yield kt, kt + b"\t" + dumps(_enc(own[k])) + b"\n"


class Unsnappable(ValueError):
    """The replayer is inside an act (events of it still to come)."""


class BadSnapshot(ValueError):
    """Bytes that are no snapshot this code wrote."""


_PLAIN = frozenset((str, int, bool, type(None)))  # what JSON says as it is (each value's own type, not a subclass)


# _enc and _dec call themselves only for what is not plain (most of a record's values are
# plain: a call each cost a split verify's worker ~40 % of the time it spent encoding and decoding)
def _enc(x: Any) -> Any:
    t = type(x)
    if t in _PLAIN:
        return x
    P = _PLAIN
    if t is tuple:
        return ["U", *[y if type(y) in P else _enc(y) for y in x]]
    if t is dict:
        return ["D", *[[k if type(k) in P else _enc(k), v if type(v) in P else _enc(v)] for k, v in x.items()]]
    if t is dt.datetime:
        return ["T", x.isoformat()]
    name = _NAMES.get(t)
    if name is not None:
        return ["R", name, *[y if type(y) in P else _enc(y) for y in [getattr(x, f) for f in _FIELDS[t]]]]
    if t is Agenda:  # as the set it stands for
        return ["S", *sorted(_enc(y) for y in x)]
    if t is Settled or t is Outcomes:  # as the dict it stands for
        return ["D", *[[k if type(k) in P else _enc(k), v if type(v) in P else _enc(v)] for k, v in x.items()]]
    if t is Fired:
        return ["F", _enc(tuple(x.recipients)), _enc(unpack(x.digests)), _enc(unpack(x.routes))]
    if t is set or t is frozenset:
        return ["S", *sorted(_enc(y) for y in x)]
    if t is list:
        return ["L", *[y if type(y) in P else _enc(y) for y in x]]
    if t is dt.date:
        return ["d", x.isoformat()]
    raise Unsnappable(f"a {t.__name__} in the state")


def _dec(x: Any) -> Any:
    if type(x) is not list:
        return x
    tag = x[0]
    if tag == "R":
        return _CLASSES[x[1]](*[_dec(y) if type(y) is list else y for y in x[2:]])
    if tag == "U":
        return tuple([_dec(y) if type(y) is list else y for y in x[1:]])
    if tag == "T":
        return _from_iso(x[1])
    if tag == "D":
        return {(_dec(k) if type(k) is list else k): (_dec(v) if type(v) is list else v) for k, v in x[1:]}
    if tag == "F":
        return Fired(_dec(x[1]), pack(_dec(x[2])), pack(_dec(x[3])))
    if tag == "S":
        return {_dec(y) if type(y) is list else y for y in x[1:]}
    if tag == "L":
        return [_dec(y) if type(y) is list else y for y in x[1:]]
    if tag == "d":
        return dt.date.fromisoformat(x[1])
    raise BadSnapshot(f"tag {tag!r}")


_from_iso = dt.datetime.fromisoformat


def encode(r: Replayer, seq: int, digest: str, at: str, v: int) -> bytes:
    """The canonical bytes of `r` after event `seq` (its chain hash `digest`, its time as
    the hashed text `at`, its envelope version `v`: where the chain pass resumes)."""
    head, parts = _pieces(r, seq, digest, at, v)
    return b"".join([head, *parts])


def state_digest(r: Replayer, seq: int, digest: str, at: str, v: int) -> str:
    """`digest_of(encode(...))` without the encoded state ever held: a full verify checks
    the state at each signed snapshot of a long log, and a split verify's worker at the end
    of its segment. The header, hashed first, states each section's record count and size,
    known only once the section is encoded: each section is encoded once into a zlib stream
    (level 1, about a fifth of its size), then the header and the streams inflated piece by
    piece are hashed. Holding the encoding itself took a worker at 750,000 events from 224
    to 572 MiB; encoding twice instead (a pass to count, a pass to hash) cost a segment's
    end ~4 s at 500,000 events, half of it the second encoding."""
    w = r.world
    if r._pending:
        raise Unsnappable("inside an act")
    settle(w)
    sizes: list[list[int]] = []
    streams: list[list[bytes]] = []
    for name in PACKED:
        value = getattr(w, name) if name in WORLD else getattr(r, name)
        z, kept = zlib.compressobj(1), list[bytes]()

        def out(b: bytes, z: Any = z, kept: list[bytes] = kept) -> None:
            if c := z.compress(b):  # most calls: nothing yet (zlib keeps it until a block is full)
                kept.append(c)
        sizes.append(_section(value, out))
        kept.append(z.flush())
        streams.append(kept)
    h = hashlib.sha256(_head(r, seq, digest, at, v, sizes))
    for k, kept in enumerate(streams):
        inflate = zlib.decompressobj()
        for c in kept:
            h.update(inflate.decompress(c))
        h.update(inflate.flush())
        streams[k] = []  # gone once hashed
    return h.hexdigest()


def _pieces(r: Replayer, seq: int, digest: str, at: str, v: int) -> tuple[bytes, list[bytes]]:
    """The header line (padded) and the sections' pieces, in the order they are written."""
    if r._pending:
        raise Unsnappable("inside an act")
    w = r.world
    settle(w)  # the plans a lazy replay still owes are made first, as the live path made them at each act
    parts: list[bytes] = []
    sections = []
    for name in PACKED:
        value = getattr(w, name) if name in WORLD else getattr(r, name)
        sections.append(_section(value, parts.append))
    return _head(r, seq, digest, at, v, sections), parts


def _head(r: Replayer, seq: int, digest: str, at: str, v: int, sections: list[list[int]]) -> bytes:
    """The header line, padded: the chain position, the small maps, each section's [count, size]."""
    w = r.world
    doc = {"format": FORMAT, "chain": [seq, digest, at, v], "schema": r._schema, "sections": sections,
           "world": [["P"] if n in _PACKED else _enc(getattr(w, n)) for n in WORLD],
           "kept": [["P"] if n in _PACKED else _enc(getattr(r, n)) for n in KEPT]}
    head = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return head + b" " * (-(len(head) + 1) % 8) + b"\n"


def _pairs(value: Any) -> Iterator[tuple[bytes, Any]]:
    """(key text, record bytes) of one big map, in its order."""
    if isinstance(value, Packed):
        return value.records()
    dumps = orjson.dumps
    return ((kt, kt + b"\t" + dumps(_enc(x)) + b"\n") for kt, x in ((dumps(_enc(k)), x) for k, x in value.items()))


def _section(value: Any, out: Callable[[Any], Any]) -> list[int]:
    """One big map's section (records, offsets, key order), each piece given to `out` as it
    is made; its [count, size]."""
    # the key texts gathered in one buffer, and made objects only once the records are gone:
    # a small object kept for each record, made among the records' transient ones, left
    # the heap fragmented (a split verify's worker: +200 MiB resident for 14 MiB of keys)
    ktexts = bytearray()
    kend = array("Q")
    off = array("I", [0])
    try:
        for kt, rec in _pairs(value):
            ktexts += kt
            kend.append(len(ktexts))
            out(rec)
            off.append(off[-1] + len(rec))
        n = len(kend)
        with memoryview(ktexts) as mv:
            keys = [mv[a:b].tobytes() for a, b in zip(chain((0,), kend), kend, strict=False)]
        order = array("I", sorted(range(n), key=keys.__getitem__))
        del keys
    except OverflowError:
        raise Unsnappable("a section over 4 GiB") from None
    size = off[-1]
    if sys.byteorder != "little":
        off.byteswap()
        order.byteswap()
    out(b" " * (-size % 4))
    out(off.tobytes())
    out(order.tobytes())
    return [n, size]


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def restore(data: bytes) -> tuple[tuple[int, str, str, int], Replayer]:
    """The chain position ((seq, hash, at, v)) and a Replayer that continues from it. Only
    the header (the chain position, the roster, rules and what is kept beside them) is
    parsed; the big maps stay in `data` (`Packed`), each record decoded when first asked for."""
    try:
        data = bytes(data)
        nl = data.index(b"\n")
        doc = _doc(data[:nl])
        packed: dict[str, Packed] = {}
        start = nl + 1
        for name, (n, size) in zip(PACKED, doc["sections"], strict=True):
            sec = _Section(data, start, int(n), int(size))
            packed[name], start = Packed(sec), sec.end
        if start != len(data):
            raise BadSnapshot("length")
        return _replayer(doc, packed)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise BadSnapshot(str(err)) from None


def restore_pieces(pieces: Iterable[bytes]) -> tuple[tuple[int, str, str, int], Replayer, str]:
    """`restore` from the canonical bytes in pieces, none of them kept: the big maps held
    compressed (`_Blocks`), for a replay that keeps them for long; and the sha256 of every
    byte read. A little slower to restore and to read a record than `restore` (each block
    compressed once, inflated when read), a quarter of the memory or less."""
    rd = _Reader(pieces)
    try:
        doc = _doc(rd.line())
        packed = {name: Packed(_blocks(rd, int(n), int(size)))
                  for name, (n, size) in zip(PACKED, doc["sections"], strict=True)}
        if not rd.done():
            raise BadSnapshot("length")
        pos, r = _replayer(doc, packed)
        return pos, r, rd.sha.hexdigest()
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
        raise BadSnapshot(str(err)) from None


def _doc(head: bytes) -> Any:
    doc = orjson.loads(head)
    if (type(doc) is not dict or doc.get("format") != FORMAT or len(doc["world"]) != len(WORLD)
            or len(doc["kept"]) != len(KEPT) or len(doc["sections"]) != len(PACKED)):
        raise BadSnapshot("format")
    return doc


def _replayer(doc: Any, packed: dict[str, "Packed"]) -> tuple[tuple[int, str, str, int], Replayer]:
    seq, digest, at, v = doc["chain"]
    r = Replayer()
    w = r.world
    for name, value in zip(WORLD, doc["world"], strict=True):
        setattr(w, name, packed[name] if name in _PACKED else _dec(value))
    for name, value in zip(KEPT, doc["kept"], strict=True):
        setattr(r, name, packed[name] if name in _PACKED else _dec(value))
    r._schema = int(doc["schema"])
    w.lazy = True
    return (int(seq), str(digest), str(at), int(v)), r


def state_hash(r: Replayer, seq: int = 0, digest: str = "", at: str = "", v: int = 1) -> str:
    """The sha256 of the replayer's state (tests compare two replays' with it)."""
    return digest_of(encode(r, seq, digest, at, v))
