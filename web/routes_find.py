"""Finding and overseeing in the browser: `/items` (search and filters, paged), `/overdue`
(by station and by the role that must act, R-N3), `/items.csv` and `/items.xlsx` (the same
filters, every match, Japan times).

Each reads through one `Reader` as the signed-in member (`engine.app.finding`), so a station
member finds, counts and exports only what they may see (R-R1). Bad filters are one line
and a 400, never a 500.
"""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.app import finding
from engine.core.errors import BadInput, DomainError
from web.pages import _gate, _reader
from web.respond import lang, refusal_status, render

router = APIRouter(include_in_schema=False)


def _filters(q: str | None, state: str | None, station: str | None, team: str | None,
             overdue: str | None, pillar: str | None = None) -> finding.Filters:
    return finding.Filters(q=(q or "").strip(), state=state or None, station=station or None, team=team or None,
                           overdue=overdue not in (None, "", "0"), pillar=pillar or None)


def _page_number(page: str | None) -> int:
    text = (page or "1").strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 10**9:
        raise BadInput("find.bad_page", value=text[:20])
    return int(text)


def _choices(q: Any, language: str) -> dict[str, Any]:
    book = q.book()
    return {"states": [{"key": k, "title": st.title.in_(language)} for k, st in book.states.items()],
            "bodies": [{"key": b.key, "name": q.body_name(b.key, language)} for b in q.w.bodies.values()],
            "teams": [{"key": k, "title": tm.title.in_(language)} for k, tm in book.teams.items()],
            "pillars": [{"key": k, "title": p.title.in_(language)} for k, p in book.pillars.items()]}  # R-X1


@router.get("/items", response_class=HTMLResponse)
def items_page(request: Request, q: str | None = None, state: str | None = None, station: str | None = None,
               team: str | None = None, overdue: str | None = None, page: str | None = None,
               pillar: str | None = None) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    language = lang(request)
    f = _filters(q, state, station, team, overdue, pillar)
    with _reader(request) as r:
        choices = _choices(r, language)
        try:
            n = _page_number(page)
            found = finding.find(r, f, limit=finding.PAGE, offset=(n - 1) * finding.PAGE, lang=language)
        except DomainError as err:
            return render(request, "items.html", status=refusal_status(err), f=f, found=None,
                          refusal=err.render(language), **choices)
    query = f.as_query()
    links = {"prev": "/items?" + urlencode({**query, "page": found.page - 1}) if found.page > 1 else None,
             "next": "/items?" + urlencode({**query, "page": found.page + 1}) if found.page < found.pages else None,
             "csv": "/items.csv" + ("?" + urlencode(query) if query else ""),
             "xlsx": "/items.xlsx" + ("?" + urlencode(query) if query else "")}
    return render(request, "items.html", f=f, found=found, links=links, refusal=None, **choices)


def _export(request: Request, fmt: str, f: finding.Filters) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    language = lang(request)
    with _reader(request) as r:
        try:
            rows = finding.export_rows(r, f, language)
        except DomainError as err:
            return render(request, "error.html", status=refusal_status(err), message=err.render(language))
    if fmt == "csv":
        data, media = finding.csv_bytes(rows, language), "text/csv; charset=utf-8"
    else:
        data = finding.xlsx_bytes(rows, language)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="kaigi-items.{fmt}"'})


@router.get("/items.csv")
def items_csv(request: Request, q: str | None = None, state: str | None = None, station: str | None = None,
              team: str | None = None, overdue: str | None = None) -> Response:
    return _export(request, "csv", _filters(q, state, station, team, overdue))


@router.get("/items.xlsx")
def items_xlsx(request: Request, q: str | None = None, state: str | None = None, station: str | None = None,
               team: str | None = None, overdue: str | None = None) -> Response:
    return _export(request, "xlsx", _filters(q, state, station, team, overdue))


@router.get("/overdue", response_class=HTMLResponse)
def overdue_page(request: Request, station: str | None = None, page: str | None = None) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    language = lang(request)
    size = finding.OVERDUE_PAGE
    with _reader(request) as r:
        choices = _choices(r, language)
        try:
            n = _page_number(page)
            total = finding.overdue_total(r, station=station or None)
            groups = finding.overdue(r, language, station=station or None, limit=size, offset=(n - 1) * size)
        except DomainError as err:
            return render(request, "overdue.html", status=refusal_status(err), groups=[], station=station,
                          refusal=err.render(language), links={}, **choices)
    base = {"station": station} if station else {}
    links = {"prev": "/overdue?" + urlencode({**base, "page": n - 1}) if n > 1 else None,
             "next": "/overdue?" + urlencode({**base, "page": n + 1}) if n * size < total else None}
    return render(request, "overdue.html", groups=groups, station=station or None, refusal=None, links=links,
                  **choices)
