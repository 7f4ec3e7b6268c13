"""What the engine needs from storage, as Protocols: a memory store and the SQL store
both provide them, and one contract suite (tests/contract) holds each to them.

A `Store` hands out two kinds of transaction. `act()` is a write transaction that has
locked the log's head, so appends are serialised and the chain cannot fork; its `now`
is the time the act will be recorded with (the database's clock on PostgreSQL). `read()`
is one consistent snapshot (SQLite read transaction, PostgreSQL REPEATABLE READ), for
queries and for `audit verify`. The store knows no rules: records in, records out.
"""

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from store.records import (AdoptionRecord, ItemCard, AssignmentRecord, BodyRecord, DelegationRecord, DeliveryRecord,
                           DocumentRecord, EventRecord, Head, ItemQuery, ItemRecord, MeetingRecord, MemberRecord,
                           NewEvent, OrderRecord, ReadSet)


class Reads(Protocol):
    """What any transaction can read."""

    now: dt.datetime  # when it began (an act's: the time the act is recorded with)

    def head(self) -> Head: ...

    def roster(self) -> tuple[list[BodyRecord], list[MemberRecord], list[AssignmentRecord],
                              list[DelegationRecord], list[AdoptionRecord]]: ...

    def item(self, item_id: int) -> ItemRecord | None: ...

    def items(self, *, state: str | None = None, body: str | None = None, origin: int | None = None,
              ids: Sequence[int] | None = None, due_by: dt.datetime | None = None,
              limit: int | None = None, after: int = 0) -> list[ItemRecord]: ...

    def item_cards(self, *, body: str | None = None) -> list[ItemCard]: ...

    def item_rows(self, q: ItemQuery, *, after: int = 0, limit: int | None = None, offset: int = 0,
                  latest: bool = False) -> list[ItemCard]:
        """Light rows of the items `q` names, from columns and indexes (no record decoded):
        in id order after id `after` (keyset pages), or the `latest` changed first (the later id first among
        items changed by one act); `limit` rows
        from `offset`."""
        ...

    def count_items(self, q: ItemQuery, *, by_state: bool = False) -> Any:
        """How many items `q` names: an int, or a dict state -> count with `by_state`."""
        ...

    def meeting(self, meeting_id: int) -> MeetingRecord | None: ...

    def meetings(self, *, ids: Sequence[int] | None = None, status: str | None = None,
                 due_by: dt.datetime | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, after: int | None = None,
                 limit: int | None = None) -> list[MeetingRecord]:
        """Meetings in id order; with `after`/`limit`, the `limit` first with an id above
        `after` (a chunk: audit's comparison never holds a long log's whole)."""
        ...

    def orders(self, *, item: int | None = None, ids: Sequence[int] | None = None,
               status: str | None = None, items: Sequence[int] | None = None, after: int | None = None,
               limit: int | None = None) -> list[OrderRecord]:
        """Orders in id order; `after`/`limit` as for `meetings`."""
        ...

    def deliveries(self, *, reminder: str | None = None, status: str | None = None, after: int = 0,
                   limit: int | None = None) -> list[DeliveryRecord]:
        """Message rows in id order (those after id `after`, at most `limit`: a chunk)."""
        ...

    def document(self, sha256: str) -> DocumentRecord | None: ...

    def document_events(self, sha256: str) -> list[EventRecord]:
        """The events that carry the document `sha256`, oldest first."""
        ...

    def events(self, *, item: int | None = None, meeting: int | None = None, items: Sequence[int] | None = None,
               after: int = 0, limit: int | None = None) -> list[EventRecord]: ...

    def stream(self, batch: int = 5000) -> Iterator[EventRecord]: ...

    def stream_rows(self, batch: int = 5000, after: int = 0, until: int | None = None) -> Iterator[tuple[Any, ...]]:
        """Every event (after seq `after`, up to `until`) as a plain row in order, its time as the text that was hashed."""
        ...

    def meta(self, key: str) -> str | None: ...

    def max_id(self, kind: str) -> int: ...

    def credential(self, login: str) -> str | None: ...

    def credential_commitments(self) -> dict[str, str]: ...

    def tokens(self, login: str | None = None) -> list[dict[str, Any]]: ...

    def token_by_hash(self, digest: str) -> dict[str, Any] | None: ...

    def web_session(self, digest: str) -> dict[str, Any] | None:
        """A web sign-in by the sha256 of its id: login, credential, created_at, expires_at,
        ended_at (R-I6), id_token (OpenID Connect sign-ins; else None)."""
        ...

    def session_role(self) -> str | None:
        """The database role the server authenticated for this connection (after any
        `SET ROLE`), or None where the database has no roles (SQLite, memory)."""
        ...

    def track(self) -> None:
        """Remember from now on what `item`, `meeting`, `orders(ids=…)` and `max_id` return."""

    def read_set(self) -> ReadSet:
        """What was read since `track`, and this snapshot's roster mark: what an act given it as
        `expect` checks under the head."""
        ...


