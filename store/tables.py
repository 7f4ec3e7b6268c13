"""SQLModel tables: the event log (the truth) and the projections the engine folds it into.

No `from __future__ import annotations` here (sqlmodel#196). Every datetime column is
`UTCDateTime`. The event payload is TEXT holding the exact canonical JSON that was hashed.
Hot paths use these tables through SQLAlchemy Core (`Model.__table__`); the ORM serves the rest.
"""

import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Body(SQLModel, table=True):
    """An organisational body: the promotion HQ or a station HQ."""

    __tablename__ = "body"
    key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    ja: str
    en: str


class Member(SQLModel, table=True):
    """A person on the roster; `login` is how they are named in acts."""

    __tablename__ = "member"
    login: str = Field(primary_key=True, max_length=64)
    name: str
    name_en: str
    email: Optional[str] = None
    lang: str = Field(default="ja", max_length=8)
    channel: str = Field(default="email", max_length=16)


class Assignment(SQLModel, table=True):
    """A member holds a position in a body for a period [valid_from, valid_until)."""

    __tablename__ = "assignment"
    __table_args__ = (sa.Index("ix_assignment_login", "login"),)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    login: str = Field(foreign_key="member.login", max_length=64)
    position: str = Field(max_length=64)
    body: str = Field(foreign_key="body.key", max_length=64)
    team: Optional[str] = Field(default=None, max_length=64)
    valid_from: dt.datetime = Field(sa_type=UTCDateTime)
    valid_until: Optional[dt.datetime] = Field(default=None, sa_type=UTCDateTime)


class Item(SQLModel, table=True):
    """An item's current state; `version` counts its changes (optimistic locking)."""

    __tablename__ = "item"
    __table_args__ = (sa.Index("ix_item_state", "state"), sa.Index("ix_item_body", "body"),
                      sa.Index("ix_item_origin", "origin"))
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str
    body: str = Field(foreign_key="body.key", max_length=64)
    team: Optional[str] = Field(default=None, max_length=64)
    state: str = Field(max_length=32)
    version: int = Field(default=1, nullable=False)
    filed_by: str = Field(max_length=64)
    filed_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    note: str = ""
    origin: Optional[int] = Field(default=None, foreign_key="item.id")

    @declared_attr  # type: ignore[misc]
    def __mapper_args__(cls) -> dict[str, Any]:  # the string form fails at flush (LIBRARIES.md 2.1)
        return {"version_id_col": cls.__table__.c.version}


class Meeting(SQLModel, table=True):
    """One convened meeting: its kind, body, convener, chair, start and status."""

    __tablename__ = "meeting"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=32)
    body: str = Field(foreign_key="body.key", max_length=64)
    convener: str = Field(max_length=64)
    chair: str = Field(max_length=64)
    starts_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    version: int = Field(default=1, nullable=False)
    convened_at: dt.datetime = Field(sa_type=UTCDateTime)
    held_at: Optional[dt.datetime] = Field(default=None, sa_type=UTCDateTime)

    @declared_attr  # type: ignore[misc]
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


class MeetingAttendee(SQLModel, table=True):
    """Who was called to a meeting (`invited`: a non-member invited), and who was present."""

    __tablename__ = "meeting_attendee"
    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    login: str = Field(max_length=64, primary_key=True)
    invited: bool = False
    present: bool = False


class AgendaEntry(SQLModel, table=True):
    """An item on a meeting's agenda, and the outcome recorded for it there."""

    __tablename__ = "agenda_entry"
    __table_args__ = (sa.Index("ix_agenda_item", "item_id"),)
    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    item_id: int = Field(foreign_key="item.id", primary_key=True)
    position: int = 0
    outcome: Optional[str] = Field(default=None, max_length=32)


class RulebookAdoption(SQLModel, table=True):
    """A rulebook version adopted into this database, with its exact text."""

    __tablename__ = "rulebook_adoption"
    version: str = Field(primary_key=True, max_length=32)
    effective_from: dt.date
    sha256: str = Field(max_length=64)
    text: str


