"""Fixtures: every storage test runs on SQLite and, when KAIGI_TEST_PG_URL is set, PostgreSQL.

PostgreSQL tests get a schema of their own (search_path in the URL), dropped afterwards,
so they run against a real server without touching anything else in the database.
"""

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from click.testing import CliRunner, Result

from engine import setup
from engine.clock import FrozenClock
from engine.service import Service
from engine.timeutil import JST
from store.db import upgrade
from store.sql import Store

PG_URL = os.environ.get("KAIGI_TEST_PG_URL")
PG_SKIP = "PostgreSQL tests need KAIGI_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
T0 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=JST)


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    from engine.logs import configure_logging

    configure_logging(cache=False)
    yield
    structlog.reset_defaults()


def pg_schema_url() -> Iterator[str]:
    import sqlalchemy as sa

    assert PG_URL
    schema = f"kaigi_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/kaigi.db"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    yield from pg_schema_url()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    st = Store(db_url)
    upgrade(st.engine)
    yield st
    st.engine.dispose()


@pytest.fixture
def svc(store: Store, clock: FrozenClock) -> Service:
    """A service over the demo roster (items 1-4 filed at T0), with a frozen clock."""
    s = Service(store, clock=clock)
    setup.init(s, demo=True)
    return s


@pytest.fixture
def kaigi(db_url: str) -> Callable[..., Result]:
    """Run the CLI against the test database: kaigi("--as", "sato", "item", "show", "1")."""
    from cli import cli

    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(cli, ["--db", db_url, *args], env=env, catch_exceptions=False)
        return result
    return run


@pytest.fixture
def demo_cli(kaigi: Callable[..., Result]) -> Callable[..., Result]:
    r = kaigi("init", "--demo")
    assert r.exit_code == 0, r.output
    return kaigi


def fingerprint(store: Store) -> tuple[Any, ...]:
    """Everything a refused act must leave as it was: every table, and the log but for the
    `ActRefused` event that keeps the attempt for the auditor (it changes no state)."""
    return ([e for e in store.events() if e.type != "ActRefused"], store.items(), store.meetings(),
            store.assignments(), store.members(), store.reminders(status=None), store.orders(),
            store.delegations())


def walk_to(svc: Service, state: str, *, title: str = "walk", filer: str = "yamamoto") -> int:
    """File a new item and move it to `state` through real meetings; returns its id."""
    out = svc.file_item(filer, title)
    item = out.event.item
    if state == "filed":
        return item
    svc.advance("yamamoto", item, "skip")
    if state == "pre_review":
        return item
    m = held(svc, "watanabe", "team_lead", [item])
    svc.advance("watanabe", item, "refer", meeting_id=m)
    if state == "council":
        return item
    m = held(svc, "sato", "council", [item])
    svc.advance("watanabe", item, "decide", meeting_id=m)
    assert state == "in_progress"
    return item


def held(svc: Service, convener: str, kind: str, items: list[int], **kw: Any) -> int:
    """Convene a meeting now and record that it sat; returns its id."""
    out = svc.convene(convener, kind, svc.clock.now(), items=items, **kw)
    svc.hold(convener, out.event.meeting)
    return out.event.meeting
