"""An item's page and every act on it: its steps, investigation orders (R-T5) and the
station's report document.

What a form offers is what `engine.app.offers` says the signed-in member may do now,
decided by the same pure rules the act runs on the reader's snapshot: a step with a meeting
select lists only the sittings it may cite (R-M5), and a step nobody could take with any
choice is not shown. A step that ends the item outside a meeting (a withdrawal) is never a
primary form: it sits behind a confirmation that says what it undoes. Every act is the
application's own call, the CLI's; a refusal is its one line in `#refusal`, with the status
of its kind. Every read goes through the Reader with its viewer (R-R1): what they may not
see is 404, a document included.
"""

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from engine.core.errors import DomainError, NotFound
from engine.infra.timeutil import JST, parse_when
from web.pages import _checked, _form_id, _gate, _kaigi, _not_found, _reader, _who
from web.respond import lang, redirect, refusal_status, render

router = APIRouter(include_in_schema=False)


class Sha256(Convertor):  # type: ignore[type-arg]
    """A document's name in a path: 64 hex digits, so `/documents/verify` is another route."""

    regex = "[0-9a-fA-F]{64}"

    def convert(self, value: str) -> str:
        return value.lower()

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("sha256", Sha256())


# ---------------------------------------------------------------- the page
def _steps(q: Any, login: str, rec: Any, language: str) -> list[dict[str, Any]]:
    """The steps `login` may take on `rec` now (offers.item_steps), with the words a form
    shows: the destination's title and each sitting's name and date."""
    from engine.app import offers
    from engine.i18n import trigger_word

    book = q.book()
    kind = q.w.body_kinds().get(rec.body)
    out = []
    for s in offers.item_steps(q, login, rec):
        st = book.states.get(s["to"])
        meetings = [{**m, "title": book.meetings[m["kind"]].title.in_(language) if m["kind"] in book.meetings
                     else m["kind"]} for m in s["meetings"]]
        out.append({**s, "meeting": s["meeting_kind"], "meetings": meetings,
                    "to_title": st.title.in_(language) if st else s["to"],
                    "trigger_word": trigger_word(s["trigger"], language, book),  # the book's own word
                    # a step in the meeting of a body that reports up (a station's) carries the
                    # sitting's result (the report, R-P3)
                    "document": bool(s["meeting_kind"]) and bool(book.reports_up(kind or ""))})
    return out


def _order_form(q: Any, login: str, rec: Any, language: str) -> dict[str, Any] | None:
    """The order form (R-T5) for a member who may order now: the team leaders they may
    order, by name, and the rulebook's due date as the default."""
    from engine.app import offers
    from engine.core.plan import rule_of
    from engine.core.workdays import deadline

    to = offers.may_order(q, login, rec)
    if not to:
        return None
    book = q.book()
    rule = rule_of(book, "investigation_order")
    due = deadline(q.now, rule.due if rule else 7, rule.unit if rule else "days", book.office_closure)
    return {"to": [{"login": x, "name": q.name(x, language)} for x in to],
            "due": due.astimezone(JST).date().isoformat()}


def item_page_response(request: Request, item_id: int, status: int = 200, refusal: str | None = None) -> Response:
    from engine.app import offers

    language = lang(request)
    login = _who(request).login
    with _reader(request) as q:
        try:
            rec = q.item_record(item_id)
        except NotFound as err:
            return _not_found(request, err)
        view = q.item_view(rec, language)
        history = q.history(item_id, language)
        book = q.book()
        item_kind = q.w.body_kinds().get(rec.body)  # the path its body's kind of items follows
        steps = _steps(q, login, rec, language)
        orders = []
        for o in view["orders"]:
            record = q.order_record(o["id"])
            orders.append({**o, "acts": [a["act"] for a in offers.order_acts(q, login, record)],
                           "issued_by_name": q.name(o["issued_by"], language)})
        order_form = _order_form(q, login, rec, language)
    from engine.app.diagrams import svg

    path_svg = svg(book, language, current=view["state"], kind=item_kind)
    return render(request, "item.html", status=status, item=view, history=history,
                  acts=[s for s in steps if not s["secondary"]],
                  secondary=[s for s in steps if s["secondary"]],
                  orders=orders, order_form=order_form, refusal=refusal, path_svg=path_svg)


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: int) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    return item_page_response(request, item_id)


# ---------------------------------------------------------------- steps
MAX_UPLOAD = 20_000_000  # the engine's own limit on a document (Kaigi.advance refuses past it)


