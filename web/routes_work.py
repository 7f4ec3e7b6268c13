"""My work (`GET /`): what is asked of the signed-in member now, earliest deadline first,
each entry a `.work-item` with `data-act` and the one form that does it (WEB.md, "Every act
in the browser"). The list is the engine's (`engine.app.work`, through the Reader with its
viewer, R-R1); this page only lays it out.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.core.errors import DomainError
from web.pages import _gate, _reader, _who
from web.respond import lang, refusal_status, render
from web.routes_find import _page_number

router = APIRouter(include_in_schema=False)

WORK_SHOWN = 100  # a page a person reads; the board has the rest


@router.get("/", response_class=HTMLResponse)
def my_work(request: Request, page: str | None = None) -> Response:
    """A page of WORK_SHOWN entries (`?page=N`, with prev/next links), earliest deadline first."""
    if (gate := _gate(request)) is not None:
        return gate
    who, language = _who(request), lang(request)
    try:
        n = _page_number(page)
    except DomainError as err:
        return render(request, "error.html", status=refusal_status(err), message=err.render(language))
    with _reader(request) as q:
        work: list[dict[str, Any]] = q.my_work(who.login, language)
    start = (n - 1) * WORK_SHOWN
    shown = work[start:start + WORK_SHOWN]
    links = {"prev": f"/?page={n - 1}" if n > 1 else None,
             "next": f"/?page={n + 1}" if start + WORK_SHOWN < len(work) else None}
    return render(request, "work.html", work=shown, more=max(len(work) - start - WORK_SHOWN, 0), links=links)
