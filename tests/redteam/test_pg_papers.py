"""Papers on PostgreSQL (issue 17): a member who is not the chief prints through
`kaigi_append` as their own role, and the log still verifies; an auditor (SELECT only)
cannot record a print, and a paper printed without a record is not vouched for."""

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from engine.app import bootstrap
from engine.app.kaigi import Kaigi
from engine.core.identity import Actor
from engine.infra.clock import FrozenClock
from store import open_store
from tests.conftest import PG_SKIP, PG_URL, pg_schema_url

pytestmark = pytest.mark.postgres

TAG = uuid.uuid4().hex[:6]
ROLES = {name: f"kaigi_p_{TAG}_{name}" for name in ("sato", "tanaka", "audit", "sched", "web")}


def conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def as_role(url: str, role: str) -> str:
    """The same database and schema, logged in as `role` (trust auth on 127.0.0.1 here; any
    method PostgreSQL offers does the same: the server says who the session is)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    import psycopg

    admin = conninfo(PG_URL)
    with psycopg.connect(admin, autocommit=True) as c:
        for role in ROLES.values():
            c.execute(f'CREATE ROLE "{role}" LOGIN')
    gen = pg_schema_url()
    url = next(gen)
    try:
        from store.db import upgrade

        upgrade(url)
        past = FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
        owner = Kaigi(open_store(url, clock=past.now))
        bootstrap.init(owner, chief={"login": "sato", "name": "佐藤", "name_en": "Sato", "db_role": ROLES["sato"]})
        chief = Actor("sato", "db")
        owner.add_member(chief, "tanaka", name="田中", db_role=ROLES["tanaka"])
        owner.assign(chief, "tanaka", "soshiki2_kacho")
        owner.assign(chief, "tanaka", "soshiki2_shomu")  # a clerk too: sato may delegate recording to them
        owner.delegate(chief, "tanaka", valid_until=past.now() + dt.timedelta(days=1))  # long expired by now
        owner.db_grants(apply=True)
        groups = {kind: owner.store.group_name(kind) for kind in ("member", "auditor", "scheduler", "web")}
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'GRANT "{groups["auditor"]}" TO "{ROLES["audit"]}"')
            c.execute(f'GRANT "{groups["scheduler"]}" TO "{ROLES["sched"]}"')
            c.execute(f'GRANT "{groups["web"]}" TO "{ROLES["web"]}"')  # it may SET ROLE to members (db grant)
        owner.store.close()
        yield {"url": url, "groups": groups}
    finally:
        try:
            next(gen)
        except StopIteration:
            pass
        with psycopg.connect(admin, autocommit=True) as c:
            for role in ROLES.values():
                c.execute(f'DROP OWNED BY "{role}"')
                c.execute(f'DROP ROLE "{role}"')
            schema = url.rsplit("%3D", 1)[1]
            for (name,) in c.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                     [f"kaigi_%_{schema}_%"]).fetchall():
                c.execute(f'DROP ROLE "{name}"')


def kaigi_as(world: dict[str, Any], who: str) -> Kaigi:
    return Kaigi(open_store(as_role(world["url"], ROLES[who])))


def test_a_member_prints_on_postgres_as_their_own_role(world):
    k = kaigi_as(world, "tanaka")
    me = k.authenticate()
    assert (me.login, me.identity) == ("tanaka", "db")
    p = k.print_paper(me, "progress", lang="ja")
    with k.read() as q:
        e = q.tx.events(after=p.anchor.head_seq, limit=1)[0]
    assert (e.type, e.actor, e.identity) == ("DocumentPrinted", "tanaka", "db")
    assert k.verify_paper(p.pdf).code == 0
    k.store.close()
    owner = Kaigi(open_store(world["url"]))
    assert owner.verify().ok
    owner.store.close()


def test_an_auditors_copy_is_not_recorded_and_verify_says_so(world):
    """The auditor's role may not append (kaigi_append refuses a SELECT-only role): a copy
    rendered without a record verifies as not vouched for (7), with its reason."""
    k = kaigi_as(world, "audit")
    copy = k.print_paper(Actor("sato", "db"), "progress", record=False)
    v = k.verify_paper(copy.pdf)
    assert (v.code, v.key) == (7, "paper.verify.not_recorded")
    k.store.close()
