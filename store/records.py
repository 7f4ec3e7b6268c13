"""Plain records the store reads and writes: what the engine folds events into.

Frozen slots dataclasses with no behaviour beyond small questions (`valid_at`), so the
engine and the store share them without the engine knowing SQL or the store knowing
the rules. An item carries what its decisions and reminders need (the sittings it is
on, its open orders, its planned reminders), so an act reads it in one statement.
"""

import datetime as dt
import dataclasses
from dataclasses import field
from functools import lru_cache
from typing import Any

from store.frozen import record

ID_MAX = 2**63 - 1  # the largest value of a 64-bit signed integer column (SQLite, PostgreSQL bigint)


@lru_cache(maxsize=8192)  # pure; a reminder's ident is asked for many times in a pass
def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def storable_id(value: Any) -> bool:
    """An id a record can have: an int in 1..2**63-1. Anything else names no record, so a
    lookup answers "absent" without reaching a driver (SQLite raises OverflowError past 64
    bits; an id a face parsed from a URL may be any size or sign)."""
    return type(value) is int and 0 < value <= ID_MAX


@record
class BodyRecord:
    key: str
    kind: str
    ja: str
    en: str


@record
class MemberRecord:
    """A person on the roster; `os_user` and `db_role` bind them to an authenticated identity."""

    login: str
    name: str
    name_en: str
    email: str | None = None
    lang: str = "ja"
    channel: str = "email"
    os_user: str | None = None
    db_role: str | None = None


