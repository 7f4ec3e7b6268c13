"""The pages of WEB.md: sign-in, my work, the board, an item, meetings, the audit, the path.

Each handler reads through one `Reader` snapshot or calls one act of the application API;
a refusal is shown as the CLI's one line in `#refusal`, with the status of its kind.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse

from engine.core.errors import DomainError, NotFound
from web import auth
from web.respond import lang, redirect, refusal_status, render

router = APIRouter(include_in_schema=False)


def _kaigi(request: Request) -> Any:
    return request.app.state.kaigi


def _who(request: Request) -> Any:
    return auth.actor(request)


def _reader(request: Request) -> Any:
    """A snapshot read as the signed-in member: every query answers only what they may see
    (R-R1), and answers the rest as absent."""
    who = _who(request)
    return _kaigi(request).read(viewer=who.login if who is not None else "")


def _not_found(request: Request, err: DomainError) -> HTMLResponse:
    return render(request, "error.html", status=404, message=err.render(lang(request)))


def _form_id(value: Any, absent: str) -> int | None:
    """An id posted in a form: None when left empty; an id no database could hold (past
    2**63-1) is one that does not exist (404); anything but digits is bad input (400)."""
    from engine.app.visibility import absent as absent_id, in_range
    from engine.core.errors import BadInput

    text = str(value or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise BadInput("input.not_an_id", value=text[:30])
    n = int(text)
    if not in_range(n):
        raise absent_id(absent, text)
    return n


def _gate(request: Request) -> Response | None:
    """Pages need a member: else to the sign-in (or, training, to the member menu)."""
    if auth.signed_in(request) is None or _who(request) is None:
        return redirect("/switch" if request.app.state.training else "/login")
    return None


async def _form(request: Request) -> Any:
    """The posted form, or None if its CSRF token is not this session's."""
    form = await request.form()
    if not auth.csrf_ok(request, form.get(auth.CSRF_FIELD)):  # type: ignore[arg-type]
        return None
    return form


async def _checked(request: Request) -> Any:
    """A member's posted form with this session's CSRF token: the form, or the response that
    turns it away (to the sign-in, or 403)."""
    if (gate := _gate(request)) is not None:
        return gate
    form = await _form(request)
    return _csrf_refused(request) if form is None else form


def _csrf_refused(request: Request) -> HTMLResponse:
    return render(request, "error.html", status=403, message=_t(request, "web.csrf"))


def _t(request: Request, key: str, **params: Any) -> str:
    from engine.i18n import t

    return t(key, lang(request), **params)


# ---------------------------------------------------------------- signing in
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if request.app.state.training:
        return redirect("/switch")
    return render(request, "login.html")


@router.post("/login", response_class=HTMLResponse)
async def login_post(request: Request) -> Response:
    from engine.app import accounts

    form = await _form(request)
    if form is None:
        return _csrf_refused(request)
    login, password = str(form.get("login") or ""), str(form.get("password") or "")
    limiter, address = request.app.state.limiter, auth.client_address(request)
    if limiter.blocked(address, login):
        return render(request, "login.html", status=429, error=_t(request, "web.login.too_many"))
    k = _kaigi(request)
    ok = bool(login) and accounts.check_password(k, login, password)
    if ok:
        with k.read() as q:
            ok = login in q.w.members
        ok = ok and k.holds_post(login)  # R-I6: no post, no session (the same words as a wrong password)
    if not ok:
        limiter.failed(address, login)
        return render(request, "login.html", status=401, error=_t(request, "web.login.wrong"))
    limiter.succeeded(address, login)
    auth.sign_in(request, login)
    return redirect("/")


@router.get("/login/oidc")
async def login_oidc(request: Request) -> Response:
    """Sign in through the intranet's identity provider (OpenID Connect, web.oidc)."""
    found = request.app.state.oidc
    if found is None or request.app.state.training:
        return render(request, "error.html", status=404, message=_t(request, "web.not_found"))
    try:
        return await found.client.authorize_redirect(  # type: ignore[no-any-return]
            request, str(request.url_for("login_oidc_callback")))
    except Exception:  # noqa: BLE001 (the provider's discovery document unreachable or unreadable)
        return render(request, "login.html", status=502, error=_t(request, "web.login.oidc_unreachable"))


@router.get("/login/oidc/callback")
async def login_oidc_callback(request: Request) -> Response:
    from web import oidc

    found = request.app.state.oidc
    if found is None or request.app.state.training:
        return render(request, "error.html", status=404, message=_t(request, "web.not_found"))
    try:  # state, PKCE verifier, ID token's signature, iss, aud, exp and nonce (Authlib)
        token = await found.client.authorize_access_token(request)
        claims = await found.claims(token)
    except oidc.NoLogin:
        return render(request, "login.html", status=403,
                      error=_t(request, "web.login.oidc_no_login", claim=found.login_claim))
    except Exception:  # noqa: BLE001 (a bad state, code, verifier, signature or nonce: one generic answer)
        return render(request, "login.html", status=401, error=_t(request, "web.login.oidc_failed"))
    login = found.login(claims)
    with _kaigi(request).read() as q:
        known = login in q.w.members
    if not known or not _kaigi(request).holds_post(login):  # R-I6
        return render(request, "login.html", status=403, error=_t(request, "web.login.oidc_unknown"))
    auth.sign_in(request, login, id_token=str(token["id_token"]))  # kept server side for id_token_hint
    return redirect("/")


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await _form(request)
    if form is None:
        return _csrf_refused(request)
    id_token = auth.id_token(request)
    auth.sign_out(request)  # kaigi's session ends here, whatever the provider says
    found = request.app.state.oidc
    if id_token and found is not None and not request.app.state.training:
        away = await found.logout_url(str(id_token), str(request.url_for("login_page")))
        if away:  # a page that goes on at once (CSP's form-action keeps a form's redirect at home)
            return render(request, "signed_out.html", away=away)
    return redirect("/switch" if request.app.state.training else "/login")


