"""Fixtures: every storage test runs on SQLite and, when KAIGI_TEST_PG_URL is set, PostgreSQL;
the rule tests also run on the memory store (the fast tier).

PostgreSQL tests get a schema of their own (search_path in the URL), dropped afterwards,
so they run against a real server without touching anything else in the database. Under
pytest-xdist (`make test` runs `-n`) each worker also gets a database of its own, made at
its start from KAIGI_TEST_PG_URL's and dropped at its end (`test_gw0_<run>`, ...).
"""

import datetime as dt
import os
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from click.testing import CliRunner, Result

from engine.app import bootstrap
from engine.app.kaigi import Kaigi
from engine.infra.clock import FrozenClock
from engine.infra.timeutil import JST
from store import open_store



def _worker_pg_url(url: str | None) -> str | None:
    """The database this pytest-xdist worker uses: KAIGI_TEST_PG_URL's name + worker + run
    (two runs on one cluster, or two workers of one run, never share a database)."""
    worker, run = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not url or not worker or not run:
        return url
    base, sep, query = url.partition("?")
    head, db = base.rsplit("/", 1)
    return f"{head}/{db}_{worker}_{run[:8]}{sep}{query}"


BASE_PG_URL = os.environ.get("KAIGI_TEST_PG_URL")
PG_URL = _worker_pg_url(BASE_PG_URL)
PG_SKIP = "PostgreSQL tests need KAIGI_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=JST)


# The files that run longest (`--durations` summed by file: the first two a minute or more of one
# worker's time, the last ~15 s), longest first: under `make test` (xdist, --dist loadfile
# --no-loadscope-reorder) a worker is never left alone at the end with one of them; xdist's own
# reorder (most tests first) started them last.
LONGEST_FIRST = ("tests/web/test_accessibility.py", "tests/cli/test_readme.py", "tests/bench/test_bench_smoke.py",
                 "tests/web/test_api_fuzz.py", "tests/cli/test_sent_once.py", "tests/cli/test_reconnect.py", "tests/web/test_browser.py",
                 "tests/web/test_quarter.py", "tests/cli/test_packaging.py", "tests/cli/test_bad_input.py",
                 "tests/cli/test_guide_walk.py", "tests/properties/test_web_fuzz.py")


TMPFS = "/dev/shm"
TMPFS_FREE = 2 << 30  # a whole run's files (wheels, venvs, databases, PDFs): ~300 MB, pytest keeps three runs


def _tmpfs() -> str | None:
    """/dev/shm when it is a tmpfs we may write with room to spare (a container's is often 64 MB)."""
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            if not any(f[1:3] == [TMPFS, "tmpfs"] for f in (line.split() for line in mounts)):
                return None
        st = os.statvfs(TMPFS)
    except OSError:
        return None
    if not os.access(TMPFS, os.W_OK | os.X_OK) or st.f_bavail * st.f_frsize < TMPFS_FREE:
        return None
    return TMPFS


def _compile_kaigi() -> None:
    """The bytecode of kaigi's own modules, written once before the run (only what changed since
    the last; ~0.3 s for all). Hundreds of tests start `kaigi` or `python -c "import cli"` as
    real processes; with PYTHONDONTWRITEBYTECODE=1 (as on the machines the suite runs on) no
    process writes a .pyc, so each compiled the editable project's ~130 modules from source:
    ~0.6 s of CPU a start instead of ~0.2 s (bench/startup.py --bytecode env shows it). The
    .pyc files land where Python itself puts them (__pycache__/, ignored by git; under
    PYTHONPYCACHEPREFIX when that is set) and are checked against their source on each import."""
    import compileall
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    try:
        for package in ("engine", "store", "web", "workflows", "bench"):
            compileall.compile_dir(root / package, quiet=2)
        compileall.compile_file(root / "cli.py", quiet=2)
    except OSError:
        pass  # a read-only checkout: the processes compile as before
    from engine import i18n

    i18n.catalog()  # and the message catalog's parse kept beside it, which they read (engine.i18n._load)
    import engine.app.kaigi  # noqa: F401  # and the records' methods, compiled once and kept (store.frozen)
    from store import frozen

    frozen.keep()


