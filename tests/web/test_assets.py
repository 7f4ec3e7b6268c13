"""The pages' CSS and scripts are linked at addresses naming their content, and kept by the
browser without asking again; any other address of the same file is asked for each time
(web/assets.py)."""

import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Mount

import web
from web.assets import ASK_AGAIN, FOREVER, Assets

STATIC = Path(web.__file__).parent / "static"


def _linked(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_every_page_links_its_files_by_their_content_and_they_are_kept(real, browser):
    b = browser(real)
    b.login("yamamoto")
    for page in ("/", "/items/1", "/board", "/api/docs"):
        urls = _linked(b.get(page).text)
        assert urls, page
        for url in urls:
            path, _, query = url.partition("?v=")
            data = (STATIC / path.removeprefix("/static/")).read_bytes()
            assert query == hashlib.sha256(data).hexdigest()[:16], url
            r = b.get(url)
            assert r.status_code == 200 and r.content == data, url
            assert r.headers["Cache-Control"] == FOREVER, url


def test_an_address_without_the_current_digest_is_asked_for_each_time(real, browser):
    """A bookmark, an old page open across an upgrade: never a stale copy kept for a year."""
    b = browser(real)
    for url in ("/static/kaigi.css", "/static/kaigi.css?v=0123456789abcdef", "/static/htmx.min.js?v="):
        r = b.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == ASK_AGAIN, url
    assert b.get("/static/no-such-file.css").status_code == 404
    assert b.get("/static/../app.py").status_code == 404


def _app(root: Path) -> tuple[Assets, Any]:
    assets = Assets(root)
    return assets, TestClient(Starlette(routes=[Mount("/static", assets)]))


def test_a_changed_file_gets_a_new_address(tmp_path: Path):
    (tmp_path / "a.css").write_text("body { color: black }")
    old, _ = _app(tmp_path)
    before = old.url("a.css")
    (tmp_path / "a.css").write_text("body { color: navy }")
    new, client = _app(tmp_path)  # the next process (an upgrade restarts the server)
    after = new.url("a.css")
    assert before != after and after.startswith("/static/a.css?v=")
    assert client.get(after).headers["Cache-Control"] == FOREVER
    assert client.get(before).headers["Cache-Control"] == ASK_AGAIN  # the old page's link
    assert client.get(before).text == "body { color: navy }"
