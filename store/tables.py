"""SQLModel tables: the schema of the event log (the truth) and of the projections.

This is the schema's one declaration: Alembic's migrations build it (a test compares
the migrated database with these models), and `store/sql.py` reads and writes it
through the drivers. No `from __future__ import annotations` here (sqlmodel#196). Every
datetime column is `UTCDateTime`. The event payload is TEXT holding the exact canonical
JSON that was hashed. The nested parts of items and meetings (sittings, orders, planned
reminders, people, agenda, minutes) are JSON text: derived data an act reads and writes
in one statement. Projections carry no foreign keys: they are rebuilt from the log.
"""

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _json() -> dict[str, Any]:
    """The column's server default: an empty JSON list."""
    return {"server_default": "[]"}


class Body(SQLModel, table=True):
    """An organisational body: the promotion HQ or a station HQ."""

    __tablename__ = "body"
    key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    ja: str
    en: str


class Member(SQLModel, table=True):
    """A person on the roster; `os_user` / `db_role` bind them to an authenticated identity."""

    __tablename__ = "member"
    login: str = Field(primary_key=True, max_length=64)
    name: str
    name_en: str
    email: str | None = None
    lang: str = Field(default="ja", max_length=8)
    channel: str = Field(default="email", max_length=16)
    os_user: str | None = Field(default=None, max_length=64)
    db_role: str | None = Field(default=None, max_length=64)


class Assignment(SQLModel, table=True):
    """A member holds a position in a body for a period [valid_from, valid_until)."""

    __tablename__ = "assignment"
    __table_args__ = (sa.Index("ix_assignment_login", "login"),)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    login: str = Field(max_length=64)
    position: str = Field(max_length=64)
    body: str = Field(max_length=64)
    team: str | None = Field(default=None, max_length=64)
    valid_from: dt.datetime = Field(sa_type=UTCDateTime)
    valid_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Item(SQLModel, table=True):
    """An item's current state, with what its decisions and reminders need."""

    __tablename__ = "item"
    __table_args__ = (sa.Index("ix_item_state", "state"), sa.Index("ix_item_body", "body"),
                      sa.Index("ix_item_origin", "origin"), sa.Index("ix_item_due", "next_due_at"),
                      sa.Index("ix_item_deadline", "deadline_at", "state"), sa.Index("ix_item_updated", "updated_at"),
                      sa.Index("ix_item_state_updated", "state", "updated_at"))
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str
    body: str = Field(max_length=64)
    team: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=32)
    version: int = Field(default=1, nullable=False)
    filed_by: str = Field(max_length=64)
    filed_at: dt.datetime = Field(sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(sa_type=UTCDateTime)
    note: str = ""
    origin: int | None = None
    sittings: str = Field(default="[]", sa_column_kwargs=_json())
    orders: str = Field(default="[]", sa_column_kwargs=_json())
    reminders: str = Field(default="[]", sa_column_kwargs=_json())
    fired: str = Field(default="[]", sa_column_kwargs=_json())
    pillars: str = Field(default="[]", sa_column_kwargs=_json())  # 第3's pillars it serves (R-X1)
    next_due_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadline_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)  # earliest deadline (R-N3)


class Meeting(SQLModel, table=True):
    """One convened meeting: its kind, body, convener, chair, start, status, people, agenda."""

    __tablename__ = "meeting"
    __table_args__ = (sa.Index("ix_meeting_due", "next_due_at"), sa.Index("ix_meeting_starts", "starts_at"))
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=32)
    body: str = Field(max_length=64)
    convener: str = Field(max_length=64)
    chair: str = Field(max_length=64)
    starts_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    version: int = Field(default=1, nullable=False)
    convened_at: dt.datetime = Field(sa_type=UTCDateTime)
    held_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    sat_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    attendees: str = Field(default="[]", sa_column_kwargs=_json())
    invited: str = Field(default="[]", sa_column_kwargs=_json())
    present: str = Field(default="[]", sa_column_kwargs=_json())
    items: str = Field(default="[]", sa_column_kwargs=_json())
    outcomes: str = Field(default="{}", sa_column_kwargs={"server_default": "{}"})
    minutes: str = Field(default="[]", sa_column_kwargs=_json())
    reminders: str = Field(default="[]", sa_column_kwargs=_json())
    fired: str = Field(default="[]", sa_column_kwargs=_json())
    place: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    changed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_due_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class RulebookAdoption(SQLModel, table=True):
    """A rulebook version adopted into this database, with its exact text."""

    __tablename__ = "rulebook_adoption"
    version: str = Field(primary_key=True, max_length=32)
    effective_from: dt.date
    sha256: str = Field(max_length=64)
    text: str


