"""A connection the server dropped, a database away, a file locked past the bound (issue 15,
item 6), in-process and in seconds; `tests/cli/test_reconnect.py` restarts a real server
under real processes.

On PostgreSQL the server drops a connection with `pg_terminate_backend` (what a restart
does to every connection), so the shared cluster is never restarted.
"""

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from engine.app.kaigi import Kaigi
from engine.core.errors import Unavailable
from store import open_store
from tests.conftest import PG_SKIP, PG_URL, make_svc

UTC = dt.UTC


def terminate(store: Any) -> None:
    """The server drops this thread's connection of `store`, as a restart would."""
    import psycopg

    pid = store.inner.connection().info.backend_pid
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as c:
        assert c.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


@pytest.fixture
def pg(clock: Any) -> Iterator[Any]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    from tests.conftest import pg_schema_url

    gen = pg_schema_url()
    url = next(gen)
    s = make_svc(url, clock)
    try:
        yield s
    finally:
        s.store.close()
        try:
            next(gen)
        except StopIteration:
            pass


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced_for_reads_and_acts(pg):
    """On main the dropped connection stayed: every later call failed ("the connection is closed")."""
    terminate(pg.store)
    assert pg.item(1).id == 1  # the read found it dead at BEGIN, reconnected, read
    terminate(pg.store)
    out = pg.file_item("nakamura", "after a dropped connection", team="chiiki")
    assert pg.item(out.fact.item).title == "after a dropped connection"


@pytest.mark.postgres
def test_a_connection_lost_during_an_act_writes_nothing_and_is_not_rerun(pg):
    """The act's statements reached the server: no retry. Before COMMIT the server rolled it
    back (store.lost, nothing written); the next act works on a new connection."""
    before = pg.peek.head()

    def build(ctx: Any, tx: Any) -> list[Any]:
        terminate(pg.store)  # the server goes away in the middle of the act
        from engine.core import decide

        return decide.file_item(ctx, 99, "lost", "hq", None, "")
    with pytest.raises(Unavailable) as err:
        pg.act("yamamoto", "file_item", build)
    assert err.value.msg.key == "store.lost", err.value.msg.key
    assert pg.peek.head() == before
    assert "nothing was written" in err.value.render("en") and "何も記録していません" in err.value.render("ja")
    pg.file_item("nakamura", "next", team="chiiki")
    assert pg.peek.head().seq == before.seq + 1