@record
class AssignmentRecord:
    id: int
    login: str
    position: str
    body: str
    team: str | None
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None

    def valid_at(self, at: dt.datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


@record
class DelegationRecord:
    id: int
    holder: str
    clerk: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None

    def valid_at(self, at: dt.datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


@record
class AdoptionRecord:
    version: str
    effective_from: dt.date
    sha256: str
    text: str


@record
class Sitting:
    """A meeting as an item on its agenda sees it: enough to plan the item's reminders."""

    meeting: int
    kind: str
    status: str
    starts_at: dt.datetime
    held_at: dt.datetime | None = None
    outcome: str | None = None


@record
class OpenOrder:
    """An investigation order on an item that is not yet complete or waived (R-T5)."""

    id: int
    to: str
    issued_at: dt.datetime
    due_at: dt.datetime


@record
class Planned:
    """A reminder the projection plans: a rule of the rulebook applied to what waits.

    `fired` rungs have gone out (the ReminderDue facts, tallied on its subject); `next_at`
    is when the next fires, None once every rung has. Its `ident` is the same whenever it
    is derived again, so replay and the scheduler name the same reminder.
    """

    key: str
    subject: str
    book: str
    started_at: dt.datetime
    due_at: dt.datetime
    fired: int = 0
    next_at: dt.datetime | None = None
    order: int | None = None

    @property
    def ident(self) -> str:
        return f"{self.key}/{self.subject}/{_iso(self.due_at)}"


@record
class ItemCard:
    """An item as a board shows it: no history, only its earliest planned deadline."""

    id: int
    title: str
    state: str
    body: str
    team: str | None
    origin: int | None
    updated_at: dt.datetime
    earliest_due: dt.datetime | None
    pillars: tuple[str, ...] = ()  # R-X1


@record
class ItemQuery:
    """Which items a list wants, as the store answers it from its columns and indexes (no
    record decoded): every field None means any. `bodies` with `also` is a viewer's sight
    (R-R1): items of those bodies, and the ids `also` (items taken from theirs); `overdue_at`
    keeps items whose earliest deadline is at or before it (R-N3, `ix_item_deadline`)."""

    state: str | None = None
    body: str | None = None
    bodies: tuple[str, ...] | None = None
    also: tuple[int, ...] = ()
    team: str | None = None
    pillar: str | None = None
    overdue_at: dt.datetime | None = None
    not_overdue_at: dt.datetime | None = None  # no deadline, or a later one (the board's other cards)
    since: dt.datetime | None = None
    origin_only: bool = False  # only items taken from another (those with an origin)
    origins: tuple[int, ...] | None = None  # only items taken from these


@record
class ItemRecord:
    id: int
    title: str
    body: str
    team: str | None
    state: str
    version: int
    filed_by: str
    filed_at: dt.datetime
    updated_at: dt.datetime
    note: str = ""
    origin: int | None = None
    sittings: tuple[Sitting, ...] = ()
    orders: tuple[OpenOrder, ...] = ()
    reminders: tuple[Planned, ...] = ()
    fired: tuple[tuple[str, int], ...] = ()  # rungs gone out, per reminder identity: the facts' tally
    pillars: tuple[str, ...] = ()  # the pillars of 第3 it serves (R-X1), rulebook keys

    @property
    def next_due_at(self) -> dt.datetime | None:
        return min((p.next_at for p in self.reminders if p.next_at is not None), default=None)

    @property
    def deadline_at(self) -> dt.datetime | None:
        """The earliest deadline of what it waits for: overdue from then (R-N3, `plan.overdue`)."""
        return min((p.due_at for p in self.reminders), default=None)


@record
class Minutes:
    """One entry of a sitting's minutes (R-M4): a correction is a new entry."""

    n: int
    sha256: str
    text: str
    recorded_by: str
    recorded_at: dt.datetime
    approved_by: str | None = None
    approved_at: dt.datetime | None = None


@record
class MeetingRecord:
    id: int
    kind: str
    body: str
    convener: str
    chair: str
    starts_at: dt.datetime
    status: str
    version: int
    convened_at: dt.datetime
    attendees: tuple[str, ...] = ()
    invited: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    items: tuple[int, ...] = ()
    outcomes: dict[int, str] = field(default_factory=dict)
    held_at: dt.datetime | None = None
    sat_at: dt.datetime | None = None
    minutes: tuple[Minutes, ...] = ()
    reminders: tuple[Planned, ...] = ()
    fired: tuple[tuple[str, int], ...] = ()
    place: str = ""  # where it sits (場所), as the convener wrote it
    changed_at: dt.datetime | None = None  # its last change after convening (agenda, time, place, cancellation)

    @property
    def next_due_at(self) -> dt.datetime | None:
        return min((p.next_at for p in self.reminders if p.next_at is not None), default=None)


@record
class OrderRecord:
    id: int
    item: int
    issued_by: str
    to: str
    issued_at: dt.datetime
    due_at: dt.datetime
    status: str
    note: str = ""
    finding: str | None = None
    reason: str | None = None
    settled_at: dt.datetime | None = None
    version: int = 1


@record
class DocumentRecord:
    """A document an act refers to by its sha256 (a station's council result, R-M4)."""

    sha256: str
    name: str
    media_type: str
    content: bytes


@record
class DeliveryRecord:
    """A message to send (or sent): what the dispatcher claims, sends and marks."""

    id: int
    dedupe_key: str
    reminder: str
    rung: int
    recipient: str
    channel: str
    address: str | None
    message_id: str
    subject: str
    body: str
    ics: str | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None = None
    sent_at: dt.datetime | None = None
    item: int | None = None
    meeting: int | None = None
    attachment: str | None = None  # sha256 of a stored document (a paper) the mail carries


@record
class Head:
    """The end of the log: its last sequence number, hash and time, and the sequence of the
    last event that changed the roster or the rules (a cache of those is good until it moves)."""

    seq: int
    hash: str
    at: dt.datetime | None
    roster_seq: int


@record
class NewEvent:
    """An event as an act hands it to the store: the envelope's parts and the payload text."""

    type: str
    schema: int
    payload: str
    item: int | None = None
    meeting: int | None = None
    roster: bool = False  # it changes who holds what, or the rules: moves the head's roster_seq


@record
class EventRecord:
    """An event as the log holds it. `v` is the envelope version (1: before identities)."""

    seq: int
    at: dt.datetime
    actor: str
    authority: str
    rulebook: str
    item: int | None
    meeting: int | None
    type: str
    payload: str
    prev_hash: str
    hash: str
    identity: str | None = None
    schema: int = 1
    v: int = 1

    @property
    def data(self) -> dict[str, Any]:
        import orjson

        return orjson.loads(self.payload)  # type: ignore[no-any-return]


@dataclasses.dataclass
class ReadSet:
    """What a decision read outside the head (issue 21): the roster mark it decided under and,
    by (kind, id), each record as the store returned it (an item, a meeting, an order; None
    for one absent) and each largest id ("max", kind) it asked. Opaque to the engine: the store
    that made it checks, once it holds the head, that every one is still as read."""

    roster_seq: int
    rows: dict[tuple[str, Any], Any]