class Event(SQLModel, table=True):
    """The append-only, hash-chained log. `seq` is global; `hash` links to `prev_hash`.

    `v` is the envelope version (1: kaigi 0.1, no identity), `schema` the payload's."""

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_item", "item_id"), sa.Index("ix_event_meeting", "meeting_id"))
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    authority: str = Field(max_length=64)
    rulebook: str = Field(max_length=32)
    item_id: int | None = None
    meeting_id: int | None = None
    type: str = Field(max_length=48)
    payload: str
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    identity: str | None = Field(default=None, max_length=16)
    schema_: int = Field(default=1, sa_column=sa.Column("schema", sa.Integer, nullable=False, server_default="1"))
    v: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class LogHead(SQLModel, table=True):
    """One row: the end of the log. Appenders lock it, so the chain never forks.

    `roster_seq`: the last event that changed the roster or the rules (what the engine caches).
    `lock_txid`/`lock_at`: on PostgreSQL, the transaction that took the head and the database's
    clock then (`kaigi_begin`); `append_txid`: the last transaction that appended (store/pg.py)."""

    __tablename__ = "log_head"
    id: int = Field(primary_key=True)
    seq: int
    hash: str = Field(max_length=64)
    at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    roster_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    lock_txid: int | None = Field(default=None, sa_type=sa.BigInteger)
    lock_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    append_txid: int | None = Field(default=None, sa_type=sa.BigInteger)


class Delivery(SQLModel, table=True):
    """One message to one recipient for one rung of one reminder: the unit of exactly-once.

    `dedupe_key` (reminder, rung, recipient) is unique, so a rung never makes two messages;
    `message_id` is derived from it, so a resend after a crash between sending and marking
    carries the same Message-ID and can be recognised.
    """

    __tablename__ = "delivery"
    __table_args__ = (sa.Index("ix_delivery_due", "status", "next_attempt_at"),
                      sa.Index("ix_delivery_reminder", "reminder"))
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    reminder: str = Field(max_length=160)
    item_id: int | None = None
    meeting_id: int | None = None
    rung: int
    recipient: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    address: str | None = None
    message_id: str = Field(max_length=240)
    subject: str
    body: str
    ics: str | None = None
    attachment: str | None = Field(default=None, max_length=64)  # sha256 of a stored document it carries
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(sa_type=UTCDateTime)
    lease_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=120)
    last_error: str | None = None
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class InvestigationOrder(SQLModel, table=True):
    """R-T5: the general manager's order to a team leader to investigate an item."""

    __tablename__ = "investigation_order"
    __table_args__ = (sa.Index("ix_order_item", "item_id"),)
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    item_id: int
    issued_by: str = Field(max_length=64)
    to: str = Field(max_length=64)
    issued_at: dt.datetime = Field(sa_type=UTCDateTime)
    due_at: dt.datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    note: str = ""
    finding: str | None = None
    reason: str | None = None
    settled_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, nullable=False)


class Delegation(SQLModel, table=True):
    """R-A1: a role holder lets a secretariat clerk record their acts for a period."""

    __tablename__ = "delegation"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holder: str = Field(max_length=64)
    clerk: str = Field(max_length=64)
    valid_from: dt.datetime = Field(sa_type=UTCDateTime)
    valid_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Document(SQLModel, table=True):
    """A document an event names by its sha256 (a station council's result, R-M4)."""

    __tablename__ = "document"
    sha256: str = Field(primary_key=True, max_length=64)
    name: str
    media_type: str = Field(max_length=100)
    content: bytes = Field(sa_type=sa.LargeBinary)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)


class Credential(SQLModel, table=True):
    """A member's web password, hashed with argon2; never in the log."""

    __tablename__ = "credential"
    login: str = Field(primary_key=True, max_length=64)
    hash: str
    set_at: dt.datetime = Field(sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """An API token of a member: only its sha256 is kept."""

    __tablename__ = "api_token"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    login: str = Field(max_length=64)
    name: str
    digest: str = Field(max_length=64, unique=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A web sign-in (R-I6): the cookie holds a random id, this row only its sha256. Checked on
    every request, so ending it (sign-out) takes effect at once on every server process.
    `credential` is a fingerprint of the member's password hash when they signed in: a
    changed or removed password no longer matches, and the session is over. `id_token`: the
    one a sign-in through the identity provider was given (web/oidc.py)."""

    __tablename__ = "web_session"
    digest: str = Field(primary_key=True, max_length=64)
    login: str = Field(max_length=64, index=True)
    credential: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    ended_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    id_token: str | None = Field(default=None, max_length=8000)  # OpenID Connect: for the provider's logout


class KaigiMeta(SQLModel, table=True):
    """Facts about the database itself: whether it is a training database, what to rebuild."""

    __tablename__ = "kaigi_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


TABLES = SQLModel.metadata
