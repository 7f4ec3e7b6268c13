"""SqlStore: the store port on SQLite (the embedded default) or PostgreSQL, through the
database's own driver (sqlite3, psycopg 3).

Why the driver and not SQLAlchemy at run time: an act is a handful of statements, and
SQLAlchemy's statement machinery cost more CPU than the act's own work (bench/advance.py
measured it); importing it also doubled `kaigi item show`. SQLModel and Alembic still own
the schema and its migrations (store/tables.py, store/migrations); a contract suite runs
this store against the schema those create, on both engines.

Every act is one transaction that starts by reading (SQLite: under BEGIN IMMEDIATE) or
locking (PostgreSQL: FOR UPDATE) the log's head row, so appends are serialised and the
chain cannot fork. It waits for the head at most `head_wait` seconds (KAIGI_HEAD_WAIT, 5),
then fails as busy having written nothing. A connection the server dropped (a restart) is
replaced when the next BEGIN finds it dead, and that BEGIN alone is sent again; an act whose
connection broke later is never re-run (`act`). Driver errors are translated here into
`store.errors`.

PostgreSQL connections come from a pool (psycopg_pool) of at most `pool` per process
(KAIGI_PG_POOL, 4): a thread holds one from its transaction's BEGIN to its end, then gives
it back, so a server's many request threads share a few connections and a new request does
not pay for a connection of its own. What a transaction sets it sets with SET LOCAL (the
lock timeout, the member's role), which its COMMIT or ROLLBACK ends; a connection is given
back only idle, never inside a transaction, so the next user inherits no role or setting.
"""

import datetime as dt
import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import unquote

import orjson

from store import codec
from store.chain import GENESIS, instant, seal
from store.frozen import copier
from store.errors import (Busy, ClockBehind, ConcurrencyConflict, Lost, NotInitialised, OutcomeUnknown, PoolBusy,
                          ReadOnly, Refused, StoreError, Unreachable)
from store.records import (AdoptionRecord, ItemCard, AssignmentRecord, BodyRecord, DelegationRecord, DeliveryRecord,
                           DocumentRecord, EventRecord, Head, ItemQuery, ItemRecord, MeetingRecord, MemberRecord,
                           NewEvent, OrderRecord, ReadSet, storable_id)

t_in, t_out = codec.t_in, codec.t_out
EVENT_COLS = "seq, at, actor, authority, rulebook, item_id, meeting_id, type, payload, prev_hash, hash, identity, schema, v"
_INSERT_EVENT = f"INSERT INTO event ({EVENT_COLS}) VALUES ({', '.join('?' * len(EVENT_COLS.split(', ')))})"
DELIVERY_COLS = ("id, dedupe_key, reminder, rung, recipient, channel, address, message_id, subject, body, ics, "
                 "status, attempts, next_attempt_at, last_error, sent_at, item_id, meeting_id, attachment")
_CONFLICT_CODES = ("40001", "40P01", "55P03")  # serialization failure, deadlock, lock not available
_PARAM = re.compile(r"(?<![:\w]):(\w+)")
HEAD_WAIT = 5.0  # seconds an act waits for the log's head before giving up as busy (KAIGI_HEAD_WAIT)
POOL = 4  # PostgreSQL connections a process keeps at most (KAIGI_PG_POOL, engine.infra.settings)


def head_wait() -> float:
    """How long an act waits for the head: `KAIGI_HEAD_WAIT` seconds (0.1 to 600), else 5.

    Why a bound at all: whoever holds the head (a long act, or a member who took it with
    psql and sat there) would otherwise stop every writer, and every web thread with them;
    an honest act that waits its bound fails as "busy, try again" having written nothing.
    A value out of range is ignored rather than fatal: it tunes a wait, it decides nothing."""
    raw = os.environ.get("KAIGI_HEAD_WAIT", "")
    try:
        value = float(raw) if raw else HEAD_WAIT
    except ValueError:
        return HEAD_WAIT
    return value if 0.1 <= value <= 600 else HEAD_WAIT  # nan fails both comparisons


def sqlite_path(url: str) -> str | None:
    """The file of a `sqlite:///path` URL (`sqlite:////abs/path`), None for memory."""
    rest = url.split("://", 1)[1] if "://" in url else url
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else unquote(path)


