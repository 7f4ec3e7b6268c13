"""A meeting moved on a real PostgreSQL database (R-M6 with R-I1..R-I3): the chief, logged in
as his own low-privilege role, moves his council through `kaigi_append` at the database's
time; the meeting's row follows, the log verifies; another member is refused by the rules
(R-C3), and PostgreSQL refuses a move appended in the chief's name by someone else."""

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from engine.app import bootstrap
from engine.app.kaigi import Kaigi
from engine.core.errors import NotPermitted
from engine.core.identity import Actor
from engine.infra.clock import FrozenClock
from store import open_store
from tests.conftest import PG_SKIP, PG_URL, pg_schema_url

pytestmark = pytest.mark.postgres

TAG = uuid.uuid4().hex[:6]
ROLES = {name: f"kaigi_mv_{TAG}_{name}" for name in ("sato", "tanaka")}


def conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def as_role(url: str, role: str) -> str:
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
        past = FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        owner = Kaigi(open_store(url, clock=past.now))
        bootstrap.init(owner, chief={"login": "sato", "name": "佐藤", "name_en": "Sato", "db_role": ROLES["sato"]})
        chief = Actor("sato", "db")
        owner.add_member(chief, "tanaka", name="田中", db_role=ROLES["tanaka"])
        owner.assign(chief, "tanaka", "soshiki2_kacho")
        owner.db_grants(apply=True)
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
            schema = url.rsplit("%3D", 1)[1]
            for (name,) in c.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                     [f"kaigi_%_{schema}_%"]).fetchall():
                c.execute(f'DROP ROLE "{name}"')


def kaigi_as(world: dict[str, Any], who: str) -> Kaigi:
    return Kaigi(open_store(as_role(world["url"], ROLES[who])))


def head(world: dict[str, Any]) -> tuple[int, str]:
    import psycopg

    with psycopg.connect(conninfo(world["url"])) as c:
        return tuple(c.execute("SELECT seq, hash FROM log_head").fetchone())  # type: ignore[return-value]


def test_r_m6_r_i1_the_chief_moves_his_council_as_his_own_role(world):
    k = kaigi_as(world, "sato")
    me = k.authenticate()
    starts = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    m = k.convene(me, "council", starts, place="本部4階大会議室").fact.meeting
    new_at = (starts + dt.timedelta(days=2)).replace(microsecond=0)
    out = k.move(me, m, starts_at=new_at, place="第二会議室", reason="日程変更")
    assert (out.event.type, out.event.actor, out.event.identity) == ("MeetingMoved", "sato", "db")
    assert abs((out.event.at - dt.datetime.now(dt.UTC)).total_seconds()) < 60  # the database's clock
    with k.read(viewer="sato") as q:
        rec = q.meeting_record(m)
        assert (rec.starts_at, rec.place, rec.version, rec.changed_at) == (new_at, "第二会議室", 2, out.event.at)
        assert "LOCATION:第二会議室" in q.ics(m, k.now()) and "SEQUENCE:1" in q.ics(m, k.now())
    k.store.close()
    owner = Kaigi(open_store(world["url"]))
    v = owner.verify()
    assert v.ok, v.problem
    owner.store.close()


def test_r_m6_r_c3_another_member_is_refused_and_nothing_moves(world):
    sato = kaigi_as(world, "sato")
    m = sato.convene(sato.authenticate(), "council", dt.datetime.now(dt.UTC) + dt.timedelta(days=4)).fact.meeting
    sato.store.close()
    k = kaigi_as(world, "tanaka")
    with pytest.raises(NotPermitted, match="only the HQ chief"):
        k.move(k.authenticate(), m, place="別室")
    with k.read(viewer="tanaka") as q:
        assert q.meeting_record(m).place == "" and q.meeting_record(m).version == 1
    k.store.close()


def test_r_i3_a_move_appended_in_the_chiefs_name_is_refused_by_postgresql(world):
    import psycopg

    payload = json.dumps({"starts_at": "2099-01-01T00:00:00.000000+00:00", "place": "偽"})
    events = json.dumps([{"type": "MeetingMoved", "schema": 1, "payload": payload, "item": None, "meeting": 1,
                          "roster": False}]).replace("'", "''")
    before = head(world)
    with pytest.raises(psycopg.Error, match="is not member sato"):
        with psycopg.connect(conninfo(as_role(world["url"], ROLES["tanaka"]))) as c:
            c.execute(f"SELECT * FROM kaigi_append('sato', 'sato', 'db', '2024-10-01', "
                      f"(SELECT h_now FROM kaigi_begin()), '{events}'::jsonb)")
    assert head(world) == before
