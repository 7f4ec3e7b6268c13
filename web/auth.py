"""Who is signed in, and that a form came from us.

A sign-in is a session row in the database (engine.app.sessions, R-I6); the browser's
cookie (Starlette's SessionMiddleware, signed: `HttpOnly`, `SameSite=Lax`, `Secure` behind
TLS) carries its random id, the CSRF token and the chosen language, never the login. Every
request asks the database again, and the engine whether the member still holds a post, so
a sign-out, a new password or a last post ending is seen at once by every server process.
Every form carries the session's CSRF token (`csrf_token`); a POST without the right one is
refused with 403 before anything runs.

Sign-in failures are counted per account and, separately, per address (the peer's; the
forwarded one only from a proxy the operator named): a few in a row and the door closes for
a while, with the same generic words whether the login exists or not. Rotating
`X-Forwarded-For` or the address does not reopen an account's door.
"""

import hmac
import secrets
import threading
import time
from collections import deque

from fastapi import Request

from engine.app import sessions
from engine.core.errors import DomainError, NotPermitted
from engine.core.identity import Actor

CSRF_FIELD = "csrf_token"
SESSION_ID = "sid"
MAX_FAILURES = 5  # per account in WINDOW
MAX_FAILURES_ADDRESS = 20  # per address in WINDOW: several people may sit behind one address
WINDOW = 300.0
_KEPT = 10000  # counters kept before the quiet ones are forgotten


class SignInLimiter:
    """At most MAX_FAILURES failed sign-ins per account, and MAX_FAILURES_ADDRESS per
    address, in WINDOW seconds."""

    def __init__(self) -> None:
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > WINDOW:
            q.popleft()
        return q

    def blocked(self, address: str, login: str) -> bool:
        with self._lock:
            now = time.monotonic()
            return (len(self._recent(("login", login), now)) >= MAX_FAILURES
                    or len(self._recent(("address", address), now)) >= MAX_FAILURES_ADDRESS)

    def failed(self, address: str, login: str) -> None:
        with self._lock:
            now = time.monotonic()
            if len(self._failures) > _KEPT:
                for key in [k for k, q in self._failures.items() if not q or now - q[-1] > WINDOW]:
                    del self._failures[key]
            self._recent(("login", login), now).append(now)
            self._recent(("address", address), now).append(now)

    def succeeded(self, address: str, login: str) -> None:
        """The account's count starts again; the address's does not (one right password
        must not reopen the door to guessing others')."""
        with self._lock:
            self._failures.pop(("login", login), None)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def csrf_ok(request: Request, given: str | None) -> bool:
    want = request.session.get("csrf")
    return bool(want and given and hmac.compare_digest(str(want), str(given)))


_UNSET = object()


def actor(request: Request) -> Actor | None:
    """The member this request acts for, asked once per request: the trusted proxy's header
    (only when the operator said so; checked by web.perimeter), else the session. The
    engine says whether they are on the roster and hold a post now; a session of one who
    is not is ended."""
    cached = getattr(request.state, "kaigi_actor", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    found, request.state.kaigi_lang = _actor(request)
    request.state.kaigi_actor = found
    return found


def member_lang(request: Request) -> str | None:
    """The signed-in member's own language, found with them (no second look at the roster)."""
    return getattr(request.state, "kaigi_lang", None) if actor(request) is not None else None


def _actor(request: Request) -> tuple[Actor | None, str | None]:
    k = request.app.state.kaigi
    login = getattr(request.state, "proxy_user", None) if request.app.state.trust_proxy else None
    session_id = None
    try:
        if login is None:
            session_id = request.session.get(SESSION_ID)
            login, found = sessions.member_of(k, session_id)
            if login is None:
                request.session.pop(SESSION_ID, None)
                return None, None
        else:
            found = k.web_member(login)
        if isinstance(found, NotPermitted):
            raise found
        return found  # type: ignore[no-any-return]
    except NotPermitted:  # off the roster, or no post now (R-I6): the session is over for good
        if session_id is not None:
            sessions.end(k, session_id)
            request.session.pop(SESSION_ID, None)
        return None, None
    except DomainError:  # the database unavailable, say: not signed in this time, nothing ended
        return None, None


def signed_in(request: Request) -> str | None:
    """The signed-in member's login, or None."""
    who = actor(request)
    return who.login if who is not None else None


def client_address(request: Request) -> str:
    """The address sign-in failures are counted against (web.perimeter.peer_address)."""
    found = getattr(request.state, "peer_address", None)
    if found:
        return str(found)
    return request.client.host if request.client else "-"


def sign_in(request: Request, login: str, id_token: str | None = None) -> None:
    """A new session for `login` (any earlier one of this browser ends), a new CSRF token;
    `id_token` (an OpenID Connect sign-in's) is kept with the session, in the database."""
    k = request.app.state.kaigi
    sessions.end(k, request.session.get(SESSION_ID))
    lang = request.session.get("lang")
    request.session.clear()
    request.session[SESSION_ID] = sessions.begin(k, login, id_token)
    request.session["csrf"] = secrets.token_urlsafe(32)
    if lang:
        request.session["lang"] = lang
    request.state.kaigi_actor = _UNSET
    request.state.kaigi_lang = None


def id_token(request: Request) -> str | None:
    """The ID token this browser's session began with, if it began at the identity provider."""
    return sessions.id_token_of(request.app.state.kaigi, request.session.get(SESSION_ID))


def sign_out(request: Request) -> None:
    """The session ends in the database (a replayed cookie is refused everywhere)."""
    sessions.end(request.app.state.kaigi, request.session.get(SESSION_ID))
    request.session.clear()
    request.state.kaigi_actor = None