def pg_conninfo(url: str) -> str:
    """A libpq URI from a SQLAlchemy-style URL (`postgresql+psycopg://…`)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise StoreError("not a PostgreSQL URL")
    return "postgresql://" + rest


def dialect_of(url: str) -> str:
    scheme = url.partition("://")[0].split("+")[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise StoreError(f"unsupported database URL scheme {scheme!r}: use sqlite:///FILE or postgresql+psycopg://…")


def translate(err: BaseException, waited: float | None = None) -> StoreError:
    """A driver's error as a store error. `waited`: the bound an act waited for the head, when
    the error may be that wait running out (PostgreSQL's lock_timeout, SQLite's busy timeout)."""
    code = getattr(err, "sqlstate", None)
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "append-only" in text:
        return StoreError("the event table is append-only: events are never changed or removed")
    if waited is not None and (code == "55P03" or "database is locked" in text or "database is busy" in text):
        return Busy(waited)
    if (code or "").startswith(("08", "57P")) or "connection is closed" in text or "server closed" in text:
        return Unreachable(f"the database cannot be reached: {_hide_secrets(text)}")
    if code in _CONFLICT_CODES or "database is locked" in text or "database is busy" in text:
        return ConcurrencyConflict("the database was busy with another change; nothing was written")
    if "no such table" in text or code == "42P01" or "no such column" in text or code == "42703":
        return NotInitialised("this database has no kaigi schema, or an older one; run `kaigi init`")
    if "readonly" in text or "read-only" in text or code == "25006":
        return ReadOnly("the database is read-only here: nothing can be written")
    if code == "42501" or "permission denied" in text:
        return Refused(f"the database refused: {text.removeprefix('kaigi: ')}")
    if code == "23514" and "kaigi: " in text:  # the witness's own checks (time, documents)
        return Refused(f"the database refused: {text.split('kaigi: ', 1)[1]}")
    if isinstance(err, sqlite3.IntegrityError) or (code or "").startswith("23"):
        return ConcurrencyConflict(f"someone else wrote first: {text}")
    return StoreError(text)


def _read_only(path: str) -> sqlite3.Connection:
    """A SQLite file opened for reading only. A file (or folder) the auditor may not write is
    opened `immutable` when plain read-only fails: WAL readers otherwise need to write the
    -shm file. Immutable is safe only because nothing can write it from here either."""
    import urllib.parse

    quoted = urllib.parse.quote(os.path.abspath(path))
    if not os.path.exists(path):
        raise NotInitialised(f"no database file at {path}")
    conn = sqlite3.connect(f"file:{quoted}?mode=ro", uri=True, isolation_level=None, check_same_thread=False,
                           timeout=10)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    if os.access(path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
        raise ReadOnly(f"cannot open {path} for reading")
    if os.path.exists(path + "-wal"):
        # Acts not yet checkpointed live in the -wal file, which `immutable` would ignore:
        # read a private copy of both instead (the copy applies the WAL as SQLite opens it).
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="kaigi-ro-")
        copy = os.path.join(folder, "copy.db")
        shutil.copyfile(path, copy)
        shutil.copyfile(path + "-wal", copy + "-wal")
        return sqlite3.connect(copy, isolation_level=None, check_same_thread=False, timeout=10)
    return sqlite3.connect(f"file:{quoted}?immutable=1", uri=True, isolation_level=None, check_same_thread=False,
                           timeout=10)


class SqlStore:
    """The database of one kaigi. `clock`: where act times come from when the database's
    own clock is not the witness (SQLite always; PostgreSQL when one is given: tests)."""

    def __init__(self, url: str, clock: Callable[[], dt.datetime] | None = None, *,
                 readonly: bool = False, pool: int | None = None) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        self.clock = clock
        self.readonly = readonly
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self.pg = self.dialect == "postgresql"
        # Acts read outside the head first (engine/app/kaigi.py): PostgreSQL, where each read
        # under the head is a round trip every other writer waits out. On SQLite a read costs
        # no round trip and deciding twice would cost more CPU than the head's wait saves.
        self.decides_outside_head = self.pg
        self._sql: dict[str, str] = {}
        self.head_wait = head_wait()
        self.pool_size = pool or POOL
        self._pool: Any = None  # PostgreSQL: the psycopg_pool.ConnectionPool, opened on first use

    # ------------------------------------------------------------ connections
    def connection(self) -> Any:
        """This thread's connection: on PostgreSQL one lent by the pool until this thread's
        transaction ends (`_release`), on SQLite the thread's own. One the server dropped (a
        restart, a killed backend) is replaced rather than failing every call after (psycopg
        marks it closed once a call has found it broken)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self.pg and conn.closed:
            self._forget(conn)
            conn = None
        if conn is None:
            if self.pg:
                conn = self._lend()
            else:
                conn = self._connect()
                with self._lock:
                    self._all.append(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def _borrowed(self) -> Iterator[Any]:
        """A connection for a statement outside any transaction; one lent for it goes back."""
        held = getattr(self._local, "conn", None) is not None
        conn = self.connection()
        try:
            yield conn
        finally:
            if not held:
                self._release()

    def _open_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                import logging

                from psycopg_pool import ConnectionPool

                # A connection it could not make is the caller's error (`_lend`: Unreachable),
                # said once in the face's words; the pool's own warnings would repeat it.
                logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

                # min_size 1: a command that runs once keeps one connection, as before the
                # pool; reconnect_timeout 0: no reconnecting in the background while the
                # server is away, the next request asks for a connection and is told (`_lend`).
                self._pool = ConnectionPool(pg_conninfo(self.url), min_size=1, max_size=self.pool_size,
                                            kwargs={"autocommit": True, "connect_timeout": 10}, open=True,
                                            name="kaigi", timeout=self.head_wait, reconnect_timeout=0)
            return self._pool

    def _lend(self) -> Any:
        """A connection from the pool for this thread. It waits for one at most `head_wait`
        seconds (every connection in use: busy), but not for a server that refuses them: a
        connection attempt failing while it waits is reported at once, as `Unreachable`."""
        from psycopg_pool import PoolTimeout

        pool = self._pool or self._open_pool()
        deadline = time.monotonic() + self.head_wait
        failures = pool.get_stats().get("connections_errors", 0)
        step = 0.02
        while True:
            try:
                conn = pool.getconn(timeout=max(0.001, min(step, deadline - time.monotonic())))
                break
            except PoolTimeout:
                if pool.get_stats().get("connections_errors", 0) > failures:
                    self._connect().close()  # the server's own reason, as Unreachable (or it is back)
                    failures = pool.get_stats().get("connections_errors", 0)
                if time.monotonic() >= deadline:
                    raise PoolBusy(self.pool_size, self.head_wait) from None
                step = min(step * 2, 0.5)
        self._local.lent = (conn, pool)
        return conn

    def _release(self) -> None:
        """Give this thread's pooled connection back. Only an idle one goes back: a
        transaction still open (never expected) is rolled back first, or the connection
        closed, so nothing of one user's transaction (its role, its settings) reaches the
        next. A connection put in its place by someone else (a test's proxy) stays."""
        if self._pool is None:  # SQLite, or PostgreSQL before the pool lent anything: nothing lent
            return
        lent = getattr(self._local, "lent", None)
        if lent is None or getattr(self._local, "conn", None) is not lent[0]:
            return
        conn, pool = lent
        if self._local.__dict__.get("keep") and not conn.closed and conn.info.transaction_status.name == "IDLE":
            return  # kept for the thread's next transaction (`keep`)
        self._local.conn = self._local.lent = None
        if not conn.closed and conn.info.transaction_status.name != "IDLE":
            try:
                conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 (then it is closed below and the pool replaces it)
                pass
            if conn.info.transaction_status.name != "IDLE":
                conn.close()
        pool.putconn(conn)

    def keep(self, on: bool) -> None:
        """With `on`, a pooled connection stays this thread's between its transactions (an act
        that reads before it takes the head: one connection for both, not one from the pool for
        each); with not `on`, it goes back. A connection left mid-transaction goes back anyway."""
        self._local.keep = on
        if not on:
            self._release()

    def _connect(self) -> Any:
        if self.pg:
            import psycopg

            try:
                return psycopg.connect(pg_conninfo(self.url), autocommit=True, connect_timeout=10)
            except psycopg.Error as err:
                raise Unreachable(f"cannot connect to PostgreSQL: {_hide_secrets(_first_line(err))}") from None
        path = sqlite_path(self.url) or ":memory:"
        try:
            if self.readonly:
                conn = _read_only(path)
            else:
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=self.head_wait)
            # The wait for the write lock (BEGIN IMMEDIATE: the head) is the act's bound; WAL
            # readers never take that lock, so reads do not wait on it.
            conn.execute(f"PRAGMA busy_timeout={int(self.head_wait * 1000)}")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")  # an acknowledged act survives a power cut
        except sqlite3.Error as err:
            raise translate(err) from None
        return conn

    # ------------------------------------------------------------ PostgreSQL's roles
    def grant_statements(self, member_roles: Sequence[str]) -> list[str]:
        """The SQL that gives the group roles (and members' login roles) what they may do."""
        from store import pg

        if not self.pg:
            raise StoreError("roles and grants are PostgreSQL's; a SQLite file is guarded by its file permissions")
        with self._borrowed() as conn:
            schema, database = conn.execute("SELECT current_schema(), current_database()").fetchone()
            existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                                   [[*member_roles, *(pg.group_name(database, schema, k)
                                                                       for k in pg.GROUP_KINDS)]]).fetchall()}
        return pg.grants(str(schema), str(database), existing, list(member_roles))

    def group_name(self, kind: str) -> str:
        """PostgreSQL: this installation's group role of a kind (member, auditor, scheduler, web)."""
        from store import pg

        with self._borrowed() as conn:
            schema, database = conn.execute("SELECT current_schema(), current_database()").fetchone()
        return pg.group_name(str(database), str(schema), kind)

    def apply_statements(self, statements: Sequence[str]) -> None:
        """Run `grant_statements` as this connection's role, in one transaction."""
        try:
            with self._borrowed() as conn, conn.transaction():
                for sql in statements:
                    conn.execute(sql)
        except Exception as err:
            raise translate(err) from None

    def is_owner(self) -> bool:
        """PostgreSQL: whether this connection's role owns the schema (it is trusted: it could
        rewrite anything); SQLite: the file's writer always is."""
        if not self.pg:
            return True
        cached = getattr(self, "_owner", None)
        if cached is None:
            with self._borrowed() as conn:
                row = conn.execute("SELECT kaigi_is_owner(kaigi_caller())").fetchone()
            cached = self._owner = bool(row[0])
        return bool(cached)

    def revision(self) -> str | None:
        """The schema's migration revision, or None for a database kaigi has not made."""
        with self._borrowed() as conn:
            try:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            except Exception:  # noqa: BLE001 (no such table)
                return None
        return None if row is None else str(row[0])

    def _forget(self, conn: Any) -> None:
        """Drop a connection the server no longer serves; this thread's next call opens another
        (a pooled one goes back closed: the pool replaces it)."""
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        lent = getattr(self._local, "lent", None)
        for dead in (conn, *(lent[:1] if lent is not None else ())):
            try:
                dead.close()
            except Exception:  # noqa: BLE001 (it is dead already)
                pass
        if lent is not None:
            self._local.lent = None
            self._local.conn = None
            lent[1].putconn(lent[0])

    def _dead(self, conn: Any, err: BaseException) -> bool:
        """Whether `err` means the connection itself is gone (not a refusal or a conflict)."""
        if not self.pg or not isinstance(err, Exception) or not type(err).__module__.startswith("psycopg"):
            return False
        code = getattr(err, "sqlstate", None) or ""
        return bool(conn.closed) or code.startswith(("08", "57P"))

    def _begin(self, statement: str) -> Any:
        """Open a transaction on this thread's connection. A connection found dead here is
        replaced and the BEGIN sent once more: nothing of the transaction has reached the
        server yet, so that retry can repeat nothing (a connection the server dropped on a
        restart is found this way, by the first statement that uses it)."""
        conn = self.connection()
        try:
            conn.execute(statement)
            return conn
        except Exception as err:
            if not self._dead(conn, err):
                self._release()
                raise translate(err, self.head_wait) from None
            self._forget(conn)
        if self._pool is not None:
            self._pool.check()  # a restart dropped every idle connection in the pool too: replace them
        conn = self.connection()
        try:
            conn.execute(statement)
        except Exception as err:
            if self._dead(conn, err):
                self._forget(conn)
            self._release()
            raise translate(err, self.head_wait) from None
        return conn

    def close(self) -> None:
        self._release()
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 (closing is best effort)
                    pass
            self._all.clear()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
        self._local = threading.local()

    def sql(self, text: str) -> str:
        """`:name` parameters in the dialect's style (psycopg: `%(name)s`)."""
        if not self.pg:
            return text
        out = self._sql.get(text)
        if out is None:
            out = _PARAM.sub(r"%(\1)s", text.replace("%", "%%"))
            if len(self._sql) >= 2048:  # texts with ids written in (lists, claims) are many: a server runs for months
                self._sql.clear()
            self._sql[text] = out
        return out

    # ------------------------------------------------------------ transactions
    @contextmanager
    def act(self, *, rollback: bool = False, head: bool = True, item: int | None = None,
            role: str | None = None, expect: ReadSet | None = None) -> Iterator["SqlTx"]:
        """A write transaction; with `head`, the head row is ours until it ends. `item`: an
        item the act will read, fetched with the head in the same statement. `role`
        (PostgreSQL): act as that database role for this transaction (`SET LOCAL ROLE`: the
        web face acting for the member it signed in, so the database still witnesses who).
        `expect`: what a decision read outside the head (`read_set` of a read); once the head
        is ours the store checks, in the same round trip, that none of it has changed, and
        says so in `tx.unchanged`."""
        if self.readonly:
            raise ReadOnly("the database is opened read-only: nothing can be written")
        # PostgreSQL: the wait for any lock in the act, the head's first, is bounded, and the
        # member's role taken, in the same round trip as BEGIN; SQLite: the busy timeout
        # bounds BEGIN IMMEDIATE's wait.
        as_role = '; SET LOCAL ROLE "' + role.replace('"', '""') + '"' if role is not None else ""
        conn = self._begin(f"BEGIN; SET LOCAL lock_timeout = '{int(self.head_wait * 1000)}ms'{as_role}" if self.pg
                           else "BEGIN IMMEDIATE")
        tx = SqlTx(self, conn, write=True, stamped=not head)  # taking the head reads the act's time
        ending = False
        try:
            if head:
                tx.lock_head(item, expect)
            yield tx
            if rollback:
                tx.flush()  # what was sent ahead is checked (and refused) as the act would be
                conn.execute("ROLLBACK")
            else:
                ending = True
                tx.commit()
        except BaseException as err:
            tx.abandon()
            driver = isinstance(err, sqlite3.Error) or type(err).__module__.startswith("psycopg")
            if self._dead(conn, err):
                # Never re-run: the act's statements reached the server. Before its COMMIT
                # the server rolls it back; during it, only the log can say (`_settled`).
                self._forget(conn)
                if ending and not rollback:
                    settled = self._settled(tx)
                    if settled:
                        return  # the COMMIT went through; only its answer was lost
                    if settled is None:
                        raise OutcomeUnknown("the connection to the database broke while the act was being "
                                             "committed; it may or may not be recorded: look at the log before "
                                             "acting again") from None
                raise Lost("the connection to the database broke during the act; nothing was written") from None
            try:
                conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 (the connection may be gone; the error below matters)
                pass
            if driver:
                raise translate(err, self.head_wait) from None
            raise
        finally:
            self._release()

    def _settled(self, tx: "SqlTx") -> bool | None:
        """After a COMMIT whose answer was lost: whether the act is in the log (True), is not
        (False), or nobody can tell yet (None: the server is still away, or the act wrote no
        event to look for). Asked on a new connection after taking the head, which waits
        for our own transaction to end if the server is still finishing it; the act's last
        event is recognised by its sequence number and chain hash, which name it alone."""
        last = tx._head if tx._appended else None
        if last is None:
            return None
        try:
            conn = self._begin(f"BEGIN; SET LOCAL lock_timeout = '{int(self.head_wait * 1000)}ms'")
            try:
                conn.execute("SELECT h_seq FROM kaigi_begin()").fetchone()
                row = conn.execute("SELECT hash FROM event WHERE seq = %s", [last.seq]).fetchone()
            finally:
                conn.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 (not reachable, or busy: unknown)
            return None
        return row is not None and row[0] == last.hash

    @contextmanager
    def read(self) -> Iterator["SqlTx"]:
        """One consistent snapshot: a read transaction (SQLite), REPEATABLE READ (PostgreSQL).
        A read opened inside another on the same thread shares its snapshot. It takes no
        lock a writer holds: on PostgreSQL a snapshot, on SQLite a WAL reader."""
        outer = getattr(self._local, "reading", None)
        if outer is not None:
            yield outer
            return
        conn = self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if self.pg else "BEGIN")
        tx = SqlTx(self, conn, write=False)
        self._local.reading = tx
        try:
            yield tx
        except BaseException as err:
            if self._dead(conn, err):
                self._forget(conn)
            else:
                try:
                    conn.execute("ROLLBACK")
                except Exception:  # noqa: BLE001
                    pass
            if isinstance(err, sqlite3.Error) or type(err).__module__.startswith("psycopg"):
                raise translate(err) from None
            raise
        else:
            try:
                conn.execute("ROLLBACK" if self.pg else "COMMIT")
            except Exception as err:  # noqa: BLE001 (what was read was read; only the connection is in doubt)
                if not self._dead(conn, err):
                    raise translate(err) from None
                self._forget(conn)
        finally:
            self._local.reading = None
            self._release()


