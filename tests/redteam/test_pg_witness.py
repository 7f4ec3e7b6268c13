"""PostgreSQL is the witness (R-I1..R-I4, TRUST.md): members log in as low-privilege roles
and try to act in another's name, backdate, rewrite or erase; PostgreSQL itself refuses.

The database is real (`init --chief`); each person's login role is a member of
`kaigi_member` through `kaigi db grant --apply`. Attacks go through the application API
where it would stop them first, and around it, as raw SQL a member with `psql` could type.
"""

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from engine.app import bootstrap
from engine.app.audit import verify
from engine.app.identity import Actor
from engine.app.kaigi import Kaigi
from engine.core.errors import DomainError, NotPermitted
from engine.infra.clock import FrozenClock
from store import open_store
from tests.conftest import PG_SKIP, PG_URL, pg_schema_url

pytestmark = pytest.mark.postgres

TAG = uuid.uuid4().hex[:6]
ROLES = {name: f"kaigi_t_{TAG}_{name}" for name in ("sato", "tanaka", "audit", "sched", "web")}


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
        past = FrozenClock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
        owner = Kaigi(open_store(url, clock=past.now))
        bootstrap.init(owner, chief={"login": "sato", "name": "佐藤", "name_en": "Sato", "db_role": ROLES["sato"]})
        chief = Actor("sato", "db")
        owner.add_member(chief, "tanaka", name="田中", db_role=ROLES["tanaka"])
        owner.assign(chief, "tanaka", "soshiki2_kacho")
        owner.assign(chief, "tanaka", "soshiki2_shomu")  # a clerk too: sato may delegate recording to them
        owner.delegate(chief, "tanaka", valid_until=past.now() + dt.timedelta(days=1))  # long expired by now
        owner.db_grants(apply=True)
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'GRANT kaigi_auditor TO "{ROLES["audit"]}"')
            c.execute(f'GRANT kaigi_scheduler TO "{ROLES["sched"]}"')
            c.execute(f'GRANT kaigi_member TO "{ROLES["web"]}"')
            c.execute(f'GRANT "{ROLES["tanaka"]}" TO "{ROLES["web"]}"')  # the web face may SET ROLE to members
        owner.store.close()
        yield {"url": url}
    finally:
        try:
            next(gen)
        except StopIteration:
            pass
        with psycopg.connect(admin, autocommit=True) as c:
            for role in ROLES.values():
                c.execute(f'DROP OWNED BY "{role}"')
                c.execute(f'DROP ROLE "{role}"')


def kaigi_as(world: dict[str, Any], who: str) -> Kaigi:
    return Kaigi(open_store(as_role(world["url"], ROLES[who])))


def psql(world: dict[str, Any], who: str, *statements: str) -> Any:
    """Statements typed by `who` into psql, in one transaction; the last result, or the error."""
    import psycopg

    with psycopg.connect(conninfo(as_role(world["url"], ROLES[who]))) as c:
        out = None
        for sql in statements:
            cur = c.execute(sql)
            out = cur.fetchall() if cur.description else None
        c.commit()
        return out


def head(world: dict[str, Any]) -> tuple[int, str]:
    import psycopg

    with psycopg.connect(conninfo(world["url"])) as c:
        return tuple(c.execute("SELECT seq, hash FROM log_head").fetchone())  # type: ignore[return-value]


def refused(world: dict[str, Any], who: str, *statements: str, match: str) -> None:
    import psycopg

    before = head(world)
    with pytest.raises(psycopg.Error, match=match):
        psql(world, who, *statements)
    assert head(world) == before


def append_call(actor: str, authority: str = "", identity: str = "db", at: str = "h_now",
                type_: str = "ItemFiled") -> str:
    payload = json.dumps({"item": 99, "title": "forged", "body": "hq", "state": "filed", "team": None, "note": ""})
    events = json.dumps([{"type": type_, "schema": 1, "payload": payload, "item": 99, "meeting": None,
                          "roster": False}])
    return (f"SELECT * FROM kaigi_append('{actor}', '{authority or actor}', '{identity}', '2024-10-01', "
            f"(SELECT {at} FROM kaigi_begin()), '{events}'::jsonb)")


