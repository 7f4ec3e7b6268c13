"""Web sign-in for members: passwords (argon2) and API tokens.

Setting a password or creating a token is an act: its event (`CredentialSet`,
`TokenCreated`, `TokenRevoked`) says who did it and for whom; the secret itself (the
argon2 hash, the token's sha256) is kept beside the log, never in it. A member sets their
own password; the HQ chief anyone's (R-P1's organiser). Tokens belong to the member who
creates them and show once.
"""

import datetime as dt
import hashlib
import secrets
from typing import Any

from engine.app.identity import Actor
from engine.core import people
from engine.core.decide import Ctx
from engine.core.errors import BadInput, NotFound
from engine.core.events import Event
from engine.infra import passwords

TOKEN_PREFIX = "kaigi_"


def set_password(kaigi: Any, actor: Actor | str, login: str, password: str) -> Any:
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        raise BadInput("password.length", min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH)
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in password):
        raise BadInput("password.chars")
    hashed = passwords.hash_password(password)

    def build(ctx: Ctx, tx: Any) -> list[Event]:
        return people.set_password(ctx, login)
    return kaigi.act(actor, "set_password", build, after=lambda tx: tx.set_credential(login, hashed))


def check_password(kaigi: Any, login: str, password: str) -> bool:
    """A sign-in attempt: True only for a member whose password this is."""
    with kaigi.store.read() as tx:
        stored = tx.credential(login) if len(login) <= 64 else None
    return passwords.verify_password(stored, password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(kaigi: Any, actor: Actor | str, name: str = "", expires_at: dt.datetime | None = None) -> tuple[int, str]:
    """A new API token of the acting member: (its id, the token, shown this once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    name = name.strip()[:100]
    out: dict[str, Any] = {}

    def build(ctx: Ctx, tx: Any) -> list[Event]:
        n = tx.max_id("token") + 1
        out.update(id=n, login=ctx.authority, now=ctx.now)  # type: ignore[arg-type]
        return people.create_token(ctx, n, name, expires_at)

    def keep(tx: Any) -> None:
        tx.add_token(out["id"], out["login"], name, _digest(token), expires_at, out["now"])
    kaigi.act(actor, "create_token", build, after=keep)
    return out["id"], token


def revoke_token(kaigi: Any, actor: Actor | str, token_id: int) -> Any:
    def build(ctx: Ctx, tx: Any) -> list[Event]:
        t = {t["id"]: t for t in tx.tokens(ctx.authority)}.get(token_id)
        if t is None:
            raise NotFound("token.none", id=token_id)
        if t["revoked_at"] is not None:
            raise BadInput("token.revoked_already", id=token_id)
        return people.revoke_token(ctx, token_id, t["login"])
    return kaigi.act(actor, "revoke_token", build, after=lambda tx: tx.revoke_token(token_id, tx.now))


def tokens(kaigi: Any, login: str) -> list[dict[str, Any]]:
    with kaigi.store.read() as tx:
        return [{k: v for k, v in t.items() if k != "digest"} for t in tx.tokens(login)]


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


__all__ = ["check_password", "create_token", "revoke_token", "set_password", "token_login", "tokens"]
