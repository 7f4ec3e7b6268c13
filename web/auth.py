"""Who is signed in, and that a form came from us.

Sessions are signed cookies (Starlette's SessionMiddleware, itsdangerous): `HttpOnly`,
`SameSite=Lax`, `Secure` behind TLS. Every form carries the session's CSRF token
(`csrf_token`); a POST without the right one is refused with 403 before anything runs.
Sign-in failures are counted per address and login: a few in a row and the door closes
for a while, with the same generic words whether the login exists or not.
"""

import hmac
import secrets
import threading
import time
from collections import deque
from typing import Any

from fastapi import Request

from engine.app.identity import Actor

CSRF_FIELD = "csrf_token"
MAX_FAILURES = 5
WINDOW = 300.0


class SignInLimiter:
    """At most MAX_FAILURES failed sign-ins per (address, login) in WINDOW seconds."""

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
            return len(self._recent((address, login), time.monotonic())) >= MAX_FAILURES

    def failed(self, address: str, login: str) -> None:
        with self._lock:
            self._recent((address, login), time.monotonic()).append(time.monotonic())

    def succeeded(self, address: str, login: str) -> None:
        with self._lock:
            self._failures.pop((address, login), None)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def csrf_ok(request: Request, given: str | None) -> bool:
    want = request.session.get("csrf")
    return bool(want and given and hmac.compare_digest(str(want), str(given)))


def signed_in(request: Request) -> str | None:
    """The member's login, from the session or (only when the operator said so) the
    trusted proxy's REMOTE_USER header."""
    state = request.app.state
    if state.trust_proxy:
        user = (request.headers.get("remote_user") or request.headers.get("remote-user")
                or request.headers.get("x-remote-user"))
        if user:
            return user.split("@", 1)[0].split("\\")[-1]
    login = request.session.get("login")
    return str(login) if login else None


def actor(request: Request) -> Actor | None:
    login = signed_in(request)
    if login is None:
        return None
    from engine.core.errors import Unavailable

    try:
        return request.app.state.kaigi.web_actor(login)  # type: ignore[no-any-return]
    except Unavailable:
        raise  # the database is away (a restart): 503, and nobody is signed out for it
    except Exception:  # noqa: BLE001 (a member removed from the roster: signed out)
        request.session.pop("login", None)
        return None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def sign_in(request: Request, login: str) -> None:
    request.session.clear()
    request.session["login"] = login
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


__all__ = ["Any"]
