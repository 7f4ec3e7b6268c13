"""Web sessions that end (R-I6): a sign-in is a row in the database, not a signed cookie.

The browser holds a random id; the store keeps only its sha256, the member, when the
session began and when it runs out, and when it was ended. Every request asks this module
again, so a sign-out, a changed or removed password, or the member's last post ending
(`Kaigi.web_actor`) is seen at once by every server process over the same database.

Signing in and out are not events in the log: they change no item, meeting or roster and
decide nothing, and the log's head would otherwise be taken for every page view's session.
The acts a session makes are in the log, each with its actor and identity (`web`).
"""

import datetime as dt
import hashlib
import secrets
from typing import Any

LIFETIME = dt.timedelta(hours=12)  # a working day and some: then sign in again
ID_BYTES = 32


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _fingerprint(credential: str | None) -> str | None:
    """What a session remembers of the password it began under: a digest of its stored hash
    (which changes with every new password, its salt being new), never the hash itself."""
    return None if credential is None else hashlib.sha256(credential.encode("utf-8")).hexdigest()


def begin(kaigi: Any, login: str, id_token: str | None = None) -> str:
    """A new session of `login`: its id, for the cookie, shown this once. `id_token`: the
    identity provider's, kept server side for its logout (OpenID Connect sign-ins)."""
    session_id = secrets.token_urlsafe(ID_BYTES)
    with kaigi.store.act(head=False) as tx:
        now = kaigi.now()
        tx.open_web_session(_digest(session_id), login, _fingerprint(tx.credential(login)), now, now + LIFETIME,
                            id_token)
    return session_id


def id_token_of(kaigi: Any, session_id: str | None) -> str | None:
    """The ID token a session not yet ended began with (None for a password sign-in)."""
    if not session_id or len(session_id) > 100:
        return None
    with kaigi.store.read() as tx:
        found = tx.web_session(_digest(session_id))
    if found is None or found["ended_at"] is not None:
        return None
    return found.get("id_token") or None


def login_of(kaigi: Any, session_id: str | None) -> str | None:
    """The member of a session still running: not ended, not expired, and begun under the
    password the member has now (none, if they had none). Else None."""
    if not session_id or len(session_id) > 100:
        return None
    with kaigi.store.read() as tx:
        return _login_in(kaigi, tx, session_id)


def _login_in(kaigi: Any, tx: Any, session_id: str) -> str | None:
    found = tx.web_session(_digest(session_id))
    if found is None or found["ended_at"] is not None or found["expires_at"] <= kaigi.now():
        return None
    if _fingerprint(tx.credential(found["login"])) != found["credential"]:
        return None
    return str(found["login"])


def member_of(kaigi: Any, session_id: str | None) -> tuple[str | None, Any]:
    """A web request's member, looked up once, in one read: (the session's login or None,
    then `Kaigi.web_member`'s (actor, language), or the NotPermitted it raised when the
    login is off the roster or holds no post now (R-I6): the caller ends that session)."""
    from engine.core.errors import NotPermitted

    if not session_id or len(session_id) > 100:
        return None, None
    with kaigi.store.read() as tx:
        login = _login_in(kaigi, tx, session_id)
        if login is None:
            return None, None
        try:
            return login, kaigi.web_member(login, tx)
        except NotPermitted as refused:
            return login, refused


def end(kaigi: Any, session_id: str | None) -> None:
    """Sign-out: the session is over, here and on every other server."""
    if not session_id or len(session_id) > 100:
        return
    with kaigi.store.act(head=False) as tx:
        tx.end_web_session(_digest(session_id), kaigi.now())


__all__ = ["LIFETIME", "begin", "end", "id_token_of", "login_of", "member_of"]
