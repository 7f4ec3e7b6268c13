"""PostgreSQL connections are pooled (psycopg_pool, KAIGI_PG_POOL; issue 21): one process's
threads share a few connections, so a connection one member's act used is the next one's.

What must hold: nothing of a transaction outlives it on its connection — not the member's
role (`SET LOCAL ROLE`, how the web face acts for a member, R-I3), not its settings, not the
transaction itself; a pool whose connections the server dropped (a restart) serves the next
request on new ones; a full pool answers busy within the bound, a server that refuses
connections is reported as unreachable at once, not as busy.
"""

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from engine.app.kaigi import Kaigi
from engine.core.errors import Conflict, Unavailable
from engine.core.identity import Actor
from store import open_store
from store.errors import PoolBusy, Unreachable
from tests.conftest import PG_SKIP, PG_URL, make_svc, pg_schema_url

pytestmark = pytest.mark.postgres


def conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    yield from pg_schema_url()


@pytest.fixture
def roles() -> Iterator[list[str]]:
    """Two login roles (members' database roles), dropped after."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    import psycopg

    names = [f"kaigi_t_pool_{uuid.uuid4().hex[:8]}_{who}" for who in ("tanaka", "suzuki")]
    with psycopg.connect(conninfo(PG_URL), autocommit=True) as c:
        for name in names:
            c.execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield names
    finally:
        with psycopg.connect(conninfo(PG_URL), autocommit=True) as c:
            for name in names:
                c.execute(f'DROP ROLE "{name}"')


def session_state(tx: Any) -> tuple[Any, ...]:
    """(backend pid, role in effect, session user, lock_timeout, an xid of this transaction's)."""
    return tuple(tx.one("SELECT pg_backend_pid(), current_user, session_user, current_setting('lock_timeout'), "
                        "txid_current_if_assigned()"))


def test_a_member_role_and_transaction_end_with_the_act_that_set_them(url, roles):
    """One connection in the pool, so every transaction here runs on the same backend: after
    an act under tanaka's role (committed, then one that failed half-way), the next act under
    suzuki's role is suzuki's alone, and a read sees the connection's own role, the default
    lock timeout and a transaction of its own."""
    store = open_store(url, pool=1)
    try:
        with store.read() as tx:
            pid, own, session, timeout, xid = session_state(tx)
        assert own == session and xid is None
        with store.act(head=False, role=roles[0]) as tx:
            tx.one("SELECT txid_current()")  # the act holds an xid, as one that took the head does
            assert session_state(tx)[:2] == (pid, roles[0])
        with pytest.raises(RuntimeError), store.act(head=False, role=roles[0]) as tx:
            tx.one("SELECT txid_current()")
            raise RuntimeError("the act fails half-way, its transaction open")
        with store.act(head=False, role=roles[1]) as tx:
            assert session_state(tx)[:2] == (pid, roles[1])
        with store.read() as tx:
            assert session_state(tx) == (pid, own, session, timeout, None)
    finally:
        store.close()


def test_the_web_face_records_each_member_under_their_own_role_on_one_connection(url, roles):
    """End to end through the engine: two members act through the web face one after the
    other on the same pooled connection, and PostgreSQL's witness records each as the member
    bound to the role in effect, never the one before (R-I3)."""
    from engine.app import bootstrap
    from store.db import upgrade

    upgrade(url)
    owner = Kaigi(open_store(url))
    bootstrap.init(owner, chief={"login": "sato", "name": "佐藤", "name_en": "Sato"})
    chief = Actor("sato", "db")
    for login, role in zip(("tanaka", "suzuki"), roles, strict=True):
        owner.add_member(chief, login, name=login, db_role=role)
        owner.assign(chief, login, "soshiki2_kacho")
    owner.db_grants(apply=True)
    owner.store.close()
    k = Kaigi(open_store(url, pool=1))
    k.store.is_owner = lambda: False  # type: ignore[method-assign]  (the web face's own role is a service role)
    try:
        pids = []
        for login in ("tanaka", "suzuki", "tanaka"):
            out = k.file_item(Actor(login, "web", via=dict(zip(("tanaka", "suzuki"), roles, strict=True))[login]),
                              f"filed by {login}")
            assert (out.records[0].actor, out.records[0].identity) == (login, "web")
            with k.store.read() as tx:
                pids.append(tx.one("SELECT pg_backend_pid()")[0])
        assert len(set(pids)) == 1  # the same connection served all three
        with k.store.read() as tx:
            rows = tx.all("SELECT actor, identity FROM event WHERE type = 'ItemFiled' ORDER BY seq")
        assert rows == [("tanaka", "web"), ("suzuki", "web"), ("tanaka", "web")]
    finally:
        k.store.close()


def test_a_restart_drops_every_pooled_connection_and_the_next_requests_get_new_ones(url, clock):
    """What a restart does to a pool: every connection in it dropped at once. The next read
    finds its connection dead at BEGIN and the pool replaces the rest; reads and acts from
    several threads go on without an error (tests/cli/test_reconnect.py restarts a real
    server under `kaigi serve`)."""
    import psycopg

    svc = make_svc(url, clock)
    store = svc.store.inner
    try:
        opened = threading.Barrier(3)
        pids: list[int] = []

        def hold_a_read() -> None:
            with store.read() as tx:
                pids.append(tx.one("SELECT pg_backend_pid()")[0])
                opened.wait(timeout=10)  # three reads at once: three connections in the pool

        threads = [threading.Thread(target=hold_a_read) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(pids)) == 3
        with psycopg.connect(conninfo(PG_URL), autocommit=True) as c:
            for pid in pids:
                assert c.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
        errors: list[BaseException] = []

        def use(n: int) -> None:
            try:
                assert svc.item(1).id == 1
                svc.file_item("nakamura", f"after the restart {n}", team="chiiki")
            except BaseException as err:  # noqa: BLE001 (reported below)
                errors.append(err)

        threads = [threading.Thread(target=use, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        with store.read() as tx:
            assert sorted(r[0] for r in tx.all("SELECT title FROM item WHERE title LIKE 'after the restart %'")) \
                == [f"after the restart {n}" for n in range(3)]
            assert tx.one("SELECT pg_backend_pid()")[0] not in pids
    finally:
        store.close()


def test_a_full_pool_answers_busy_within_the_bound_and_writes_nothing(url, clock, monkeypatch):
    """Every connection in use past KAIGI_HEAD_WAIT: the act is refused as busy (exit 6,
    409), in both languages, before anything began."""
    monkeypatch.setenv("KAIGI_HEAD_WAIT", "0.3")
    svc = make_svc(url, clock)
    svc.store.close()
    k = Kaigi(open_store(url, clock=clock.now, pool=1))
    try:
        before = k.store.read
        held, done = threading.Event(), threading.Event()

        def hold() -> None:
            with before() as tx:
                tx.one("SELECT 1")
                held.set()
                done.wait(timeout=10)

        t = threading.Thread(target=hold)
        t.start()
        held.wait(timeout=10)
        with pytest.raises(PoolBusy):
            with k.store.inner.read():
                pass
        with pytest.raises(Conflict) as err:
            k.file_item(Actor("nakamura", "training"), "while the pool is full", team="chiiki")
        assert err.value.msg.key == "conflict.pool_busy"
        assert "all 1 database connections" in err.value.render("en") and "1本" in err.value.render("ja")
        done.set()
        t.join()
        with k.store.read() as tx:
            assert not tx.all("SELECT 1 FROM item WHERE title = 'while the pool is full'")
    finally:
        k.store.close()


def test_a_server_that_refuses_connections_is_unreachable_not_busy(monkeypatch):
    """Nothing listens on port 1: the pool's connection attempt fails and the caller is told
    why (unreachable, 503 on the web), not made to wait out the bound and told 'busy'."""
    monkeypatch.setenv("KAIGI_HEAD_WAIT", "30")
    store = open_store("postgresql+psycopg://nobody@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(Unreachable, match="cannot connect"):
            with store.read():
                pass
        k = Kaigi(open_store("postgresql+psycopg://nobody@127.0.0.1:1/nowhere"), training=True)
        with pytest.raises(Unavailable) as err:
            k.file_item(Actor("nakamura", "training"), "x")
        assert err.value.msg.key == "store.unreachable"
        k.store.close()
    finally:
        store.close()


def test_healthz_says_ok_while_every_pooled_connection_is_busy(url, clock, monkeypatch):
    """A full pool is a busy server, not a lost database: /healthz stays 200 (a monitor or a
    proxy would otherwise take a loaded server out for 'database unreachable')."""
    from fastapi.testclient import TestClient

    from web import create_app

    monkeypatch.setenv("KAIGI_HEAD_WAIT", "0.3")
    svc = make_svc(url, clock)
    svc.store.close()
    k = Kaigi(open_store(url, clock=clock.now, pool=1))
    c = TestClient(create_app(k, secret="s"))
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with k.store.read() as tx:
            tx.one("SELECT 1")
            held.set()
            done.wait(timeout=10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        held.wait(timeout=10)
        r = c.get("/healthz")  # the app's first probe, while the one connection is held
        assert (r.status_code, r.text) == (200, "ok")
    finally:
        done.set()
        t.join()
        k.store.close()
