"""R-I5 on PostgreSQL: credentials are acts the database itself keeps.

Found on main `71839af`: tanaka, a clerk sato had delegated recording to (R-A1), appended a
TokenCreated *for sato* with his own login role and inserted the token's row; he then
signed in with it and convened a meeting recorded as sato's own act, and `audit verify`
said ok. kato, inside one of his own token-creating acts, ran `UPDATE api_token SET
login = 'kato' WHERE id = <the chief's token>`: the per-row guard looked at NEW.login only,
and the chief's token then acted as kato. Now no member's role writes api_token or
credential: the append function keeps api_token from the events it appends and refuses a
credential event a delegation would cover; a password hash goes in through
`kaigi_set_credential` only, right after its member's own CredentialSet, matching its
commitment. Attacks are typed as raw SQL, as a member with `psql` could.
"""

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from engine.app import accounts, bootstrap
from engine.app.audit import verify
from engine.app.kaigi import Kaigi
from engine.core.identity import Actor
from store import open_store
from tests.conftest import PG_SKIP, PG_URL, pg_schema_url

pytestmark = pytest.mark.postgres

TAG = uuid.uuid4().hex[:6]
ROLES = {name: f"kaigi_c_{TAG}_{name}" for name in ("sato", "tanaka", "kato", "audit", "web")}


def conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def as_role(url: str, role: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from engine.infra import passwords

    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(passwords, "_dummy", [])


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """A real HQ: sato the chief, tanaka a section chief and clerk holding sato's delegation
    valid now, kato a section chief; each logs in as a role of their own."""
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
        owner = Kaigi(open_store(url))
        bootstrap.init(owner, chief={"login": "sato", "name": "佐藤", "name_en": "Sato", "db_role": ROLES["sato"]})
        chief = Actor("sato", "db")
        owner.add_member(chief, "tanaka", name="田中", db_role=ROLES["tanaka"])
        owner.assign(chief, "tanaka", "soshiki2_kacho")
        owner.assign(chief, "tanaka", "soshiki2_shomu")
        owner.delegate(chief, "tanaka", valid_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        owner.add_member(chief, "kato", name="加藤", db_role=ROLES["kato"])
        owner.assign(chief, "kato", "team_leader")
        owner.db_grants(apply=True)
        groups = {kind: owner.store.group_name(kind) for kind in ("member", "auditor", "scheduler", "web")}
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'GRANT "{groups["auditor"]}" TO "{ROLES["audit"]}"')
            c.execute(f'GRANT "{groups["web"]}" TO "{ROLES["web"]}"')
        owner.store.close()
        w = {"url": url, "groups": groups}
        k = kaigi_as(w, "sato")
        w["chiefs_token"], w["chiefs_secret"] = accounts.create_token(k, Actor("sato", "db"), "desk")
        k.store.close()
        yield w
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
    import psycopg

    with psycopg.connect(conninfo(as_role(world["url"], ROLES[who]))) as c:
        out = None
        for sql in statements:
            cur = c.execute(sql)
            out = cur.fetchall() if cur.description else None
        c.commit()
        return out


def state(world: dict[str, Any]) -> tuple[Any, ...]:
    import psycopg

    with psycopg.connect(conninfo(world["url"])) as c:
        return (c.execute("SELECT seq, hash FROM log_head").fetchone(),
                c.execute("SELECT * FROM api_token ORDER BY id").fetchall(),
                c.execute("SELECT * FROM credential ORDER BY login").fetchall())


def refused(world: dict[str, Any], who: str, *statements: str, match: str) -> None:
    import psycopg

    before = state(world)
    with pytest.raises(psycopg.Error, match=match):
        psql(world, who, *statements)
    assert state(world) == before


def append(actor: str, authority: str, type_: str, payload: dict[str, Any], schema: int = 2) -> str:
    events = json.dumps([{"type": type_, "schema": schema, "payload": json.dumps(payload, separators=(",", ":")),
                          "item": None, "meeting": None, "roster": False}]).replace("'", "''")
    return (f"SELECT * FROM kaigi_append('{actor}', '{authority}', 'db', '2024-10-01', "
            f"(SELECT h_now FROM kaigi_begin()), '{events}'::jsonb)")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def token_payload(n: int, login: str, secret: str) -> dict[str, Any]:
    return {"id": n, "login": login, "name": "x", "expires_at": None, "digest": sha(secret)}


# ---------------------------------------------------------------- the attacks of main, refused
def test_r_i5_a_clerk_cannot_mint_a_token_for_his_delegator(world):
    refused(world, "tanaka", append("tanaka", "sato", "TokenCreated", token_payload(50, "sato", "kaigi_mine")),
            "INSERT INTO api_token (id, login, name, digest, created_at) "
            f"VALUES (50, 'sato', 'x', '{sha('kaigi_mine')}', now())",
            match="no delegation covers it")
    refused(world, "tanaka", "INSERT INTO api_token (id, login, name, digest, created_at) "
                             f"VALUES (50, 'sato', 'x', '{sha('kaigi_mine')}', now())", match="permission denied")


def test_r_i5_a_clerk_cannot_set_his_delegators_password(world):
    from engine.infra import passwords

    hashed = passwords.hash_password("tanaka knows this one")
    refused(world, "tanaka", append("tanaka", "sato", "CredentialSet", {"login": "sato", "commitment": sha(hashed)}),
            f"SELECT kaigi_set_credential('sato', '{hashed}')", match="no delegation covers it")
    refused(world, "tanaka", append("tanaka", "tanaka", "CredentialSet", {"login": "tanaka", "commitment": sha(hashed)}),
            f"SELECT kaigi_set_credential('sato', '{hashed}')", match="only with its member's own CredentialSet")
    refused(world, "tanaka", f"INSERT INTO credential (login, hash, set_at) VALUES ('sato', '{hashed}', now())",
            match="permission denied")


def test_r_i5_a_member_cannot_take_the_chiefs_token_inside_his_own_act(world):
    """kato makes a token of his own (allowed), and in the same transaction rewrites the
    owner of the chief's token: refused, and nothing of the transaction stays."""
    n = world["chiefs_token"]
    refused(world, "kato", append("kato", "kato", "TokenCreated", token_payload(n + 1, "kato", "kaigi_kato")),
            f"UPDATE api_token SET login = 'kato' WHERE id = {n}", match="permission denied")
    refused(world, "kato", append("kato", "kato", "TokenCreated", token_payload(n + 1, "kato", "kaigi_kato")),
            f"UPDATE api_token SET revoked_at = NULL, digest = '{sha('kaigi_kato')}' WHERE id = {n}",
            match="permission denied")
    k = kaigi_as(world, "web")
    assert accounts.token_login(k, world["chiefs_secret"]) == "sato"
    k.store.close()


def test_r_i5_a_member_cannot_keep_a_hash_other_than_the_one_his_event_committed_to(world):
    from engine.infra import passwords

    said, kept = passwords.hash_password("one passphrase"), passwords.hash_password("another passphrase")
    refused(world, "kato", append("kato", "kato", "CredentialSet", {"login": "kato", "commitment": sha(said)}),
            f"SELECT kaigi_set_credential('kato', '{kept}')", match="committing to this hash")
    refused(world, "kato", f"SELECT kaigi_set_credential('kato', '{kept}')", match="only with its member's own")


@pytest.mark.parametrize("type_, payload, match", [
    ("TokenCreated", {"id": 70, "login": "sato", "name": "x", "expires_at": None,
                      "digest": "0" * 64}, "for themselves only"),
    ("TokenCreated", {"id": 70, "login": "kato", "name": "x", "expires_at": None}, "sha256"),
    ("CredentialSet", {"login": "sato", "commitment": "0" * 64}, "only their own password"),
    ("TokenRevoked", {"id": 1, "login": "kato", "by": "kato"}, "live token, its owner"),
])
def test_r_i5_the_append_function_refuses_credential_events_not_ones_own(world, type_, payload, match):
    refused(world, "kato", append("kato", "kato", type_, payload), match=match)


def test_r_i5_a_pre_r_i5_credential_event_is_refused_from_members(world):
    """Schema 1 had no digest or commitment: only the owner (an import) writes those."""
    refused(world, "kato", append("kato", "kato", "CredentialSet", {"login": "kato"}, schema=1),
            match="only their own password")


# ---------------------------------------------------------------- the honest paths still work
def test_r_i5_own_credentials_and_the_chiefs_revocation_through_the_application(world):
    tanaka = kaigi_as(world, "tanaka")
    tid, secret = accounts.create_token(tanaka, Actor("tanaka", "db"), "laptop")
    accounts.set_password(tanaka, Actor("tanaka", "db"), "tanaka", "tanaka's own passphrase")
    tanaka.store.close()
    web = kaigi_as(world, "web")
    assert accounts.token_login(web, secret) == "tanaka"
    assert accounts.check_password(web, "tanaka", "tanaka's own passphrase")
    chief = kaigi_as(world, "sato")
    assert {t["login"] for t in accounts.tokens(chief, "sato", everyone=True)} >= {"sato", "tanaka"}
    accounts.revoke_token(chief, Actor("sato", "db"), tid)
    chief.store.close()
    assert accounts.token_login(web, secret) is None
    web.store.close()


def test_r_i5_the_auditor_verifies_tokens_and_passwords_without_reading_a_hash(world):
    import psycopg

    k = kaigi_as(world, "audit")
    v = verify(k.store)
    assert v.ok, v.problem
    k.store.close()
    with pytest.raises(psycopg.Error, match="permission denied"):
        psql(world, "audit", "SELECT hash FROM credential")
    with pytest.raises(psycopg.Error, match="permission denied"):
        psql(world, "kato", "SELECT hash FROM credential")


def test_r_i5_a_revocation_of_anothers_token_made_around_the_engine_is_named_by_verify(world):
    """The database cannot tell the chief from the rulebook's text, so a member who calls
    kaigi_append himself can revoke another's token (a denial of service, never a way in:
    the row can only lose its use). Replay re-decides it and verify names it (R-I5).
    Last in this module: the log fails verify from here on."""
    n = world["chiefs_token"]
    psql(world, "kato", append("kato", "kato", "TokenRevoked", {"id": n, "login": "sato", "by": "kato"}))
    auditor = kaigi_as(world, "audit")
    v = verify(auditor.store)
    auditor.store.close()
    assert not v.ok and v.first_bad_seq == head_seq(world)
    assert "token" in v.problem.render("en")


def head_seq(world: dict[str, Any]) -> int:
    import psycopg

    with psycopg.connect(conninfo(world["url"])) as c:
        return int(c.execute("SELECT seq FROM log_head").fetchone()[0])
