"""MemoryStore: the store port in process memory, for the fast tier of tests and dry runs.

One lock serialises transactions (as the head lock does in a database); every write is
journalled so a transaction that fails or is rolled back leaves the store as it was.
Records are immutable, so the journal holds references, not copies.
"""

import datetime as dt
import hashlib
import heapq
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from store.chain import GENESIS, seal
from store.errors import ClockBehind, StoreError
from store.records import (AdoptionRecord, ItemCard, AssignmentRecord, BodyRecord, DelegationRecord, DeliveryRecord,
                           DocumentRecord, EventRecord, Head, ItemQuery, ItemRecord, MeetingRecord, MemberRecord,
                           NewEvent, OrderRecord, ReadSet, storable_id)

_KEYS = {"item": "id", "meeting": "id", "order": "id", "member": "login", "assignment": "id",
         "delegation": "id", "body": "key", "adoption": "version"}
ROSTER_KINDS = ("member", "assignment", "delegation", "body", "adoption")
_MISSING = object()


def _by_id(record: Any) -> int:
    return record.id  # type: ignore[no-any-return]


class MemoryStore:
    dialect = "memory"

    def __init__(self, clock: Callable[[], dt.datetime] | None = None, url: str = "memory://") -> None:
        self.url = url
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Any, Any]] = {k: {} for k in _KEYS}
        self.log: list[EventRecord] = []
        self.head_row = Head(0, GENESIS, None, 0)
        self.deliveries_: dict[int, DeliveryRecord] = {}
        self.delivery_meta: dict[int, dict[str, Any]] = {}
        self.documents: dict[str, DocumentRecord] = {}
        self.credentials: dict[str, str] = {}
        self.tokens_: dict[int, dict[str, Any]] = {}
        self.web_sessions: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, str] = {}
        # Indexes kept beside the tables (each write and its undo keep them in step), so a
        # long-lived store answers "open items", "due items" and "waiting messages" without
        # a pass over every record it ever held (bench/loggen.py: 1,000,000 events).
        self.item_states: dict[str, set[int]] = {}
        self.items_due: set[int] = set()
        self.meeting_states: dict[str, set[int]] = {}
        self.meetings_due: set[int] = set()
        self.waiting: set[int] = set()  # deliveries pending or sending
        self.dedupe_keys: set[str] = set()
        self.top: dict[str, int] = {}  # kind -> its largest id, while known (max_id)

    def reindex(self, table: dict[Any, Any], key: Any, old: Any, new: Any) -> None:
        """Move `key` in the indexes from what `old` (None: absent) said to what `new` says."""
        kind = next((k for k in ("item", "meeting", "order") if self.tables[k] is table), None)
        if kind is not None and kind in self.top:  # the largest id: grows with a new one, forgotten with its removal
            if new is None and old is not None and key == self.top[kind]:
                del self.top[kind]
            elif old is None and new is not None:
                self.top[kind] = max(self.top[kind], key)
        if table is self.tables["meeting"]:
            if old is not None:
                self.meeting_states.get(old.status, set()).discard(key)
                self.meetings_due.discard(key)
            if new is not None:
                self.meeting_states.setdefault(new.status, set()).add(key)
                if new.reminders and new.next_due_at is not None:
                    self.meetings_due.add(key)
        if table is self.tables["item"]:
            if old is not None:
                self.item_states.get(old.state, set()).discard(key)
                self.items_due.discard(key)
            if new is not None:
                self.item_states.setdefault(new.state, set()).add(key)
                if new.reminders and new.next_due_at is not None:
                    self.items_due.add(key)
        elif table is self.deliveries_:
            if old is not None:
                self.waiting.discard(key)
                self.dedupe_keys.discard(old.dedupe_key)
            if new is not None:
                if new.status in ("pending", "sending"):
                    self.waiting.add(key)
                self.dedupe_keys.add(new.dedupe_key)

    @contextmanager
    def act(self, *, rollback: bool = False, head: bool = True, item: int | None = None, role: str | None = None,
            expect: ReadSet | None = None) -> Iterator["MemoryTx"]:
        with self.lock:
            tx = MemoryTx(self, write=True)
            if expect is not None:  # the same records (immutable: replaced whole on a change)
                tx.unchanged = expect.roster_seq == self.head_row.roster_seq and all(
                    tx._max_id(key) == row if kind == "max" else self.tables[kind].get(key) is row
                    for (kind, key), row in expect.rows.items())
            try:
                yield tx
            except BaseException:
                tx.undo()
                raise
            if rollback:
                tx.undo()

    @contextmanager
    def read(self) -> Iterator["MemoryTx"]:
        with self.lock:
            yield MemoryTx(self, write=False)

    def grant_statements(self, member_roles: Any) -> list[str]:
        raise StoreError("roles and grants are PostgreSQL's; the memory store has none")

    def apply_statements(self, statements: Any) -> None:
        raise StoreError("roles and grants are PostgreSQL's; the memory store has none")

    def revision(self) -> str | None:
        from store.db import SCHEMA_HEAD

        return SCHEMA_HEAD

    def close(self) -> None:
        pass