class Event(SQLModel, table=True):
    """The append-only, hash-chained log. `seq` is global; `hash` links to `prev_hash`."""

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_item", "item_id"), sa.Index("ix_event_meeting", "meeting_id"))
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    authority: str = Field(max_length=64)
    rulebook: str = Field(max_length=32)
    item_id: Optional[int] = None
    meeting_id: Optional[int] = None
    type: str = Field(max_length=48)
    payload: str
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class LogHead(SQLModel, table=True):
    """One row: the last sequence number and hash. Appenders lock it, so the chain never forks."""

    __tablename__ = "log_head"
    id: int = Field(primary_key=True)
    seq: int
    hash: str = Field(max_length=64)


class Reminder(SQLModel, table=True):
    """Something waits on someone: the deadline (rung 0) and the next rung to fire.

    A row of kaigi's own, never a pickled scheduler job: the scheduler only wakes up
    for the smallest `next_at` (LIBRARIES.md 3.4). A moved deadline is a new row.
    """

    __tablename__ = "reminder"
    __table_args__ = (sa.Index("ix_reminder_due", "status", "next_at"),
                      sa.Index("ix_reminder_item", "item_id"), sa.Index("ix_reminder_meeting", "meeting_id"))
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    key: str = Field(max_length=48)
    item_id: Optional[int] = None
    meeting_id: Optional[int] = None
    order_id: Optional[int] = None
    body: str = Field(max_length=64)
    started_at: dt.datetime = Field(sa_type=UTCDateTime)
    due_at: dt.datetime = Field(sa_type=UTCDateTime)
    next_rung: int = 0
    next_at: Optional[dt.datetime] = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    version: int = Field(default=1, nullable=False)


class Delivery(SQLModel, table=True):
    """One message to one recipient for one rung of one reminder: the unit of exactly-once.

    `dedupe_key` (reminder, rung, recipient, deadline) is unique, so a rung never makes
    two messages; `message_id` is derived from it, so a resend after a crash between
    sending and marking carries the same Message-ID and can be recognised.
    """

    __tablename__ = "delivery"
    __table_args__ = (sa.Index("ix_delivery_due", "status", "next_attempt_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=160, unique=True)
    reminder_id: int = Field(foreign_key="reminder.id")
    rung: int
    recipient: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    address: Optional[str] = None
    message_id: str = Field(max_length=200)
    subject: str
    body: str
    ics: Optional[str] = None
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=UTCDateTime)
    lease_until: Optional[dt.datetime] = Field(default=None, sa_type=UTCDateTime)
    claimed_by: Optional[str] = Field(default=None, max_length=120)
    last_error: Optional[str] = None
    sent_at: Optional[dt.datetime] = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class InvestigationOrder(SQLModel, table=True):
    """R-T5: the general manager's order to a team leader to investigate an item."""

    __tablename__ = "investigation_order"
    __table_args__ = (sa.Index("ix_order_item", "item_id"),)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    item_id: int = Field(foreign_key="item.id")
    issued_by: str = Field(max_length=64)
    to: str = Field(max_length=64)
    issued_at: dt.datetime = Field(sa_type=UTCDateTime)
    due_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    note: str = ""
    finding: Optional[str] = None
    reason: Optional[str] = None
    settled_at: Optional[dt.datetime] = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, nullable=False)


class Delegation(SQLModel, table=True):
    """R-A1: a role holder lets a secretariat clerk record their acts for a period."""

    __tablename__ = "delegation"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holder: str = Field(max_length=64)
    clerk: str = Field(max_length=64)
    valid_from: dt.datetime = Field(sa_type=UTCDateTime)
    valid_until: Optional[dt.datetime] = Field(default=None, sa_type=UTCDateTime)


TABLES = SQLModel.metadata