class AnswerLost:
    """A connection whose COMMIT reaches the server and is done, then the connection breaks
    before the answer comes back (what a restart at the wrong instant does)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, sql: str, *args: Any) -> Any:
        out = self._conn.execute(sql, *args)
        if sql == "COMMIT":
            import psycopg

            self._conn.close()
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return out


def _file(ctx: Any, tx: Any) -> list[Any]:
    from engine.core import decide

    return decide.file_item(ctx, 99, "committed, answer lost", "hq", None, "")


@pytest.mark.postgres
def test_a_commit_whose_answer_was_lost_is_found_in_the_log_and_not_rerun(pg):
    """The COMMIT went through, its answer did not: kaigi looks in the log (the act's last
    event by its sequence number and chain hash) and reports the act done, once."""
    before = pg.peek.head()
    store = pg.store.inner
    store._local.conn = AnswerLost(store.connection())
    out = pg.act("yamamoto", "file_item", _file)
    assert out.event.seq == before.seq + 1
    assert pg.peek.head().seq == before.seq + 1 and pg.peek.head().hash == out.records[-1].hash
    assert [e.type for e in pg.peek.events(after=before.seq)] == ["ItemFiled"]  # recorded once, not re-run


@pytest.mark.postgres
def test_a_commit_that_did_not_happen_is_nothing_written(pg):
    """The server died before the COMMIT reached it: the log says the act is not there."""
    before = pg.peek.head()
    with pytest.raises(Unavailable) as err:
        pg.act("yamamoto", "file_item", _file, after=lambda tx: terminate(pg.store))
    assert err.value.msg.key == "store.lost"
    assert pg.peek.head() == before


@pytest.mark.postgres
def test_a_commit_whose_outcome_cannot_be_known_says_so_and_is_not_rerun(pg, monkeypatch):
    """The log cannot be asked (the server still away): kaigi says it cannot know, tells the
    reader to look before acting again, and does not re-run the act."""
    store = pg.store.inner
    monkeypatch.setattr(store, "_settled", lambda tx: None)
    before = pg.peek.head()
    with pytest.raises(Unavailable) as err:
        pg.act("yamamoto", "file_item", _file, after=lambda tx: terminate(pg.store))
    assert err.value.msg.key == "store.outcome_unknown"
    assert "before acting again" in err.value.render("en") and "確認してください" in err.value.render("ja")
    assert pg.peek.head() == before


def test_healthz_and_pages_say_503_when_the_database_cannot_be_reached():
    """Nothing listens on port 1: /healthz is 503 with one line; a page is 503 with its one
    line, never a 500 (main: /healthz said ok, the page was a 500)."""
    from fastapi.testclient import TestClient

    from web import create_app

    k = Kaigi(open_store("postgresql+psycopg://nobody@127.0.0.1:1/nowhere"), training=True)
    c = TestClient(create_app(k, secret="s"), raise_server_exceptions=False)
    r = c.get("/healthz")
    assert 503 == r.status_code and "database unreachable" == r.text
    r = c.get("/switch")
    assert 503 == r.status_code, r.text
    assert 1 == len(r.text.strip().splitlines()) and "データベースに接続できません" in r.text
    r = c.get("/api/items", headers={"Authorization": "Bearer x"})
    assert r.status_code in (401, 503), r.text


def test_healthz_is_ok_and_probes_at_most_once_a_second(svc):
    from fastapi.testclient import TestClient

    from web import create_app

    calls = []
    real_read = svc.store.read

    def counted() -> Any:
        calls.append(1)
        return real_read()
    app = create_app(svc, secret="s")
    c = TestClient(app)
    svc.store.read = counted  # type: ignore[method-assign]
    try:
        assert all(c.get("/healthz").text == "ok" for _ in range(50))
    finally:
        del svc.store.read
    assert len(calls) <= 2, len(calls)  # 50 calls within a second or two: one probe (two at a boundary)


def test_the_scheduler_logs_one_line_for_a_failed_pass_and_recovers(db_url, tmp_path, monkeypatch):
    """The database locked (SQLite) or away past the bound: the pass fails with one log
    line, the daemon goes on, the next pass sends what is due (main: the exception went up
    into APScheduler, a traceback each sweep)."""
    import io

    from engine.infra import logs
    from engine.infra.clock import FrozenClock
    from engine.reminders.dispatch import Dispatcher
    from engine.reminders.scheduler import ReminderClock
    from engine.reminders.senders import OutboxSender

    monkeypatch.setenv("KAIGI_HEAD_WAIT", "0.5")
    now = dt.datetime.now(UTC)
    s = make_svc(db_url, FrozenClock(now - dt.timedelta(days=20)))
    s.file_item("yamamoto", "due now")
    s.store.close()
    k = Kaigi(open_store(db_url))
    outbox = tmp_path / "outbox.jsonl"
    clock = ReminderClock(Dispatcher(k, {"outbox": OutboxSender(outbox)}), sweep_seconds=1)
    clock.arm_wake = lambda: None  # type: ignore[method-assign]  (no APScheduler running here)
    stream = io.StringIO()
    logs.configure_logging(stream=stream, cache=False)
    from tests.redteam.test_head_lock import head_held

    with head_held(db_url, release_after=4.0):  # let go in the end even if the pass waits unbounded
        clock.run_pass()  # must not raise
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    failed = [x for x in lines if x.get("event") == "pass failed"]
    assert 1 == len(failed), lines
    assert "try again" in failed[0]["error"] and "\n" not in failed[0]["error"]
    assert not outbox.exists() or not outbox.read_text(encoding="utf-8")
    clock.run_pass()
    assert outbox.read_text(encoding="utf-8").count("\n") >= 1
    k.store.close()


def test_healthz_keeps_its_last_answer_while_a_probe_is_under_way():
    """Found by bench/api.py: 16 clients at once got 503 "database unreachable" from a healthy
    database, because a probe under way set the answer to down until it came back; the
    requests meanwhile must get the last answer (up), as the docstring promised."""
    import time

    import anyio

    from web.app import DatabaseHealth

    health = DatabaseHealth(object())
    health._probe = lambda: time.sleep(0.3) or True  # type: ignore[method-assign]

    async def main() -> list[bool]:
        answers: list[bool] = []

        async def ask() -> None:
            answers.append(await health.up())

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)  # starts the probe
            await anyio.sleep(0.05)
            for _ in range(5):
                tg.start_soon(ask)  # arrive while it is under way
        return answers

    assert anyio.run(main) == [True] * 6
