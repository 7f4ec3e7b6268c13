"""The World: everything the log describes, as the decisions and the fold read it.

Replay holds a whole World in memory. An act works on a World whose maps are views:
the roster and rules come from a shared snapshot (never written: an `Overlay` keeps the
act's own changes), the items and meetings load from the store on first use (`Lazy`).
So the live path and replay run the same decide and fold code over the same shape.
"""

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, Generic, TypeVar

from engine.core.errors import NotFound
from store.records import (AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, ItemRecord,
                           MeetingRecord, MemberRecord, OrderRecord, Sitting)
from workflows import NoVersionInForce, Rulebook, UnknownVersion
from workflows.versions import Rules

K = TypeVar("K")
V = TypeVar("V")


class Overlay(MutableMapping[K, V], Generic[K, V]):
    """A dict over a base mapping that is read, never written: writes stay in the overlay."""

    __slots__ = ("base", "own")

    def __init__(self, base: dict[K, V]) -> None:
        self.base = base
        self.own: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        try:
            return self.own[key]
        except KeyError:
            return self.base[key]

    def __setitem__(self, key: K, value: V) -> None:
        self.own[key] = value

    def __delitem__(self, key: K) -> None:
        raise TypeError("the world forgets nothing")

    def __contains__(self, key: object) -> bool:
        return key in self.own or key in self.base

    def __iter__(self) -> Iterator[K]:
        yield from self.base
        yield from (k for k in self.own if k not in self.base)

    def __len__(self) -> int:
        return len(self.base) + sum(1 for k in self.own if k not in self.base)


class Lazy(MutableMapping[K, V], Generic[K, V]):
    """Records loaded from the store on first use, then kept; what the act changes is set here."""

    __slots__ = ("load", "seen")

    def __init__(self, load: Callable[[K], V | None]) -> None:
        self.load = load
        self.seen: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        try:
            return self.seen[key]
        except KeyError:
            value = self.load(key)
            if value is None:
                raise
            self.seen[key] = value
            return value

    def __setitem__(self, key: K, value: V) -> None:
        self.seen[key] = value

    def __delitem__(self, key: K) -> None:
        raise TypeError("the world forgets nothing")

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[K]:
        return iter(self.seen)

    def __len__(self) -> int:
        return len(self.seen)


class Outcomes(Mapping[int, str]):
    """A meeting's outcome for each item it decided (item id -> trigger), in a lazy World
    (replay's): read as the dict it stands for (equal to one, `items()` in the order
    decided), kept as one flat tuple (item, trigger, item, ...): about 200 bytes for a
    meeting's six or seven where a dict took 400, and a long log keeps every meeting's to
    the end. A snapshot encodes it as the dict (its bytes unchanged) and decodes a dict."""

    __slots__ = ("_kv",)

    def __init__(self, pairs: Mapping[int, str]) -> None:
        self._kv: tuple[Any, ...] = tuple(x for pair in pairs.items() for x in pair)

    def __getitem__(self, key: int) -> str:
        kv = self._kv
        for i in range(0, len(kv), 2):
            if kv[i] == key:
                return str(kv[i + 1])
        raise KeyError(key)

    def __iter__(self) -> Iterator[int]:
        return iter(self._kv[::2])

    def __len__(self) -> int:
        return len(self._kv) // 2

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Agenda(tuple):  # type: ignore[type-arg]
    """The meetings an item is on, in a lazy World (replay's): their ids sorted, a tuple of
    56 bytes for the usual one or two where a set took 216; a long log keeps one for every item
    ever on an agenda. A snapshot encodes it as the set it stands for (its bytes unchanged) and
    decodes a set, which `put` keeps using."""

    __slots__ = ()

    @staticmethod
    def put(old: "Agenda | set[int] | None", meeting: int, on: bool) -> "Agenda | set[int]":
        """`old` with `meeting` on it (`on`) or off it."""
        if isinstance(old, set):  # restored from a snapshot
            old.add(meeting) if on else old.discard(meeting)
            return old
        ids = set(old or ())
        ids.add(meeting) if on else ids.discard(meeting)
        return Agenda(sorted(ids))

    def __eq__(self, other: object) -> bool:  # equal to the set it stands for (a restored snapshot's)
        if isinstance(other, (set, frozenset)):
            return set(self) == other
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__