async def _document(form: Any) -> tuple[str, bytes] | None:
    """The uploaded document of a step, or None when no file was chosen."""
    upload = form.get("document")
    if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
        return None
    content = await upload.read(MAX_UPLOAD + 1)
    return str(upload.filename).replace("\\", "/").rsplit("/", 1)[-1], content


@router.post("/items/{item_id}/advance", response_class=HTMLResponse)
async def item_advance(request: Request, item_id: int) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    k, language = _kaigi(request), lang(request)
    try:
        with _reader(request) as q:
            q.item_record(item_id)
            meeting = _form_id(form.get("meeting"), "meeting.none")
            if meeting is not None:
                q.meeting_record(meeting)
        k.advance(_who(request), item_id, str(form.get("trigger") or ""),
                  meeting=meeting, note=str(form.get("note") or ""), document=await _document(form))
    except DomainError as err:
        return item_page_response(request, item_id, status=refusal_status(err), refusal=err.render(language))
    return redirect(f"/items/{item_id}")


@router.post("/items", response_class=HTMLResponse)
async def item_file(request: Request) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    k, language = _kaigi(request), lang(request)
    try:
        out = k.file_item(_who(request), str(form.get("title") or ""), station=str(form.get("station") or "") or None,
                          note=str(form.get("note") or ""), team=str(form.get("team") or "") or None,
                          pillars=tuple(str(p) for p in form.getlist("pillar") if p))
    except DomainError as err:
        return render(request, "error.html", status=refusal_status(err), message=err.render(language), refusal=True)
    return redirect(f"/items/{out.fact.item}")


# ---------------------------------------------------------------- investigation orders (R-T5)
def _due(text: str, now: dt.datetime) -> dt.datetime | None:
    """The order's due date: a date is its last instant, Japan time (R-N4); empty is the
    rulebook's default."""
    text = text.strip()
    return parse_when(text, now, end_of_day=True) if text else None


@router.post("/items/{item_id}/orders", response_class=HTMLResponse)
async def order_issue(request: Request, item_id: int) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    k, language = _kaigi(request), lang(request)
    try:
        with _reader(request) as q:
            q.item_record(item_id)
        k.issue_order(_who(request), item_id, str(form.get("to") or ""), due_at=_due(str(form.get("due") or ""), k.now()),
                      note=str(form.get("note") or ""))
    except DomainError as err:
        return item_page_response(request, item_id, status=refusal_status(err), refusal=err.render(language))
    return redirect(f"/items/{item_id}#orders")


async def _settle(request: Request, order_id: int, act: str, field: str) -> Response:
    """Complete or waive an order: 404 for an order the member may not see, else the act,
    and back to its item's page (the refusal shown there)."""
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    k, language = _kaigi(request), lang(request)
    try:
        with _reader(request) as q:
            item_id = q.order_record(order_id).item
    except NotFound as err:
        return _not_found(request, err)
    try:
        getattr(k, act)(_who(request), order_id, str(form.get(field) or ""))
    except DomainError as err:
        return item_page_response(request, item_id, status=refusal_status(err), refusal=err.render(language))
    return redirect(f"/items/{item_id}#orders")


@router.post("/orders/{order_id}/complete", response_class=HTMLResponse)
async def order_complete(request: Request, order_id: int) -> Response:
    return await _settle(request, order_id, "complete_order", "finding")


@router.post("/orders/{order_id}/waive", response_class=HTMLResponse)
async def order_waive(request: Request, order_id: int) -> Response:
    return await _settle(request, order_id, "waive_order", "note")


# ---------------------------------------------------------------- documents
@router.get("/documents/{sha256:sha256}", response_class=HTMLResponse)
def document_page(request: Request) -> Response:
    """A document a step carries: what it is, which step carries it, and its download."""
    if (gate := _gate(request)) is not None:
        return gate
    with _reader(request) as q:
        try:
            doc = q.document(request.path_params["sha256"], lang(request))
        except NotFound as err:
            return _not_found(request, err)
    return render(request, "document.html", doc=doc)


@router.get("/documents/{sha256:sha256}/file")
def document_file(request: Request) -> Response:
    """The document's bytes as stored (their sha256 is the name), downloaded, never shown
    inline: the browser is not to guess its type."""
    if (gate := _gate(request)) is not None:
        return gate
    with _reader(request) as q:
        try:
            doc = q.document_file(request.path_params["sha256"])
        except NotFound as err:
            return _not_found(request, err)
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in doc.name)
    return Response(doc.content, media_type=doc.media_type or "application/octet-stream",
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                                    f"filename*=UTF-8''{quote(doc.name)}",
                             "X-Content-Type-Options": "nosniff"})

