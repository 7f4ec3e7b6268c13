"""R-I5: credentials and identity are acts, decided by rules, kept in the log (hashes only)
and replayed by `audit verify`.

Each attack here worked on main `71839af`: a clerk minted a token or a password for the
member who delegated to him; the chief set anyone's password (and so could sign in as
them); only a token's owner could revoke it; a station chief bound a newcomer to an HQ
member's OS account; an api_token or credential row edited in the database went unseen
by verify. The engine decides on every store; the tamper cases edit the tables as someone
with the database's file (SQLite) or its owner's role (PostgreSQL) could.
"""

import datetime as dt
import hashlib
import json

import pytest

from engine.app import accounts
from engine.app.audit import verify
from engine.core import events as ev
from engine.core import people
from engine.core.errors import BadInput, NotFound, NotPermitted
from engine.core.identity import Actor
from store.codec import t_out
from tests.conftest import fingerprint, raw


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes ~60 ms a hash; these tests check rules, not cost."""
    from argon2 import PasswordHasher

    from engine.infra import passwords

    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(passwords, "_dummy", [])


@pytest.fixture
def clerk(fast):
    """sato (the chief) lets yamaguchi (the secretariat) record his acts for a month (R-A1)."""
    fast.delegate("sato", "yamaguchi", valid_until=fast.clock.now() + dt.timedelta(days=30))
    return fast


def on_behalf(k, act, build):
    return k.act(Actor("yamaguchi"), act, build, on_behalf_of="sato")


# ---------------------------------------------------------------- decisions, on every store
def test_r_i5_a_delegation_never_covers_making_a_token_for_the_delegator(clerk):
    before = fingerprint(clerk.store)
    digest = hashlib.sha256(b"kaigi_x").hexdigest()
    with pytest.raises(NotPermitted) as err:
        on_behalf(clerk, "create_token", lambda ctx, tx: people.create_token(ctx, 1, "x", None, digest))
    assert err.value.rule == "R-I5"
    assert fingerprint(clerk.store) == before
    assert clerk.peek.tokens() == []


def test_r_i5_a_delegation_never_covers_setting_the_delegators_password(clerk):
    commitment = hashlib.sha256(b"$argon2id$...").hexdigest()
    with pytest.raises(NotPermitted) as err:
        on_behalf(clerk, "set_password", lambda ctx, tx: people.set_password(ctx, "sato", commitment))
    assert err.value.rule == "R-I5"
    assert clerk.peek.credential("sato") is None


def test_r_i5_a_delegation_never_covers_revoking_or_binding(clerk):
    accounts.create_token(clerk, "sato", "mine")
    with pytest.raises(NotPermitted) as err:
        on_behalf(clerk, "revoke_token", lambda ctx, tx: people.revoke_token(ctx, 1, "sato"))
    assert err.value.rule == "R-I5"
    with pytest.raises(NotPermitted) as err:
        on_behalf(clerk, "bind_member", lambda ctx, tx: people.bind_member(ctx, ctx.world.member("yamamoto"),
                                                                          "yamamoto2", None))
    assert err.value.rule == "R-I5"
    assert clerk.peek.tokens()[0]["revoked_at"] is None


def test_r_i5_the_chief_cannot_set_anothers_password(fast):
    """Setting someone's password is signing in as them: not even the chief may (R-I5)."""
    with pytest.raises(NotPermitted) as err:
        accounts.set_password(fast, "sato", "yamamoto", "a long passphrase")
    assert err.value.rule == "R-I5"
    assert not accounts.check_password(fast, "yamamoto", "a long passphrase")
    accounts.set_password(fast, "yamamoto", "yamamoto", "a long passphrase")  # the README's example
    assert accounts.check_password(fast, "yamamoto", "a long passphrase")
    assert verify(fast.store).ok