class World:
    """Bodies, members and their assignments over time, delegations, adopted rulebooks;
    items, meetings and orders. Indexes are rebuilt when what they index changes."""

    __slots__ = (
        "_book",
        "_by_body",
        "_by_login",
        "_kinds",
        "_logins",
        "_rules",
        "adoptions",
        "agenda_of",
        "assignments",
        "bodies",
        "delegations",
        "dirty_items",
        "dirty_meetings",
        "items",
        "lazy",
        "legacy",
        "meetings",
        "members",
        "orders",
        "sittings_made",
    )

    def __init__(self, *, bodies: MutableMapping[str, BodyRecord] | None = None,
                 members: MutableMapping[str, MemberRecord] | None = None,
                 assignments: MutableMapping[int, AssignmentRecord] | None = None,
                 delegations: MutableMapping[int, DelegationRecord] | None = None,
                 adoptions: MutableMapping[str, AdoptionRecord] | None = None,
                 items: MutableMapping[int, ItemRecord] | None = None,
                 meetings: MutableMapping[int, MeetingRecord] | None = None,
                 orders: MutableMapping[int, OrderRecord] | None = None,
                 rules: Rules | None = None) -> None:
        self.bodies = {} if bodies is None else bodies
        self.members = {} if members is None else members
        self.assignments = {} if assignments is None else assignments
        self.delegations = {} if delegations is None else delegations
        self.adoptions = {} if adoptions is None else adoptions
        self.items = {} if items is None else items
        self.meetings = {} if meetings is None else meetings
        self.orders = {} if orders is None else orders
        self._by_login: dict[str, list[AssignmentRecord]] | None = None
        self._by_body: dict[str, list[AssignmentRecord]] | None = None
        self._rules = rules
        self._kinds: dict[str, str] | None = None
        self.legacy: dict[int, tuple[str, str, dt.datetime, int | None]] = {}  # 0.1 reminder ids
        self.lazy = False  # replay plans reminders when it needs them (fold.settle), not after every event
        self.dirty_items: set[int] = set()
        self.dirty_meetings: set[int] = set()
        self.agenda_of: dict[int, Agenda | set[int]] = {}  # a lazy World's index: item -> meetings it is on
        self._book: tuple[dt.datetime, dt.datetime | None, Rulebook] | None = None
        self._logins: dict[tuple[str, ...], tuple[str, ...]] = {}  # one copy of each list of people
        # a lazy World's last view made of each meeting (fold.sittings_of): the items it has
        # with the same outcome share one (a long log's items held 319,000 of them, 24 MiB)
        self.sittings_made: dict[int, Sitting] = {}

    # ------------------------------------------------------------ one copy of what repeats
    def logins(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple for each list of people (a meeting's attendees, those invited, those
        present): a long log names the same few groups tens of thousands of times."""
        return self._logins.setdefault(names, names)

    def item_ids(self, ids: tuple[int, ...]) -> tuple[int, ...]:
        """A meeting's items as the int objects the item records hold (an event's decoded
        ids are new ones each time: 8.5 MiB of a replay's meetings at 1,000,000 events).
        Only where the items are a plain dict (a replay's): a view would load them."""
        items = self.items
        if type(items) is not dict:
            return ids
        return tuple(r.id if (r := items.get(i)) is not None else i for i in ids)

    # ------------------------------------------------------------ the roster, asked at a time
    def assignments_of(self, login: str) -> list[AssignmentRecord]:
        if self._by_login is None:
            index: dict[str, list[AssignmentRecord]] = {}
            for a in self.assignments.values():
                index.setdefault(a.login, []).append(a)
            self._by_login = index
        return self._by_login.get(login, [])

    def all_assignments(self) -> list[AssignmentRecord]:
        return list(self.assignments.values())

    def assignments_at(self, body: str) -> list[AssignmentRecord]:
        """The assignments of one body (an index, dropped whenever an assignment changes)."""
        if self._by_body is None:
            index: dict[str, list[AssignmentRecord]] = {}
            for a in self.assignments.values():
                index.setdefault(a.body, []).append(a)
            self._by_body = index
        return self._by_body.get(body, [])

    def roster_changed(self) -> None:
        self._by_login = None
        self._by_body = None

    def bodies_changed(self) -> None:
        self._kinds = None

    def body_kinds(self) -> dict[str, str]:
        if self._kinds is None:
            self._kinds = {b.key: b.kind for b in self.bodies.values()}
        return self._kinds

    # ------------------------------------------------------------ the rules
    @property
    def rules(self) -> Rules:
        if self._rules is None:
            self._rules = Rules.from_texts((a.version, a.text) for a in self.adoptions.values())
        return self._rules

    def rules_changed(self) -> None:
        self._rules = None
        self._book = None

    def book(self, at: dt.datetime) -> Rulebook:
        """The rulebook version in force at `at` (R-V1); the last answer's span is remembered,
        since nearly every question falls in it."""
        last = self._book
        if last is not None and last[0] <= at and (last[1] is None or at < last[1]):
            return last[2]
        try:
            book = self.rules.at(at)
        except NoVersionInForce as err:
            raise NotFound("rulebook.none_in_force", when=at, first=str(err.first or "-")) from None
        rules = self.rules
        i = rules.books.index(book)
        self._book = (rules.starts[i], rules.starts[i + 1] if i + 1 < len(rules.books) else None, book)
        return book

    def version(self, version: str) -> Rulebook:
        try:
            return self.rules.version(version)
        except UnknownVersion as err:
            raise NotFound("rulebook.unknown", version=version, known=", ".join(err.known) or "-") from None

    # ------------------------------------------------------------ lookups that refuse politely
    def item(self, item_id: int) -> ItemRecord:
        try:
            return self.items[item_id]
        except KeyError:
            raise NotFound("item.none", id=item_id) from None

    def meeting(self, meeting_id: int) -> MeetingRecord:
        try:
            return self.meetings[meeting_id]
        except KeyError:
            raise NotFound("meeting.none", id=meeting_id) from None

    def member(self, login: str) -> MemberRecord:
        try:
            return self.members[login]
        except KeyError:
            raise NotFound("member.none", login=login) from None

    def order(self, order_id: int) -> OrderRecord:
        try:
            return self.orders[order_id]
        except KeyError:
            raise NotFound("order.none", id=order_id) from None

    def body(self, name: str | None) -> BodyRecord:
        """A body by key or by its Japanese or English name; None is the top body (`top`)."""
        if name is None:
            return self.top_body()
        for b in self.bodies.values():
            if name in (b.key, b.ja, b.en):
                return b
        raise NotFound("body.none", name=str(name), known=", ".join(self.bodies))

    def top_kinds(self) -> list[str]:
        """The top body kind of each adopted rulebook, newest first (an Ibaraki book's HQ)."""
        return list(dict.fromkeys(b.top_kind for b in reversed(self.rules.books)))

    def is_top(self, body: str | None) -> bool:
        """Whether the body `body` (a key) is of a top kind of the adopted rulebooks."""
        return body is not None and self.body_kinds().get(body) in self.top_kinds()

    def top_body(self) -> BodyRecord:
        """The organisation's top body: the body of the top kind of the rulebooks adopted
        (newest first); before any is adopted, the first body founded (`kaigi init`'s)."""
        tops = self.top_kinds()
        for kind in tops:
            for b in self.bodies.values():
                if b.kind == kind:
                    return b
        if not tops:
            for b in self.bodies.values():
                return b
        raise NotFound("body.none", name=str(None), known=", ".join(self.bodies))

    def top(self) -> str:
        """The key of the organisation's top body (R-P1: its organiser is the chief)."""
        return self.top_body().key

    hq = top  # the name before issue 19 (a test still says it); the code says `top()`

    def snapshot_copy(self) -> "World":
        """A World over this one's roster and rules that writes into overlays (an act's view)."""
        w = World(bodies=Overlay(self.bodies), members=Overlay(self.members),  # type: ignore[arg-type]
                  assignments=Overlay(self.assignments), delegations=Overlay(self.delegations),  # type: ignore[arg-type]
                  adoptions=Overlay(self.adoptions), rules=self._rules)  # type: ignore[arg-type]
        w._by_login, w._kinds, w._by_body = self._by_login, self._kinds, self._by_body
        return w


def first(values: Any) -> Any:
    return next(iter(values), None)