def pytest_configure(config: pytest.Config) -> None:
    """Before the run, in the main process: kaigi's bytecode (`_compile_kaigi`), and the tests'
    files (tmp_path, the templates, every process they start) on tmpfs when there is one and
    neither --basetemp nor TMPDIR says otherwise: SQLite's `synchronous=FULL` fsyncs each commit,
    which on a disk makes the run wait (a third of the wall time of a file of web tests); on
    tmpfs the same fsync calls return at once. No test here measures a power cut: the crash
    tests kill processes, and what a killed process wrote is in the page cache either way;
    the fsync tests count the calls. Set in the main process: xdist's workers inherit it."""
    import sys

    # this process's own imports keep their bytecode too: pytest caches a test module's rewritten
    # asserts only when bytecode may be written (each worker collects every file: ~3 s of CPU)
    sys.dont_write_bytecode = False
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    _compile_kaigi()
    if config.option.basetemp or "TMPDIR" in os.environ:
        return
    folder = _tmpfs()
    if folder:
        import tempfile

        os.environ["TMPDIR"] = folder
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {f: i for i, f in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))  # stable: the rest as collected


@pytest.fixture(scope="session", autouse=True)
def _one_event_loop_for_test_clients() -> Iterator[None]:
    """Every Starlette `TestClient` not entered as a context (most of the web tests') runs its
    requests on one event loop in one thread for the whole run, as a server runs them on its
    loop, instead of starting a thread and an event loop for each request: ~2 ms of CPU a
    request (a TestClient's GET of a bare route 5.3 -> 3.5 ms), over the thousands of requests
    the web tests make. A client entered as a context keeps its own loop (and its lifespan)."""
    import contextlib

    import anyio.from_thread
    from starlette.testclient import TestClient

    original = TestClient._portal_factory
    with anyio.from_thread.start_blocking_portal() as portal:

        @contextlib.contextmanager
        def shared(self: TestClient) -> Iterator[Any]:
            yield self.portal if self.portal is not None else portal

        TestClient._portal_factory = shared  # type: ignore[method-assign]
        try:
            yield
        finally:
            TestClient._portal_factory = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    from engine.infra import logs

    logs.configure_logging(cache=False)
    logs._info = False
    yield
    structlog.reset_defaults()


