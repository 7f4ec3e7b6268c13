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
from engine.app.kaigi import Kaigi
from engine.core.errors import DomainError, NotPermitted
from engine.core.identity import Actor
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
                type_: str = "ItemFiled", payload: dict[str, Any] | None = None, item: Any = 99) -> str:
    text = json.dumps(payload if payload is not None else
                      {"item": 99, "title": "forged", "body": "hq", "state": "filed", "team": None, "note": ""})
    events = json.dumps([{"type": type_, "schema": 1, "payload": text, "item": item, "meeting": None,
                          "roster": False}]).replace("'", "''")
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
    assert abs((out.event.at - dt.datetime.now(dt.UTC)).total_seconds()) < 60  # the database's clock
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
    call = append_call("tanaka").replace("(SELECT h_now FROM kaigi_begin())", "now()")
    refused(world, "tanaka", call, match="must follow kaigi_begin")


def test_r_i2_a_backdated_append_is_refused(world):
    refused(world, "tanaka", append_call("tanaka", at="h_now - interval '1 day'"),
            match="the time of an act is the database's")


def _held_for(world: dict[str, Any], seconds: int) -> None:
    """A member appends after holding the head `seconds`: the head's lock time is set back by
    the owner (what a member who took the head and waited would leave there; nobody but the
    holder can touch that row meanwhile), then the append runs as the member's role in the
    same transaction, which is rolled back."""
    import psycopg

    call = append_call("tanaka", at="lock_at").replace("FROM kaigi_begin()", "FROM log_head WHERE id = 1")
    with psycopg.connect(conninfo(world["url"])) as c:
        try:
            c.execute("UPDATE log_head SET lock_txid = txid_current(), "
                      f"lock_at = clock_timestamp() - interval '{int(seconds)} seconds' WHERE id = 1")
            c.execute(f'SET LOCAL ROLE "{ROLES["tanaka"]}"')
            c.execute(call).fetchall()
        finally:
            c.rollback()


def test_r_i2_a_head_held_over_a_minute_is_refused(world):
    """Holding the head to stamp an act with an old time (R-I2): past 60 s the append is
    refused; the same append just after taking the head goes through (then rolled back)."""
    import psycopg

    before = head(world)
    _held_for(world, 0)
    with pytest.raises(psycopg.Error, match="held too long"):
        _held_for(world, 61)
    assert head(world) == before


@pytest.mark.parametrize("identity, match", [("training", "not as training"), ("system", "not as system"),
                                             ("scheduler", "records for the scheduler only")])
def test_r_i1_a_member_cannot_claim_another_kind_of_identity(world, identity, match):
    refused(world, "tanaka", append_call("tanaka" if identity != "scheduler" else "scheduler", identity=identity),
            match=match)


def test_r_i1_a_member_cannot_become_another_role(world):
    refused(world, "tanaka", f'SET ROLE "{ROLES["sato"]}"', match="permission denied to set role")


def test_the_scheduler_records_reminders_only(world):
    """The scheduler's role appends reminders and the convocation notices its mails carry,
    nothing else: not an act, not another paper (issue 17)."""
    match = "records reminders and the notices it mails only"
    refused(world, "sched", append_call("scheduler", identity="scheduler"), match=match)
    report = {"item": 1, "meeting": None, "kind": "report", "lang": "ja", "sha256": "0" * 64, "of_seq": 1,
              "head_seq": 1}
    refused(world, "sched", append_call("scheduler", identity="scheduler", type_="DocumentPrinted", payload=report),
            match=match)


def test_the_web_face_acts_for_a_member_with_set_role(world):
    """The web face's service role records for the member it SET ROLE to, and for nobody else."""
    import psycopg

    with psycopg.connect(conninfo(as_role(world["url"], ROLES["web"]))) as c:
        c.execute(f'SET LOCAL ROLE "{ROLES["tanaka"]}"')
        rows = c.execute(append_call("tanaka", identity="web")).fetchall()
        assert len(rows) == 1
        c.rollback()  # the forged payload must not stay: it was only to see the role accepted
    refused(world, "web", append_call("tanaka", identity="web"), match="SET ROLE")
    refused(world, "tanaka", append_call("tanaka", identity="web"), match="SET ROLE")  # psql is not the web face


def test_the_web_identity_needs_the_web_group_not_only_a_set_role(world):
    """A member's own role that says SET ROLE (to itself: always allowed) is still not the web
    face: the session user must be in the web group (the check kaigi_append makes itself,
    written out in migration 0015)."""
    refused(world, "tanaka", f'SET ROLE "{ROLES["tanaka"]}"', append_call("tanaka", identity="web"),
            match="identity web is the web face's")


def test_the_schedulers_role_records_as_the_scheduler_and_nobody_else(world):
    """The scheduler group's role appends a reminder as the scheduler (accepted, then rolled
    back), never in a member's name or on a member's authority."""
    import psycopg

    due = {"item": 1, "meeting": None, "reminder": "staff_meeting/item:1/x", "key": "staff_meeting", "rung": 0,
           "recipients": ["tanaka"], "deadline": "2026-01-01T00:00:00+00:00"}
    before = head(world)
    with psycopg.connect(conninfo(as_role(world["url"], ROLES["sched"]))) as c:
        rows = c.execute(append_call("scheduler", identity="scheduler", type_="ReminderDue", payload=due,
                                     item=1)).fetchall()
        assert len(rows) == 1
        c.rollback()
    assert head(world) == before
    for actor, authority in (("tanaka", "tanaka"), ("scheduler", "sato")):
        refused(world, "sched", append_call(actor, authority, identity="scheduler", type_="ReminderDue",
                                            payload=due, item=1),
                match="records for the scheduler only")