class _Where:
    """A WHERE clause built from the filters a query was given (None means no filter)."""

    def __init__(self, first: str = "1 = 1", **params: Any) -> None:
        self.parts, self.params, self.empty = [first], dict(params), False

    def eq(self, column: str, value: Any) -> "_Where":
        if value is not None and value != "":
            name = f"p{len(self.params)}"
            self.parts.append(f"{column} = :{name}")
            self.params[name] = value
        return self

    def cmp(self, column: str, op: str, value: Any) -> "_Where":
        if value is not None:
            name = f"p{len(self.params)}"
            self.parts.append(f"{column} {op} :{name}")
            self.params[name] = value
        return self

    def ref(self, column: str, value: int | None) -> "_Where":
        """`column = value` for an id: one no record can have matches nothing (no driver call)."""
        if value is not None:
            if not storable_id(value):
                self.empty = True
                return self
            return self.cmp(column, "=", value)
        return self

    def among(self, column: str, ids: Sequence[int] | None) -> "_Where":
        if ids is not None:
            ids = [i for i in ids if storable_id(i)]  # out of range: names nothing
            self.empty = self.empty or not ids
            self.parts.append(f"{column} IN (" + (", ".join(str(int(i)) for i in ids) or "NULL") + ")")
        return self

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.parts)


def _hide_secrets(text: str) -> str:
    """A driver's message may quote the connection string: never its password."""
    import re

    text = re.sub(r"(://[^:@/\s\"']*:)[^@\s\"']*@", r"\1***@", text)
    return re.sub(r"(password\s*=\s*)[^\s\"']+", r"\1***", text, flags=re.IGNORECASE)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _same(value: Any) -> Any:
    return value


_NO_TIME = dt.datetime.min.replace(tzinfo=dt.UTC)  # until `lock_head` reads the clock