class Act(Reads, Protocol):
    """A write transaction holding the log's head lock."""

    identity: str | None  # who the database authenticated (PostgreSQL), else None
    unchanged: bool  # with `expect`: nothing it names changed before the head was ours

    def append(self, actor: str, authority: str, identity: str, rulebook: str,
               events: Sequence[NewEvent]) -> list[EventRecord]: ...

    def save(self, rows: Iterable[tuple[str, Any, Any]]) -> None:
        """(kind, new, old) for each changed record; old None means a new one."""

    def put_document(self, doc: DocumentRecord) -> None: ...

    def add_deliveries(self, rows: Sequence[DeliveryRecord]) -> None: ...

    def claim_deliveries(self, now: dt.datetime, worker: str, lease: dt.timedelta,
                         limit: int) -> list[DeliveryRecord]: ...

    def settle_delivery(self, delivery_id: int, worker: str, **values: Any) -> bool: ...

    def settle_sent(self, ids: Sequence[int], worker: str, sent_at: dt.datetime) -> set[int]:
        """Mark claimed messages sent in one statement; the ids this worker still held."""
        ...

    def release_deliveries(self, ids: Sequence[int], worker: str) -> None: ...

    def set_credential(self, login: str, hashed: str) -> None: ...

    def add_token(self, token_id: int, login: str, name: str, digest: str,
                  expires_at: dt.datetime | None, created_at: dt.datetime) -> None: ...

    def revoke_token(self, token_id: int, at: dt.datetime) -> None: ...

    def open_web_session(self, digest: str, login: str, credential: str | None, created_at: dt.datetime,
                         expires_at: dt.datetime, id_token: str | None = None) -> None:
        """A new web sign-in (written without the head: signing in is not an act)."""

    def end_web_session(self, digest: str, at: dt.datetime) -> None:
        """Sign-out: the session is over from `at`, for every server reading this store."""

    def put_raw_event(self, record: EventRecord, roster: bool = True) -> None:
        """Import: an event exactly as exported (its hash checked by the caller)."""

    def set_meta(self, key: str, value: str) -> None: ...

    def clear_projections(self) -> None:
        """Empty every projection (a rebuild from the log follows, in this transaction)."""

    def reset_head_roster(self) -> None:
        """After a rebuild every cached roster is stale: the head's roster mark moves to its end."""


class Store(Protocol):
    dialect: str  # "memory", "sqlite" or "postgresql"
    url: str

    def act(self, *, rollback: bool = False, head: bool = True, item: int | None = None,
            role: str | None = None, expect: ReadSet | None = None) -> AbstractContextManager[Act]:
        """`head=False`: a write that is not an act (a delivery's lease, a sign-in), without the
        head lock; `item`: an item the act will read, fetched with the head in the same statement; `role`: the
        database role to act as (PostgreSQL `SET ROLE`); `expect`: what a decision read outside
        the head (a read's `read_set`), checked once the head is ours (`Act.unchanged`)."""
        ...

    def read(self) -> AbstractContextManager[Reads]: ...

    def revision(self) -> str | None:
        """The schema's migration revision, or None for a database kaigi has not made."""
        ...

    def close(self) -> None: ...
