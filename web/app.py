"""The web face: `create_app(kaigi)` builds the FastAPI application over one `Kaigi`.

Pages are rendered on the server (Jinja2) and read with JavaScript off; htmx (vendored in
`web/static`, no CDN) only makes some forms partial. Every write goes through the same
application API as the CLI: the same rules, events and refusals. Like `cli.py`, this
package knows nothing of storage and nothing of the rules' internals. This module only
assembles: the routes share `web.respond` and `web.pages`, and never import it.
"""

import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from engine.i18n import lang_of, t, trigger_word, when
from web import auth
from web import oidc as web_oidc
from web.assets import Assets
from web.perimeter import Perimeter, Proxy
from web.respond import refusal_status

HERE = Path(__file__).parent


def create_from_settings() -> FastAPI:
    """The app of one process of `kaigi serve --workers N`, which reads its settings again in
    that process: the parent handed on its database and session secret
    (engine.infra.settings.hand_to_workers)."""
    import engine
    from engine.app.kaigi import schema_ready
    from engine.infra.logs import log_to
    from engine.infra.settings import load_settings

    settings = load_settings(cwd=Path.cwd())
    log_to(settings.log_file)
    kaigi = engine.open(settings)
    schema_ready(kaigi.store)
    return create_app(kaigi, https_only=settings.env.https, env=settings.env)