class SqlTx:
    """One transaction's reads and writes."""

    def __init__(self, store: SqlStore, conn: Any, write: bool, stamped: bool = True) -> None:
        self.s = store
        self.conn = conn
        self.write = write
        self.pg = store.pg
        self.t = _same if self.pg else t_out
        self.identity: str | None = None
        # the time of a transaction without the head; one that takes it reads the clock then
        # (`lock_head`), and a reading here would be thrown away
        self.now: dt.datetime = ((store.clock() if store.clock else dt.datetime.now(dt.UTC)) if stamped
                                 else _NO_TIME)
        self._head: Head | None = None
        self._items: dict[int, ItemRecord] = {}
        self._appended = False  # PostgreSQL: the append function has kept the roster tables
        self.seen: dict[tuple[str, Any], Any] | None = None  # what a tracked read returned (`track`)
        self.unchanged = False  # `expect` held under the head (`lock_head`)
        # PostgreSQL: the pipeline an append opens. The append is sent at once, so the server
        # links and inserts while kaigi seals, folds and saves; the writes after it go down
        # the same pipeline, and its results are read with the COMMIT's (`commit`) or before
        # the next statement whose answer is wanted (`flush`): one wait for the lot
        self._pipe: ExitStack | None = None
        self._answers: list[tuple[Any, list[tuple[int, str]]]] = []  # (append's cursor, expected rows)
        # SQLite: the messages this transaction inserted, by dedupe key, when every one of
        # them was (none met an existing key): its claim of them need not read them back
        self._added: dict[str, DeliveryRecord] = {}

    def x(self, sql: str, params: Any = None) -> Any:
        if self._pipe is not None:
            self.flush()
        return self.conn.execute(self.s.sql(sql), params or {})

    def many(self, sql: str, rows: Sequence[Any]) -> None:
        if not rows:
            return
        if self._pipe is not None:  # after an append: down its pipeline (its answer is not read)
            if len(rows) == 1:  # an act's one row: sent at once, no executemany's machinery
                self.conn.execute(self.s.sql(sql), rows[0])
                return
            cur = self.conn.cursor()
            try:  # (psycopg waits here for what is ahead in the pipeline: a batch, not an act)
                cur.executemany(self.s.sql(sql), rows)
            finally:
                cur.close()
            return
        if len(rows) == 1 and not self.pg:  # an act's one row: no cursor of its own to make and close
            self.conn.execute(sql, rows[0])
            return
        cur = self.conn.cursor()
        try:
            cur.executemany(self.s.sql(sql), rows)
        finally:
            cur.close()

    def all(self, sql: str, params: Any = None) -> list[Any]:
        return list(self.x(sql, params).fetchall())

    def one(self, sql: str, params: Any = None) -> Any:
        return self.x(sql, params).fetchone()

    # ------------------------------------------------------------ the head
    _HEAD_ITEM = ("SELECT h.seq, h.hash, h.at, h.roster_seq, i." + ", i.".join(codec.ITEM_READ)
                  + " FROM log_head h LEFT JOIN item i ON i.id = :item WHERE h.id = 1")

    def lock_head(self, item: int | None = None, expect: ReadSet | None = None) -> None:
        """Take the head (SQLite: BEGIN IMMEDIATE has it already; PostgreSQL: FOR UPDATE) and
        read it, with the database's clock on PostgreSQL and, if asked, an item. With
        `expect`, also read again what a decision read outside the head and set `unchanged`."""
        if item is not None and not storable_id(item):
            item = None  # names no item: nothing to read beside the head
        checks = _checks(expect, self.pg) if expect is not None else []
        found: list[list[Any]] = []
        if item is not None and not self.pg:  # BEGIN IMMEDIATE holds the lock: one read sees it all
            row = self.one(self._HEAD_ITEM, {"item": item})
        elif self.pg:
            # The witness takes the head and reads the database's clock (store/pg.py). It is a
            # statement of its own: a row read in the same statement would come from the
            # snapshot taken before the lock was granted (READ COMMITTED re-reads only the
            # locked row), so an act queued behind another would decide on stale data. The
            # checks are statements after it, each with a snapshot taken once the head is
            # ours, sent with it in one pipeline: one round trip for the lot.
            if checks:
                with self.conn.pipeline():
                    cur = self.conn.execute("SELECT h_seq, h_hash, h_at, h_roster, h_now FROM kaigi_begin()")
                    curs = [self.conn.execute(self.s.sql(sql), params) for _, sql, params in checks]
                row = cur.fetchone()
                found = [c.fetchall() for c in curs]
            else:
                row = self.one("SELECT h_seq, h_hash, h_at, h_roster, h_now FROM kaigi_begin()")
        else:
            row = self.one("SELECT seq, hash, at, roster_seq FROM log_head WHERE id = 1")
        if row is None:
            raise NotInitialised("the event log has no head row; run `kaigi init`")
        self._head = Head(row[0], row[1], t_in(row[2]), row[3])
        if expect is not None:
            if not self.pg:
                found = [self.all(sql, params) for _, sql, params in checks]
            self.unchanged = expect.roster_seq == self._head.roster_seq and _as_read(expect, checks, found)
        if item is not None and not self.pg and row[4] is not None:
            self._items[item] = codec.item_in(row[4:])
        clock = self.s.clock
        self.now = clock() if clock is not None else (row[4] if self.pg else dt.datetime.now(dt.UTC))
        self.now = self.now.astimezone(dt.UTC)

    def head(self) -> Head:
        if self._head is not None:
            return self._head
        row = self.one("SELECT seq, hash, at, roster_seq FROM log_head WHERE id = 1")
        if row is None:
            return Head(0, GENESIS, None, 0)
        h = Head(row[0], row[1], t_in(row[2]), row[3])
        if not self.write:
            self._head = h  # a read is one snapshot: its head does not move
        return h

    # ------------------------------------------------------------ reads
    def roster(self) -> tuple[list[BodyRecord], list[MemberRecord], list[AssignmentRecord],
                              list[DelegationRecord], list[AdoptionRecord]]:
        bodies = [BodyRecord(*r) for r in self.all("SELECT key, kind, ja, en FROM body ORDER BY key")]
        members = [MemberRecord(*r) for r in self.all(
            "SELECT login, name, name_en, email, lang, channel, os_user, db_role FROM member ORDER BY login")]
        assignments = [AssignmentRecord(r[0], r[1], r[2], r[3], r[4], t_in(r[5]), t_in(r[6]))  # type: ignore[arg-type]
                       for r in self.all("SELECT id, login, position, body, team, valid_from, valid_until "
                                         "FROM assignment ORDER BY id")]
        delegations = [DelegationRecord(r[0], r[1], r[2], t_in(r[3]), t_in(r[4]))  # type: ignore[arg-type]
                       for r in self.all("SELECT id, holder, clerk, valid_from, valid_until FROM delegation "
                                         "ORDER BY id")]
        adoptions = [AdoptionRecord(r[0], r[1] if isinstance(r[1], dt.date) else dt.date.fromisoformat(r[1]),
                                    r[2], r[3])
                     for r in self.all("SELECT version, effective_from, sha256, text FROM rulebook_adoption "
                                       "ORDER BY effective_from")]
        return bodies, members, assignments, delegations, adoptions

    _ITEM = "SELECT " + ", ".join(codec.ITEM_READ) + " FROM item"
    _MEETING = "SELECT " + ", ".join(codec.MEETING_COLS[:-1]) + " FROM meeting"

    def _by_id(self, indexed: bool) -> str:
        """`id` as a query orders and pages by it. Where a time's index picks the rows (the
        scheduler's `next_due_at`, a list's `deadline_at`), SQLite is told `+id`: a bare `id`
        makes its planner walk the whole table in id order to save a sort, reading every row
        to find the few due (`EXPLAIN QUERY PLAN`: SCAN item); PostgreSQL plans by its
        statistics and needs no hint."""
        return "+id" if indexed and not self.pg else "id"

    def item(self, item_id: int) -> ItemRecord | None:
        if item_id in self._items:
            return self._items.pop(item_id)
        if not storable_id(item_id):
            return None
        row = self.one(self._ITEM + " WHERE id = :id", {"id": item_id})
        if self.seen is not None:
            self.seen[("item", item_id)] = row
        return codec.item_in(row) if row is not None else None

    def items(self, *, state: str | None = None, body: str | None = None, origin: int | None = None,
              ids: Sequence[int] | None = None, due_by: dt.datetime | None = None, limit: int | None = None,
              after: int = 0) -> list[ItemRecord]:
        by_id = self._by_id(due_by is not None)
        w = (_Where(f"{by_id} > :after", after=after).eq("state", state).eq("body", body).ref("origin", origin)
             .among("id", ids).cmp("next_due_at", "<=", self.t(due_by) if due_by else None))
        if w.empty:
            return []
        if due_by is not None and limit is not None:
            # the scheduler's batch: the `limit` due first, their ids from ix_item_due alone (it
            # covers next_due_at and id), then those rows in id order; not every due row read
            # and sorted by id to keep the first few (a backlog of 10,000 due made that each batch)
            sql = (self._ITEM + " WHERE id IN (SELECT id FROM item" + w.sql()
                   + f" ORDER BY next_due_at, id LIMIT {int(limit)}) ORDER BY id")
            return [codec.item_in(r) for r in self.all(sql, w.params)]
        sql = self._ITEM + w.sql() + f" ORDER BY {by_id}" + (f" LIMIT {int(limit)}" if limit is not None else "")
        return [codec.item_in(r) for r in self.all(sql, w.params)]

    _CARD = "SELECT id, title, state, body, team, origin, updated_at, deadline_at, pillars FROM item"

    def item_cards(self, *, body: str | None = None) -> list[ItemCard]:
        """Every item as a board card, read without decoding its sittings, orders or tallies."""
        return self.item_rows(ItemQuery(body=body))

    def _item_where(self, q: ItemQuery, after: int = 0) -> "_Where":
        """The WHERE of an `ItemQuery`: columns the indexes serve (state, body, deadline_at,
        updated_at) compared as stored, never wrapped in a function."""
        t = self.t
        by_id = self._by_id(q.overdue_at is not None or q.since is not None)
        w = _Where(f"{by_id} > :after", after=after) if after else _Where()
        w.eq("state", q.state).eq("body", q.body).eq("team", q.team)
        w.cmp("deadline_at", "<=", t(q.overdue_at) if q.overdue_at is not None else None)
        if q.not_overdue_at is not None:
            w.params["nod"] = t(q.not_overdue_at)
            w.parts.append("(deadline_at IS NULL OR deadline_at > :nod)")
        w.cmp("updated_at", ">=", t(q.since) if q.since is not None else None)
        if q.origin_only:
            w.parts.append("origin IS NOT NULL")
        if q.origins is not None:  # the items taken from these (ix_item_origin)
            w.among("origin", q.origins)
        if q.pillar is not None:  # R-X1: a key in the JSON list, as written ("key")
            w.params["pil"] = '%"' + q.pillar.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + '"%'
            w.parts.append("pillars LIKE :pil ESCAPE '\\'")
        if q.bodies is not None:  # R-R1: the viewer's bodies, and the items taken from theirs
            names = []
            for n, b in enumerate(q.bodies):
                w.params[f"vb{n}"] = b
                names.append(f":vb{n}")
            also = [str(int(i)) for i in q.also if storable_id(i)]
            seen = [f"body IN ({', '.join(names)})"] if names else []
            if also:
                seen.append(f"id IN ({', '.join(also)})")
            w.parts.append("(" + " OR ".join(seen) + ")" if seen else "1 = 0")
        return w

    def item_rows(self, q: ItemQuery, *, after: int = 0, limit: int | None = None, offset: int = 0,
                  latest: bool = False) -> list[ItemCard]:
        """Light rows (board cards) of the items `q` names: in id order after id `after`
        (keyset pages), or the `latest` changed first (the later id first among
        items changed by one act); `limit` rows from `offset`."""
        w = self._item_where(q, after)
        if w.empty:
            return []
        by_id = self._by_id(q.overdue_at is not None or q.since is not None)
        order = " ORDER BY updated_at DESC, id DESC" if latest else f" ORDER BY {by_id}"
        page = (f" LIMIT {int(limit)}" if limit is not None else (" LIMIT -1" if offset and not self.pg else ""))
        page += f" OFFSET {int(offset)}" if offset else ""
        if q.overdue_at is not None and limit is not None and not latest:
            # the page's ids from the index alone (ix_item_deadline covers deadline_at, state, id),
            # then those rows: not a row read for every overdue item to sort them by id
            sql = (self._CARD + " WHERE id IN (SELECT id FROM item" + w.sql() + order + page + ") ORDER BY id")
        else:
            sql = self._CARD + w.sql() + order + page
        rows = self.all(sql, w.params)
        return [ItemCard(r[0], r[1], r[2], r[3], r[4], r[5], t_in(r[6]), t_in(r[7]),  # type: ignore[arg-type]
                         tuple(orjson.loads(r[8] or "[]"))) for r in rows]

    def count_items(self, q: ItemQuery, *, by_state: bool = False) -> Any:
        """How many items `q` names (an int), or per state (a dict) with `by_state`."""
        w = self._item_where(q)
        if w.empty:
            return {} if by_state else 0
        if by_state:  # overdue: through ix_item_deadline (deadline_at, state), not every row of each state
            group = "+state" if q.overdue_at is not None and not self.pg else "state"
            rows = self.all("SELECT state, count(*) FROM item" + w.sql() + f" GROUP BY {group}", w.params)
            return {r[0]: int(r[1]) for r in rows}
        return int(self.one("SELECT count(*) FROM item" + w.sql(), w.params)[0])

    def meeting(self, meeting_id: int) -> MeetingRecord | None:
        if not storable_id(meeting_id):
            return None
        row = self.one(self._MEETING + " WHERE id = :id", {"id": meeting_id})
        if self.seen is not None:
            self.seen[("meeting", meeting_id)] = row
        return codec.meeting_in(row) if row is not None else None

    def meetings(self, *, ids: Sequence[int] | None = None, status: str | None = None,
                 due_by: dt.datetime | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, after: int | None = None,
                 limit: int | None = None) -> list[MeetingRecord]:
        t = self.t
        w = (_Where().among("id", ids).eq("status", status).cmp("next_due_at", "<=", t(due_by) if due_by else None)
             .cmp("starts_at", ">=", t(since) if since else None).cmp("starts_at", "<", t(until) if until else None)
             .cmp("id", ">", after))
        if w.empty:
            return []
        order = f" ORDER BY {self._by_id(due_by is not None)}" + (f" LIMIT {int(limit)}" if limit is not None else "")
        return [codec.meeting_in(r) for r in self.all(self._MEETING + w.sql() + order, w.params)]

    def orders(self, *, item: int | None = None, ids: Sequence[int] | None = None,
               status: str | None = None, items: Sequence[int] | None = None, after: int | None = None,
               limit: int | None = None) -> list[OrderRecord]:
        w = (_Where().ref("item_id", item).among("id", ids).eq("status", status).among("item_id", items)
             .cmp("id", ">", after))
        if w.empty:
            return []
        rows = self.all(_ORDER_READ + w.sql() + " ORDER BY id" + (f" LIMIT {int(limit)}" if limit is not None else ""),
                        w.params)
        if self.seen is not None and ids is not None and item is None and status is None and items is None:
            got = {r[0]: r for r in rows}
            self.seen.update({("order", i): got.get(i) for i in ids if storable_id(i)})
        return [OrderRecord(r[0], r[1], r[2], r[3], t_in(r[4]), t_in(r[5]), r[6], r[7], r[8], r[9],  # type: ignore[arg-type]
                            t_in(r[10]), r[11]) for r in rows]

    def deliveries(self, *, reminder: str | None = None, status: str | None = None, after: int = 0,
                   limit: int | None = None) -> list[DeliveryRecord]:
        w = _Where().eq("reminder", reminder).eq("status", status).cmp("id", ">", after or None)
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return [_delivery(r) for r in self.all(f"SELECT {DELIVERY_COLS} FROM delivery" + w.sql() + " ORDER BY id"
                                               + tail, w.params)]

    def delivery_leases(self) -> dict[int, tuple[str | None, dt.datetime | None]]:
        return {r[0]: (r[1], t_in(r[2])) for r in self.all("SELECT id, claimed_by, lease_until FROM delivery")}

    def next_due(self) -> dt.datetime | None:
        """The earliest time something is due: a reminder rung, a message retry, a lease end."""
        row = self.one("SELECT (SELECT min(next_due_at) FROM item), (SELECT min(next_due_at) FROM meeting), "
                       "(SELECT min(next_attempt_at) FROM delivery WHERE status = 'pending'), "
                       "(SELECT min(lease_until) FROM delivery WHERE status = 'sending')")
        times = [t_in(v) for v in row if v is not None]
        return min(times) if times else None  # type: ignore[type-var]

    def document(self, sha256: str) -> DocumentRecord | None:
        row = self.one("SELECT sha256, name, media_type, content FROM document WHERE sha256 = :h", {"h": sha256})
        return DocumentRecord(row[0], row[1], row[2], bytes(row[3])) if row is not None else None

    def document_events(self, sha256: str) -> list[EventRecord]:
        """The steps that carry the document `sha256` (an event names it in its payload):
        who may see one of their items may see the document (R-R1)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            return []
        rows = self.all(f"SELECT {EVENT_COLS} FROM event WHERE type = 'ItemAdvanced' AND payload LIKE :p ORDER BY seq",
                        {"p": f"%{sha256}%"})
        return [e for e in map(_event, rows) if e.data.get("document") == sha256]

    def events(self, *, item: int | None = None, meeting: int | None = None, items: Sequence[int] | None = None,
               after: int = 0, limit: int | None = None) -> list[EventRecord]:
        w = (_Where("seq > :after", after=after).ref("item_id", item).ref("meeting_id", meeting)
             .among("item_id", items))
        if w.empty:
            return []
        sql = f"SELECT {EVENT_COLS} FROM event" + w.sql() + " ORDER BY seq"
        return [_event(r) for r in self.all(sql + (f" LIMIT {int(limit)}" if limit is not None else ""), w.params)]

    def _batches(self, name: str, batch: int, after: int = 0, until: int | None = None) -> Iterator[tuple[Any, ...]]:
        """Every event row in order (after `after`, up to `until`), fetched in batches (a
        server-side cursor on PostgreSQL): flat memory."""
        cur = self.conn.cursor(name) if self.pg else self.conn.cursor()
        try:
            bounds = ([f"seq > {int(after)}"] if after else []) + ([f"seq <= {int(until)}"] if until is not None else [])
            where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
            cur.execute(f"SELECT {EVENT_COLS} FROM event{where} ORDER BY seq")
            while rows := cur.fetchmany(batch):
                yield from rows
        finally:
            cur.close()

    def stream(self, batch: int = 5000) -> Iterator[EventRecord]:
        """Every event in order, streamed in batches (flat memory): the auditor's pass."""
        return (_event(r) for r in self._batches("kaigi_audit", batch))

    def stream_rows(self, batch: int = 5000, after: int = 0, until: int | None = None) -> Iterator[tuple[Any, ...]]:
        """Every event (after `after`, up to `until`: one segment of a parallel verify) as a
        plain row in order, its time as the very text that was hashed (`chain.instant`): what
        the auditor's chain pass reads, without building records."""
        for r in self._batches("kaigi_audit_rows", batch, after, until):
            at = r[1]
            if isinstance(at, str) and len(at) == 26:  # SQLite: naive UTC with microseconds
                at = f"{at[:10]}T{at[11:]}+00:00"
            else:
                at = instant(t_in(at))  # type: ignore[arg-type]
            yield (r[0], at, *r[2:12], r[12] if r[12] is not None else 1, r[13] if r[13] is not None else 1)

    def max_id(self, kind: str) -> int:
        table = {"item": "item", "meeting": "meeting", "order": "investigation_order", "assignment": "assignment",
                 "delegation": "delegation", "token": "api_token"}[kind]
        row = self.one(f"SELECT coalesce(max(id), 0) FROM {table}")
        if self.seen is not None:
            self.seen[("max", kind)] = int(row[0])
        return int(row[0])

    # ------------------------------------------------------------ what a decision read
    def track(self) -> None:
        """From now on remember what `item`, `meeting`, `orders(ids=…)` and `max_id` return,
        as the rows they came from (`read_set`)."""
        self.seen = {}

    def read_set(self) -> ReadSet:
        """What was read since `track`, with the roster mark of this snapshot: for an act to
        check under the head (`SqlStore.act(expect=…)`). Tracking ends here (a read inside
        another on the same thread shares its transaction)."""
        seen, self.seen = self.seen or {}, None
        return ReadSet(self.head().roster_seq, seen)

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM kaigi_meta WHERE key = :k", {"k": key})
        return None if row is None else row[0]

    def session_role(self) -> str | None:
        """PostgreSQL: the role in effect (a `SET ROLE` the session made, else the login role
        the server authenticated); SQLite has none."""
        if not self.pg:
            return None
        row = self.one("SELECT coalesce(nullif(current_setting('role'), 'none'), session_user)")
        return str(row[0])

    def credential(self, login: str) -> str | None:
        row = self.one("SELECT hash FROM credential WHERE login = :l", {"l": login})
        return None if row is None else row[0]

    def credential_commitments(self) -> dict[str, str]:
        """login -> sha256 of the stored password hash: what `audit verify` checks against
        the log (R-I5). On PostgreSQL a function computes it, so the auditor never reads a hash."""
        if self.pg:
            rows = self.all("SELECT login, digest FROM kaigi_credential_commitments()")
            return {r[0]: r[1] for r in rows}
        return {r[0]: hashlib.sha256(r[1].encode("utf-8")).hexdigest()
                for r in self.all("SELECT login, hash FROM credential")}

    def tokens(self, login: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, login, name, digest, created_at, expires_at, revoked_at FROM api_token"
        rows = self.all(sql + (" WHERE login = :l" if login else "") + " ORDER BY id", {"l": login} if login else {})
        return [_token(r) for r in rows]

    def web_session(self, digest: str) -> dict[str, Any] | None:
        row = self.one("SELECT login, credential, created_at, expires_at, ended_at, id_token FROM web_session "
                       "WHERE digest = :d", {"d": digest})
        return None if row is None else {"login": row[0], "credential": row[1], "created_at": t_in(row[2]),
                                         "expires_at": t_in(row[3]), "ended_at": t_in(row[4]), "id_token": row[5]}

    def token_by_hash(self, digest: str) -> dict[str, Any] | None:
        row = self.one("SELECT id, login, name, digest, created_at, expires_at, revoked_at FROM api_token "
                       "WHERE digest = :d", {"d": digest})
        return None if row is None else _token(row)

    # ------------------------------------------------------------ writes
    def _writable(self) -> None:
        if not self.write:
            raise StoreError("a read transaction cannot write")

    def append(self, actor: str, authority: str, identity: str, rulebook: str,
               events: Sequence[NewEvent]) -> list[EventRecord]:
        """Chain the events onto the head, insert them in one statement, move the head."""
        self._writable()
        h = self._head
        if h is None:
            raise StoreError("append needs the head: open the transaction with head=True")
        if h.at is not None and self.now < h.at:
            raise ClockBehind(self.now.isoformat(), h.at.isoformat())
        if self.pg:  # the database appends and moves the head; sent now, read with the COMMIT
            return self._append_pg(h, actor, authority, identity, rulebook, events)
        records = seal(h.seq, h.hash, self.now, actor, authority, identity, rulebook, events)
        roster = max([h.roster_seq] + [r.seq for r, e in zip(records, events, strict=True) if e.roster])
        # positional parameters, in EVENT_COLS's order: sqlite3 binds a tuple without a
        # lookup per name (an act of the scheduler appends a thousand events)
        at = self.t(records[0].at)
        self.many(_INSERT_EVENT, [(r.seq, at, r.actor, r.authority, r.rulebook, r.item, r.meeting, r.type, r.payload,
                                   r.prev_hash, r.hash, r.identity, r.schema, r.v) for r in records])
        self._move_head(records[-1], roster)
        return records

    _COLS = ("seq", "at", "actor", "authority", "rulebook", "item_id", "meeting_id", "type", "payload", "prev_hash",
             "hash", "identity", "schema", "v")

    def _append_pg(self, h: Head, actor: str, authority: str, identity: str, rulebook: str,
                   events: Sequence[NewEvent]) -> list[EventRecord]:
        """The database appends (store/pg.py): it stamps the actor's role and the time, links
        the chain itself and moves the head. The call is sent at once, in a pipeline opened
        for the rest of the act, and the links are computed here while the server makes its
        own: they must be the same (`flush` compares them before anything is kept); a
        difference would mean two encodings of one event, and nothing is kept."""
        payload = orjson.dumps([{"type": e.type, "schema": e.schema, "payload": e.payload, "item": e.item,
                                 "meeting": e.meeting, "roster": e.roster} for e in events]).decode()
        if self._pipe is None:
            stack = ExitStack()
            stack.enter_context(self.conn.pipeline())
            self._pipe = stack
        cur = self.conn.execute(self.s.sql(self._APPEND), {
            "actor": actor, "authority": authority, "identity": identity, "rulebook": rulebook, "at": self.now,
            "events": payload})
        records = seal(h.seq, h.hash, self.now, actor, authority, identity, rulebook, events)
        self._answers.append((cur, [(r.seq, r.hash) for r in records]))
        roster = max([h.roster_seq] + [r.seq for r, e in zip(records, events, strict=True) if e.roster])
        last = records[-1]
        self._appended = True
        self._head = Head(last.seq, last.hash, last.at, roster)
        return records

    _APPEND = ("SELECT e_seq, e_hash FROM kaigi_append(:actor, :authority, :identity, :rulebook, :at, "
               "CAST(:events AS jsonb))")
    # the head is where the append left it, or the statement fails (and with it the COMMIT
    # sent behind it): 1 / 0 where the column differs, which no planner can fold away
    _HEAD_IS = "SELECT 1 / (CASE WHEN seq = %(seq)s AND hash = %(hash)s THEN 1 ELSE 0 END) FROM log_head WHERE id = 1"
    _LINKED = ("the database linked the chain differently from kaigi's own encoding; nothing was written")

    def flush(self, then: Sequence[tuple[str, Any]] = ()) -> None:
        """Finish the pipeline an append opened: send `then` (statement, params) down it, wait
        for every result, and check that the database linked the events as kaigi did. With
        the COMMIT in `then`, a check that the head is our last event goes before it in the
        pipeline: a difference fails that statement, and PostgreSQL skips the COMMIT behind a
        failed statement, so nothing is kept."""
        pipe, self._pipe = self._pipe, None
        answers, self._answers = self._answers, []
        if pipe is None:
            for sql, params in then:
                self.conn.execute(sql, params) if params is not None else self.conn.execute(sql)
            return
        expected = [row for _, want in answers for row in want]
        try:
            with pipe:  # its end: a Sync, and every result read (the first error raised)
                if then and expected:
                    self.conn.execute(self._HEAD_IS, {"seq": expected[-1][0], "hash": expected[-1][1]})
                for sql, params in then:
                    self.conn.execute(sql, params)
        except Exception as err:
            if getattr(err, "sqlstate", None) == "22012":
                raise StoreError(self._LINKED) from None
            raise
        got = [(int(a), b) for cur, _ in answers for a, b in cur.fetchall()]
        if got != expected:
            raise StoreError(self._LINKED)

    def abandon(self) -> None:
        """An act that failed after its append: end the pipeline (its results are dropped; the
        transaction is rolled back or the connection forgotten next)."""
        pipe, self._pipe, self._answers = self._pipe, None, []
        if pipe is not None:
            try:
                pipe.close()
            except Exception:  # noqa: BLE001 (the act's own error is the one to report)
                pass

    def commit(self) -> None:
        """COMMIT, with whatever was sent ahead (`flush`)."""
        self.flush(then=[("COMMIT", None)])

    def _event_row(self, r: EventRecord) -> dict[str, Any]:
        return {"seq": r.seq, "at": self.t(r.at), "actor": r.actor, "authority": r.authority, "rulebook": r.rulebook,
                "item_id": r.item, "meeting_id": r.meeting, "type": r.type, "payload": r.payload,
                "prev_hash": r.prev_hash, "hash": r.hash, "identity": r.identity, "schema": r.schema, "v": r.v}

    def _move_head(self, last: EventRecord, roster: int) -> None:
        new = Head(last.seq, last.hash, last.at, roster)
        self.x("UPDATE log_head SET seq = :seq, hash = :hash, at = :at, roster_seq = :roster WHERE id = 1",
               {"seq": new.seq, "hash": new.hash, "at": self.t(new.at), "roster": new.roster_seq})
        self._head = new

    def put_raw_event(self, record: EventRecord, roster: bool = True) -> None:
        """Import: an event exactly as exported; its chain link was checked by the caller."""
        self._writable()
        self.x("INSERT INTO event (" + EVENT_COLS + ") VALUES (:seq, :at, :actor, :authority, :rulebook, "
               ":item_id, :meeting_id, :type, :payload, :prev_hash, :hash, :identity, :schema, :v)",
               self._event_row(record))
        h = self._head or self.head()
        self._head = h
        self._move_head(record, record.seq if roster else h.roster_seq)

    def save(self, rows: Iterable[tuple[str, Any, Any]]) -> None:
        """Write each changed record to its table: (kind, new, old), old None for a new one."""
        self._writable()
        groups: dict[str, list[dict[str, Any]]] = {}
        t = self.t
        for kind, new, old in rows:
            if self._appended and kind in _KEPT_BY_THE_DATABASE:
                continue
            if old is None:
                groups.setdefault(_INSERT[kind], []).append(_ROW[kind](new, t))
            elif kind in _CHANGES:  # only the columns that changed (the statement's text is made once)
                row = _CHANGES[kind](new, old, t)
                if len(row) > 1:
                    groups.setdefault(_update_of(kind, tuple(row)), []).append(row)
            else:
                groups.setdefault(_UPDATE[kind], []).append(_ROW[kind](new, t))
        for sql, values in groups.items():
            self.many(sql, values)

    def put_document(self, doc: DocumentRecord) -> None:
        """Keep a document under the sha256 of its content (events name it by that hash)."""
        self._writable()
        if hashlib.sha256(doc.content).hexdigest() != doc.sha256:
            raise StoreError("a document is kept under the sha256 of its content")
        self.x("INSERT INTO document (sha256, name, media_type, content, created_at) VALUES (:h, :n, :m, :c, :at) "
               "ON CONFLICT (sha256) DO NOTHING",
               {"h": doc.sha256, "n": doc.name, "m": doc.media_type, "c": doc.content, "at": self.t(self.now)})

    def clear_projections(self) -> None:
        """Empty every projection table (a rebuild from the log follows, in this transaction)."""
        self._writable()
        for table in ("item", "meeting", "investigation_order", "assignment", "delegation", "member", "body",
                      "rulebook_adoption"):
            self.x(f"DELETE FROM {table}")

    def reset_head_roster(self) -> None:
        """After a rebuild every cached roster is stale: the head's roster mark moves to its end."""
        h = self.head()
        self.x("UPDATE log_head SET roster_seq = :s, at = :at WHERE id = 1", {"s": h.seq, "at": self.t(self._last_at())})
        self._head = Head(h.seq, h.hash, self._last_at(), h.seq)

    def _last_at(self) -> dt.datetime | None:
        row = self.one("SELECT at FROM event ORDER BY seq DESC LIMIT 1")
        return None if row is None else t_in(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.x("INSERT INTO kaigi_meta (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value = :v",
               {"k": key, "v": value})

    _ADD_DELIVERY = ("INSERT INTO delivery (dedupe_key, reminder, item_id, meeting_id, rung, recipient, channel, "
                     "address, message_id, subject, body, ics, status, attempts, next_attempt_at, created_at, "
                     "attachment) VALUES (:dedupe_key, :reminder, :item_id, :meeting_id, :rung, :recipient, :channel, "
                     ":address, :message_id, :subject, :body, :ics, :status, :attempts, :next_attempt_at, "
                     ":created_at, :attachment) ON CONFLICT (dedupe_key) DO NOTHING")
    _ADD_DELIVERY_AT = _ADD_DELIVERY.split(" VALUES ")[0] + " VALUES (" + ", ".join("?" * 17) + \
        ") ON CONFLICT (dedupe_key) DO NOTHING"

    def add_deliveries(self, rows: Sequence[DeliveryRecord]) -> None:
        """Insert messages; one that exists already (same dedupe key) is left alone."""
        self._writable()
        if not rows:
            return
        t, created = self.t, self.t(self.now)
        if self.pg:
            values = [{"dedupe_key": d.dedupe_key, "reminder": d.reminder, "item_id": d.item,
                       "meeting_id": d.meeting, "rung": d.rung, "recipient": d.recipient, "channel": d.channel,
                       "address": d.address, "message_id": d.message_id, "subject": d.subject, "body": d.body,
                       "ics": d.ics, "status": d.status, "attempts": d.attempts,
                       "next_attempt_at": t(d.next_attempt_at), "created_at": created, "attachment": d.attachment}
                      for d in rows]
            self.many(self._ADD_DELIVERY, values)
            return
        # SQLite: positional parameters, in _ADD_DELIVERY's order (sqlite3 binds a tuple without
        # a lookup per name: a pass inserts a message per reminder)
        cur = self.conn.cursor()
        try:
            cur.executemany(self._ADD_DELIVERY_AT, [
                (d.dedupe_key, d.reminder, d.item, d.meeting, d.rung, d.recipient, d.channel, d.address, d.message_id,
                 d.subject, d.body, d.ics, d.status, d.attempts, t(d.next_attempt_at), created, d.attachment)
                for d in rows])
            inserted = cur.rowcount
        finally:
            cur.close()
        if inserted == len(rows) and len({d.dedupe_key for d in rows}) == len(rows):
            # each row is now what we hold, but for its id (`claim_deliveries` reads that)
            self._added.update((d.dedupe_key, d) for d in rows)

    def claim_deliveries(self, now: dt.datetime, worker: str, lease: dt.timedelta,
                         limit: int) -> list[DeliveryRecord]:
        """Claim due messages atomically: UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED).

        Why a claim with a lease rather than a leader lock: correctness is per row and in
        the data, every scheduler runs the same code with no election, a crash releases
        the row locks, and an expired lease (`sending` past `lease_until`) hands a message
        a dead scheduler claimed to the next one (LIBRARIES.md 3.5).
        """
        self._writable()
        lock = " FOR UPDATE SKIP LOCKED" if self.pg else ""
        added, self._added = self._added, {}  # (what is left unclaimed may yet change in this transaction)
        claim = ("UPDATE delivery SET status = 'sending', claimed_by = :w, lease_until = :lease, "
                 "attempts = attempts + 1 WHERE id IN (SELECT id FROM delivery WHERE (status = 'pending' AND "
                 "next_attempt_at <= :now) OR (status = 'sending' AND lease_until < :now) "
                 "ORDER BY next_attempt_at, id LIMIT :limit" + lock + ") RETURNING ")
        params = {"w": worker, "lease": self.t(now + lease), "now": self.t(now), "limit": int(limit)}
        if not added:
            rows = self.all(claim + DELIVERY_COLS, params)
            return sorted((_delivery(r) for r in rows), key=lambda d: d.id)
        # the messages this transaction inserted are claimed without reading their texts back:
        # the claim changed their status and attempts, and gave them their ids
        out, unknown = [], []
        for id_, key, status, attempts in self.all(claim + "id, dedupe_key, status, attempts", params):
            d = added.pop(key, None)
            if d is None:
                unknown.append(int(id_))
            else:
                out.append(_claimed(d, {"id": id_, "status": status, "attempts": attempts}))
        for start in range(0, len(unknown), 500):  # bounded IN lists
            chunk = ", ".join(str(i) for i in unknown[start:start + 500])
            out += [_delivery(r) for r in self.all(f"SELECT {DELIVERY_COLS} FROM delivery WHERE id IN ({chunk})")]
        return sorted(out, key=lambda d: d.id)

    def settle_delivery(self, delivery_id: int, worker: str, **values: Any) -> bool:
        """Settle a claimed message; False if another scheduler's lease took it over."""
        self._writable()
        sets = ", ".join(f"{k} = :{k}" for k in values)
        params = {k: (self.t(v) if isinstance(v, dt.datetime) else v) for k, v in values.items()}
        cur = self.x(f"UPDATE delivery SET {sets} WHERE id = :id AND claimed_by = :w AND status = 'sending'",
                     {**params, "id": delivery_id, "w": worker})
        return bool(cur.rowcount == 1)

    def settle_sent(self, ids: Sequence[int], worker: str, sent_at: dt.datetime) -> set[int]:
        """Mark a batch of claimed messages sent, in one statement (not one per message): the
        ids this worker still held; one whose lease another scheduler took over is left."""
        self._writable()
        done: set[int] = set()
        keys = [int(i) for i in ids]
        for start in range(0, len(keys), 500):  # bounded IN lists
            chunk = ", ".join(str(i) for i in keys[start:start + 500])
            rows = self.all("UPDATE delivery SET status = 'sent', sent_at = :at, last_error = NULL "
                            f"WHERE claimed_by = :w AND status = 'sending' AND id IN ({chunk}) RETURNING id",
                            {"at": self.t(sent_at), "w": worker})
            done.update(int(r[0]) for r in rows)
        return done

    def release_deliveries(self, ids: Sequence[int], worker: str) -> None:
        """Hand back claimed, unsent messages; the claim does not count as an attempt."""
        if not ids:
            return
        self.x("UPDATE delivery SET status = 'pending', claimed_by = NULL, lease_until = NULL, "
               "attempts = attempts - 1 WHERE claimed_by = :w AND status = 'sending' AND id IN ("
               + ", ".join(str(int(i)) for i in ids) + ")", {"w": worker})

    def set_credential(self, login: str, hashed: str) -> None:
        """Keep a member's password hash, right after its CredentialSet (R-I5). On PostgreSQL
        no member's role writes the table: `kaigi_set_credential` takes the hash only if its
        sha256 is the commitment of the CredentialSet this member just appended for himself."""
        self._writable()
        if self.pg:
            self.x("SELECT kaigi_set_credential(:l, :h)", {"l": login, "h": hashed})
            return
        self.x("INSERT INTO credential (login, hash, set_at) VALUES (:l, :h, :at) "
               "ON CONFLICT (login) DO UPDATE SET hash = :h, set_at = :at", {"l": login, "h": hashed,
                                                                           "at": self.t(self.now)})

    def add_token(self, token_id: int, login: str, name: str, digest: str, expires_at: dt.datetime | None,
                  created_at: dt.datetime) -> None:
        """The api_token row of a TokenCreated (on PostgreSQL the append function wrote it;
        an import, appending as the owner without it, writes the row here)."""
        self._writable()
        if self.pg and self._appended:
            return
        self.x("INSERT INTO api_token (id, login, name, digest, created_at, expires_at) VALUES "
               "(:id, :l, :n, :d, :c, :e)", {"id": token_id, "l": login, "n": name, "d": digest,
                                              "c": self.t(created_at), "e": self.t(expires_at)})

    def revoke_token(self, token_id: int, at: dt.datetime) -> None:
        """The row of a TokenRevoked (on PostgreSQL the append function wrote it)."""
        self._writable()
        if self.pg and self._appended:
            return
        self.x("UPDATE api_token SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL",
               {"id": token_id, "at": self.t(at)})

    def open_web_session(self, digest: str, login: str, credential: str | None, created_at: dt.datetime,
                         expires_at: dt.datetime, id_token: str | None = None) -> None:
        self._writable()
        self.x("INSERT INTO web_session (digest, login, credential, created_at, expires_at, id_token) VALUES "
               "(:d, :l, :c, :at, :until, :idt)", {"d": digest, "l": login, "c": credential, "at": self.t(created_at),
                                                    "until": self.t(expires_at), "idt": id_token})

    def end_web_session(self, digest: str, at: dt.datetime) -> None:
        self._writable()
        self.x("UPDATE web_session SET ended_at = :at WHERE digest = :d AND ended_at IS NULL",
               {"d": digest, "at": self.t(at)})


_ORDER_READ = ("SELECT id, item_id, issued_by, \"to\", issued_at, due_at, status, note, finding, reason, settled_at, "
               "version FROM investigation_order")
_CHECKED = {"item": SqlTx._ITEM, "meeting": SqlTx._MEETING, "order": _ORDER_READ}
_MAX_TABLE = {"item": "item", "meeting": "meeting", "order": "investigation_order", "assignment": "assignment",
              "delegation": "delegation", "token": "api_token"}


def _checks(expect: ReadSet, pg: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """The statements that read again what `expect` saw: one per kind of record (by id), one
    for the largest ids; each (kind, statement, parameters). The ids are parameters, never
    written into the text: the same few statements come back act after act, so the driver
    prepares each once (PostgreSQL: planned once per connection; SQLite: kept in the
    connection's statement cache) instead of parsing and planning a new text with the head
    held (~0.2 ms of the backend's CPU an act on PostgreSQL)."""
    ids: dict[str, list[int]] = {}
    maxes: list[str] = []
    for kind, key in expect.rows:
        if kind == "max":
            maxes.append(key)
        else:
            ids.setdefault(kind, []).append(int(key))
    out: list[tuple[str, str, dict[str, Any]]] = []
    for kind, found in sorted(ids.items()):
        if len(found) == 1:
            out.append((kind, _CHECKED[kind] + " WHERE id = :id", {"id": found[0]}))
        elif pg:
            out.append((kind, _CHECKED[kind] + " WHERE id = ANY(:ids)", {"ids": sorted(found)}))
        else:
            out.append((kind, _CHECKED[kind] + " WHERE id IN (SELECT value FROM json_each(:ids))",
                        {"ids": orjson.dumps(sorted(found)).decode()}))
    if maxes:
        out.append(("max", "SELECT " + ", ".join(f"(SELECT coalesce(max(id), 0) FROM {_MAX_TABLE[k]})"
                                                 for k in maxes), {}))
    return out


def _as_read(expect: ReadSet, checks: list[tuple[str, str, dict[str, Any]]], found: list[list[Any]]) -> bool:
    """Whether every row `expect` saw is still the same row (or still absent)."""
    now: dict[tuple[str, Any], Any] = {}
    for (kind, _sql, _params), rows in zip(checks, found, strict=True):
        if kind == "max":
            maxes = [k for c, k in expect.rows if c == "max"]
            now.update({("max", k): int(v) for k, v in zip(maxes, rows[0], strict=True)})
        else:
            now.update({(kind, r[0]): tuple(r) for r in rows})
    return all(now.get(key) == (tuple(row) if isinstance(row, (tuple, list)) else row)
               for key, row in expect.rows.items())


def _event(r: Any) -> EventRecord:
    return EventRecord(r[0], t_in(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],  # type: ignore[arg-type]
                       r[12] if r[12] is not None else 1, r[13] if r[13] is not None else 1)


def _delivery(r: Any) -> DeliveryRecord:
    return DeliveryRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                          t_in(r[13]), r[14], t_in(r[15]), r[16], r[17], r[18])  # type: ignore[arg-type]


_claimed = copier(DeliveryRecord)  # a message as inserted, with what its claim changed


def _token(r: Any) -> dict[str, Any]:
    return {"id": r[0], "login": r[1], "name": r[2], "digest": r[3], "created_at": t_in(r[4]),
            "expires_at": t_in(r[5]), "revoked_at": t_in(r[6])}


def _cols(cols: Sequence[str]) -> tuple[str, str]:
    return ", ".join(f'"{c}"' if c == "to" else c for c in cols), ", ".join(f":{c}" for c in cols)


def _insert(table: str, cols: Sequence[str]) -> str:
    names, values = _cols(cols)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


def _update(table: str, cols: Sequence[str], key: str) -> str:
    sets = ", ".join(f'{chr(34) + c + chr(34) if c == "to" else c} = :{c}' for c in cols if c != key)
    return f"UPDATE {table} SET {sets} WHERE {key} = :{key}"


_ORDER_COLS = ("id", "item_id", "issued_by", "to", "issued_at", "due_at", "status", "note", "finding", "reason",
               "settled_at", "version")
_TABLES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "item": ("item", codec.ITEM_COLS, "id"),
    "meeting": ("meeting", codec.MEETING_COLS, "id"),
    "order": ("investigation_order", _ORDER_COLS, "id"),
    "member": ("member", ("login", "name", "name_en", "email", "lang", "channel", "os_user", "db_role"), "login"),
    "assignment": ("assignment", ("id", "login", "position", "body", "team", "valid_from", "valid_until"), "id"),
    "delegation": ("delegation", ("id", "holder", "clerk", "valid_from", "valid_until"), "id"),
    "body": ("body", ("key", "kind", "ja", "en"), "key"),
    "adoption": ("rulebook_adoption", ("version", "effective_from", "sha256", "text"), "version"),
}
_INSERT = {k: _insert(t, c) for k, (t, c, _) in _TABLES.items()}
# PostgreSQL's append function writes these itself, from the events (store/pg.py)
_KEPT_BY_THE_DATABASE = frozenset({"member", "delegation", "assignment", "body", "adoption"})
_UPDATE = {k: _update(t, c, key) for k, (t, c, key) in _TABLES.items()}
# items and meetings are updated in the columns an act changed (codec.item_changes), by an
# UPDATE made once for each set of columns
_CHANGES: dict[str, Callable[[Any, Any, Any], dict[str, Any]]] = {"item": codec.item_changes,
                                                                   "meeting": codec.meeting_changes}
_UPDATES: dict[tuple[str, tuple[str, ...]], str] = {}


def _update_of(kind: str, cols: tuple[str, ...]) -> str:
    sql = _UPDATES.get((kind, cols))
    if sql is None:
        sql = _UPDATES[(kind, cols)] = _update(_TABLES[kind][0], cols, _TABLES[kind][2])
    return sql


def _plain(fields: Sequence[str], times: Sequence[str]) -> Callable[[Any, Any], dict[str, Any]]:
    def row(r: Any, t: Any) -> dict[str, Any]:
        return {f: (t(getattr(r, f)) if f in times else getattr(r, f)) for f in fields}
    return row


def _order_row(o: OrderRecord, t: Any) -> dict[str, Any]:
    return {"id": o.id, "item_id": o.item, "issued_by": o.issued_by, "to": o.to, "issued_at": t(o.issued_at),
            "due_at": t(o.due_at), "status": o.status, "note": o.note, "finding": o.finding, "reason": o.reason,
            "settled_at": t(o.settled_at), "version": o.version}


def _adoption_row(a: AdoptionRecord, t: Any) -> dict[str, Any]:
    return {"version": a.version, "effective_from": a.effective_from.isoformat(), "sha256": a.sha256,
            "text": a.text}


_ROW: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "item": lambda r, t: codec.item_row(r, t),
    "meeting": lambda r, t: codec.meeting_row(r, t),
    "order": _order_row,
    "member": _plain(_TABLES["member"][1], ()),
    "assignment": _plain(_TABLES["assignment"][1], ("valid_from", "valid_until")),
    "delegation": _plain(_TABLES["delegation"][1], ("valid_from", "valid_until")),
    "body": _plain(_TABLES["body"][1], ()),
    "adoption": _adoption_row,
}


def loads(text: str) -> Any:
    return orjson.loads(text)