class MemoryTx:
    def __init__(self, store: MemoryStore, write: bool) -> None:
        self.s = store
        self.write = write
        self.journal: list[Callable[[], object]] = []  # undo steps, run newest first
        self.identity: str | None = None
        self.now = store.clock()
        self.seen: dict[tuple[str, Any], Any] | None = None  # what a tracked read returned (`track`)
        self.unchanged = False  # `expect` held when the act began

    def track(self) -> None:
        """From now on remember what `item`, `meeting`, `orders(ids=…)` and `max_id` return."""
        self.seen = {}

    def read_set(self) -> ReadSet:
        seen, self.seen = self.seen or {}, None  # tracking ends here
        return ReadSet(self.s.head_row.roster_seq, seen)

    def _saw(self, kind: str, key: Any, value: Any) -> Any:
        if self.seen is not None:
            self.seen[(kind, key)] = value
        return value

    # ------------------------------------------------------------ journal
    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        old = table.get(key, _MISSING)
        t = self.s.tables
        indexed = table is self.s.deliveries_ or table is t["item"] or table is t["meeting"] or table is t["order"]

        def undo() -> None:
            if indexed:
                self.s.reindex(table, key, table.get(key), None if old is _MISSING else old)
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        self.journal.append(undo)
        if indexed:
            self.s.reindex(table, key, None if old is _MISSING else old, value)
        table[key] = value

    def undo(self) -> None:
        for step in reversed(self.journal):
            step()
        self.journal.clear()

    # ------------------------------------------------------------ reads
    def head(self) -> Head:
        return self.s.head_row

    def roster(self) -> tuple[list[BodyRecord], list[MemberRecord], list[AssignmentRecord],
                              list[DelegationRecord], list[AdoptionRecord]]:
        t = self.s.tables
        return (list(t["body"].values()), list(t["member"].values()), list(t["assignment"].values()),
                list(t["delegation"].values()), list(t["adoption"].values()))

    def item(self, item_id: int) -> ItemRecord | None:
        if not storable_id(item_id):  # as the SQL store: an id no record can have is absent
            return None
        found: ItemRecord | None = self._saw("item", item_id, self.s.tables["item"].get(item_id))
        return found

    def item_cards(self, *, body: str | None = None) -> list[ItemCard]:
        return self.item_rows(ItemQuery(body=body))

    def _matches(self, i: ItemRecord, q: ItemQuery) -> bool:
        """`q` asked of a record, as the SQL store asks it of the columns."""
        due = i.deadline_at
        if (q.state and i.state != q.state) or (q.body and i.body != q.body) or (q.team and i.team != q.team):
            return False
        if q.overdue_at is not None and (due is None or due > q.overdue_at):
            return False
        if q.not_overdue_at is not None and due is not None and due <= q.not_overdue_at:
            return False
        if (q.since is not None and i.updated_at < q.since) or (q.origin_only and i.origin is None):
            return False
        if q.pillar is not None and q.pillar not in i.pillars:
            return False
        if q.origins is not None and i.origin not in q.origins:
            return False
        return q.bodies is None or i.body in q.bodies or i.id in q.also

    def item_rows(self, q: ItemQuery, *, after: int = 0, limit: int | None = None, offset: int = 0,
                  latest: bool = False) -> list[ItemCard]:
        found = [i for i in self.s.tables["item"].values() if i.id > after and self._matches(i, q)]
        found.sort(key=(lambda i: (i.updated_at, i.id)) if latest else _by_id, reverse=latest)
        found = found[offset:] if limit is None else found[offset:offset + limit]
        return [ItemCard(i.id, i.title, i.state, i.body, i.team, i.origin, i.updated_at, i.deadline_at, i.pillars)
                for i in found]

    def count_items(self, q: ItemQuery, *, by_state: bool = False) -> Any:
        found = [i for i in self.s.tables["item"].values() if self._matches(i, q)]
        if not by_state:
            return len(found)
        out: dict[str, int] = {}
        for i in found:
            out[i.state] = out.get(i.state, 0) + 1
        return out

    def items(self, *, state: str | None = None, body: str | None = None, origin: int | None = None,
              ids: Sequence[int] | None = None, due_by: dt.datetime | None = None, limit: int | None = None,
              after: int = 0) -> list[ItemRecord]:
        out = []
        table = self.s.tables["item"]
        if ids is not None:
            pool: Iterable[Any] = [table[k] for k in set(ids) if k in table]
        elif due_by is not None:
            pool = [table[k] for k in self.s.items_due]
        elif state:
            pool = [table[k] for k in self.s.item_states.get(state, ())]
        else:
            pool = table.values()
        for i in pool:  # filtered, then sorted: a big store has few that match
            if i.id <= after or (state and i.state != state) or (body and i.body != body):
                continue
            if (origin is not None and i.origin != origin) or (ids is not None and i.id not in ids):
                continue
            if due_by is not None and (not i.reminders or i.next_due_at is None or i.next_due_at > due_by):
                continue
            out.append(i)
        if limit is not None and due_by is not None:  # the due first, as the SQL store picks them
            return sorted(heapq.nsmallest(limit, out, key=lambda i: (i.next_due_at, i.id)), key=_by_id)
        if limit is not None:
            return heapq.nsmallest(limit, out, key=_by_id)
        out.sort(key=_by_id)
        return out

    def meeting(self, meeting_id: int) -> MeetingRecord | None:
        if not storable_id(meeting_id):
            return None
        found: MeetingRecord | None = self._saw("meeting", meeting_id, self.s.tables["meeting"].get(meeting_id))
        return found

    def meetings(self, *, ids: Sequence[int] | None = None, status: str | None = None,
                 due_by: dt.datetime | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, after: int | None = None,
                 limit: int | None = None) -> list[MeetingRecord]:
        out = []
        table = self.s.tables["meeting"]
        if ids is not None:
            pool: Iterable[Any] = [table[k] for k in set(ids) if k in table]
        elif due_by is not None:
            pool = [table[k] for k in self.s.meetings_due]
        elif status:
            pool = [table[k] for k in self.s.meeting_states.get(status, ())]
        else:
            pool = table.values()
        for m in pool:
            if (ids is not None and m.id not in ids) or (status and m.status != status):
                continue
            if due_by is not None and (not m.reminders or m.next_due_at is None or m.next_due_at > due_by):
                continue
            if (since is not None and m.starts_at < since) or (until is not None and m.starts_at >= until):
                continue
            if after is not None and m.id <= after:
                continue
            out.append(m)
        if limit is not None:
            return heapq.nsmallest(limit, out, key=_by_id)
        out.sort(key=_by_id)
        return out

    def orders(self, *, item: int | None = None, ids: Sequence[int] | None = None,
               status: str | None = None, items: Sequence[int] | None = None, after: int | None = None,
               limit: int | None = None) -> list[OrderRecord]:
        table = self.s.tables["order"]
        if self.seen is not None and ids is not None and item is None and status is None and items is None:
            for k in ids:
                self._saw("order", k, table.get(k))
        pool = table.values() if ids is None else [table[k] for k in set(ids) if k in table]
        found = (o for o in pool if (item is None or o.item == item) and (ids is None or o.id in ids)
                 and (status is None or o.status == status) and (items is None or o.item in items)
                 and (after is None or o.id > after))
        return heapq.nsmallest(limit, found, key=_by_id) if limit is not None else sorted(found, key=_by_id)

    def deliveries(self, *, reminder: str | None = None, status: str | None = None, after: int = 0,
                   limit: int | None = None) -> list[DeliveryRecord]:
        out = [d for d in sorted(self.s.deliveries_.values(), key=lambda x: x.id)
               if (reminder is None or d.reminder == reminder) and (status is None or d.status == status)
               and d.id > after]
        return out if limit is None else out[:limit]

    def document(self, sha256: str) -> DocumentRecord | None:
        return self.s.documents.get(sha256)

    def document_events(self, sha256: str) -> list[EventRecord]:
        """The steps that carry the document `sha256` (R-R1: their items decide who sees it)."""
        return [e for e in self.s.log if e.type == "ItemAdvanced" and e.data.get("document") == sha256]

    def events(self, *, item: int | None = None, meeting: int | None = None, items: Sequence[int] | None = None,
               after: int = 0, limit: int | None = None) -> list[EventRecord]:
        out = []
        for e in self.s.log[after:]:
            if item is not None and e.item != item:
                continue
            if meeting is not None and e.meeting != meeting:
                continue
            if items is not None and e.item not in items:
                continue
            out.append(e)
            if limit is not None and len(out) >= limit:
                break
        return out

    def stream(self, batch: int = 5000) -> Iterator[EventRecord]:
        yield from list(self.s.log)

    def stream_rows(self, batch: int = 5000, after: int = 0, until: int | None = None) -> Iterator[tuple[Any, ...]]:
        from store.chain import instant

        for r in list(self.s.log[after:until]):
            yield (r.seq, instant(r.at), r.actor, r.authority, r.rulebook, r.item, r.meeting, r.type, r.payload,
                   r.prev_hash, r.hash, r.identity, r.schema, r.v)

    def max_id(self, kind: str) -> int:
        return int(self._saw("max", kind, self._max_id(kind)))

    def _max_id(self, kind: str) -> int:
        if kind == "token":
            return max(self.s.tokens_, default=0)
        top = self.s.top
        if kind not in ("item", "meeting", "order"):  # the tables reindex() follows
            return max(self.s.tables[kind], default=0)
        if kind not in top:
            top[kind] = max(self.s.tables[kind], default=0)
        return top[kind]

    def credential(self, login: str) -> str | None:
        return self.s.credentials.get(login)

    def credential_commitments(self) -> dict[str, str]:
        return {k: hashlib.sha256(v.encode("utf-8")).hexdigest() for k, v in self.s.credentials.items()}

    def tokens(self, login: str | None = None) -> list[dict[str, Any]]:
        return [dict(t) for t in self.s.tokens_.values() if login is None or t["login"] == login]

    def token_by_hash(self, digest: str) -> dict[str, Any] | None:
        return next((dict(t) for t in self.s.tokens_.values() if t["digest"] == digest), None)

    def meta(self, key: str) -> str | None:
        return self.s.meta.get(key)

    def web_session(self, digest: str) -> dict[str, Any] | None:
        found = self.s.web_sessions.get(digest)
        return None if found is None else dict(found)

    def session_role(self) -> str | None:
        return None

    # ------------------------------------------------------------ writes
    def _writable(self) -> None:
        if not self.write:
            raise StoreError("a read transaction cannot write")

    def append(self, actor: str, authority: str, identity: str, rulebook: str,
               events: Sequence[NewEvent]) -> list[EventRecord]:
        self._writable()
        h = self.s.head_row
        if h.at is not None and self.now < h.at:
            raise ClockBehind(self.now.isoformat(), h.at.isoformat())
        records = seal(h.seq, h.hash, self.now, actor, authority, identity, rulebook, events)
        log = self.s.log
        n = len(log)
        log.extend(records)
        self.journal.append(lambda: log.__delitem__(slice(n, None)))
        self._move_head(records, [e.roster for e in events])
        return records

    def _move_head(self, records: list[EventRecord], roster_flags: list[bool]) -> None:
        old = self.s.head_row
        last = records[-1]
        roster = max([old.roster_seq] + [r.seq for r, f in zip(records, roster_flags, strict=True) if f])
        self.s.head_row = Head(last.seq, last.hash, last.at, roster)
        self.journal.append(lambda: setattr(self.s, "head_row", old))

    def put_raw_event(self, record: EventRecord, roster: bool = True) -> None:
        self._writable()
        log = self.s.log
        log.append(record)
        self.journal.append(log.pop)
        self._move_head([record], [roster])

    def save(self, rows: Iterable[tuple[str, Any, Any]]) -> None:
        self._writable()
        for kind, new, _old in rows:
            self._set(self.s.tables[kind], getattr(new, _KEYS[kind]), new)

    def put_document(self, doc: DocumentRecord) -> None:
        """Keep a document under the sha256 of its content (events name it by that hash)."""
        self._writable()
        if hashlib.sha256(doc.content).hexdigest() != doc.sha256:
            raise StoreError("a document is kept under the sha256 of its content")
        self._set(self.s.documents, doc.sha256, doc)

    def clear_projections(self) -> None:
        for kind in _KEYS:
            table = self.s.tables[kind]
            for key in list(table):
                self._set(table, key, None)
                del table[key]

    def reset_head_roster(self) -> None:
        h = self.s.head_row
        self.s.head_row = Head(h.seq, h.hash, h.at, h.seq)

    def set_meta(self, key: str, value: str) -> None:
        self._set(self.s.meta, key, value)

    def add_deliveries(self, rows: Sequence[DeliveryRecord]) -> None:
        self._writable()
        have = self.s.dedupe_keys  # kept in step by _set
        new_id = next(reversed(self.s.deliveries_), 0)  # ids are added in order: the last is the largest
        for d in rows:
            if d.dedupe_key in have:
                continue
            new_id += 1
            self._set(self.s.deliveries_, new_id, replace(d, id=new_id))
            self._set(self.s.delivery_meta, new_id, {"claimed_by": None, "lease_until": None})

    def claim_deliveries(self, now: dt.datetime, worker: str, lease: dt.timedelta,
                         limit: int) -> list[DeliveryRecord]:
        self._writable()
        out = []
        waiting = [self.s.deliveries_[i] for i in self.s.waiting]
        for d in sorted(waiting, key=lambda x: (x.next_attempt_at, x.id)):
            meta = self.s.delivery_meta[d.id]
            due = (d.status == "pending" and d.next_attempt_at <= now) or (
                d.status == "sending" and meta["lease_until"] is not None and meta["lease_until"] < now)
            if not due:
                continue
            new = replace(d, status="sending", attempts=d.attempts + 1)
            self._set(self.s.deliveries_, d.id, new)
            self._set(self.s.delivery_meta, d.id, {"claimed_by": worker, "lease_until": now + lease})
            out.append(new)
            if len(out) >= limit:
                break
        return out

    def settle_delivery(self, delivery_id: int, worker: str, **values: Any) -> bool:
        self._writable()
        d = self.s.deliveries_.get(delivery_id)
        meta = self.s.delivery_meta.get(delivery_id, {})
        if d is None or d.status != "sending" or meta.get("claimed_by") != worker:
            return False
        claimed = {"claimed_by": values.pop("claimed_by", meta["claimed_by"]),
                   "lease_until": values.pop("lease_until", meta["lease_until"])}
        self._set(self.s.deliveries_, delivery_id, replace(d, **values))
        self._set(self.s.delivery_meta, delivery_id, claimed)
        return True

    def settle_sent(self, ids: Sequence[int], worker: str, sent_at: dt.datetime) -> set[int]:
        return {i for i in ids
                if self.settle_delivery(i, worker, status="sent", sent_at=sent_at, last_error=None)}

    def release_deliveries(self, ids: Sequence[int], worker: str) -> None:
        for i in ids:
            d = self.s.deliveries_.get(i)
            if d is not None and d.status == "sending" and self.s.delivery_meta[i]["claimed_by"] == worker:
                self._set(self.s.deliveries_, i, replace(d, status="pending", attempts=max(d.attempts - 1, 0)))
                self._set(self.s.delivery_meta, i, {"claimed_by": None, "lease_until": None})

    def set_credential(self, login: str, hashed: str) -> None:
        self._set(self.s.credentials, login, hashed)

    def add_token(self, token_id: int, login: str, name: str, digest: str, expires_at: dt.datetime | None,
                  created_at: dt.datetime) -> None:
        self._set(self.s.tokens_, token_id, {"id": token_id, "login": login, "name": name, "digest": digest,
                                             "expires_at": expires_at, "created_at": created_at,
                                             "revoked_at": None})

    def revoke_token(self, token_id: int, at: dt.datetime) -> None:
        t = self.s.tokens_.get(token_id)
        if t is not None:
            self._set(self.s.tokens_, token_id, {**t, "revoked_at": at})

    def open_web_session(self, digest: str, login: str, credential: str | None, created_at: dt.datetime,
                         expires_at: dt.datetime, id_token: str | None = None) -> None:
        if digest in self.s.web_sessions:
            raise StoreError("a web session with this id exists already")
        self._set(self.s.web_sessions, digest, {"login": login, "credential": credential, "created_at": created_at,
                                                "expires_at": expires_at, "ended_at": None, "id_token": id_token})

    def end_web_session(self, digest: str, at: dt.datetime) -> None:
        found = self.s.web_sessions.get(digest)
        if found is not None and found["ended_at"] is None:
            self._set(self.s.web_sessions, digest, {**found, "ended_at": at})