def test_r_i5_the_chief_revokes_anyones_token_nobody_else_does(fast):
    tid, secret = accounts.create_token(fast, "yamamoto", "laptop")
    with pytest.raises(NotFound):  # to another member a token not theirs is as absent as none
        accounts.revoke_token(fast, "nakamura", tid)
    with pytest.raises(NotFound):
        accounts.revoke_token(fast, "nakamura", tid + 1)
    assert accounts.token_login(fast, secret) == "yamamoto"
    accounts.revoke_token(fast, "sato", tid)
    assert accounts.token_login(fast, secret) is None
    last = fast.peek.stream()[-1]
    assert (last.type, last.authority, json.loads(last.payload)) == (
        "TokenRevoked", "sato", {"id": tid, "login": "yamamoto", "by": "sato"})
    with pytest.raises(BadInput):
        accounts.revoke_token(fast, "yamamoto", tid)
    assert verify(fast.store).ok


def test_r_i5_the_chief_lists_every_token_nobody_else_does(fast):
    accounts.create_token(fast, "yamamoto", "a")
    accounts.create_token(fast, "nakamura", "b")
    assert [t["login"] for t in accounts.tokens(fast, "sato", everyone=True)] == ["yamamoto", "nakamura"]
    assert all("digest" not in t for t in accounts.tokens(fast, "sato", everyone=True))
    with pytest.raises(NotPermitted) as err:
        accounts.tokens(fast, "yamamoto", everyone=True)
    assert err.value.rule == "R-I5"
    assert [t["name"] for t in accounts.tokens(fast, "nakamura")] == ["b"]


def test_r_i5_the_log_holds_hashes_only(fast):
    """The token's sha256 and the sha256 of the stored argon2 hash: never the hash itself."""
    _tid, secret = accounts.create_token(fast, "yamamoto", "laptop")
    accounts.set_password(fast, "yamamoto", "yamamoto", "a long passphrase")
    created, setpw = [e for e in fast.peek.stream() if e.type in ("TokenCreated", "CredentialSet")]
    assert json.loads(created.payload)["digest"] == hashlib.sha256(secret.encode()).hexdigest()
    stored = fast.peek.credential("yamamoto")
    assert json.loads(setpw.payload) == {"login": "yamamoto",
                                         "commitment": hashlib.sha256(stored.encode()).hexdigest()}
    assert "argon2" not in setpw.payload and secret not in created.payload
    assert (created.schema, setpw.schema) == (2, 2)


# ---------------------------------------------------------------- bindings held by another (R-I5)
def test_r_i5_a_station_chief_cannot_bind_a_newcomer_to_an_hq_members_account(fast):
    """sato has no explicit os_user: he is authenticated by his login, so `sato` is his.
    On main the check compared explicit bindings only, and the newcomer took sato's CLI."""
    before = fingerprint(fast.store)
    for os_user, db_role in (("sato", None), (None, "sato")):
        with pytest.raises(NotPermitted) as err:
            fast.add_member("matsumoto", "mallory", name="m", os_user=os_user, db_role=db_role)
        assert err.value.rule == "R-I5"
    assert fingerprint(fast.store) == before
    with pytest.raises(NotPermitted):
        fast.bind_member("sato", "yamamoto", os_user="watanabe")
    fast.bind_member("sato", "yamamoto", os_user="yamamoto.t")
    with pytest.raises(NotPermitted):  # now yamamoto.t is yamamoto's
        fast.add_member("sato", "yamamoto.t", name="y")
    assert verify(fast.store).ok


# ---------------------------------------------------------------- old events still replay
def test_pre_r_i5_credential_events_upcast_and_replay():
    """Logs written before R-I5: no digest, no commitment, no `by` (only the owner revoked)."""
    assert ev.decode("TokenRevoked", 1, '{"id":3,"login":"kato"}', None, None) == ev.TokenRevoked(3, "kato", "kato")
    assert ev.decode("TokenCreated", 1, '{"expires_at":null,"id":3,"login":"kato","name":""}', None, None).digest is None
    assert ev.decode("CredentialSet", 1, '{"login":"kato"}', None, None).commitment is None