@router.get("/switch", response_class=HTMLResponse)
def switch_page(request: Request) -> Response:
    if not request.app.state.training:
        return render(request, "error.html", status=404, message=_t(request, "web.not_found"))
    language = lang(request)
    with _kaigi(request).read() as q:
        members = [{"login": r["login"], "name": r["name"], "roles": r["roles"]} for r in q.roster(None, language)]
    return render(request, "switch.html", members=members)


@router.post("/switch")
async def switch_post(request: Request) -> Response:
    if not request.app.state.training:
        return render(request, "error.html", status=404, message=_t(request, "web.not_found"))
    form = await _form(request)
    if form is None:
        return _csrf_refused(request)
    login = str(form.get("login") or "")
    with _kaigi(request).read() as q:
        if login not in q.w.members:
            return render(request, "error.html", status=400, message=_t(request, "actor.not_on_roster", login=login))
    if not _kaigi(request).holds_post(login):  # R-I6: the menu signs in only members holding a post
        return render(request, "error.html", status=403, message=_t(request, "actor.no_post", login=login))
    auth.sign_in(request, login)
    return redirect("/")


@router.get("/lang/{code}")
def switch_lang(request: Request, code: str) -> Response:
    request.session["lang"] = "en" if code == "en" else "ja"
    back = request.headers.get("referer") or "/"
    return redirect(back if back.startswith(str(request.base_url)) else "/")


# my work (`GET /`) lives in web/routes_work.py


BOARD_SHOWN = 60  # cards per column: the overdue first, then the latest


def _titled(q: Any, sittings: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    book = q.book()
    return [{**m, "title": book.meetings[m["kind"]].title.in_(language) if m["kind"] in book.meetings else m["kind"]}
            for m in sittings]


# ---------------------------------------------------------------- the board
@router.get("/board", response_class=HTMLResponse)
def board(request: Request, station: str | None = None, team: str | None = None) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    language = lang(request)
    station = station or None
    team = team or None
    with _reader(request) as q:
        book = q.book()
        try:
            columns = q.board(station=station, team=team, lang=language, shown=BOARD_SHOWN)
        except DomainError as err:
            return render(request, "error.html", status=refusal_status(err), message=err.render(language))
        bodies = [{"key": b.key, "name": q.body_name(b.key, language)} for b in q.w.bodies.values()]
        teams = [{"key": k_, "title": tm.title.in_(language)} for k_, tm in book.teams.items()]
        pillars = [{"key": k_, "title": p.title.in_(language)} for k_, p in book.pillars.items()]  # R-X1
    return render(request, "board.html", columns=columns, bodies=bodies, teams=teams, station=station, team=team,
                  pillars=pillars)


# ---------------------------------------------------------------- an item: web/routes_item.py


# meetings: web/routes_meet.py


# ---------------------------------------------------------------- the auditor
@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, item: int | None = None) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    language = lang(request)
    steps, error, status, verdict = [], None, 200, None
    with _reader(request) as q:
        if q.sees_everything:  # the log's verdict speaks of all of it (R-R1)
            verdict = q.verdict().as_dict(language)
        if item is not None:
            try:
                steps = q.replay_view(item, language)  # each step in words (issue 16)
            except DomainError as err:
                error, status = err.render(language), refusal_status(err)
    return render(request, "audit.html", status=status, verdict=verdict, steps=steps, item=item, error=error)


@router.get("/audit/export.{fmt}")
def audit_export(request: Request, fmt: str) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    import io

    from engine.app.audit import write_export

    if fmt not in ("jsonl", "csv"):
        return PlainTextResponse("jsonl or csv", status_code=404)
    buf = io.StringIO()
    with _reader(request) as q:
        try:
            write_export(q.export_rows(), fmt, buf)  # the whole log, or none (R-R1)
        except NotFound as err:
            return _not_found(request, err)
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return StreamingResponse(iter([buf.getvalue()]), media_type=f"{media}; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="kaigi-log.{fmt}"'})


# ---------------------------------------------------------------- the item path
@router.get("/diagram", response_class=HTMLResponse)
def diagram(request: Request, item: int | None = None) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    from engine.app.diagrams import svg

    language = lang(request)
    with _reader(request) as q:
        book = q.book()
        try:
            rec = q.item_record(item) if item is not None else None
            kind = q.w.body_kinds().get(rec.body if rec is not None else q.w.top())
        except NotFound as err:
            return _not_found(request, err)
    picture = svg(book, language, current=rec.state if rec else None, kind=kind)
    return render(request, "diagram.html", svg=picture, item=rec)
