"""SqlStore: reads the projections and appends events, through SQLAlchemy Core.

Every act is one transaction (`Store.act()`): it locks the log head first, so appends
are serialised and the chain cannot fork (on SQLite BEGIN IMMEDIATE does the same),
then applies conditional updates (`WHERE version = :expected`) and appends the event.
Driver errors are translated here into `store.errors`; nothing above sees SQLAlchemy.
"""

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from store import chain
from store.db import make_engine, reader, schema_state
from store.errors import ConcurrencyConflict, NotInitialised, StoreError
from store.records import (AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, DeliveryRecord,
                           EventRecord, ItemRecord, MeetingRecord, MemberRecord, OrderRecord, ReminderRecord)
from store.tables import (AgendaEntry, Assignment, Body, Delegation, Delivery, Event, InvestigationOrder, Item,
                          LogHead, Meeting, MeetingAttendee, Member, Reminder, RulebookAdoption)

T_BODY = Body.__table__
T_MEMBER = Member.__table__
T_ASSIGN = Assignment.__table__
T_ITEM = Item.__table__
T_MEETING = Meeting.__table__
T_ATTEND = MeetingAttendee.__table__
T_AGENDA = AgendaEntry.__table__
T_ADOPT = RulebookAdoption.__table__
T_EVENT = Event.__table__
T_HEAD = LogHead.__table__
T_REMIND = Reminder.__table__
T_DELIVERY = Delivery.__table__
T_ORDER = InvestigationOrder.__table__
T_DELEG = Delegation.__table__
_ORDER_COLS = {"id": "id", "item": "item_id", "issued_by": "issued_by", "to": "to", "issued_at": "issued_at",
               "due_at": "due_at", "status": "status", "note": "note", "finding": "finding", "reason": "reason",
               "settled_at": "settled_at", "version": "version"}

_ITEM_COLS = ("id", "title", "body", "team", "state", "version", "filed_by", "filed_at",
              "updated_at", "note", "origin")
_MEETING_COLS = ("id", "kind", "body", "convener", "chair", "starts_at", "status", "version",
                 "convened_at", "held_at")
_CONFLICT_CODES = ("40001", "40P01", "55P03")  # serialization failure, deadlock, lock not available


# Hot statements built once: SQLAlchemy memoises a statement's cache key on the object,
# so reusing them skips construction and key generation on every act.
_SEL_ITEM = sa.select(T_ITEM).where(T_ITEM.c.id == sa.bindparam("id"))
_SEL_MEMBER = sa.select(T_MEMBER).where(T_MEMBER.c.login == sa.bindparam("login"))
_SEL_ASSIGN_OF = sa.select(T_ASSIGN).where(T_ASSIGN.c.login == sa.bindparam("login")).order_by(T_ASSIGN.c.id)
_SEL_BODIES = sa.select(T_BODY).order_by(T_BODY.c.key)
_LOCK_HEAD = sa.select(T_HEAD.c.seq, T_HEAD.c.hash).where(T_HEAD.c.id == 1).with_for_update()
_INS_EVENT = T_EVENT.insert()
_UPD_HEAD = T_HEAD.update().where(T_HEAD.c.id == 1).values(seq=sa.bindparam("h_seq"), hash=sa.bindparam("h_hash"))
_UPDATES: dict[tuple[Any, tuple[str, ...]], Any] = {}
_INS_REMIND = T_REMIND.insert()
_SEL_ORDERS_OF = sa.select(T_ORDER).where(T_ORDER.c.item_id == sa.bindparam("item")).order_by(T_ORDER.c.id)
_SEL_PENDING_OF = (sa.select(T_REMIND).where(T_REMIND.c.status == "pending", sa.or_(
    T_REMIND.c.item_id.in_(sa.bindparam("items", expanding=True)),
    T_REMIND.c.meeting_id.in_(sa.bindparam("meetings", expanding=True)))).order_by(T_REMIND.c.id))