# ---------------------------------------------------------------- verify compares both tables (SQLite and PG)
@pytest.fixture
def tokens(svc):
    mine, _ = accounts.create_token(svc, "yamamoto", "laptop")
    chiefs, _ = accounts.create_token(svc, "sato", "desk")
    gone, _ = accounts.create_token(svc, "nakamura", "old")
    accounts.revoke_token(svc, "nakamura", gone)
    accounts.set_password(svc, "yamamoto", "yamamoto", "a long passphrase")
    assert verify(svc.store).ok
    return svc, {"mine": mine, "chiefs": chiefs, "gone": gone}


@pytest.mark.parametrize("edit, field", [
    ("UPDATE api_token SET login = 'yamamoto' WHERE id = :chiefs", "login"),  # the chief's token acts as him
    ("UPDATE api_token SET revoked_at = NULL WHERE id = :gone", "revoked_at"),  # a revoked token back alive
    ("UPDATE api_token SET digest = :digest WHERE id = :mine", "digest"),  # a token only the editor knows
    ("UPDATE api_token SET expires_at = :later WHERE id = :mine", "expires_at"),
])
def test_r_i5_verify_names_an_edited_token_row(tokens, edit, field):
    svc, ids = tokens
    later = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    raw(svc.store, edit, **ids, digest=hashlib.sha256(b"kaigi_mine").hexdigest(),
        later=later if svc.store.pg else t_out(later))
    v = verify(svc.store)
    assert not v.ok
    assert f"({field})" in v.problem.render("en") and "API token" in v.problem.render("en")


def test_r_i5_verify_finds_a_token_row_the_log_never_made(tokens):
    svc, _ = tokens
    raw(svc.store, "INSERT INTO api_token (id, login, name, digest, created_at) VALUES "
                   "(99, 'sato', 'x', :d, :at)", d="0" * 64, at=t_out(svc.clock.now()))
    v = verify(svc.store)
    assert not v.ok and "api_token 99" in v.problem.render("en")


def test_r_i5_verify_finds_a_password_hash_swapped_for_a_known_one(tokens):
    """Whoever can write the table could set a hash of a password they know, then sign in."""
    from engine.infra import passwords

    svc, _ = tokens
    raw(svc.store, "UPDATE credential SET hash = :h WHERE login = 'yamamoto'", h=passwords.hash_password("known!1234"))
    assert accounts.check_password(svc, "yamamoto", "known!1234")  # the attack works on the table...
    v = verify(svc.store)
    assert not v.ok and "yamamoto" in v.problem.render("en")  # ...and verify names it
    raw(svc.store, "INSERT INTO credential (login, hash, set_at) VALUES ('sato', 'x', :at)", at=t_out(svc.clock.now()))
    assert not verify(svc.store).ok


def test_r_i5_cli_verify_exits_7_naming_the_token(kaigi, demo_cli, db_url):
    r = demo_cli("--as", "sato", "token", "create", "--name", "desk")
    assert r.exit_code == 0, r.output
    r = demo_cli("--as", "yamamoto", "token", "create")
    assert r.exit_code == 0, r.output
    from store import open_store

    st = open_store(db_url)
    raw(st, "UPDATE api_token SET login = 'yamamoto' WHERE id = 1")
    st.close()
    r = demo_cli("audit", "verify")
    assert r.exit_code == 7 and "API token 1" in r.output, r.output


def test_r_i5_cli_chief_lists_all_and_revokes_anyones(demo_cli):
    assert demo_cli("--as", "yamamoto", "token", "create", "--name", "laptop").exit_code == 0
    r = demo_cli("--as", "nakamura", "token", "list", "--all")
    assert r.exit_code == 3 and len(r.stderr.strip().splitlines()) == 1
    r = demo_cli("--json", "--as", "sato", "token", "list", "--all")
    assert r.exit_code == 0, r.output
    assert [(t["id"], t["login"]) for t in json.loads(r.stdout)] == [(1, "yamamoto")]
    assert demo_cli("--as", "nakamura", "token", "revoke", "1").exit_code == 5
    assert demo_cli("--as", "sato", "token", "revoke", "1").exit_code == 0
    assert demo_cli("audit", "verify").exit_code == 0