def create_app(kaigi: Any, *, secret: str | None = None, trust_proxy: bool | None = None,
               https_only: bool = False, oidc: dict[str, str] | None = None, proxy_header: str | None = None,
               proxy_realm: str | None = None, trusted_proxies: str | None = None, env: Any = None) -> FastAPI:
    """The app over `kaigi`. `secret` signs the session cookies (share it between the
    processes behind one proxy: KAIGI_SECRET); the sessions themselves live in the
    database, so a sign-out holds on every process. `trust_proxy` honours the header
    `proxy_header` (KAIGI_TRUST_PROXY_HEADER=1, KAIGI_PROXY_HEADER, default Remote-User),
    which only a proxy that sets it itself may be trusted with; `proxy_realm`
    (KAIGI_PROXY_REALM) is the one realm it may append. `trusted_proxies`
    (KAIGI_TRUSTED_PROXIES, comma-separated peer addresses) are believed about
    X-Forwarded-For. `oidc`: {"issuer", "client_id", "client_secret", "login_claim"} of an intranet
    identity provider (KAIGI_OIDC_ISSUER, KAIGI_OIDC_CLIENT_ID, KAIGI_OIDC_CLIENT_SECRET,
    KAIGI_OIDC_LOGIN_CLAIM; web.oidc); the login claim (default `preferred_username`) names
    the member. Unset, each is read from `env` (`engine.infra.settings.Environment`, by default
    this process's)."""
    from engine.infra.settings import environment

    env = environment() if env is None else env
    app = FastAPI(title="kaigi", docs_url=None, openapi_url="/api/openapi.json", redoc_url=None)
    app.state.kaigi = kaigi
    app.state.trust_proxy = env.trust_proxy_header if trust_proxy is None else trust_proxy
    peers = trusted_proxies if trusted_proxies is not None else env.trusted_proxies
    app.state.proxy = Proxy(trusted=app.state.trust_proxy,
                            header=(proxy_header or env.proxy_header or "Remote-User").strip(),
                            realm=(proxy_realm if proxy_realm is not None else env.proxy_realm)
                            or None,
                            peers=frozenset(p.strip() for p in peers.split(",") if p.strip()))
    inner = app.build_middleware_stack
    app.build_middleware_stack = lambda: Perimeter(inner(), app.state.proxy)  # type: ignore[method-assign]
    app.state.limiter = auth.SignInLimiter()
    app.state.training = kaigi.training()
    app.add_middleware(SessionMiddleware, secret_key=secret or env.secret or secrets.token_hex(32),
                       session_cookie="kaigi_session", same_site="lax", https_only=https_only, max_age=12 * 3600)
    assets = Assets(HERE / "static")
    app.mount("/static", assets, name="static")
    app.state.oidc = web_oidc.make(oidc if oidc is not None else env.oidc)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(asset=assets.url, when=when, when_month=_month, weekdays=_weekdays, trigger_word=trigger_word)
    templates.env.filters.update(fromiso=_fromiso, jst=_jst)
    app.state.templates = templates

    from fastapi.exceptions import HTTPException as FastAPIHTTPException
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if is_api(request.url.path):
            return api_http_error(request, exc)
        if not isinstance(exc, FastAPIHTTPException):  # Starlette's own (no route, wrong method): as before
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        return HTMLResponse(str(exc.detail), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid"))
        if first.get("type") == "json_invalid":
            message = f"the body is not JSON: {first.get('ctx', {}).get('error', 'invalid')}"
        bad = _unusable_char(first.get("input"))
        if bad is not None and first.get("type") in ("string_unicode", "string_pattern_mismatch"):
            message = f"{where}: {bad} is not allowed in text (no control, invisible format or lone surrogate character)"
        if is_api(request.url.path):
            return JSONResponse({"error": {"kind": "bad_input", "message": message[:500], "rule": None}},
                                status_code=400)
        return HTMLResponse(message, status_code=400)

    from engine.core.errors import DomainError

    @app.exception_handler(DomainError)
    async def refused(request: Request, exc: DomainError) -> Response:
        """A domain error no route caught (the database away, or busy past the bound): its one
        line and its status (503 with Retry-After when unavailable), never a 500."""
        language = lang_of(str(request.session.get("lang") or "ja")) if "session" in request.scope else "ja"
        headers = {"Retry-After": "5"} if exc.kind == "unavailable" else None
        if is_api(request.url.path):
            return JSONResponse({"error": {"kind": exc.kind, "message": exc.render(language), "rule": exc.rule}},
                                status_code=refusal_status(exc), headers=headers)
        return HTMLResponse(exc.render(language), status_code=refusal_status(exc), headers=headers)

    from web import api, pages, routes_meet, routes_work

    app.include_router(routes_work.router)
    app.include_router(pages.router)
    from web import routes_people  # the roster, delegations, a member's account (issue 16)
    app.include_router(routes_people.router)
    from web import routes_item, routes_papers  # papers first: /documents/verify before /documents/{sha256}
    app.include_router(routes_papers.router)
    app.include_router(routes_item.router)
    app.include_router(routes_meet.router)
    from web import routes_find  # search, the overdue view, the spreadsheets (issue 16)
    app.include_router(routes_find.router)
    app.include_router(api.router, prefix="/api/v1")  # the contract (docs/api.md)
    app.include_router(api.router, prefix="/api", include_in_schema=False)  # its alias, same handlers
    app.openapi = lambda: api.openapi(app)  # type: ignore[method-assign]
    app.add_middleware(ApiFaults)
    health = DatabaseHealth(kaigi)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        """Swagger UI from web/static (vendored swagger-ui-dist): no other host, no inline script."""
        return HTMLResponse(DOCS_PAGE.format(css=assets.url("swagger-ui.css"), bundle=assets.url("swagger-ui-bundle.js"),
                                             init=assets.url("swagger-init.js")))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        """The bare route benchmarks compare pages with: no template, no session, answered on
        the event loop (so it answers while every worker thread waits on the database), and
        503 with one line while the database cannot be reached (DatabaseHealth)."""
        if not await health.up():
            return Response(t("health.db_unreachable", "en"), status_code=503, media_type="text/plain",
                            headers={"Retry-After": "5"})
        return Response("ok", media_type="text/plain")

    return app


def _unusable_char(value: object) -> str | None:
    """The first character text may not hold (a control, an invisible format character such as
    a bidi override, a lone surrogate), named by code point for the one-line refusal; None
    when there is none (the schema's message then stands)."""
    import unicodedata

    if not isinstance(value, str):
        return None
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            name = unicodedata.name(ch, "")
            return f"U+{ord(ch):04X}" + (f" {name}" if name else "")
    return None


class DatabaseHealth:
    """Whether the database answers, as `/healthz` reports it, kept cheap: at most one probe
    a second (a one-row read of the log's head, on a thread of its own limiter so it never
    queues behind requests), each bounded to 2 s; between probes, and while one is under
    way, the last answer stands. A request that comes while a probe is due waits for it.

    Why not a plain `SELECT 1` on every call: benchmarks compare pages with `/healthz`, and
    a monitor asks it every few seconds; both would then measure the database's round trip
    and the thread pool's queue rather than the server."""

    EVERY = 1.0
    BOUND = 2.0

    def __init__(self, kaigi: Any) -> None:
        self.kaigi = kaigi
        self.ok = True
        self.checked = float("-inf")
        self._probing = False
        self._limiter: Any = None

    async def up(self) -> bool:
        import time

        import anyio

        if self._probing or time.monotonic() - self.checked < self.EVERY:
            return self.ok
        self._probing = True
        try:
            self._limiter = self._limiter or anyio.CapacityLimiter(1)
            ok = False  # the last answer stands while this probe is under way
            with anyio.move_on_after(self.BOUND):
                ok = await anyio.to_thread.run_sync(self._probe, limiter=self._limiter, abandon_on_cancel=True)
            self.ok = ok
        finally:
            self.checked = time.monotonic()
            self._probing = False
        return self.ok

    def _probe(self) -> bool:
        from engine.core.errors import Conflict

        try:
            with self.kaigi.store.read() as tx:
                tx.head()
            return True
        except Conflict:  # every pooled connection in use (KAIGI_PG_POOL): busy, not down
            return True
        except Exception:  # noqa: BLE001 (any other failure to read is "unreachable" to a monitor)
            return False


DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kaigi — API</title>
<link rel="stylesheet" href="{css}">
<script src="{bundle}" defer></script>
<script src="{init}" defer></script>
</head>
<body>
<div id="swagger-ui" data-openapi="/api/openapi.json"></div>
</body>
</html>
"""


def _fromiso(text: Any) -> Any:
    import datetime as dt

    return None if not text else (text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(str(text)))


def _jst(at: Any) -> Any:
    from engine.infra.timeutil import JST

    return at.astimezone(JST) if at is not None else None


def _month(day: Any, language: str) -> str:
    from engine.i18n import era

    return f"{era(day).split('年')[0]}年{day.month}月" if language == "ja" else day.strftime("%B %Y")


def _weekdays(language: str) -> list[str]:
    return list("月火水木金土日") if language == "ja" else ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def api_http_error(request: Request, exc: Any) -> Response:
    """Starlette's and the routes' HTTP errors under /api in the one error shape: an unknown
    path 404, a wrong method 405 with the methods the path does take (all its routes'), a
    malformed body 400."""
    kinds = {400: "bad_input", 401: "not_permitted", 403: "not_permitted", 404: "not_found", 405: "not_allowed",
             409: "not_possible", 503: "unavailable"}
    headers = dict(exc.headers or {})
    if exc.status_code == 405 or (exc.status_code == 404 and exc.detail == "Not Found"):
        allowed = allowed_methods(request)
        if allowed and request.method not in allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
            exc = type(exc)(405, "Method Not Allowed")
        else:
            headers.pop("Allow", None)
    if isinstance(exc.detail, dict):
        detail = exc.detail
    else:
        words = {404: "no such path in this API", 405: f"{request.method} is not a method of this path"}
        detail = {"kind": kinds.get(exc.status_code, "bad_input" if exc.status_code < 500 else "internal"),
                  "message": words.get(exc.status_code, str(exc.detail)), "rule": None}
    return JSONResponse({"error": detail}, status_code=exc.status_code, headers=headers)


def allowed_methods(request: Request) -> set[str]:
    """Every method some route of the app takes at this path (HEAD with GET)."""
    table = getattr(request.app.state, "route_table", None)
    if table is None:
        from starlette.routing import compile_path

        found: list[tuple[Any, set[str]]] = []

        def walk(routes: Any, prefix: str) -> None:  # included routers stay nested (FastAPI 0.16x)
            for r in routes:
                inner = getattr(r, "original_router", None)
                if inner is not None:
                    walk(inner.routes, prefix + r.include_context.prefix)
                elif getattr(r, "methods", None):
                    found.append((compile_path(prefix + r.path)[0], set(r.methods)))
        walk(request.app.router.routes, "")
        table = request.app.state.route_table = found
    out: set[str] = set()
    for regex, methods in table:
        if regex.match(request.url.path):
            out |= methods
    return out


class ApiFaults:
    """An exception no handler took, under /api: a 500 in the error shape (a JSON client
    parses every answer), logged; the pages keep Starlette's own 500."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)
        try:
            await self.app(scope, receive, watch)
        except Exception:  # noqa: BLE001 (the one place a fault becomes an answer)
            import structlog

            structlog.get_logger().exception("api.fault", path=scope["path"])
            if started:
                raise
            body = JSONResponse({"error": {"kind": "internal", "message": "a fault of the server; it is logged",
                                           "rule": None}}, status_code=500)
            await body(scope, receive, send)
