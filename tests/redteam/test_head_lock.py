"""Someone holds the log's head (TRUST.md "Time, carefully"; R-I2): an honest act waits a
bounded time and fails as "busy, try again" (exit 6), written nowhere, never kept as a
refusal in its actor's name; an act that does get the head is stamped with the time it got
it, not the time it started waiting; reads never wait on the head.

The holder is a plain connection of its own: on PostgreSQL a transaction that called
`kaigi_begin()` and sits there (what a member with psql can do), on SQLite a `BEGIN
IMMEDIATE` left open. `KAIGI_HEAD_WAIT` shortens the bound so the tests run in seconds.
"""

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from engine.app import bootstrap
from engine.app.kaigi import Kaigi
from engine.core.errors import Conflict
from store import open_store
from store.sql import pg_conninfo, sqlite_path

BOUND = 1.0        # KAIGI_HEAD_WAIT in these tests
RELEASE_AFTER = 4.0  # the holder lets go after this long, so an unbounded wait ends too (and fails the test)
UTC = dt.UTC


@pytest.fixture
def hq(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kaigi]:
    """A training HQ with the demo roster, on the database's own clock (no test clock: the
    time an act records is what is under test)."""
    from store.db import upgrade

    monkeypatch.setenv("KAIGI_HEAD_WAIT", str(BOUND))
    upgrade(db_url)
    k = Kaigi(open_store(db_url))
    bootstrap.init(k, demo=True)
    yield k
    k.store.close()


class Holder:
    """A connection that takes the head and keeps it until `release()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.released_at: dt.datetime | None = None
        self._lock = threading.Lock()
        if url.startswith("sqlite"):
            import sqlite3

            self.conn: Any = sqlite3.connect(sqlite_path(url) or "", isolation_level=None, check_same_thread=False)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            self.conn = psycopg.connect(pg_conninfo(url))
            self.conn.execute("SELECT * FROM kaigi_begin()").fetchall()
        self.held = True

    def release(self) -> None:
        with self._lock:
            if not self.held:
                return
            if self.url.startswith("sqlite"):
                self.released_at = dt.datetime.now(UTC)
                self.conn.execute("ROLLBACK")
            else:
                self.released_at = self.conn.execute("SELECT clock_timestamp()").fetchone()[0]
                self.conn.rollback()
            self.held = False
            self.conn.close()


@contextmanager
def head_held(url: str, release_after: float = RELEASE_AFTER) -> Iterator[Holder]:
    h = Holder(url)
    timer = threading.Timer(release_after, h.release)
    timer.start()
    try:
        yield h
    finally:
        timer.cancel()
        h.release()


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.monotonic()
    try:
        out = call()
    except Exception as err:  # noqa: BLE001 (the test looks at what it was)
        out = err
    return time.monotonic() - t0, out


def refusals(k: Kaigi) -> list[Any]:
    with k.store.read() as tx:
        return [e for e in tx.events() if e.type == "ActRefused"]


def test_r_i2_an_act_behind_a_held_head_is_busy_within_the_bound_and_written_nowhere(hq, db_url):
    with hq.store.read() as tx:
        before = tx.head()
    with head_held(db_url):
        took, out = timed(lambda: hq.file_item("nakamura", "behind a held head", team="chiiki"))
    assert isinstance(out, Conflict), out
    assert took < BOUND + 1.5, took  # bounded: not until the holder lets go
    assert "try again" in out.render("en") and "もう一度" in out.render("ja")
    with hq.store.read() as tx:
        assert tx.head() == before  # nothing written: no item, and no ActRefused in nakamura's name
    assert [] == refusals(hq)


def test_r_i2_an_act_that_waited_is_stamped_when_it_took_the_head(hq, db_url):
    """The clock is read after the lock: the act's time is after the holder let go (on
    PostgreSQL it was read before the wait, so a long wait became a 'held too long' refusal
    kept in the honest actor's name)."""
    with head_held(db_url, release_after=BOUND / 3) as h:
        _took, out = timed(lambda: hq.file_item("nakamura", "waited its turn", team="chiiki"))
    assert not isinstance(out, Exception), out
    assert h.released_at is not None
    assert out.event.at >= h.released_at, (out.event.at, h.released_at)
    assert [] == refusals(hq)


def test_reads_do_not_wait_on_the_head(hq, db_url):
    """`item show` and the Reader answer while another holds the head."""
    with head_held(db_url):
        took, out = timed(lambda: _read_item(hq, 1))
    assert not isinstance(out, Exception), out
    assert out == 1 and took < BOUND / 2, took


def _read_item(k: Kaigi, item: int) -> int:
    with k.read() as q:
        return int(q.w.item(item).id)


def test_cli_busy_is_exit_6_one_line_and_a_read_answers(demo_cli, db_url):
    from cli import cli
    from click.testing import CliRunner

    runner = CliRunner()
    env = {"KAIGI_LANG": "en", "KAIGI_HEAD_WAIT": str(BOUND)}

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--db", db_url, *args], env=env, catch_exceptions=False)

    before = run("audit", "checkpoint").output
    with head_held(db_url):
        took, r = timed(lambda: run("--as", "nakamura", "item", "file", "busy", "--team", "chiiki"))
        assert 6 == r.exit_code, r.output
        assert took < BOUND + 2.0, took
        assert 1 == len(r.output.strip().splitlines()) and "try again" in r.output and "Traceback" not in r.output
        took, shown = timed(lambda: run("--as", "nakamura", "item", "show", "1"))
        assert 0 == shown.exit_code, shown.output
        assert took < BOUND, took
    assert before == run("audit", "checkpoint").output  # nothing written, not even a refusal


def test_a_page_answers_while_the_head_is_held(hq, db_url):
    from tests.web.conftest import Browser
    from web import create_app

    b = Browser(create_app(hq, secret="test-secret"))
    assert 200 == b.switch("nakamura").status_code
    # once before the head is taken: the first render compiles its templates (~0.3 s of CPU,
    # past the bound on a loaded machine); a page that waited for the head would take the bound
    assert 200 == b.get("/items/1").status_code and 200 == b.get("/healthz").status_code
    with head_held(db_url):
        took, r = timed(lambda: b.get("/items/1"))
        assert 200 == r.status_code and took < BOUND, took
        took, r = timed(lambda: b.get("/healthz"))
        assert 200 == r.status_code and took < BOUND, took