def test_r_i5_verify_refuses_a_token_a_clerk_wrote_for_his_delegator(svc):
    """The clerk attack of main, made around the engine (a store's own append, as whoever
    holds the SQLite file could): the log then says a clerk made sato's token under a
    delegation, and replay refuses it (R-I5), where main's verify said ok."""
    from store.records import NewEvent

    svc.delegate("sato", "yamaguchi", valid_until=svc.clock.now() + dt.timedelta(days=30))
    fact = ev.TokenCreated(id=1, login="sato", name="x", expires_at=None, digest=hashlib.sha256(b"kaigi_y").hexdigest())
    version = svc.book().version
    with svc.store.act() as tx:
        tx.append("yamaguchi", "sato", "training", version,
                  [NewEvent(fact.type, fact.schema, fact.payload_text(), None, None)])
        tx.add_token(1, "sato", "x", fact.digest, None, tx.now)
    v = verify(svc.store)
    assert not v.ok and "R-I5" in v.problem.render("en") and v.first_bad_seq == svc.peek.head().seq


def test_r_i5_tokens_are_the_logs_and_survive_export_and_import(svc, tmp_path):
    """The api_token table is folded from the log: an imported log brings its tokens (live
    and revoked) with it, and verifies; a password, whose hash the log never holds, does not."""
    import io

    from engine.app.audit import export_rows, import_or_verdict, read_export, write_export
    from engine.app.kaigi import Kaigi
    from store import open_store
    from store.db import upgrade

    _, live = accounts.create_token(svc, "yamamoto", "laptop")
    gone, dead = accounts.create_token(svc, "nakamura", "old")
    accounts.revoke_token(svc, "sato", gone)
    buf = io.StringIO()
    write_export(export_rows(svc.store), "jsonl", buf)
    url = f"sqlite:///{tmp_path}/imported.db"
    upgrade(url)
    target = Kaigi(open_store(url))
    v = import_or_verdict(target.store, read_export(buf.getvalue(), "jsonl"))
    assert v.ok, v.problem
    assert (accounts.token_login(target, live), accounts.token_login(target, dead)) == ("yamamoto", None)
    assert verify(target.store).ok
    target.store.close()


def test_r_i5_a_log_written_before_r_i5_still_verifies(svc):
    """Credential events as main wrote them (schema 1: no digest, no commitment, no `by`;
    the chief then set anyone's password) replay under the rule of their day; their rows
    are not checked against hashes the log never had. Written on PostgreSQL by the owner,
    as an upgraded database holds them."""
    from store.records import NewEvent

    version = svc.book().version
    old = [("sato", "CredentialSet", {"login": "yamamoto"}),
           ("yamamoto", "TokenCreated", {"id": 1, "login": "yamamoto", "name": "old", "expires_at": None}),
           ("yamamoto", "TokenRevoked", {"id": 1, "login": "yamamoto"})]
    for who, type_, payload in old:
        with svc.store.act() as tx:
            tx.append(who, who, "training", version, [NewEvent(type_, 1, json.dumps(payload), None, None)])
            if type_ == "CredentialSet":
                tx.set_credential("yamamoto", "$argon2id$v=19$m=1024,t=1,p=1$old") if not svc.store.pg else None
            elif type_ == "TokenCreated" and not svc.store.pg:
                tx.add_token(1, "yamamoto", "old", "f" * 64, None, tx.now)
            elif not svc.store.pg:
                tx.revoke_token(1, tx.now)
    assert verify(svc.store).ok, verify(svc.store).problem
    with svc.store.act() as tx:  # under the old rule too, a member set no one else's password
        tx.append("nakamura", "nakamura", "training", version,
                  [NewEvent("CredentialSet", 1, json.dumps({"login": "yamamoto"}), None, None)])
    v = verify(svc.store)
    assert not v.ok and "R-I5" in v.problem.render("en")
