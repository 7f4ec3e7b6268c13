"""People in the browser: the roster and posts (R-P1, R-P4), delegations to the
secretariat (R-A1), and a member's own account, API tokens and password (R-I5).

Each write is the CLI's call (`Kaigi.add_member`, `assign`, `end_assignment`, `delegate`,
`end_delegation`, `engine.app.accounts`), so the same rules, events and refusals; a
refusal is shown in `#refusal` with its status, and the form keeps what was typed. What a
page offers is decided by `engine.app.organising` on the reader's snapshot: a form only
for those the act would accept, a select of only the choices that pass. No write here is
ever made on another's behalf: a delegation never covers credentials (R-I5).
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.app import accounts, organising
from engine.app.visibility import absent, in_range
from engine.core.errors import BadInput, DomainError, NotFound, NotPermitted
from engine.infra.timeutil import parse_when
from web import auth
from web.pages import _checked, _gate, _kaigi, _reader, _t, _who
from web.respond import lang, redirect, refusal_status, render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
KEPT = ("login", "name", "name_en", "email", "lang", "position", "station", "team", "valid_from", "valid_until",
        "clerk", "expires")  # what a refused form shows again (never a password)


def _typed(form: Any) -> dict[str, str]:
    return {k: str(form.get(k) or "")[:300] for k in KEPT if form.get(k)}


def _when(text: str, request: Request, *, end_of_day: bool = False) -> Any:
    text = text.strip()
    return parse_when(text, _kaigi(request).now(), end_of_day=end_of_day) if text else None


# ---------------------------------------------------------------- the roster
def _roster_page(request: Request, at_text: str | None = None, status: int = 200, refusal: str | None = None,
                 typed: dict[str, str] | None = None) -> Response:
    language = lang(request)
    who = _who(request)
    at = None
    with _reader(request) as q:
        try:
            at = _when(at_text, request) if at_text else None
            rows = organising.roster(q, at, language)
        except DomainError as err:
            status, refusal = refusal_status(err), err.render(language)
            at, rows = None, organising.roster(q, None, language)
        may_add = organising.may_add_members(q, who.login)
        bodies = organising.assignable(q, who.login, language)
        choices = organising.assign_choices(q, who.login, language) if bodies else []
        if at is None:
            for r in rows:
                for p in r["posts"]:
                    p["may_end"] = organising.may_end(q, who.login, q.w.assignments[p["id"]])
    return render(request, "roster.html", status=status, rows=rows, at=at_text if at is not None else None,
                  may_add=may_add, bodies=bodies, choices=choices, refusal=refusal, typed=typed or {})


@router.get("/roster", response_class=HTMLResponse)
def roster_page(request: Request, at: str | None = None) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    return _roster_page(request, at or None)


@router.post("/roster/members", response_class=HTMLResponse)
async def roster_add(request: Request) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    try:
        _kaigi(request).add_member(_who(request), str(form.get("login") or "").strip(),
                                   name=str(form.get("name") or ""), name_en=str(form.get("name_en") or ""),
                                   email=str(form.get("email") or "").strip() or None,
                                   lang=str(form.get("lang") or "ja"))
    except DomainError as err:
        return _roster_page(request, status=refusal_status(err), refusal=err.render(lang(request)),
                            typed={**_typed(form), "form": "add_member"})
    return redirect("/roster")


@router.post("/roster/assignments", response_class=HTMLResponse)
async def roster_assign(request: Request) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    k = _kaigi(request)
    try:
        login = str(form.get("login") or "")
        with _reader(request) as q:
            if login not in q.w.members:
                raise NotFound("member.none", login=login[:70])
        station = str(form.get("station") or "").strip() or None
        k.assign(_who(request), login, str(form.get("position") or ""),
                 station=station, team=str(form.get("team") or "") or None,
                 valid_from=_when(str(form.get("valid_from") or ""), request),
                 valid_until=_when(str(form.get("valid_until") or ""), request, end_of_day=True))
    except DomainError as err:
        return _roster_page(request, status=refusal_status(err), refusal=err.render(lang(request)),
                            typed=_typed(form))
    return redirect("/roster")


@router.post("/roster/assignments/{assignment_id}/end", response_class=HTMLResponse)
async def roster_end(request: Request, assignment_id: int) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    try:
        with _reader(request) as q:
            organising.assignment_record(q, assignment_id)  # a post of a body they do not see is absent (R-R1)
        if form.get("confirm") != "yes":
            raise BadInput("web.people.confirm_needed")
        _kaigi(request).end_assignment(_who(request), assignment_id, at=_when(str(form.get("at") or ""), request))
    except DomainError as err:
        return _roster_page(request, status=refusal_status(err), refusal=err.render(lang(request)))
    return redirect("/roster")


# ---------------------------------------------------------------- delegations (R-A1)
def _delegations_page(request: Request, status: int = 200, refusal: str | None = None,
                      typed: dict[str, str] | None = None) -> Response:
    language = lang(request)
    who = _who(request)
    with _reader(request) as q:
        mine = organising.delegations(q, who.login, language)
        clerks = organising.clerks(q, who.login, language)
    return render(request, "delegations.html", status=status, given=mine["given"], received=mine["received"],
                  clerks=clerks, refusal=refusal, typed=typed or {})


@router.get("/delegations", response_class=HTMLResponse)
def delegations_page(request: Request) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    return _delegations_page(request)


@router.post("/delegations", response_class=HTMLResponse)
async def delegation_add(request: Request) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    try:
        until = _when(str(form.get("valid_until") or ""), request, end_of_day=True)
        if until is None:
            raise BadInput("roster.until_needed")
        clerk = str(form.get("clerk") or "")
        with _reader(request) as q:
            if clerk not in q.w.members:
                raise NotFound("member.none", login=clerk[:70])
        _kaigi(request).delegate(_who(request), clerk, valid_until=until,
                                 valid_from=_when(str(form.get("valid_from") or ""), request))
    except DomainError as err:
        return _delegations_page(request, status=refusal_status(err), refusal=err.render(lang(request)),
                                 typed=_typed(form))
    return redirect("/delegations")


@router.post("/delegations/{delegation_id}/end", response_class=HTMLResponse)
async def delegation_end(request: Request, delegation_id: int) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    try:
        with _reader(request) as q:
            organising.delegation_record(q, delegation_id)
        _kaigi(request).end_delegation(_who(request), delegation_id)
    except DomainError as err:
        return _delegations_page(request, status=refusal_status(err), refusal=err.render(lang(request)))
    return redirect("/delegations")


# ---------------------------------------------------------------- the member's account (R-I5)
def _account_page(request: Request, status: int = 200, refusal: str | None = None, new_token: Any = None,
                  everyone: bool = False, notice: str | None = None, typed: dict[str, str] | None = None) -> Response:
    language = lang(request)
    who = _who(request)
    k = _kaigi(request)
    with _reader(request) as q:
        roles = q.roles(who.login, language)
        names = {m: q.name(m, language) for m in q.w.members}
        chief = organising.is_chief(q, who.login)
    rows = accounts.tokens(k, who.login, everyone=everyone)
    tokens = [{"id": r["id"], "login": r["login"], "owner": names.get(r["login"], r["login"]), "name": r["name"],
               "created_at": r["created_at"], "expires_at": r["expires_at"], "revoked_at": r["revoked_at"],
               "live": r["revoked_at"] is None and (r["expires_at"] is None or r["expires_at"] > k.now())}
              for r in rows]
    page = render(request, "account.html", status=status, roles=roles, tokens=tokens, new_token=new_token,
                  everyone=everyone, chief=chief, refusal=refusal, notice=notice, typed=typed or {})
    page.headers.update(NO_STORE)
    return page


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, done: str | None = None) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    notice = _t(request, "web.account.password_set") if done == "password" else None
    return _account_page(request, notice=notice)


@router.get("/account/tokens", response_class=HTMLResponse)
def account_tokens(request: Request, all: str | None = None) -> Response:  # noqa: A002 (the query's name)
    if (gate := _gate(request)) is not None:
        return gate
    try:
        return _account_page(request, everyone=all == "1")
    except NotPermitted as err:  # R-I5: every member's tokens are the chief's to list
        return _account_page(request, status=refusal_status(err), refusal=err.render(lang(request)))


@router.post("/account/tokens", response_class=HTMLResponse)
async def token_create(request: Request) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    try:
        expires = _when(str(form.get("expires") or ""), request, end_of_day=True)
        token_id, secret = accounts.create_token(_kaigi(request), _who(request), str(form.get("name") or ""), expires)
    except DomainError as err:
        return _account_page(request, status=refusal_status(err), refusal=err.render(lang(request)),
                             typed=_typed(form))
    # shown this once, on this response, never stored by the browser (R-I5)
    return _account_page(request, new_token={"id": token_id, "token": secret})


@router.post("/account/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def token_revoke(request: Request, token_id: int) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    everyone = form.get("all") == "1"
    try:
        if not in_range(token_id):
            raise absent("token.none", token_id)
        accounts.revoke_token(_kaigi(request), _who(request), token_id)
    except DomainError as err:
        return _account_page(request, status=refusal_status(err), refusal=err.render(lang(request)))
    return redirect("/account/tokens?all=1" if everyone else "/account")


@router.post("/account/password", response_class=HTMLResponse)
async def password_change(request: Request) -> Response:
    """R-I5: the member's own password, never another's (no login field is read); the
    current one first, the new one twice. Sessions begun under the old password end; this
    browser's goes on in a new session."""
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    k, who = _kaigi(request), _who(request)
    if request.app.state.training:
        return _account_page(request, status=409, refusal=_t(request, "web.account.training_password"))
    limiter, address = request.app.state.limiter, auth.client_address(request)
    if limiter.blocked(address, who.login):
        return _account_page(request, status=429, refusal=_t(request, "web.login.too_many"))
    current, new, again = (str(form.get(f) or "") for f in ("current", "password", "again"))
    if not accounts.check_password(k, who.login, current):
        limiter.failed(address, who.login)
        return _account_page(request, status=403, refusal=_t(request, "web.account.current_wrong"))
    if new != again:
        return _account_page(request, status=400, refusal=_t(request, "web.account.mismatch"))
    try:
        accounts.set_password(k, who, who.login, new)
    except DomainError as err:
        return _account_page(request, status=refusal_status(err), refusal=err.render(lang(request)))
    limiter.succeeded(address, who.login)
    auth.sign_in(request, who.login)  # the old password's sessions are over, this one's too: a new one
    return redirect("/account?done=password")