def _pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session", autouse=True)
def _worker_database() -> Iterator[None]:
    """Under pytest-xdist with KAIGI_TEST_PG_URL: this worker's own database (see PG_URL)."""
    if not PG_URL or PG_URL == BASE_PG_URL:
        yield
        return
    import psycopg

    name = PG_URL.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(_pg_conninfo(BASE_PG_URL or ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        with psycopg.connect(_pg_conninfo(BASE_PG_URL or ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_schema_url() -> Iterator[str]:
    import psycopg

    assert PG_URL
    schema = f"kaigi_t_{uuid.uuid4().hex[:10]}"
    conninfo = PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/kaigi.db"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    yield from pg_schema_url()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh database on every store: memory, SQLite, PostgreSQL."""
    if request.param == "memory":
        yield "memory://"
        return
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/kaigi.db"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    yield from pg_schema_url()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


class Peek:
    """Reads for tests, each in a snapshot of its own."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kw: Any) -> Any:
            with self.store.read() as tx:
                out = getattr(tx, name)(*args, **kw)
                return list(out) if name == "stream" else out
        return call


class Svc(Kaigi):
    """The application as tests drive it: its clock and a few reads at hand."""

    clock: FrozenClock

    @property
    def peek(self) -> Peek:
        return Peek(self.store)

    def item(self, item_id: int) -> Any:
        with self.read() as q:
            return q.w.item(item_id)

    def meeting(self, meeting_id: int) -> Any:
        with self.read() as q:
            return q.w.meeting(meeting_id)

    def order(self, order_id: int) -> Any:
        with self.read() as q:
            return q.w.order(order_id)

    def book(self, at: Any = None) -> Any:
        with self.read() as q:
            return q.book(at)

    def body_kinds(self) -> dict[str, str]:
        with self.read() as q:
            return q.w.body_kinds()

    def history(self, item_id: int) -> list[Any]:
        with self.read() as q:
            ids = [item_id] + [c.id for c in q.descendants(item_id)]
            return q.tx.events(items=ids)

    def reminders(self) -> list[Any]:
        """Every planned reminder, flattened: key, item, meeting, order, due_at, next_at, fired."""
        from types import SimpleNamespace

        out = []
        with self.store.read() as tx:
            for i in tx.items():
                out += [SimpleNamespace(key=p.key, item=i.id, meeting=None, order=p.order, due_at=p.due_at,
                                        next_at=p.next_at, fired=p.fired, ident=p.ident, book=p.book)
                        for p in i.reminders]
            for m in tx.meetings():
                out += [SimpleNamespace(key=p.key, item=None, meeting=m.id, order=None, due_at=p.due_at,
                                        next_at=p.next_at, fired=p.fired, ident=p.ident, book=p.book)
                        for p in m.reminders]
        return out

    def assignments_of(self, login: str) -> list[Any]:
        with self.read() as q:
            return list(q.w.assignments_of(login))

    def holdings(self, login: str, at: Any = None) -> Any:
        with self.read() as q:
            return q.holdings(login, at)


def raw(store: Any, sql: str, **params: Any) -> list[Any]:
    """SQL straight to the database, as someone with access to it could (tamper tests)."""
    conn = store._connect()
    try:
        cur = conn.execute(store.sql(sql), params)
        rows = list(cur.fetchall()) if cur.description else []
        if store.pg:
            conn.commit() if not conn.autocommit else None
        return rows
    finally:
        conn.close()


def drop_append_only(store: Any) -> None:
    """Drop the triggers that make the event table append-only (an owner could)."""
    if store.pg:
        raw(store, "DROP TRIGGER event_append_only ON event")
    else:
        raw(store, "DROP TRIGGER event_no_update")
        raw(store, "DROP TRIGGER event_no_delete")


_MIGRATED: list[str] = []  # this process's SQLite file at the newest schema, nothing in it


def migrate(url: str) -> None:
    """`store.db.upgrade(url)`; a new SQLite file is a copy of one this process migrated once
    (Alembic's migrations take ~1 s a database, most of a fixture's set-up). The copy is the
    same schema and nothing else: the log id and the roster are written later, by `init`."""
    import shutil
    import tempfile
    from pathlib import Path

    from store.db import upgrade

    if _pg_clone(url, ("migrated",), upgrade):
        return
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    if path is None or path.exists() or not path.parent.is_dir():
        upgrade(url)
        return
    if not _MIGRATED:
        import atexit

        folder = tempfile.mkdtemp(prefix="kaigi-schema-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "kaigi.db"
        upgrade(f"sqlite:///{template}")
        assert not Path(f"{template}-wal").exists(), "the migrated template must be one file"
        _MIGRATED.append(str(template))
    shutil.copyfile(_MIGRATED[0], path)


_PG_TEMPLATES: dict[Any, tuple[str, str] | None] = {}  # key -> (the template schema, its dump as SQL); None: no dump
_FRESH = re.compile(r"options=-csearch_path%3D(kaigi_t_[0-9a-f]{10})$")


def _pg_clone(url: str, key: Any, build: Callable[[str], None]) -> bool:
    """Make the new, empty schema of `url` (`pg_schema_url`'s) as `build(url)` would, as a
    copy of a schema this process built once for `key`: its `pg_dump` (tables, rows, sequences,
    the append function and its triggers, as PostgreSQL itself writes them; the schema's name,
    which the functions hold, put in place of the template's) run in one transaction. An
    Alembic upgrade takes ~0.5 s a schema and a fixture's acts up to a second more, through the
    server's witness; the copy ~0.08 s. False (nothing done): not such a schema, or not empty,
    or no `pg_dump` that can dump the server (then the caller builds it as a user would)."""
    import shutil
    import subprocess

    import psycopg

    m = _FRESH.search(url)
    if not m or not url.startswith("postgresql") or not shutil.which("pg_dump"):
        return False
    schema, conninfo = m.group(1), _pg_conninfo(url.partition("?")[0])
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace", (schema,)).fetchone()[0]:
            return False
        if key not in _PG_TEMPLATES:
            import atexit

            template = f"kaigi_t_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE SCHEMA "{template}"')
            atexit.register(_drop_schema, conninfo, template)
            build(url.replace(schema, template))

            def section(name: str) -> str:
                out = subprocess.run(["pg_dump", "--dbname", conninfo, "--schema", template, "--no-owner",
                                      "--no-privileges", "--inserts", "--section", name],
                                     capture_output=True, text=True, check=True).stdout
                # psql's meta-commands (`\restrict`, which pg_dump writes since 15.14) are not SQL
                return "\n".join(x for x in out.splitlines() if not x.startswith("\\"))

            # the rows last, into tables that have their indexes, as the build wrote them (an index
            # made over rows sets the table's size estimates, and the planner's choices with them);
            # the triggers and foreign keys (triggers too) do not fire for the copy
            try:
                _PG_TEMPLATES[key] = template, "\n".join(
                    [section("pre-data"), section("post-data"), "SET session_replication_role = replica;",
                     section("data"), "SET session_replication_role = DEFAULT;"])
            except (OSError, subprocess.CalledProcessError):  # e.g. a pg_dump older than the server
                _PG_TEMPLATES[key] = None
        if _PG_TEMPLATES[key] is None:
            return False  # built as a user would, each time
        template, dump = _PG_TEMPLATES[key]
        with conn.transaction():
            conn.execute(f'DROP SCHEMA "{schema}"')
            conn.execute(dump.replace(template, schema))
            conn.execute(f'UPDATE "{schema}".kaigi_meta SET value = %s WHERE key = %s', (str(uuid.uuid4()), "log_id"))
    return True


def _drop_schema(conninfo: str, schema: str) -> None:
    import psycopg

    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except psycopg.Error:
        pass  # the worker's database is dropped at its end anyway


_TEMPLATES: dict[Any, str] = {}  # what built it (a key): a SQLite file this process made once


def from_template(url: str, key: Any, build: Callable[[str], None]) -> bool:
    """Make the new SQLite file at `url` as `build(url)` would, as a copy of a file this process
    built once for `key` (`build` on a fresh file: the same acts at the same frozen time give
    the same database; a demo's acts cost ~0.1 s of commits and fsyncs, a fixture's more). The
    copy's log gets a name of its own, as a database `init` made would. A new PostgreSQL schema
    (`pg_schema_url`) is a copy of a schema built so (`_pg_clone`). False (nothing done): `url`
    is neither."""
    import shutil
    import sqlite3
    import tempfile
    from pathlib import Path

    if _pg_clone(url, key, build):
        return True
    path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    if path is None or path.exists() or not path.parent.is_dir():
        return False
    if key not in _TEMPLATES:
        import atexit

        folder = tempfile.mkdtemp(prefix="kaigi-template-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "kaigi.db"
        build(f"sqlite:///{template}")
        with sqlite3.connect(template) as conn:  # everything in the one file, nothing in its -wal
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        assert not Path(f"{template}-wal").exists() or not Path(f"{template}-wal").stat().st_size
        _TEMPLATES[key] = str(template)
    shutil.copyfile(_TEMPLATES[key], path)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("UPDATE kaigi_meta SET value = ? WHERE key = 'log_id'", (str(uuid.uuid4()),))
    finally:
        conn.close()
    return True


def _init_svc(url: str, clock: FrozenClock, demo: bool) -> Svc:
    if not url.startswith("memory"):
        migrate(url)
    s = Svc(open_store(url, clock=clock.now))
    s.clock = clock
    bootstrap.init(s, demo=demo)
    return s


def make_svc(url: str, clock: FrozenClock, demo: bool = True) -> Svc:
    """The application over a database `init` (with the demo roster unless `demo=False`) set up
    at the clock's now. A new SQLite file is a copy of one made so (`from_template`)."""
    def build(u: str) -> None:
        _init_svc(u, FrozenClock(clock.now()), demo).store.close()

    if from_template(url, ("init", clock.now(), demo), build):
        s = Svc(open_store(url, clock=clock.now))
        s.clock = clock
        return s
    return _init_svc(url, clock, demo)


@pytest.fixture
def store(db_url: str, clock: FrozenClock) -> Iterator[Any]:
    migrate(db_url)
    st = open_store(db_url, clock=clock.now)
    yield st
    st.close()


@pytest.fixture
def svc(db_url: str, clock: FrozenClock) -> Iterator[Svc]:
    """The application over the demo roster (items 1-4 filed at T0), with a frozen clock."""
    s = make_svc(db_url, clock)
    yield s
    s.store.close()


@pytest.fixture
def fast(any_url: str, clock: FrozenClock) -> Iterator[Svc]:
    """The same over every store, the memory store included (rule tests)."""
    s = make_svc(any_url, clock)
    yield s
    s.store.close()


@pytest.fixture
def kaigi(db_url: str) -> Callable[..., Result]:
    """Run the CLI against the test database: kaigi("--as", "sato", "item", "show", "1")."""
    from cli import cli

    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, ["--db", db_url, *args], env={"KAIGI_LANG": "en", **(env or {})},
                             catch_exceptions=False)
    return run


@pytest.fixture
def demo_cli(kaigi: Callable[..., Result], db_url: str) -> Callable[..., Result]:
    """`kaigi init --demo` through the CLI, on a file at the newest schema (`migrate`)."""
    migrate(db_url)
    r = kaigi("init", "--demo")
    assert r.exit_code == 0, r.output
    return kaigi


def fingerprint(store: Any) -> tuple[Any, ...]:
    """Everything a refused act must leave as it was: every table, and the log but for the
    `ActRefused` event that keeps the attempt for the auditor (it changes no state)."""
    with store.read() as tx:
        return ([e for e in tx.stream() if e.type != "ActRefused"], tx.items(), tx.meetings(), tx.roster(),
                tx.orders(), tx.deliveries())


def walk_to(svc: Kaigi, state: str, *, title: str = "walk", filer: str = "yamamoto") -> int:
    """File a new item and move it to `state` through real meetings; returns its id."""
    item = svc.file_item(filer, title).fact.item
    if state == "filed":
        return item
    svc.advance("yamamoto", item, "skip")
    if state == "pre_review":
        return item
    m = held(svc, "watanabe", "team_lead", [item])
    svc.advance("watanabe", item, "refer", meeting=m)
    if state == "council":
        return item
    m = held(svc, "sato", "council", [item])
    svc.advance("watanabe", item, "decide", meeting=m)
    assert state == "in_progress"
    return item


def held(svc: Any, convener: str, kind: str, items: list[int], **kw: Any) -> int:
    """Convene a meeting now and record that it sat; returns its id."""
    out = svc.convene(convener, kind, svc.clock.now(), items=items, **kw)
    svc.hold(convener, out.fact.meeting)
    return int(out.fact.meeting)
