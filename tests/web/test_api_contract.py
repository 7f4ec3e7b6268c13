"""`/api/v1` as docs/api.md promises it (issue 18): one error shape for every error, `Allow`
on 405, 201 with `Location` and the id, lists paged with a cursor and filtered, `ETag` and
304, `/api` an alias of `/api/v1`; the HTML pages keep their own errors."""

from typing import Any

from fastapi.testclient import TestClient

from engine.app import accounts
from engine.core.identity import Actor
from web import create_app


def _c(k: Any, login: str = "sato") -> tuple[TestClient, dict[str, str]]:
    _, secret = accounts.create_token(k, Actor(login, "web"), "contract")
    return TestClient(create_app(k, secret="s")), {"Authorization": f"Bearer {secret}"}


def _is_error(r: Any, status: int, kind: str) -> bool:
    body = r.json()
    return r.status_code == status and set(body) == {"error"} and body["error"]["kind"] == kind \
        and set(body["error"]) == {"kind", "message", "rule"} and body["error"]["message"]


def test_every_error_is_the_one_shape(real, monkeypatch):
    c, h = _c(real)
    assert _is_error(c.get("/api/v1/nowhere", headers=h), 404, "not_found")
    assert _is_error(c.get("/api/nowhere"), 404, "not_found")
    r = c.put("/api/v1/items", headers=h)
    assert _is_error(r, 405, "not_allowed") and r.headers["Allow"] == "GET, POST"
    r = c.options("/api/v1/items/1", headers=h)
    assert _is_error(r, 405, "not_allowed") and r.headers["Allow"] == "GET"
    r = c.post("/api/v1/items", headers={**h, "Content-Type": "application/json"}, content=b"{bad")
    assert _is_error(r, 400, "bad_input") and "JSON" in r.json()["error"]["message"]
    assert _is_error(c.post("/api/v1/items", headers=h, json={"title": ""}), 400, "bad_input")
    assert _is_error(c.get("/api/v1/items?limit=501", headers=h), 400, "bad_input")
    assert _is_error(c.get("/api/v1/items?cursor=%21", headers=h), 400, "bad_input")
    assert _is_error(c.get("/api/v1/items?state=nonsense", headers=h), 400, "bad_input")
    assert _is_error(c.get("/api/v1/items?since=yesterday", headers=h), 400, "bad_input")
    for big in (2**31, 2**63, 10**30):
        assert _is_error(c.get(f"/api/v1/items/{big}", headers=h), 404, "not_found")
    from engine.app import queries

    def broken(*a: Any, **kw: Any) -> Any:
        raise RuntimeError("a fault")
    monkeypatch.setattr(queries.Reader, "whoami", broken)
    assert _is_error(c.get("/api/v1/whoami", headers=h), 500, "internal")


def test_pages_keep_their_html_errors(real):
    c, _ = _c(real)
    r = c.get("/nowhere")
    assert r.status_code == 404 and "error" not in r.text


def test_created_is_201_with_location_and_id(real):
    c, h = _c(real)
    r = c.post("/api/v1/items", headers=h, json={"title": "場所の見出し"})
    assert r.status_code == 201
    new = r.json()["id"]
    assert new == r.json()["events"][0]["item"] and r.headers["Location"] == f"/api/v1/items/{new}"
    assert c.get(r.headers["Location"], headers=h).json()["title"] == "場所の見出し"
    r = c.post("/api/items", headers=h, json={"title": "別名から"})  # the alias: same handler
    assert r.status_code == 201 and r.headers["Location"] == f"/api/items/{r.json()['id']}"


def test_items_come_a_page_at_a_time(real):
    c, h = _c(real)
    for n in range(7):
        assert c.post("/api/v1/items", headers=h, json={"title": f"頁 {n}"}).status_code == 201
    every = [i["id"] for i in c.get("/api/v1/items?limit=500", headers=h).json()]
    assert "Next-Cursor" not in c.get("/api/v1/items?limit=500", headers=h).headers
    seen: list[int] = []
    url = "/api/v1/items?limit=3"
    while True:
        r = c.get(url, headers=h)
        assert r.status_code == 200 and len(r.json()) <= 3
        seen += [i["id"] for i in r.json()]
        if "Next-Cursor" not in r.headers:
            break
        assert r.headers["Link"].endswith('rel="next"')
        url = r.headers["Link"][1:r.headers["Link"].index(">")]
    assert seen == every and len(every) >= 7
    assert [i["state"] for i in c.get("/api/v1/items?state=filed", headers=h).json()] and all(
        i["state"] == "filed" for i in c.get("/api/v1/items?state=filed", headers=h).json())
    assert c.get("/api/v1/items?since=2999-01-01T00:00:00Z", headers=h).json() == []


def test_a_poller_gets_304_until_something_changes(real):
    c, h = _c(real)
    r = c.get("/api/v1/items/1", headers=h)
    tag = r.headers["ETag"]
    again = c.get("/api/v1/items/1", headers={**h, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    c.post("/api/v1/items/1/advance", headers=_c(real, "yamamoto")[1], json={"trigger": "withdraw"})
    changed = c.get("/api/v1/items/1", headers={**h, "If-None-Match": tag})
    assert changed.status_code in (200, 304)
    if real.item(1).state == "withdrawn":
        assert changed.status_code == 200 and changed.headers["ETag"] != tag


def test_an_items_history_comes_a_page_at_a_time(real):
    """Every list pages (issue 18): the history by sequence number, `Next-Cursor` while more
    follow, the pages together are the whole history in log order."""
    c, h = _c(real)
    c.post("/api/v1/items/1/advance", headers=h, json={"trigger": "skip"})  # a few more events, allowed or not
    c.post("/api/v1/items/1/advance", headers=h, json={"trigger": "refer"})
    whole = c.get("/api/v1/items/1/history?limit=500", headers=h).json()
    assert len(whole) >= 2 and "Next-Cursor" not in c.get("/api/v1/items/1/history?limit=500", headers=h).headers
    seen: list[int] = []
    url = "/api/v1/items/1/history?limit=1"
    while True:
        r = c.get(url, headers=h)
        assert r.status_code == 200 and len(r.json()) <= 1
        seen += [e["seq"] for e in r.json()]
        if "Next-Cursor" not in r.headers:
            break
        url = r.headers["Link"][1:r.headers["Link"].index(">")]
    assert seen == [e["seq"] for e in whole] == sorted(seen)
    assert _is_error(c.get("/api/v1/items/1/history?limit=0", headers=h), 400, "bad_input")