# ---------------------------------------------------------------- the red team's findings, each refused now
def test_a_member_cannot_rebind_anothers_identity(world):
    """MemberBound is the owner's: a member who could rebind the chief to their own role would
    act as the chief (found by the red team)."""
    refused(world, "tanaka", append_call("tanaka", type_="MemberBound", item=None,
                                         payload={"login": "sato", "db_role": ROLES["tanaka"], "os_user": None}),
            match="binding a member to an identity is the owner's")


def test_a_new_member_cannot_take_an_existing_identity(world):
    refused(world, "tanaka", append_call("tanaka", type_="MemberAdded", item=None, payload={
        "login": "mallory", "name": "m", "name_en": "m", "email": None, "lang": "ja", "channel": "email",
        "db_role": ROLES["sato"]}), match="nobody's yet")


def test_a_delegation_cannot_be_reopened(world):
    refused(world, "tanaka", append_call("tanaka", "sato", type_="DelegationEnded", item=None,
                                         payload={"id": 1, "valid_until": None}),
            match="delegation")
    refused(world, "sato", append_call("sato", type_="DelegationEnded", item=None,
                                       payload={"id": 1, "valid_until": "2099-01-01T00:00:00+00:00"}),
            match="only its holder ends a delegation, and only from now on")


def test_an_event_whose_numbers_are_text_is_refused(world):
    """The chain link is built from what is stored: an item id given as text is refused, not
    planted as an event verify would call altered (found by the red team)."""
    refused(world, "tanaka", append_call("tanaka", item=" 1"), match="numbers for numbers")


def test_an_empty_append_is_refused(world):
    refused(world, "tanaka", "SELECT * FROM kaigi_append('tanaka', 'tanaka', 'db', '2024-10-01', "
                             "(SELECT h_now FROM kaigi_begin()), '[]'::jsonb)", match="at least one event")


@pytest.mark.parametrize("sql", [
    "INSERT INTO assignment (id, login, position, body, valid_from) VALUES (99, 'tanaka', 'keisatsu_honbucho', "
    "'hq', now())",
    "UPDATE body SET ja = 'x'",
    "INSERT INTO rulebook_adoption (version, effective_from, sha256, text) VALUES ('x', '2030-01-01', 'x', 'x')",
])
def test_the_roster_tables_are_the_databases(world, sql):
    refused(world, "tanaka", append_call("tanaka"), sql, match="permission denied|not member")
    refused(world, "tanaka", sql, match="permission denied")


def test_a_password_is_set_only_for_oneself(world):
    payload = {"login": "sato"}
    refused(world, "tanaka", append_call("tanaka", type_="CredentialSet", item=None, payload=payload),
            "INSERT INTO credential (login, hash, set_at) VALUES ('sato', 'x', now())",
            match="only with its event|permission denied|only their own password")


def test_the_groups_are_this_installations(world):
    """Group roles are per database and schema: a member of another HQ on the same cluster is not ours."""
    assert all(ROLES["sato"] not in g and g.startswith("kaigi_") and g.endswith(kind)
               for kind, g in world["groups"].items())
    assert len(set(world["groups"].values())) == 4


def test_db_grant_never_interpolates_a_hostile_role_name():
    from store import pg

    hostile = 'x$$;GRANT UPDATE ON member TO mallory;DO $$BEGIN END'
    sql = pg.grants("s", "d", {hostile, "tanaka"}, [hostile, "tanaka"])
    assert not any("mallory" in x for x in sql)
    assert any('"tanaka"' in x for x in sql)


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


def test_the_web_face_as_a_service_role_acts_as_the_signed_in_member(world):
    """End to end: `kaigi serve` connected as the web group's role signs tanaka in and files an
    item; PostgreSQL records tanaka (identity web), witnessed through SET ROLE."""
    import re

    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient

    from engine.app import accounts
    from engine.infra import passwords
    from web import create_app

    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        owner = Kaigi(open_store(world["url"]))
        accounts.set_password(owner, Actor("tanaka", "db"), "tanaka", "tanaka-password-1")
        owner.store.close()
        k = kaigi_as(world, "web")
        c = TestClient(create_app(k, secret="s"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post("/login", data={"login": "tanaka", "password": "tanaka-password-1", "csrf_token": token})
        assert r.status_code == 200 and 'data-login="tanaka"' in r.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/board").text).group(1)
        r = c.post("/items", data={"title": "ウェブから", "csrf_token": token})
        assert r.status_code == 200, r.text[:500]
        with k.store.read() as tx:
            last = tx.events(after=tx.head().seq - 1)[-1]
        assert (last.actor, last.identity, last.type) == ("tanaka", "web", "ItemFiled")
        k.store.close()
    finally:
        passwords._HASHER = None


def test_r_i6_no_member_writes_or_reads_web_sessions(world):
    """Web sessions are the web service's (it signs members in); a member's own database role
    can neither plant a session for the chief nor revive or read one."""
    digest = "ab" * 32
    refused(world, "sato", "INSERT INTO web_session (digest, login, created_at, expires_at) "
            f"VALUES ('{digest}', 'tanaka', now(), now() + interval '1 hour')", match="permission denied")
    refused(world, "sato", "UPDATE web_session SET ended_at = NULL", match="permission denied")
    refused(world, "sato", "SELECT digest FROM web_session", match="permission denied")
