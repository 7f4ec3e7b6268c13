"""Papers in the browser (`kaigi document` on the web): a meeting's notice, agenda and
minutes, an item's report and the progress report as PDF, and the check of a paper.

Thin: each route reads the member, asks the application (`Kaigi.print_paper`, which reads
through the viewer's sight, R-R1: hidden is 404) and answers the PDF with a file name; the
print is recorded as the member's act, as on the command line.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.core.errors import DomainError, NotFound
from engine.infra.timeutil import parse_when
from web.pages import _checked, _gate, _kaigi, _not_found, _reader, _who
from web.respond import lang, refusal_status, render

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 50_000_000


def _pdf(request: Request, kind: str, subject: int | None, **kw: Any) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    language = lang(request)
    try:
        with _reader(request) as q:  # hidden or unknown: 404 before anything is printed (R-R1)
            if kind == "report":
                q.item_record(int(subject or 0))
            elif subject is not None:
                q.meeting_record(subject)
        p = _kaigi(request).print_paper(_who(request), kind, subject, lang=language, **kw)
    except NotFound as err:
        return _not_found(request, err)
    except DomainError as err:
        return render(request, "error.html", status=refusal_status(err), message=err.render(language))
    return Response(p.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="kaigi-{p.filename}"',
                             "X-Kaigi-Anchor": p.anchor.text()})


@router.get("/meetings/{meeting_id}/notice.pdf")
def meeting_notice_pdf(request: Request, meeting_id: int) -> Response:
    return _pdf(request, "notice", meeting_id)


@router.get("/meetings/{meeting_id}/agenda.pdf")
def meeting_agenda_pdf(request: Request, meeting_id: int) -> Response:
    return _pdf(request, "agenda", meeting_id)


@router.get("/meetings/{meeting_id}/minutes.pdf")
def meeting_minutes_pdf(request: Request, meeting_id: int) -> Response:
    return _pdf(request, "minutes", meeting_id)


@router.get("/items/{item_id}/report.pdf")
def item_report_pdf(request: Request, item_id: int) -> Response:
    return _pdf(request, "report", item_id)


@router.get("/progress.pdf")
def progress_pdf(request: Request, since: str | None = None, until: str | None = None) -> Response:
    language = lang(request)
    try:
        now = _kaigi(request).now()
        a = parse_when(since, now) if since else None
        b = parse_when(until, now, end_of_day=True) if until else None
    except DomainError as err:
        return render(request, "error.html", status=refusal_status(err), message=err.render(language))
    return _pdf(request, "progress", None, since=a, until=b)


@router.get("/documents/verify", response_class=HTMLResponse)
def verify_page(request: Request) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    return render(request, "paper_verify.html", verdict=None)


@router.post("/documents/verify", response_class=HTMLResponse)
async def verify_upload(request: Request) -> Response:
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    upload = form.get("file")
    data = await upload.read(MAX_UPLOAD) if upload is not None and hasattr(upload, "read") else b""
    v = _kaigi(request).verify_paper(data)
    status = {0: 200, 2: 400}.get(v.code, 409)
    return render(request, "paper_verify.html", status=status, verdict=v.as_dict(lang(request)))

