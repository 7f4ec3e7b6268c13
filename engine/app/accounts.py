"""Web sign-in for members: passwords (argon2) and API tokens.

Credentials are acts (R-I5): each event (`CredentialSet`, `TokenCreated`, `TokenRevoked`)
is decided by `engine.core.people`, says who did it and for whom, and carries only a hash:
a token's sha256, and for a password the sha256 of its argon2 hash string (the argon2 hash
itself stays beside the log: members read the log, and it could be attacked offline).
`audit verify` replays the api_token table and checks each stored password hash against
its commitment. A member sets their own password and makes their own tokens; no
delegation covers either; the chief may revoke anyone's token. Tokens show once.
"""

import datetime as dt
import hashlib
import secrets
from typing import Any

from engine.core import people
from engine.core.decide import Ctx
from engine.core.errors import BadInput, NotPermitted
from engine.core.events import Event
from engine.core.identity import Actor
from engine.infra import passwords
from store.ports import Act

TOKEN_PREFIX = "kaigi_"


def set_password(kaigi: Any, actor: Actor | str, login: str, password: str) -> Any:
    """R-I5: a member sets their own password (the log keeps sha256 of its argon2 hash)."""
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        raise BadInput("password.length", min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH)
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in password):
        raise BadInput("password.chars")
    hashed = passwords.hash_password(password)

    def build(ctx: Ctx, tx: Act) -> list[Event]:
        return people.set_password(ctx, login, commitment(hashed))
    return kaigi.act(actor, "set_password", build, after=lambda tx: tx.set_credential(login, hashed))


def commitment(hashed: str) -> str:
    """What the log keeps of a stored password hash: its sha256, enough to check the stored
    row and useless for guessing the password."""
    return hashlib.sha256(hashed.encode("utf-8")).hexdigest()


def check_password(kaigi: Any, login: str, password: str) -> bool:
    """A sign-in attempt: True only for a member whose password this is."""
    with kaigi.store.read() as tx:
        stored = tx.credential(login) if len(login) <= 64 else None
    return passwords.verify_password(stored, password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(kaigi: Any, actor: Actor | str, name: str = "", expires_at: dt.datetime | None = None) -> tuple[int, str]:
    """A new API token of the acting member: (its id, the token, shown this once). Its sha256
    goes in the event; the api_token row is folded from it (on PostgreSQL by the append
    function itself)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    digest = _digest(token)
    name = name.strip()[:100]
    out: dict[str, Any] = {}

    def build(ctx: Ctx, tx: Act) -> list[Event]:
        n = tx.max_id("token") + 1
        out.update(id=n, login=ctx.authority, now=ctx.now)
        return people.create_token(ctx, n, name, expires_at, digest)

    def keep(tx: Act) -> None:
        tx.add_token(out["id"], out["login"], name, digest, expires_at, out["now"])
    kaigi.act(actor, "create_token", build, after=keep)
    return out["id"], token


def revoke_token(kaigi: Any, actor: Actor | str, token_id: int) -> Any:
    """Its owner revokes a token, or the chief anyone's (R-I5)."""
    def build(ctx: Ctx, tx: Act) -> list[Event]:
        t = {t["id"]: t for t in tx.tokens()}.get(token_id)
        return people.revoke_token(ctx, token_id, t["login"] if t else None,
                                   t is not None and t["revoked_at"] is not None)
    return kaigi.act(actor, "revoke_token", build, after=lambda tx: tx.revoke_token(token_id, tx.now))


def tokens(kaigi: Any, login: str, *, everyone: bool = False) -> list[dict[str, Any]]:
    """A member's own tokens; with `everyone`, all members' (the chief's to list, R-I5)."""
    with kaigi.store.read() as tx:
        if everyone:
            w = kaigi.snapshot(tx)
            if login not in w.members:
                raise NotPermitted("actor.not_on_roster", login=login)
            ctx = Ctx(w.book(tx.now), tx.now, login, login, w)
            if not people.is_chief(ctx):
                raise NotPermitted("token.list_all", rule="R-I5")
        rows = tx.tokens(None if everyone else login)
    return [{k: v for k, v in t.items() if k != "digest"} for t in rows]


def token_login(kaigi: Any, token: str, now: dt.datetime | None = None) -> str | None:
    """The member a bearer token belongs to, if it is theirs, unrevoked and unexpired."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with kaigi.store.read() as tx:
        t = tx.token_by_hash(_digest(token))
        now = now or tx.now
    if t is None or t["revoked_at"] is not None or (t["expires_at"] is not None and t["expires_at"] <= now):
        return None
    return str(t["login"])


def token_member(kaigi: Any, token: str) -> tuple[str | None, Any]:
    """An API request's member, in one read (as `sessions.member_of` for a browser): (the
    token's login or None, then `Kaigi.web_member`'s (actor, language), or the NotPermitted
    it raised when the login is off the roster or holds no post now, R-I6)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None, None
    with kaigi.store.read() as tx:  # token_login and web_member read inside it: one snapshot
        login = token_login(kaigi, token)
        if login is None:
            return None, None
        try:
            return login, kaigi.web_member(login, tx)
        except NotPermitted as refused:
            return login, refused


__all__ = ["check_password", "commitment", "create_token", "revoke_token", "set_password", "token_login", "token_member",
           "tokens"]
