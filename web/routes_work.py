"""My work (`GET /`): what is asked of the signed-in member now, earliest deadline first,
each entry a `.work-item` with `data-act` and the one form that does it (WEB.md, "Every act
in the browser"). The list is the engine's (`engine.app.work`, through the Reader with its
viewer, R-R1); this page only lays it out.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from web.pages import _gate, _reader, _who
from web.respond import lang, render

router = APIRouter(include_in_schema=False)

WORK_SHOWN = 100  # a page a person reads; the board has the rest


@router.get("/", response_class=HTMLResponse)
def my_work(request: Request) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    who, language = _who(request), lang(request)
    with _reader(request) as q:
        work: list[dict[str, Any]] = q.my_work(who.login, language)
    return render(request, "work.html", work=work[:WORK_SHOWN], more=max(len(work) - WORK_SHOWN, 0))
