"""What every response carries and what every request is checked for before any page runs.

Headers (WEB.md "Sessions and headers"): a Content-Security-Policy with no inline script
and no other host (`frame-ancestors 'none'`, so no other site frames a page with live act
buttons), `X-Frame-Options` for older browsers, `nosniff`, and a `Referrer-Policy` that
keeps addresses (item numbers) inside the site. They are added outside everything else,
so pages, `/api`, static files, refusals and even an unexpected 500 carry them.

The trusted proxy's header (WEB.md "Signing in"): with `KAIGI_TRUST_PROXY_HEADER=1` the
proxy names the member in one header (`KAIGI_PROXY_HEADER`, default `Remote-User`). A
proxy sets its own spelling once; a second copy, or the same name spelt another way
(`remote_user`, `X-Remote-User`, `Remote_User`: servers fold `_` and `-` differently, and
a proxy that strips only its own spelling lets the others through), can only come from
the client, so the request is refused before anything reads it. A name with a realm or
domain (`sato@OTHER.REALM`, `DOMAIN\\sato`) is refused unless it is exactly the one realm
the operator mapped (`KAIGI_PROXY_REALM`).
"""

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from engine.i18n import t

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# Swagger UI (vendored in web/static) sets style attributes as it renders; its script is ours
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATH = "/api/docs"
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"same-origin"), (b"cross-origin-opener-policy", b"same-origin")]


def _folded(name: str) -> str:
    """A header name as a lenient server might read it: case, `_`/`-` and an `X-` or
    `HTTP_` prefix do not count."""
    name = name.lower().replace("_", "-")
    for prefix in ("x-", "http-"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


@dataclass(frozen=True)
class Proxy:
    """The operator's trust in a proxy in front: the header it sets, the one realm it may
    append, and the peer addresses it connects from (whose `X-Forwarded-For` is believed)."""

    trusted: bool = False
    header: str = "Remote-User"
    realm: str | None = None
    peers: frozenset[str] = field(default_factory=frozenset)

    @property
    def name(self) -> bytes:
        return self.header.lower().encode("latin-1")


class Refused(Exception):
    """A request turned away at the door: its status and message id."""

    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status, self.key = status, key


def proxy_user(proxy: Proxy, headers: list[tuple[bytes, bytes]]) -> str | None:
    """The login the trusted proxy names, None when it names nobody; `Refused` when the
    header is doubled, spelt another way, or carries a realm or domain not mapped."""
    if not proxy.trusted:
        return None
    want, folded = proxy.name, _folded(proxy.header)
    values = []
    for raw, value in headers:
        name = raw.decode("latin-1").lower()
        if name.encode("latin-1") == want:
            values.append(value)
        elif _folded(name) == folded:
            raise Refused(400, "web.proxy.header")
    if len(values) > 1:
        raise Refused(400, "web.proxy.header")
    if not values:
        return None
    user = values[0].decode("latin-1").strip()
    if proxy.realm and user.endswith("@" + proxy.realm):
        user = user[:-len(proxy.realm) - 1]
    if "@" in user or "\\" in user:
        raise Refused(403, "web.proxy.realm")
    return user or None


def peer_address(proxy: Proxy, scope: Scope) -> str:
    """The address sign-in failures are counted against: the connection's peer, or, when
    the peer is a proxy the operator named (`KAIGI_TRUSTED_PROXIES`), the last address it
    appended to `X-Forwarded-For` (what comes before it the client wrote itself)."""
    client = scope.get("client")
    peer = client[0] if client else "-"
    if peer not in proxy.peers:
        return str(peer)
    forwarded = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for"]
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    return hops[-1] if hops else str(peer)


class Perimeter:
    """ASGI wrapper around the whole application (outside FastAPI's own error handling)."""

    def __init__(self, app: Any, proxy: Proxy) -> None:
        self.app, self.proxy = app, proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope.get("path") == DOCS_PATH else CSP).encode("ascii")

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(b"content-security-policy", csp)] + HEADERS
                message["headers"] = [*message.get("headers", []), *((k, v) for k, v in extra if k not in names)]
            await send(message)

        try:
            user = proxy_user(self.proxy, list(scope.get("headers", [])))
        except Refused as err:
            await _refuse(err, self.proxy.header, scope, with_headers)
            return
        scope.setdefault("state", {})["proxy_user"] = user
        scope["state"]["peer_address"] = peer_address(self.proxy, scope)
        await self.app(scope, receive, with_headers)


async def _refuse(err: Refused, header: str, scope: Scope, send: Send) -> None:
    """One line, in the reader's language (Accept-Language), as JSON under /api."""
    import orjson

    lang = "en"
    for k, v in scope.get("headers", []):
        if k.lower() == b"accept-language" and not v.lower().startswith(b"en"):
            lang = "ja"
    path = str(scope.get("path", ""))
    message = t(err.key, lang, header=header)
    if path.startswith("/api/"):
        kind = "bad_input" if err.status == 400 else "not_permitted"
        body = orjson.dumps({"error": {"kind": kind, "message": message, "rule": None}})
        media = b"application/json"
    else:
        body, media = message.encode("utf-8"), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": err.status,
                "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["CSP", "Perimeter", "Proxy", "Refused", "peer_address", "proxy_user"]