_SEL_MEETINGS_OF = (sa.select(T_MEETING).where(T_MEETING.c.id.in_(
    sa.select(T_AGENDA.c.meeting_id).where(T_AGENDA.c.item_id.in_(sa.bindparam("items", expanding=True)))))
    .order_by(T_MEETING.c.id))
_SEL_AGENDA_OF = (sa.select(T_AGENDA).where(T_AGENDA.c.meeting_id.in_(sa.bindparam("mids", expanding=True)))
                  .order_by(T_AGENDA.c.meeting_id, T_AGENDA.c.position))
_NEXT_ID = {name: sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0))
            for name, t in (("item", T_ITEM), ("meeting", T_MEETING), ("assignment", T_ASSIGN),
                            ("reminder", T_REMIND), ("order", T_ORDER), ("delegation", T_DELEG))}


def _update(table: sa.Table, columns: tuple[str, ...]) -> Any:
    """`UPDATE table SET <columns> WHERE id = :k_id AND version = :k_version`, built once per shape."""
    stmt = _UPDATES.get((table, columns))
    if stmt is None:
        stmt = table.update().where(table.c.id == sa.bindparam("k_id"),
                                    table.c.version == sa.bindparam("k_version")).values(
            {c: sa.bindparam(c) for c in columns})
        _UPDATES[(table, columns)] = stmt
    return stmt


def _translate(err: exc.DBAPIError) -> StoreError:
    code = getattr(getattr(err, "orig", None), "sqlstate", None)
    text = str(getattr(err, "orig", err))
    if "append-only" in text:
        return StoreError("the event table is append-only: events are never changed or removed")
    if code in _CONFLICT_CODES or "database is locked" in text:
        return ConcurrencyConflict("the database was busy with another change; nothing was written")
    if isinstance(err, exc.IntegrityError):
        return ConcurrencyConflict(f"someone else wrote first: {text.splitlines()[0]}")
    if "no such table" in text or "does not exist" in text:
        return NotInitialised("this database has no kaigi schema; run `kaigi init`")
    return StoreError(text.splitlines()[0])


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except exc.DBAPIError as err:
        raise _translate(err) from err


def _item(row: Any) -> ItemRecord:
    return ItemRecord(**{c: row._mapping[c] for c in _ITEM_COLS})


def _reminder(row: Any) -> ReminderRecord:
    m = row._mapping
    return ReminderRecord(id=m["id"], key=m["key"], item=m["item_id"], meeting=m["meeting_id"],
                          order=m["order_id"], body=m["body"], started_at=m["started_at"], due_at=m["due_at"],
                          next_rung=m["next_rung"], next_at=m["next_at"], status=m["status"], version=m["version"])


def _delivery(row: Any) -> DeliveryRecord:
    m = row._mapping
    return DeliveryRecord(id=m["id"], dedupe_key=m["dedupe_key"], reminder=m["reminder_id"], rung=m["rung"],
                          recipient=m["recipient"], channel=m["channel"], address=m["address"],
                          message_id=m["message_id"], subject=m["subject"], body=m["body"], ics=m["ics"],
                          status=m["status"], attempts=m["attempts"], next_attempt_at=m["next_attempt_at"],
                          last_error=m["last_error"], sent_at=m["sent_at"])


def _event(row: Any) -> EventRecord:
    m = row._mapping
    return EventRecord(seq=m["seq"], at=m["at"], actor=m["actor"], authority=m["authority"],
                       rulebook=m["rulebook"], item=m["item_id"], meeting=m["meeting_id"],
                       type=m["type"], payload=json.loads(m["payload"]),
                       prev_hash=m["prev_hash"], hash=m["hash"])


