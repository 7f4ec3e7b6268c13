"""How the web face answers, shared by the routes and the app: a page in the reader's
language (`render`), a redirect after a form, a refusal's HTTP status and its JSON shape.
The routes import this module, never `web.app`, which only assembles them.
"""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from engine.i18n import lang_of, t
from web import auth

STATUS = {"bad_input": 400, "not_permitted": 403, "not_possible": 409, "not_found": 404, "conflict": 409,
          "integrity": 409, "unavailable": 503}


def lang(request: Request) -> str:
    """Japanese first: the session's choice, else the member's language, else Japanese."""
    chosen = request.session.get("lang")
    if chosen:
        return lang_of(str(chosen))
    own = auth.member_lang(request)  # found with the member: no second look at the roster
    return lang_of(own) if own else "ja"


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in the reader's language, with the signed-in member, the CSRF token and the
    training banner every page carries."""
    language = context.pop("lang", None) or lang(request)
    who = auth.signed_in(request)
    k = request.app.state.kaigi
    me = None
    if who:
        with k.read() as q:
            if who in q.w.members:
                me = {"login": who, "name": q.name(who, language)}

    def tr(key: str, **params: Any) -> str:
        return t(key, language, **params)

    ctx = {"request": request, "lang": language, "t": tr, "me": me, "csrf": auth.csrf_token(request),
           "training": request.app.state.training, "path": request.url.path, **context}
    page: HTMLResponse = request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)
    return page


def refusal_status(err: Any) -> int:
    return STATUS.get(getattr(err, "kind", ""), 400)


def error_json(err: Any, language: str = "en") -> JSONResponse:
    return JSONResponse({"error": {"kind": err.kind, "message": err.render(language), "rule": err.rule}},
                        status_code=refusal_status(err))


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
