"""Plain records the store reads and writes: what the engine folds events into.

They are frozen dataclasses with no behaviour, so the engine and the store can share
them without the engine knowing SQL or the store knowing the rules.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class BodyRecord:
    key: str
    kind: str
    ja: str
    en: str


@dataclass(frozen=True, slots=True)
class MemberRecord:
    login: str
    name: str
    name_en: str
    email: str | None = None
    lang: str = "ja"
    channel: str = "email"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class ReminderRecord:
    id: int
    key: str
    item: int | None
    meeting: int | None
    order: int | None
    body: str
    started_at: dt.datetime
    due_at: dt.datetime
    next_rung: int
    next_at: dt.datetime | None
    status: str
    version: int = 1


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A message to send (or sent): what the dispatcher claims, sends and marks."""

    id: int
    dedupe_key: str
    reminder: int
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class DelegationRecord:
    id: int
    holder: str
    clerk: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None = None

    def valid_at(self, at: dt.datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)


@dataclass(frozen=True, slots=True)
class AdoptionRecord:
    version: str
    effective_from: dt.date
    sha256: str
    text: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    at: dt.datetime
    actor: str
    authority: str
    rulebook: str
    item: int | None
    meeting: int | None
    type: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str