# ---------------------------------------------------------------- through the application
def test_r_i1_a_member_acts_as_the_role_postgres_authenticated(world):
    """R-I1: the actor is the member bound to the session's role; the event says `db`."""
    k = kaigi_as(world, "tanaka")
    me = k.authenticate()
    assert (me.login, me.identity, me.via) == ("tanaka", "db", ROLES["tanaka"])
    out = k.file_item(me, "田中の案件")
    assert (out.event.actor, out.event.identity) == ("tanaka", "db")
    assert abs((out.event.at - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60  # the database's clock
    k.store.close()


def test_r_i1_as_another_is_refused_by_the_application(world):
    k = kaigi_as(world, "tanaka")
    with pytest.raises(NotPermitted, match=f"you are database role {ROLES['tanaka']}, member tanaka; "
                                           "--as is for training databases"):
        k.authenticate("sato")
    k.store.close()


def test_r_i3_a_forged_actor_is_refused_by_postgresql(world):
    """R-I3: around the application's check, the append function itself refuses the chief's name."""
    k = kaigi_as(world, "tanaka")
    before = head(world)
    with pytest.raises(DomainError, match="is not member sato"):
        k.file_item(Actor("sato", "db"), "本部長を装う")
    assert head(world) == before
    k.store.close()


def test_r_i2_an_expired_delegation_is_refused_at_the_databases_time(world):
    """R-I2: the delegation ended a day ago by the database's clock: the act is refused, by the
    application and, around it, by PostgreSQL."""
    k = kaigi_as(world, "tanaka")
    before = head(world)
    with pytest.raises(DomainError):
        k.file_item(Actor("tanaka", "db"), "代理", on_behalf_of="sato")
    refused(world, "tanaka", append_call("tanaka", "sato"), match="holds no delegation from sato valid at")
    assert head(world) == before
    k.store.close()


# ---------------------------------------------------------------- around it, as raw SQL
@pytest.mark.parametrize("sql, match", [
    ("UPDATE event SET actor = 'tanaka' WHERE seq = 1", "permission denied"),
    ("DELETE FROM event WHERE seq = (SELECT max(seq) FROM event)", "permission denied"),
    ("TRUNCATE event", "permission denied"),
    ("INSERT INTO event (seq, at, actor, authority, rulebook, type, payload, prev_hash, hash) "
     "VALUES (100000, now(), 'sato', 'sato', '2024-10-01', 'ItemFiled', '{}', 'x', 'y')", "permission denied"),
    ("UPDATE log_head SET seq = seq + 1", "permission denied"),
    ("ALTER TABLE event DISABLE TRIGGER ALL", "must be owner"),
    ("DROP TRIGGER event_append_only ON event", "must be owner"),
    ("INSERT INTO member (login, name, name_en, lang, channel, db_role) "
     "VALUES ('mallory', 'm', 'm', 'ja', 'email', 'x')", "permission denied"),
    ("UPDATE member SET db_role = current_user WHERE login = 'sato'", "permission denied"),
    ("INSERT INTO delegation (id, holder, clerk, valid_from) VALUES (99, 'sato', 'tanaka', now())",
     "permission denied"),
    ("UPDATE item SET title = 'rewritten'", "projection of the log"),
    ("DELETE FROM item", "permission denied"),
    ("CREATE TABLE event_copy (x int)", "permission denied"),
])
def test_r_i3_a_member_cannot_change_the_record(world, sql, match):
    """R-I3: each attempt is refused by PostgreSQL; the head does not move."""
    refused(world, "tanaka", sql, match=match)


def test_r_i3_a_direct_append_in_anothers_name_is_refused(world):
    refused(world, "tanaka", append_call("sato"), match="is not member sato")


def test_r_i3_an_append_without_taking_the_head_is_refused(world):
    refused(world, "tanaka", "SELECT * FROM kaigi_append('tanaka', 'tanaka', 'db', '2024-10-01', now(), '[]'::jsonb)",
            match="must follow kaigi_begin")


def test_r_i2_a_backdated_append_is_refused(world):
    refused(world, "tanaka", append_call("tanaka", at="h_now - interval '1 day'"),
            match="the time of an act is the database's")


@pytest.mark.parametrize("identity, match", [("training", "not as training"), ("system", "not as system"),
                                             ("scheduler", "records for the scheduler only")])
def test_r_i1_a_member_cannot_claim_another_kind_of_identity(world, identity, match):
    refused(world, "tanaka", append_call("tanaka" if identity != "scheduler" else "scheduler", identity=identity),
            match=match)


def test_r_i1_a_member_cannot_become_another_role(world):
    refused(world, "tanaka", f'SET ROLE "{ROLES["sato"]}"', match="permission denied to set role")


def test_the_scheduler_records_reminders_only(world):
    refused(world, "sched", append_call("scheduler", identity="scheduler"), match="records reminders only")


def test_the_web_face_acts_for_a_member_with_set_role(world):
    """The web face's service role records for the member it SET ROLE to, and for nobody else."""
    import psycopg

    with psycopg.connect(conninfo(as_role(world["url"], ROLES["web"]))) as c:
        c.execute(f'SET LOCAL ROLE "{ROLES["tanaka"]}"')
        rows = c.execute(append_call("tanaka", identity="web")).fetchall()
        assert len(rows) == 1
        c.rollback()  # the forged payload must not stay: it was only to see the role accepted
    refused(world, "web", append_call("tanaka", identity="web"), match="is not member tanaka")


# ---------------------------------------------------------------- the auditor (R-I4)
def test_r_i4_the_auditor_verifies_and_does_nothing_else(world):
    k = kaigi_as(world, "audit")
    v = verify(k.store)
    assert v.ok, v.problem
    k.store.close()
    refused(world, "audit", "SELECT * FROM kaigi_begin()", match="permission denied")
    refused(world, "audit", "UPDATE item SET title = 'x'", match="permission denied")


def test_what_was_recorded_says_who_and_verifies(world):
    """After every attack: the log verifies, and no event bears a name its role did not have."""
    import psycopg

    with psycopg.connect(conninfo(world["url"])) as c:
        rows = c.execute("SELECT actor, identity, type FROM event WHERE identity = 'db' ORDER BY seq").fetchall()
    assert all(actor in ("sato", "tanaka") for actor, _, _ in rows)
    assert ("tanaka", "db", "ItemFiled") in rows
    assert not any(t == "ItemFiled" and a == "sato" for a, _, t in rows)
    assert verify(open_store(world["url"])).ok
