"""Papers in the browser (issue 17): the PDFs of a meeting and an item, linked from their
pages, and the verify page that judges an uploaded paper."""

import re

from tests import visibility_world as vw


def _world(real):
    from engine.core.identity import Actor

    return vw.build(real, lambda login: Actor(login, "web"))


def test_meeting_and_item_papers_are_pdfs_with_a_file_name(real, browser):
    s = _world(real)
    b = browser(real)
    b.login(vw.STATION_A)
    page = b.get(f"/meetings/{s.mito_meeting}").text
    assert f'href="/meetings/{s.mito_meeting}/notice.pdf"' in page and 'href="/documents/verify"' in page
    for path, name in ((f"/meetings/{s.mito_meeting}/notice.pdf", f"notice-{s.mito_meeting}.pdf"),
                       (f"/meetings/{s.mito_meeting}/agenda.pdf", f"agenda-{s.mito_meeting}.pdf"),
                       (f"/items/{s.mito_item}/report.pdf", f"report-{s.mito_item}.pdf"),
                       ("/progress.pdf?since=2026-01-01", "progress.pdf")):
        r = b.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert r.headers["content-type"] == "application/pdf" and r.content[:5] == b"%PDF-"
        assert re.search(rf'filename="kaigi-{re.escape(name)}"', r.headers["content-disposition"])
    assert f'href="/items/{s.mito_item}/report.pdf"' in b.get(f"/items/{s.mito_item}").text


def test_r_r1_another_stations_meeting_paper_is_404(real, browser):
    s = _world(real)
    b = browser(real)
    b.login(vw.STATION_A)
    assert b.get(f"/meetings/{s.joso_meeting}/notice.pdf").status_code == 404
    assert b.get(f"/items/{s.joso_item}/report.pdf").status_code == 404


def test_minutes_pdf_refused_until_approved(real, browser):
    s = _world(real)
    b = browser(real)
    b.login(vw.STATION_A)
    assert b.get(f"/meetings/{s.mito_meeting}/minutes.pdf").status_code == 409


def test_verify_page_judges_an_upload(real, browser):
    s = _world(real)
    b = browser(real)
    b.login(vw.STATION_A)
    pdf = b.get(f"/meetings/{s.mito_meeting}/notice.pdf").content
    form = b.get("/documents/verify")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)[1]

    def upload(data: bytes) -> tuple[int, str]:
        r = b.c.post("/documents/verify", data={"csrf_token": token}, files={"file": ("p.pdf", data, "application/pdf")})
        return r.status_code, re.search(r'data-code="(\d)"', r.text)[1]
    assert upload(pdf) == (200, "0")
    i = len(pdf) // 2
    assert upload(pdf[:i] + bytes([pdf[i] ^ 1]) + pdf[i + 1:])[1] == "7"
    assert upload(b"plain text") == (400, "2")
