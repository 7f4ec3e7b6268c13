"""One web advance looks its member up once: the session, its password fingerprint and the
roster in one read, then the item, then the act (issue 20). Measured before: 21 statements,
the member looked up three times (the session, the roster and post, the roster again for the
page's language). Counted on SQLite (its trace hook sees every statement; psycopg has none)."""

import sqlite3
import threading
from typing import Any

import pytest

from tests.web.conftest import csrf


def _traced(k: Any) -> list[str]:
    """Every statement the store's connections run from now on."""
    store = getattr(k.store, "_store", k.store)
    seen: list[str] = []
    connect = store._connect

    def traced() -> Any:
        conn = connect()
        if isinstance(conn, sqlite3.Connection):
            conn.set_trace_callback(lambda q: seen.append(" ".join(q.split())))
        return conn
    store._connect = traced
    store._local = threading.local()  # this thread's and the server's next connections are traced
    return seen


def test_one_web_advance_resolves_its_member_once(real, browser, db_url):
    """R-I6 holds on every request (the post is checked), but once: one read for the member."""
    if not db_url.startswith("sqlite"):
        pytest.skip("counted through SQLite's trace hook; psycopg has none")
    b = browser(real)
    b.login("watanabe")
    token = csrf(b.get("/items/1").text)
    seen = _traced(real)
    r = b.c.post("/items/1/advance", data={"trigger": "withdraw", "note": "重複のため", "csrf_token": token},
                 follow_redirects=False)
    assert r.status_code == 303
    sql = [q for q in seen if not q.startswith("PRAGMA")]
    assert sum("FROM web_session" in q for q in sql) == 1
    assert sum("FROM credential" in q for q in sql) == 1
    assert not any("FROM member" in q or "FROM assignment" in q for q in sql)  # the roster came from the cache
    first = sql[:sql.index("COMMIT") + 1]  # the member's one read: session, fingerprint, roster head
    assert [q.split(" FROM ")[-1].split()[0] for q in first if q.startswith("SELECT")] == \
        ["web_session", "credential", "log_head"]
    reads = sql[:sql.index("BEGIN IMMEDIATE")]
    assert reads.count("BEGIN") == 2  # the member, then the item; no third look for the language
    assert len(sql) <= 15, "\n".join(sql)


def test_a_signed_out_session_is_refused_at_once(real, browser, db_url):
    """R-I6 / sign-out: the cache is per request; the next request after logout is refused."""
    b = browser(real)
    b.login("watanabe")
    page = b.get("/items/1")
    assert page.url.path == "/items/1"
    stolen = dict(b.c.cookies)
    b.c.post("/logout", data={"csrf_token": csrf(page.text)})
    b.c.cookies.clear()
    for name, value in stolen.items():
        b.c.cookies.set(name, value)
    assert b.get("/items/1").url.path == "/login"


def test_one_api_act_resolves_its_token_and_member_in_one_read(real, db_url):
    """Issue 21: a bearer request's token and member in one read (main: two, the token then
    the roster), then the item the act names, then the act; convening reads the rulebooks'
    words in the item read's snapshot (main: a read of its own). Measured before on
    PostgreSQL: 19 statements in 4 transactions for an advance, 22 in 5 for a convening."""
    if not db_url.startswith("sqlite"):
        pytest.skip("counted through SQLite's trace hook; psycopg has none")
    from fastapi.testclient import TestClient

    from engine.app import accounts
    from engine.core.identity import Actor
    from web import create_app

    _, secret = accounts.create_token(real, Actor("yamamoto", "web"), "count")
    c = TestClient(create_app(real, secret="s"), headers={"Authorization": f"Bearer {secret}"})
    assert c.get("/api/whoami").status_code == 200  # warm: the roster and rulebooks cached
    seen = _traced(real)
    r = c.post("/api/meetings", json={"kind": "staff", "starts_at": real.clock.now().isoformat(), "items": [1],
                                      "attendees": ["nakamura"]})
    assert r.status_code == 201, r.text
    sql = [q for q in seen if not q.startswith("PRAGMA")]
    assert sum("FROM api_token" in q for q in sql) == 1
    reads = sql[:sql.index("BEGIN IMMEDIATE")]
    assert reads.count("BEGIN") == 2, "\n".join(sql)  # the member (token, roster head); the item and the words
    meeting = r.json()["id"]
    seen.clear()
    r = c.post(f"/api/meetings/{meeting}/hold", json={"present": ["nakamura"]})
    assert r.status_code == 200, r.text
    sql = [q for q in seen if not q.startswith("PRAGMA")]
    reads = sql[:sql.index("BEGIN IMMEDIATE")]
    assert reads.count("BEGIN") == 2, "\n".join(sql)
    first = reads[:reads.index("COMMIT") + 1]
    assert [q.split(" FROM ")[-1].split()[0] for q in first if q.startswith("SELECT")] == ["api_token", "log_head"]
    assert len(sql) <= 17, "\n".join(sql)  # main: 20 (a third read: BEGIN, the roster head, COMMIT)