class Store:
    """The database of one kaigi: projections to read, and `act()` to append."""

    def __init__(self, url: str, engine: sa.Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.ro = reader(self.engine)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._local = threading.local()  # the connection of the act under way, if any

    @contextmanager
    def _conn(self) -> Iterator[sa.Connection]:
        """Reads inside an act see that act's transaction; others get a read-only one."""
        active = getattr(self._local, "conn", None)
        if active is not None:
            yield active
            return
        with _translated(), self.ro.connect() as conn:
            yield conn

    # ------------------------------------------------------------ schema
    def check_schema(self) -> None:
        """Refuse to work on a database kaigi has not initialised or that is behind."""
        with _translated():
            current, head = schema_state(self.engine)
        if current is None:
            raise NotInitialised(f"no kaigi database at {self.safe_url}; run `kaigi init`")
        if current != head:
            raise NotInitialised(f"the database schema is at {current}, kaigi needs {head}; run `kaigi init`")

    @property
    def safe_url(self) -> str:
        return sa.make_url(self.url).render_as_string(hide_password=True)

    # ------------------------------------------------------------ reads
    def _rows(self, stmt: sa.Executable) -> list[Any]:
        with self._conn() as conn:
            return list(conn.execute(stmt))

    def item(self, item_id: int) -> ItemRecord | None:
        with self._conn() as conn:
            row = conn.execute(_SEL_ITEM, {"id": item_id}).first()
        return _item(row) if row is not None else None

    def items(self, state: str | None = None, body: str | None = None, origin: int | None = None,
              ids: list[int] | None = None) -> list[ItemRecord]:
        q = sa.select(T_ITEM).order_by(T_ITEM.c.id)
        if origin is not None:
            q = q.where(T_ITEM.c.origin == origin)
        if ids is not None:
            q = q.where(T_ITEM.c.id.in_(ids))
        if state:
            q = q.where(T_ITEM.c.state == state)
        if body:
            q = q.where(T_ITEM.c.body == body)
        return [_item(r) for r in self._rows(q)]

    def meeting(self, meeting_id: int) -> MeetingRecord | None:
        found = self.meetings(ids=[meeting_id])
        return found[0] if found else None

    def meetings(self, ids: list[int] | None = None, status: str | None = None,
                 people: bool = True, of_items: list[int] | None = None) -> list[MeetingRecord]:
        """Meetings with their agenda (and, unless people=False, attendees)."""
        q = sa.select(T_MEETING).order_by(T_MEETING.c.id)
        if ids is not None:
            q = q.where(T_MEETING.c.id.in_(ids))
        if of_items is not None:
            q = q.where(T_MEETING.c.id.in_(sa.select(T_AGENDA.c.meeting_id).where(T_AGENDA.c.item_id.in_(of_items))))
        if status:
            q = q.where(T_MEETING.c.status == status)
        with self._conn() as conn:
            rows = list(conn.execute(q))
            if not rows:
                return []
            mids = [r.id for r in rows]
            att = [] if not people else list(conn.execute(
                sa.select(T_ATTEND).where(T_ATTEND.c.meeting_id.in_(mids))
                .order_by(T_ATTEND.c.meeting_id, T_ATTEND.c.login)))
            ag = list(conn.execute(sa.select(T_AGENDA).where(T_AGENDA.c.meeting_id.in_(mids))
                                   .order_by(T_AGENDA.c.meeting_id, T_AGENDA.c.position)))
        by_att: dict[int, list[Any]] = {}
        by_ag: dict[int, list[Any]] = {}
        for a in att:
            by_att.setdefault(a.meeting_id, []).append(a)
        for g in ag:
            by_ag.setdefault(g.meeting_id, []).append(g)
        return [self._meeting(r, by_att.get(r.id, []), by_ag.get(r.id, [])) for r in rows]

    @staticmethod
    def _meeting(r: Any, att: list[Any], ag: list[Any]) -> MeetingRecord:
        return MeetingRecord(
            **{c: r._mapping[c] for c in _MEETING_COLS},
            attendees=tuple(a.login for a in att if not a.invited),
            invited=tuple(a.login for a in att if a.invited),
            present=tuple(a.login for a in att if a.present),
            items=tuple(g.item_id for g in ag),
            outcomes={g.item_id: g.outcome for g in ag if g.outcome is not None})

    def member(self, login: str) -> MemberRecord | None:
        with self._conn() as conn:
            row = conn.execute(_SEL_MEMBER, {"login": login}).first()
        return MemberRecord(**row._mapping) if row is not None else None

    def members(self) -> list[MemberRecord]:
        return [MemberRecord(**r._mapping) for r in self._rows(sa.select(T_MEMBER).order_by(T_MEMBER.c.login))]

    def assignments(self, login: str | None = None) -> list[AssignmentRecord]:
        if login is not None:
            with self._conn() as conn:
                return [AssignmentRecord(**r._mapping) for r in conn.execute(_SEL_ASSIGN_OF, {"login": login})]
        return [AssignmentRecord(**r._mapping) for r in self._rows(sa.select(T_ASSIGN).order_by(T_ASSIGN.c.id))]

    def bodies(self) -> list[BodyRecord]:
        return [BodyRecord(**r._mapping) for r in self._rows(_SEL_BODIES)]

    def adoptions(self) -> list[AdoptionRecord]:
        return [AdoptionRecord(**r._mapping)
                for r in self._rows(sa.select(T_ADOPT).order_by(T_ADOPT.c.effective_from))]

    # reminders and deliveries ------------------------------------------------
    def reminders(self, status: str | None = "pending", items: list[int] | None = None,
                  meetings: list[int] | None = None, due_by: dt.datetime | None = None,
                  limit: int | None = None, lock: bool = False, ids: list[int] | None = None
                  ) -> list[ReminderRecord]:
        if (status == "pending" and items is not None and meetings is not None and due_by is None
                and not limit and not lock and ids is None):
            with self._conn() as conn:  # the act's own question: hot, so prebuilt
                return [_reminder(r) for r in conn.execute(_SEL_PENDING_OF, {"items": items, "meetings": meetings})]
        q = sa.select(T_REMIND).order_by(T_REMIND.c.next_at, T_REMIND.c.id)
        if ids is not None:
            q = q.where(T_REMIND.c.id.in_(ids))
        if status:
            q = q.where(T_REMIND.c.status == status)
        if items is not None or meetings is not None:
            q = q.where(sa.or_(T_REMIND.c.item_id.in_(items or []), T_REMIND.c.meeting_id.in_(meetings or [])))
        if due_by is not None:
            q = q.where(T_REMIND.c.next_at <= due_by)
        if limit:
            q = q.limit(limit)
        if lock:  # several schedulers on PostgreSQL: each row fires once (SQLite: the write lock)
            q = q.with_for_update(skip_locked=True, of=T_REMIND)
        return [_reminder(r) for r in self._rows(q)]

    def orders(self, item: int | None = None, ids: list[int] | None = None,
               status: str | None = None) -> list[OrderRecord]:
        if item is not None and ids is None:
            with self._conn() as conn:
                found = [OrderRecord(**{f: r._mapping[c] for f, c in _ORDER_COLS.items()})
                         for r in conn.execute(_SEL_ORDERS_OF, {"item": item})]
            return [o for o in found if status is None or o.status == status]
        q = sa.select(T_ORDER).order_by(T_ORDER.c.id)
        if item is not None:
            q = q.where(T_ORDER.c.item_id == item)
        if ids is not None:
            q = q.where(T_ORDER.c.id.in_(ids))
        if status:
            q = q.where(T_ORDER.c.status == status)
        return [OrderRecord(**{f: r._mapping[c] for f, c in _ORDER_COLS.items()}) for r in self._rows(q)]

    def delegations(self, clerk: str | None = None) -> list[DelegationRecord]:
        q = sa.select(T_DELEG).order_by(T_DELEG.c.id)
        if clerk is not None:
            q = q.where(T_DELEG.c.clerk == clerk)
        return [DelegationRecord(**r._mapping) for r in self._rows(q)]

    def meetings_of_items(self, items: list[int], people: bool = True) -> list[MeetingRecord]:
        """Meetings with any of these items on their agenda."""
        if not items:
            return []
        if people:
            return self.meetings(of_items=items)
        with self._conn() as conn:  # the act's reminder planning asks this: prebuilt
            rows = list(conn.execute(_SEL_MEETINGS_OF, {"items": items}))
            ag = list(conn.execute(_SEL_AGENDA_OF, {"mids": [r.id for r in rows]})) if rows else []
        return [self._meeting(r, [], [g for g in ag if g.meeting_id == r.id]) for r in rows]

    def deliveries(self, status: str | None = None, reminders: list[int] | None = None) -> list[DeliveryRecord]:
        q = sa.select(T_DELIVERY).order_by(T_DELIVERY.c.id)
        if status:
            q = q.where(T_DELIVERY.c.status == status)
        if reminders is not None:
            q = q.where(T_DELIVERY.c.reminder_id.in_(reminders))
        return [_delivery(r) for r in self._rows(q)]

    def claim_deliveries(self, now: dt.datetime, worker: str, lease: dt.timedelta,
                         limit: int) -> list[DeliveryRecord]:
        """Claim due messages atomically: UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED).

        Why a claim with a lease rather than a leader lock: correctness is per row and in
        the data, every scheduler runs the same code with no election, a crash releases
        the row locks, and an expired lease (`sending` past `lease_until`) hands a message
        a dead scheduler claimed to the next one. Session advisory locks outlive their
        block in a pool and prove nothing by themselves (LIBRARIES.md 3.5).
        """
        d = T_DELIVERY.c
        due = (sa.select(d.id).where(sa.or_(sa.and_(d.status == "pending", d.next_attempt_at <= now),
                                            sa.and_(d.status == "sending", d.lease_until < now)))
               .order_by(d.next_attempt_at, d.id).limit(limit).with_for_update(skip_locked=True))
        stmt = (T_DELIVERY.update().where(d.id.in_(due.scalar_subquery()))
                .values(status="sending", claimed_by=worker, lease_until=now + lease, attempts=d.attempts + 1)
                .returning(*T_DELIVERY.c))
        with _translated(), self.engine.begin() as conn:
            return sorted((_delivery(r) for r in conn.execute(stmt)), key=lambda x: x.id)

    def release_deliveries(self, ids: list[int], worker: str) -> None:
        """Hand back claimed, unsent messages; the claim does not count as an attempt."""
        if not ids:
            return
        d = T_DELIVERY.c
        with _translated(), self.engine.begin() as conn:
            conn.execute(T_DELIVERY.update().where(d.id.in_(ids), d.claimed_by == worker, d.status == "sending")
                         .values(status="pending", claimed_by=None, lease_until=None, attempts=d.attempts - 1))

    def next_due(self) -> dt.datetime | None:
        """The earliest time something is due: a reminder rung or a message retry."""
        a = self._rows(sa.select(sa.func.min(T_REMIND.c.next_at)).where(T_REMIND.c.status == "pending"))[0][0]
        b = self._rows(sa.select(sa.func.min(T_DELIVERY.c.next_attempt_at))
                       .where(T_DELIVERY.c.status == "pending"))[0][0]
        c = self._rows(sa.select(sa.func.min(T_DELIVERY.c.lease_until)).where(T_DELIVERY.c.status == "sending"))[0][0]
        from store.types import UTCDateTime

        conv = UTCDateTime().process_result_value
        times = [conv(t, self.engine.dialect) for t in (a, b, c) if t is not None]
        return min(times) if times else None

    def next_id(self, table: str) -> int:
        """The next id of `item`, `meeting` or `assignment`; inside an act the lock makes it ours."""
        rows = self._rows(_NEXT_ID[table])
        return int(rows[0][0]) + 1

    def head(self) -> tuple[int, str]:
        rows = self._rows(sa.select(T_HEAD.c.seq, T_HEAD.c.hash).where(T_HEAD.c.id == 1))
        return (rows[0].seq, rows[0].hash) if rows else (0, chain.GENESIS)

    def events(self, item: int | None = None, meeting: int | None = None,
               since: int = 0) -> list[EventRecord]:
        q = sa.select(T_EVENT).where(T_EVENT.c.seq > since).order_by(T_EVENT.c.seq)
        if item is not None:
            q = q.where(T_EVENT.c.item_id == item)
        if meeting is not None:
            q = q.where(T_EVENT.c.meeting_id == meeting)
        return [_event(r) for r in self._rows(q)]

    def stream_raw(self, batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Every event row in order, streamed (flat memory): the audit's pass.

        Tuples of (seq, at, actor, authority, rulebook, item, meeting, type, payload, prev_hash,
        hash) with `at` as the exact text that was hashed (`chain.instant`). It goes through
        the driver's cursor, not result processing: this is the loop an auditor runs over
        millions of rows.
        """
        sql = ("SELECT seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, prev_hash, hash "
               "FROM event ORDER BY seq")
        with _translated(), self.ro.connect() as conn:
            raw = conn.connection.dbapi_connection
            cur = raw.cursor(name="kaigi_audit") if not self.is_sqlite else raw.cursor()  # server-side on PG
            try:
                cur.execute(sql)
                while True:
                    rows = cur.fetchmany(batch)
                    if not rows:
                        break
                    for r in rows:
                        at = r[1]
                        if isinstance(at, str):  # SQLite: naive UTC "YYYY-MM-DD HH:MM:SS.ffffff"
                            at = f"{at[:10]}T{at[11:]}+00:00" if len(at) == 26 else chain.instant(
                                dt.datetime.fromisoformat(at).replace(tzinfo=dt.timezone.utc))
                        else:
                            at = chain.instant(at)
                        yield (r[0], at, *r[2:])
            finally:
                cur.close()

    # ------------------------------------------------------------ writes
    @contextmanager
    def act(self, before_write: Callable[[], None] | None = None) -> Iterator["Tx"]:
        """One act = one transaction; the head row is locked first (chain order = commit order)."""
        if before_write is not None:
            before_write()
        try:
            with self.engine.begin() as conn:
                self._local.conn = conn
                try:
                    tx = Tx(conn)
                    yield tx
                    tx.flush()
                finally:
                    self._local.conn = None
        except exc.DBAPIError as err:
            raise _translate(err) from err


class Tx:
    """The writes of one act. Conditional updates raise ConcurrencyConflict when stale."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        row = conn.execute(_LOCK_HEAD).one_or_none()
        if row is None:
            raise NotInitialised("the event log has no head row; run `kaigi init`")
        self.seq, self.hash = row.seq, row.hash
        self.appended: list[EventRecord] = []
        self._rows: list[dict[str, Any]] = []

    def flush(self) -> None:
        """Write the buffered events in one statement and move the head once (before commit,
        or now and then in a long import)."""
        if self._rows:
            self.conn.execute(_INS_EVENT, self._rows)
            self.conn.execute(_UPD_HEAD, {"h_seq": self.seq, "h_hash": self.hash})
            self._rows = []

    def append(self, *, at: dt.datetime, actor: str, authority: str, rulebook: str, type: str,
               payload: dict[str, Any], item: int | None = None, meeting: int | None = None) -> EventRecord:
        seq = self.seq + 1
        text = chain.canonical(payload)
        env = chain.envelope(seq, chain.instant(at), actor, authority, rulebook, item, meeting, type)
        digest = chain.link(self.hash, env, text)
        self._rows.append({"seq": seq, "at": at, "actor": actor, "authority": authority, "rulebook": rulebook,
                           "item_id": item, "meeting_id": meeting, "type": type, "payload": text,
                           "prev_hash": self.hash, "hash": digest})
        record = EventRecord(seq, at, actor, authority, rulebook, item, meeting, type, payload, self.hash, digest)
        self.seq, self.hash = seq, digest
        self.appended.append(record)
        return record

    def put_raw_event(self, record: EventRecord, payload_text: str) -> None:
        """Import: write an event exactly as exported (its hash is checked by the caller)."""
        self._rows.append({"seq": record.seq, "at": record.at, "actor": record.actor, "authority": record.authority,
                           "rulebook": record.rulebook, "item_id": record.item, "meeting_id": record.meeting,
                           "type": record.type, "payload": payload_text, "prev_hash": record.prev_hash,
                           "hash": record.hash})
        self.seq, self.hash = record.seq, record.hash

    # projections ------------------------------------------------------------
    def save_all(self, changes: Iterable[tuple[Any, Any]]) -> None:
        """Write the (new, old) record pairs the engine's fold produced, each to its table."""
        for new, old in changes:
            if isinstance(new, ItemRecord):
                self.save_item(new, old)
            elif isinstance(new, MeetingRecord):
                self.save_meeting(new, old)
            elif isinstance(new, AssignmentRecord):
                self.save_assignment(new, old)
            elif isinstance(new, MemberRecord):
                self.save_member(new)
            elif isinstance(new, BodyRecord):
                self.save_body(new)
            elif isinstance(new, AdoptionRecord):
                self.save_adoption(new)
            elif isinstance(new, ReminderRecord):
                self.save_reminder(new, old)
            elif isinstance(new, OrderRecord):
                self.save_order(new, old)
            elif isinstance(new, DelegationRecord):
                self.save_delegation(new, old)
            else:
                raise TypeError(f"no table for {type(new).__name__}")

    def save_item(self, new: ItemRecord, old: ItemRecord | None) -> None:
        if old is None:
            self.conn.execute(T_ITEM.insert().values(**{c: getattr(new, c) for c in _ITEM_COLS}))
            return
        # only what changed, never the key: an UPDATE naming `id` makes SQLite check every
        # foreign key pointing at the row, a scan that grows with the table
        values = {c: getattr(new, c) for c in _ITEM_COLS if getattr(new, c) != getattr(old, c)}
        res = self.conn.execute(_update(T_ITEM, tuple(values)), {**values, "k_id": old.id, "k_version": old.version})
        if res.rowcount != 1:
            raise ConcurrencyConflict(f"item {old.id} was changed by someone else first")

    def save_meeting(self, new: MeetingRecord, old: MeetingRecord | None) -> None:
        values = {c: getattr(new, c) for c in _MEETING_COLS}
        if old is None:
            self.conn.execute(T_MEETING.insert().values(**values))
            people = [{"meeting_id": new.id, "login": login, "invited": False, "present": False}
                      for login in new.attendees]
            people += [{"meeting_id": new.id, "login": login, "invited": True, "present": False}
                       for login in new.invited]
            if people:
                self.conn.execute(T_ATTEND.insert(), people)
            if new.items:
                self.conn.execute(T_AGENDA.insert(), [
                    {"meeting_id": new.id, "item_id": i, "position": n, "outcome": None}
                    for n, i in enumerate(new.items)])
            old = MeetingRecord(**{**values, "attendees": new.attendees, "invited": new.invited,
                                   "items": new.items})
        else:
            changed = {c: v for c, v in values.items() if v != getattr(old, c)}
            res = self.conn.execute(T_MEETING.update().where(
                T_MEETING.c.id == old.id, T_MEETING.c.version == old.version).values(**changed))
            if res.rowcount != 1:
                raise ConcurrencyConflict(f"meeting {old.id} was changed by someone else first")
        if set(new.present) != set(old.present):
            self.conn.execute(T_ATTEND.update().where(T_ATTEND.c.meeting_id == new.id)
                              .values(present=T_ATTEND.c.login.in_(list(new.present) or [""])))
        for item_id, outcome in new.outcomes.items():
            if old.outcomes.get(item_id) != outcome:
                self.conn.execute(T_AGENDA.update().where(
                    T_AGENDA.c.meeting_id == new.id, T_AGENDA.c.item_id == item_id).values(outcome=outcome))

    def save_member(self, new: MemberRecord) -> None:
        self.conn.execute(T_MEMBER.insert().values(**{f: getattr(new, f) for f in MemberRecord.__slots__}))

    def save_assignment(self, new: AssignmentRecord, old: AssignmentRecord | None) -> None:
        values = {f: getattr(new, f) for f in AssignmentRecord.__slots__}
        if old is None:
            self.conn.execute(T_ASSIGN.insert().values(**values))
        else:
            self.conn.execute(T_ASSIGN.update().where(T_ASSIGN.c.id == new.id).values(**values))

    def save_reminder(self, new: ReminderRecord, old: ReminderRecord | None) -> None:
        values = {"id": new.id, "key": new.key, "item_id": new.item, "meeting_id": new.meeting,
                  "order_id": new.order, "body": new.body, "started_at": new.started_at, "due_at": new.due_at,
                  "next_rung": new.next_rung, "next_at": new.next_at, "status": new.status, "version": new.version}
        if old is None:
            self.conn.execute(_INS_REMIND, values)
            return
        changed = {k: v for k, v in values.items() if k in ("next_rung", "next_at", "status", "version")}
        res = self.conn.execute(_update(T_REMIND, tuple(changed)), {**changed, "k_id": old.id, "k_version": old.version})
        if res.rowcount != 1:
            raise ConcurrencyConflict(f"reminder {old.id} was changed by someone else first")

    def add_deliveries(self, rows: list[dict[str, Any]]) -> None:
        """Insert messages; one that exists already (same dedupe key) is left alone."""
        if not rows:
            return
        if self.conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        self.conn.execute(insert(T_DELIVERY).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)

    def mark_delivery(self, delivery_id: int, worker: str, **values: Any) -> bool:
        """Settle a claimed message; False if another scheduler's lease took it over."""
        res = self.conn.execute(T_DELIVERY.update().where(
            T_DELIVERY.c.id == delivery_id, T_DELIVERY.c.claimed_by == worker,
            T_DELIVERY.c.status == "sending").values(**values))
        return res.rowcount == 1

    def save_order(self, new: OrderRecord, old: OrderRecord | None) -> None:
        values = {c: getattr(new, f) for f, c in _ORDER_COLS.items()}
        if old is None:
            self.conn.execute(T_ORDER.insert().values(**values))
            return
        changed = {c: getattr(new, f) for f, c in _ORDER_COLS.items() if getattr(new, f) != getattr(old, f)}
        res = self.conn.execute(T_ORDER.update().where(T_ORDER.c.id == old.id,
                                                       T_ORDER.c.version == old.version).values(**changed))
        if res.rowcount != 1:
            raise ConcurrencyConflict(f"order {old.id} was changed by someone else first")

    def save_delegation(self, new: DelegationRecord, old: DelegationRecord | None) -> None:
        values = {f: getattr(new, f) for f in DelegationRecord.__slots__}
        if old is None:
            self.conn.execute(T_DELEG.insert().values(**values))
        else:
            self.conn.execute(T_DELEG.update().where(T_DELEG.c.id == new.id).values(valid_until=new.valid_until))

    def save_body(self, new: BodyRecord) -> None:
        self.conn.execute(T_BODY.insert().values(**{f: getattr(new, f) for f in BodyRecord.__slots__}))

    def save_adoption(self, new: AdoptionRecord) -> None:
        self.conn.execute(T_ADOPT.insert().values(**{f: getattr(new, f) for f in AdoptionRecord.__slots__}))


