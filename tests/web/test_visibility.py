"""R-R1 over every route of the web face and `/api`: who may see what is one engine rule.

`ROUTES` lists every route the app serves (read from `app.routes`, `/api` included) and
says how each is checked for a station member of station A (mito's chief) reading station
B's (joso's) and the HQ's objects, and for a member whose posts have all ended; an HQ
member reads the same objects as the control. A route that is not in the table fails
`test_every_route_is_in_the_table`: whoever adds a route says how it keeps R-R1.

Hidden is absent: 404 with the message of an id never used. A member whose posts ended
sees nothing (404, or a sign-in page once their session ends: R-I6). Ids past what a
database holds are 404 (400 for a form field that is no number), never a 500.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.app import accounts
from engine.core.errors import NotFound
from engine.core.identity import Actor
from tests import visibility_world as vw
from tests.conftest import fingerprint
from web import create_app

NEVER = 999_999  # an id nobody used
BIG = [2**63, 2**64, 10**30]  # past a signed 64-bit integer


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI 0.16x keeps them
    as `_IncludedRouter`s with a prefix; older ones flatten them); a mount as `MOUNT`."""
    out: set[tuple[str, str]] = set()

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes, prefix + r.include_context.prefix)
            elif getattr(r, "methods", None):
                out.update((m, prefix + r.path) for m in r.methods - {"HEAD"})
            else:
                out.add(("MOUNT", prefix + r.path))
    walk(app.routes, "")
    return out


# route -> (how it is checked, why that is the right check)
ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    # signing in: no item, meeting or log is read (the web-perimeter's tests cover them)
    ("GET", "/login"): ("public", "the sign-in form"),
    ("POST", "/login"): ("signin", "checks a password; reads the roster's logins only"),
    ("GET", "/login/oidc"): ("signin", "a redirect to the identity provider (404 unless configured)"),
    ("GET", "/login/oidc/callback"): ("signin", "reads the roster's logins only"),
    ("POST", "/logout"): ("signin", "ends the session"),
    ("GET", "/switch"): ("public", "training only: the roster, no objects (404 on a real database)"),
    ("POST", "/switch"): ("signin", "training only: signs in as a member"),
    ("GET", "/lang/{code}"): ("signin", "sets the session's language"),
    ("GET", "/healthz"): ("public", "says ok"),
    ("MOUNT", "/static"): ("signin", "vendored CSS and scripts"),
    ("GET", "/api/openapi.json"): ("public", "the API's schema"),
    ("GET", "/api/docs"): ("public", "the API's documentation page"),
    # pages
    ("GET", "/"): ("list", "my work: only what the member may see"),
    ("GET", "/board"): ("list", "cards of visible items only"),
    ("GET", "/items/{item_id}"): ("item", "an item: 404 when hidden"),
    ("POST", "/items/{item_id}/advance"): ("act_item", "404 before any act on a hidden item"),
    ("POST", "/items"): ("act_file", "files in the member's own body; refused elsewhere, naming no object"),
    ("POST", "/items/{item_id}/orders"): ("act_item", "404 before an order on a hidden item (R-T5)"),
    ("POST", "/orders/{order_id}/complete"): ("act_order", "404 before completing an order on a hidden item"),
    ("POST", "/orders/{order_id}/waive"): ("act_order", "404 before waiving an order on a hidden item"),
    ("GET", "/documents/{sha256:sha256}"): ("document", "a document: 404 unless a step carrying it is on a "
                                                         "visible item"),
    ("GET", "/documents/{sha256:sha256}/file"): ("document", "its bytes: the same sight as its page"),
    ("GET", "/meetings"): ("calendar", "the calendar lists visible meetings only"),
    ("POST", "/meetings"): ("convene", "404 for a hidden item on the agenda"),
    ("GET", "/meetings/{meeting_id}"): ("meeting", "a meeting with agenda and minutes: 404 when hidden"),
    ("GET", "/meetings/{meeting_id}.ics"): ("meeting", "its calendar file: 404 when hidden"),
    ("POST", "/meetings/{meeting_id}/hold"): ("act_meeting", "404 before any act on a hidden meeting"),
    ("GET", "/meetings/new"): ("list", "the convening form: only visible items, only kinds the member may convene"),
    ("POST", "/meetings/{meeting_id}/agenda"): ("act_meeting", "404 before any agenda change of a hidden meeting"),
    ("POST", "/meetings/{meeting_id}/minutes"): ("act_meeting", "404 before any minutes of a hidden meeting"),
    ("POST", "/meetings/{meeting_id}/minutes/approve"): ("act_meeting", "404 before approving a hidden meeting's"),
    ("POST", "/meetings/{meeting_id}/cancel"): ("act_meeting", "404 before calling a hidden meeting off"),
    ("POST", "/meetings/{meeting_id}/move"): ("act_meeting", "404 before moving a hidden meeting (R-M6)"),
    ("GET", "/audit"): ("audit", "replay of a visible item; the log's verdict for those who see everything"),
    ("GET", "/audit/export.{fmt}"): ("export", "the whole log for those who see everything, else 404"),
    ("GET", "/diagram"): ("diagram", "an item's state on the path: 404 when hidden"),
    ("GET", "/items"): ("finding", "search and filters over visible items only; hidden ones are never matched"),
    ("GET", "/items.csv"): ("finding", "the same search as a spreadsheet: visible items only"),
    ("GET", "/items.xlsx"): ("finding", "the same as XLSX: visible items only"),
    ("GET", "/overdue"): ("finding", "overdue visible items by station and role; no other station's group"),
    # /api
    ("GET", "/api/items"): ("list", "visible items only"),
    ("GET", "/api/items/{item_id}"): ("item", "404 when hidden"),
    ("GET", "/api/items/{item_id}/history"): ("item", "404 when hidden"),
    ("POST", "/api/items"): ("act_file", "files in the member's own body"),
    ("POST", "/api/items/{item_id}/advance"): ("act_item", "404 before any act on a hidden item"),
    ("POST", "/api/meetings"): ("convene", "404 for a hidden item on the agenda"),
    ("POST", "/api/meetings/{meeting_id}/hold"): ("act_meeting", "404 before any act on a hidden meeting"),
    ("GET", "/api/meetings/{meeting_id}"): ("meeting", "404 when hidden"),
    ("GET", "/api/audit/verify"): ("export", "the log's verdict: for those who see everything, else 404"),
    ("GET", "/api/whoami"): ("list", "the member's own roles"),
    # /api/v1: the contract /api aliases (issue 18): the same handlers, so the same checks
    ("GET", "/api/v1/items"): ("list", "visible items only, a page at a time"),
    ("GET", "/api/v1/items/{item_id}"): ("item", "404 when hidden"),
    ("GET", "/api/v1/items/{item_id}/history"): ("item", "404 when hidden"),
    ("POST", "/api/v1/items"): ("act_file", "files in the member's own body"),
    ("POST", "/api/v1/items/{item_id}/advance"): ("act_item", "404 before any act on a hidden item"),
    ("POST", "/api/v1/meetings"): ("convene", "404 for a hidden item on the agenda"),
    ("POST", "/api/v1/meetings/{meeting_id}/hold"): ("act_meeting", "404 before any act on a hidden meeting"),
    ("GET", "/api/v1/meetings/{meeting_id}"): ("meeting", "404 when hidden"),
    ("GET", "/api/v1/audit/verify"): ("export", "the log's verdict: for those who see everything, else 404"),
    ("GET", "/api/v1/whoami"): ("list", "the member's own roles"),
    # people (web/routes_people.py): the roster as the viewer may see it, their own delegations and account
    ("GET", "/roster"): ("people", "members with posts at the viewer's bodies only (all for the HQ)"),
    ("POST", "/roster/members"): ("people", "adds a member: no item, meeting or post is read"),
    ("POST", "/roster/assignments"): ("people", "assigns a post: refused (403) outside the organiser's bodies"),
    ("POST", "/roster/assignments/{assignment_id}/end"): ("people", "a post of a body not seen is absent (404)"),
    ("GET", "/delegations"): ("people", "the member's own delegations, given and received"),
    ("POST", "/delegations"): ("people", "delegates the member's own acts to a clerk"),
    ("POST", "/delegations/{delegation_id}/end"): ("people", "another's delegation is absent (404) to a station"),
    ("GET", "/account"): ("people", "the member's own posts and tokens"),
    ("GET", "/account/tokens"): ("people", "own tokens; every member's for the chief only (403)"),
    ("POST", "/account/tokens"): ("people", "a token of the member's own"),
    ("POST", "/account/tokens/{token_id}/revoke"): ("people", "another's token is absent (404), the chief's aside"),
    ("POST", "/account/password"): ("people", "the member's own password: no login is read"),
    # papers (web/routes_papers.py): PDFs read through the viewer's sight; printing is their act
    ("GET", "/meetings/{meeting_id}/notice.pdf"): ("paper", "a meeting's notice: 404 when hidden"),
    ("GET", "/meetings/{meeting_id}/agenda.pdf"): ("paper", "a meeting's order of business: 404 when hidden"),
    ("GET", "/meetings/{meeting_id}/minutes.pdf"): ("paper", "approved minutes: 404 when hidden"),
    ("GET", "/items/{item_id}/report.pdf"): ("paper", "an item's report: 404 when hidden"),
    ("GET", "/progress.pdf"): ("paper", "the progress report holds visible items only"),
    ("GET", "/documents/verify"): ("signin", "the upload form: no item, meeting or log is read"),
    ("POST", "/documents/verify"): ("signin", "judges an uploaded file against the log: names only its anchor"),
}


def test_every_route_is_in_the_table(real):
    """R-R1: a route that is not in ROUTES has not said how it keeps visibility."""
    served = app_routes(create_app(real, secret="s"))
    assert served - set(ROUTES) == set(), "new routes: add them to ROUTES with their R-R1 check"
    assert set(ROUTES) - served == set(), "ROUTES names routes the app no longer serves"


# ---------------------------------------------------------------- the world and its readers
@dataclass
class W:
    k: Any
    s: vw.Seen
    pages: dict[str, Any]  # who -> a signed-in Browser
    api: TestClient
    tokens: dict[str, dict[str, str]]  # who -> Authorization header


@pytest.fixture
def world(real, browser, web_clock) -> Any:
    def act(login: str) -> Actor:
        return Actor(login, "web")

    s = vw.build(real, act)
    pages = {}
    for login in (vw.STATION_A, vw.ENDED, vw.HQ_MEMBER):
        pages[login] = browser(real)
        pages[login].login(login)
    tokens = {login: {"Authorization": f"Bearer {accounts.create_token(real, act(login), 'r-r1')[1]}"}
              for login in (vw.STATION_A, vw.ENDED, vw.HQ_MEMBER)}
    vw.end_post(real, act, tick=lambda: web_clock.advance(minutes=1))  # signed in, then the post ends
    # each client keeps one event loop, so its requests reuse worker threads (and the store's
    # per-thread connections: hundreds of requests on fresh threads exhaust PostgreSQL's)
    clients = [b.c for b in pages.values()] + [TestClient(create_app(real, secret="s"))]
    for c in clients:
        c.__enter__()
    yield W(real, s, pages, clients[-1], tokens)
    for c in clients:
        c.__exit__(None, None, None)


def _get(w: W, who: str, path: str) -> Any:
    if path.startswith("/api/"):
        return w.api.get(path, headers=w.tokens[who])
    return w.pages[who].get(path)


def _post(w: W, who: str, path: str, data: dict[str, Any]) -> Any:
    if path.startswith("/api/"):
        return w.api.post(path, json=data, headers=w.tokens[who])
    return w.pages[who].post(path, data)


def _gone(r: Any) -> bool:
    """What a member whose posts ended may get: 404, or (their session or token ended, R-I6)
    the sign-in page or 401."""
    return r.status_code in (401, 404) or r.url.path == "/login"


def _leaks(r: Any, markers: list[str]) -> list[str]:
    return [m for m in markers if m in r.text]


def _absent_like(w: W, r: Any, path: str, key: str, ident: int) -> str | None:
    """None when `r` is exactly what an id never used gets: 404 and its message."""
    if r.status_code != 404:
        return f"status {r.status_code}"
    if path.startswith("/api/"):
        never = _get(w, vw.STATION_A, re.sub(rf"/{ident}(?=/|$)", f"/{NEVER}", path))  # not the 1 of /v1
        if never.status_code != 404:
            return f"an unused id got {never.status_code}"
        return None if r.json() == _renumbered(never.json(), NEVER, ident) else "unlike absent"
    expected = NotFound(key, id=ident).render("ja")
    return None if expected in r.text else "not the message of an absent id"


def _renumbered(error: Any, old: int, new: int) -> Any:
    return {"error": {**error["error"], "message": error["error"]["message"].replace(str(old), str(new))}}


# ---------------------------------------------------------------- the checks, by kind
def check_item(w: W, method: str, path: str) -> list[str]:
    bad = []
    for h in w.s.items_hidden_from_a():
        p = path.replace("{item_id}", str(h))
        r = _get(w, vw.STATION_A, p)
        if (why := _absent_like(w, r, p, "item.none", h)) or _leaks(r, w.s.hidden_from_a):
            bad.append(f"A reads {p}: {why or _leaks(r, w.s.hidden_from_a)}")
    for own in (w.s.mito_item, w.s.escalated):  # theirs, and what their report became
        r = _get(w, vw.STATION_A, path.replace("{item_id}", str(own)))
        if r.status_code != 200 or (vw.MITO_TITLE not in r.text and "history" not in path):
            bad.append(f"A cannot read their own item {own}: {r.status_code}")
    for i in [w.s.mito_item, w.s.hq_item, w.s.joso_item]:
        r = _get(w, vw.ENDED, path.replace("{item_id}", str(i)))
        if not _gone(r) or _leaks(r, w.s.hidden_from_ended):
            bad.append(f"ended reads {path} {i}: {r.status_code}")
    r = _get(w, vw.HQ_MEMBER, path.replace("{item_id}", str(w.s.joso_item)))
    if r.status_code != 200:
        bad.append(f"the HQ cannot read station B's item: {r.status_code}")
    return bad


def check_meeting(w: W, method: str, path: str) -> list[str]:
    bad = []
    for h in w.s.meetings_hidden_from_a():
        p = path.replace("{meeting_id}", str(h))
        r = _get(w, vw.STATION_A, p)
        if (why := _absent_like(w, r, p, "meeting.none", h)) or _leaks(r, w.s.hidden_from_a):
            bad.append(f"A reads {p}: {why or _leaks(r, w.s.hidden_from_a)}")
    r = _get(w, vw.STATION_A, path.replace("{meeting_id}", str(w.s.mito_meeting)))
    if r.status_code != 200 or (not path.endswith(".ics") and vw.MITO_MINUTES not in r.text):
        bad.append(f"A cannot read their own station council: {r.status_code}")
    # the HQ council A's chief is invited to: there, but its agenda lists only what A may see
    r = _get(w, vw.STATION_A, path.replace("{meeting_id}", str(w.s.council)))
    if r.status_code != 200 or _leaks(r, w.s.hidden_from_a):
        bad.append(f"A's invitation to the council: {r.status_code} {_leaks(r, w.s.hidden_from_a)}")
    if path.endswith(".ics") and f"items {w.s.escalated}" not in r.text.replace("\r\n ", ""):
        bad.append("the invitation's agenda should list the escalated item alone")
    if path.startswith("/api/") and r.status_code == 200 and r.json()["items"] != [w.s.escalated]:
        bad.append(f"the council's agenda as A sees it: {r.json()['items']}")
    for m in [w.s.mito_meeting, w.s.staff_meeting, w.s.council]:
        r = _get(w, vw.ENDED, path.replace("{meeting_id}", str(m)))
        if not _gone(r) or _leaks(r, w.s.hidden_from_ended):
            bad.append(f"ended reads meeting {m} at {path}: {r.status_code}")
    r = _get(w, vw.HQ_MEMBER, path.replace("{meeting_id}", str(w.s.joso_meeting)))
    if r.status_code != 200:
        bad.append(f"the HQ cannot read station B's council: {r.status_code}")
    return bad


def check_list(w: W, method: str, path: str) -> list[str]:
    bad = []
    r = _get(w, vw.STATION_A, path)
    if r.status_code != 200 or _leaks(r, w.s.hidden_from_a):
        bad.append(f"A's {path}: {r.status_code} {_leaks(r, w.s.hidden_from_a)}")
    if path in ("/board", "/api/items", "/api/v1/items") and vw.MITO_TITLE not in r.text:
        bad.append(f"A's {path} lacks their own item")
    if path in ("/api/items", "/api/v1/items") and r.status_code == 200 and sorted(v["id"] for v in r.json()) != sorted(
            [w.s.mito_item, w.s.escalated]):
        bad.append(f"A's items: {[v['id'] for v in r.json()]}")
    r = _get(w, vw.ENDED, path)
    if not (r.status_code == 200 or _gone(r)) or _leaks(r, w.s.hidden_from_ended):
        bad.append(f"ended's {path}: {r.status_code} {_leaks(r, w.s.hidden_from_ended)}")
    if path in ("/api/items", "/api/v1/items") and r.status_code == 200 and r.json() != []:
        bad.append("ended sees items")
    if path in ("/board", "/api/items", "/api/v1/items") and vw.HQ_TITLE not in _get(w, vw.HQ_MEMBER, path).text:
        bad.append(f"the HQ's {path} lacks the HQ's item")
    return bad


def check_calendar(w: W, method: str, path: str) -> list[str]:
    bad = []
    html = _get(w, vw.STATION_A, path).text
    shown = {m for m in range(1, 10) if f'data-meeting="{m}"' in html}
    if shown != {w.s.mito_meeting, w.s.council}:
        bad.append(f"A's calendar shows meetings {sorted(shown)}")
    r = _get(w, vw.ENDED, path)
    if 'data-meeting="' in r.text:
        bad.append("ended's calendar shows meetings")
    if f'data-meeting="{w.s.joso_meeting}"' not in _get(w, vw.HQ_MEMBER, path).text:
        bad.append("the HQ's calendar lacks station B's council")
    return bad


def check_audit(w: W, method: str, path: str) -> list[str]:
    bad = []
    for h in w.s.items_hidden_from_a():
        r = _get(w, vw.STATION_A, f"{path}?item={h}")
        if r.status_code != 404 or 'class="replay-step"' in r.text:
            bad.append(f"A replays item {h}: {r.status_code}")
    r = _get(w, vw.STATION_A, f"{path}?item={w.s.mito_item}")
    if r.status_code != 200 or 'class="replay-step"' not in r.text:
        bad.append(f"A cannot replay their own item: {r.status_code}")
    if 'id="verify"' in _get(w, vw.STATION_A, path).text:
        bad.append("A reads the whole log's verdict")
    r = _get(w, vw.ENDED, f"{path}?item={w.s.mito_item}")
    if not _gone(r) or 'class="replay-step"' in r.text:
        bad.append(f"ended replays an item: {r.status_code}")
    if 'id="verify"' not in _get(w, vw.HQ_MEMBER, path).text:
        bad.append("the HQ lacks the log's verdict")
    return bad


def check_diagram(w: W, method: str, path: str) -> list[str]:
    bad = []
    for h in w.s.items_hidden_from_a():
        r = _get(w, vw.STATION_A, f"{path}?item={h}")
        if (why := _absent_like(w, r, path, "item.none", h)) or _leaks(r, w.s.hidden_from_a):
            bad.append(f"A's diagram of item {h}: {why}")
    if _get(w, vw.STATION_A, f"{path}?item={w.s.mito_item}").status_code != 200:
        bad.append("A cannot see their own item's state")
    if not _gone(_get(w, vw.ENDED, f"{path}?item={w.s.mito_item}")):
        bad.append("ended sees an item's state")
    return bad


def check_export(w: W, method: str, path: str) -> list[str]:
    bad = []
    paths = [path.replace("{fmt}", f) for f in ("jsonl", "csv")] if "{fmt}" in path else [path]
    for p in paths:
        r = _get(w, vw.STATION_A, p)
        if r.status_code != 404 or _leaks(r, w.s.hidden_from_a):
            bad.append(f"A reads {p}: {r.status_code}")
        r = _get(w, vw.ENDED, p)
        if not _gone(r) or _leaks(r, w.s.hidden_from_ended):
            bad.append(f"ended reads {p}: {r.status_code}")
        if _get(w, vw.HQ_MEMBER, p).status_code != 200:
            bad.append(f"the HQ cannot read {p}")
    return bad


def _found_ids(r: Any, path: str) -> set[int]:
    """The item ids a finding page or export lists (HTML `data-item`, CSV or XLSX first column)."""
    import csv
    import io
    import re

    if r.status_code != 200 or r.url.path == "/login":
        return set()
    if path.endswith(".csv"):
        return {int(row[0]) for row in list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1:]}
    if path.endswith(".xlsx"):
        from openpyxl import load_workbook

        rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))[1:]
        return {int(row[0]) for row in rows}
    return {int(x) for x in re.findall(r'data-item="([0-9]+)"', r.text)}


def _found_text(r: Any, path: str) -> str:
    if path.endswith(".xlsx") and r.status_code == 200 and r.url.path != "/login":
        import io

        from openpyxl import load_workbook

        return repr(list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)))
    return r.text


def check_finding(w: W, method: str, path: str) -> list[str]:
    """Search, filters, exports and the overdue view: a station member finds only their own
    items and what their report became, by any words or filter; counts and files alike."""
    bad = []
    mine = {w.s.mito_item, w.s.escalated}
    queries = [{}, {"q": "SECRET"}, {"q": "の案件"}, {"station": "joso"}, {"station": "hq"}, {"overdue": "1"},
               {"state": "pre_review"}]
    for params in queries:
        r = w.pages[vw.STATION_A].get(path, params=params)
        found, text = _found_ids(r, path), _found_text(r, path)
        if r.status_code != 200 or found - mine or _leaks(r, []) or [m for m in w.s.hidden_from_a if m in text
                                                                       and m not in str(params)]:
            bad.append(f"A's {path}?{params}: {r.status_code} ids {sorted(found)}")
        if params == {"q": "SECRET"} and found:
            bad.append(f"A's search for another's words found {sorted(found)}")
    if path != "/overdue":
        if w.s.mito_item not in _found_ids(w.pages[vw.STATION_A].get(path), path):
            bad.append(f"A's {path} lacks their own item")
        if {w.s.hq_item, w.s.joso_item} - _found_ids(w.pages[vw.HQ_MEMBER].get(path), path):
            bad.append(f"the HQ's {path} lacks station B's or the HQ's item")
    for params in ({}, {"q": "の案件"}):
        r = w.pages[vw.ENDED].get(path, params=params)
        if not (r.status_code == 200 or _gone(r)) or _found_ids(r, path) or [
                m for m in w.s.hidden_from_ended if m in _found_text(r, path)]:
            bad.append(f"ended's {path}?{params}: {r.status_code}")
    if w.pages[vw.HQ_MEMBER].get(path).status_code != 200:
        bad.append(f"the HQ cannot read {path}")
    return bad


def check_act_item(w: W, method: str, path: str) -> list[str]:
    bad = []
    for who in (vw.STATION_A, vw.ENDED):
        for h in [w.s.joso_item, w.s.hq_item]:
            before = fingerprint(w.k.store)
            r = _post(w, who, path.replace("{item_id}", str(h)), {"trigger": "withdraw"})
            if not (r.status_code == 404 or (who == vw.ENDED and _gone(r))) or _leaks(r, w.s.hidden_from_a):
                bad.append(f"{who} acts on item {h}: {r.status_code}")
            if fingerprint(w.k.store) != before:
                bad.append(f"{who}'s act on hidden item {h} changed state")
    return bad


def check_act_order(w: W, method: str, path: str) -> list[str]:
    bad = []
    for who in (vw.STATION_A, vw.ENDED):
        before = fingerprint(w.k.store)
        r = _post(w, who, path.replace("{order_id}", str(w.s.hq_order)), {"finding": "x", "note": "x"})
        if not (r.status_code == 404 or (who == vw.ENDED and _gone(r))) or _leaks(r, w.s.hidden_from_a):
            bad.append(f"{who} settles order {w.s.hq_order}: {r.status_code}")
        elif who == vw.STATION_A and (why := _absent_like(w, r, path, "order.none", w.s.hq_order)):
            bad.append(f"A settles order {w.s.hq_order}: {why}")
        if fingerprint(w.k.store) != before:
            bad.append(f"{who}'s act on a hidden order changed state")
    return bad


def check_document(w: W, method: str, path: str) -> list[str]:
    """R-R1: a document is seen by who sees an item whose step carries it."""
    bad = []
    p = path.replace("{sha256:sha256}", w.s.hq_doc)
    r = _get(w, vw.STATION_A, p)
    if (why := _absent_like(w, r, p, "document.none", w.s.hq_doc[:30])) or _leaks(r, w.s.hidden_from_a):
        bad.append(f"A reads the HQ's document: {why or _leaks(r, w.s.hidden_from_a)}")
    own = _get(w, vw.STATION_A, path.replace("{sha256:sha256}", w.s.mito_doc))
    if own.status_code != 200 or (path.endswith("/file") and vw.MITO_DOC not in own.text):
        bad.append(f"A cannot read their own report's document: {own.status_code}")
    for sha in (w.s.mito_doc, w.s.hq_doc):
        r = _get(w, vw.ENDED, path.replace("{sha256:sha256}", sha))
        if not _gone(r) or _leaks(r, w.s.hidden_from_ended):
            bad.append(f"ended reads document {sha[:8]}: {r.status_code}")
        if _get(w, vw.HQ_MEMBER, path.replace("{sha256:sha256}", sha)).status_code != 200:
            bad.append(f"the HQ cannot read document {sha[:8]}")
    never = _get(w, vw.HQ_MEMBER, path.replace("{sha256:sha256}", "0" * 64))
    if never.status_code != 404:
        bad.append(f"a hash nobody stored: {never.status_code}")
    return bad


def check_act_meeting(w: W, method: str, path: str) -> list[str]:
    bad = []
    for who in (vw.STATION_A, vw.ENDED):
        for h in [w.s.joso_meeting, w.s.staff_meeting]:
            before = fingerprint(w.k.store)
            r = _post(w, who, path.replace("{meeting_id}", str(h)), {"present": []})
            if not (r.status_code == 404 or (who == vw.ENDED and _gone(r))) or _leaks(r, w.s.hidden_from_ended):
                bad.append(f"{who} acts on meeting {h}: {r.status_code} {_leaks(r, w.s.hidden_from_ended)}")
            if fingerprint(w.k.store) != before:
                bad.append(f"{who}'s act on hidden meeting {h} changed state")
    return bad


def check_convene(w: W, method: str, path: str) -> list[str]:
    bad = []
    from engine.infra.timeutil import JST

    starts = w.k.now().astimezone(JST)
    for h in [w.s.joso_item, w.s.hq_item]:
        before = fingerprint(w.k.store)
        if path.startswith("/api/"):
            data: dict[str, Any] = {"kind": "station_council", "starts_at": starts.isoformat(), "items": [h]}
        else:
            data = {"kind": "station_council", "starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "item": str(h)}
        r = _post(w, vw.STATION_A, path, data)
        if r.status_code != 404 or _leaks(r, w.s.hidden_from_a):
            bad.append(f"A convenes with hidden item {h}: {r.status_code}")
        if fingerprint(w.k.store) != before:
            bad.append(f"A's convening with hidden item {h} changed state")
    return bad


def check_act_file(w: W, method: str, path: str) -> list[str]:
    bad = []
    for who in (vw.STATION_A, vw.ENDED):
        before = fingerprint(w.k.store)
        r = _post(w, who, path, {"title": "よその署に起案", "station": "joso"})
        if (r.status_code not in (401, 403, 404) and not _gone(r)) or _leaks(r, w.s.hidden_from_a):
            bad.append(f"{who} files at station B: {r.status_code}")
        if fingerprint(w.k.store) != before:
            bad.append(f"{who} filed at station B")
    return bad


def check_public(w: W, method: str, path: str) -> list[str]:
    bad = []
    for who in (vw.STATION_A, vw.ENDED):
        r = _get(w, who, path)
        if r.status_code >= 500 or _leaks(r, w.s.hidden_from_ended):
            bad.append(f"{who}'s {path}: {r.status_code}")
    return bad


def check_people(w: W, method: str, path: str) -> list[str]:
    """The roster, delegations and accounts (web/routes_people.py): a station's member sees
    their station's people only, their own delegations and tokens; another's post,
    delegation or token is absent; a member whose posts ended gets nothing and changes nothing."""
    bad: list[str] = []
    gone = _get(w, vw.ENDED, path) if method == "GET" else _post(w, vw.ENDED, path.replace(
        "{assignment_id}", "1").replace("{delegation_id}", "1").replace("{token_id}", "1"), {"name": "x"})
    if not _gone(gone) or _leaks(gone, w.s.hidden_from_ended):
        bad.append(f"ended's {method} {path}: {gone.status_code}")
    with w.k.read() as q:
        mito = {a.login for a in q.w.assignments.values() if a.body == "mito" and a.valid_at(q.now)}
        hq_post = next(a.id for a in q.w.assignments.values() if a.body == "hq" and a.valid_at(q.now))
        joso_post = next(a.id for a in q.w.assignments.values() if a.body == "joso" and a.valid_at(q.now))
    own = {t["id"] for t in accounts.tokens(w.k, vw.STATION_A)}
    hq_token = next(t["id"] for t in accounts.tokens(w.k, vw.HQ_MEMBER))
    before = fingerprint(w.k.store)
    if (method, path) == ("GET", "/roster"):
        r = _get(w, vw.STATION_A, path)
        shown = set(re.findall(r'class="member" data-login="([^"]+)"', r.text))
        if r.status_code != 200 or shown != mito:
            bad.append(f"A's roster shows {sorted(shown)}, not mito's {sorted(mito)}")
        if "shimizu" not in _get(w, vw.HQ_MEMBER, path).text:
            bad.append("the HQ's roster lacks station B's people")
    elif path == "/roster/assignments/{assignment_id}/end":
        for hidden in (hq_post, joso_post):
            p = path.replace("{assignment_id}", str(hidden))
            if why := _absent_like(w, _post(w, vw.STATION_A, p, {"confirm": "yes"}), p, "assignment.none", hidden):
                bad.append(f"A ends post {hidden}: {why}")
    elif path == "/roster/assignments":
        r = _post(w, vw.STATION_A, path, {"login": "shimizu", "position": "fuku_shocho", "station": "joso"})
        if r.status_code != 403:
            bad.append(f"A assigns at station B: {r.status_code}")
    elif path == "/delegations/{delegation_id}/end":
        d = w.k.delegate(Actor("watanabe", "web"), "yamaguchi", valid_until=w.k.now() + dt.timedelta(days=9)).fact.id
        before = fingerprint(w.k.store)
        p = path.replace("{delegation_id}", str(d))
        if why := _absent_like(w, _post(w, vw.STATION_A, p, {}), p, "delegation.none", d):
            bad.append(f"A ends the HQ's delegation: {why}")
    elif (method, path) == ("GET", "/account"):
        r = _get(w, vw.STATION_A, path)
        if {int(x) for x in re.findall(r'data-token="([0-9]+)"', r.text)} != own:
            bad.append("A's account lists tokens not A's")
    elif (method, path) == ("GET", "/account/tokens"):
        r = _get(w, vw.STATION_A, path + "?all=1")
        if r.status_code != 403 or f'data-token="{hq_token}"' in r.text:
            bad.append(f"A lists every token: {r.status_code}")
        if f'data-token="{hq_token}"' not in _get(w, vw.HQ_MEMBER, path + "?all=1").text:
            bad.append("the chief cannot list every token")
    elif path == "/account/tokens/{token_id}/revoke":
        p = path.replace("{token_id}", str(hq_token))
        if why := _absent_like(w, _post(w, vw.STATION_A, p, {}), p, "token.none", hq_token):
            bad.append(f"A revokes the chief's token: {why}")
        if accounts.tokens(w.k, vw.HQ_MEMBER)[0]["revoked_at"] is not None:
            bad.append("A revoked the chief's token")
    elif path == "/account/password":
        r = _post(w, vw.STATION_A, path, {"current": "wrong", "password": "x" * 12, "again": "x" * 12,
                                           "login": vw.HQ_MEMBER})
        if r.status_code != 403:
            bad.append(f"a wrong current password: {r.status_code}")
    if fingerprint(w.k.store) != before:
        bad.append(f"{method} {path} changed state")
    return bad


def check_paper(w: W, method: str, path: str) -> list[str]:
    """A paper (PDF): hidden is absent (404) alike, a member's own is a PDF; the progress
    report's text holds none of what they may not see."""
    import shutil
    import subprocess

    bad = []
    if "{item_id}" in path:
        hidden, own, key, ph = w.s.items_hidden_from_a(), [w.s.mito_item, w.s.escalated], "item.none", "{item_id}"
    elif "{meeting_id}" in path:
        hidden, own, key, ph = w.s.meetings_hidden_from_a(), [w.s.mito_meeting, w.s.council], "meeting.none", \
            "{meeting_id}"
    else:
        r = _get(w, vw.STATION_A, path)
        if r.status_code != 200 or r.headers["content-type"] != "application/pdf":
            return [f"A's {path}: {r.status_code}"]
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", "-", "-"], input=r.content, capture_output=True).stdout.decode()
            if vw.MITO_TITLE not in text or [m for m in w.s.hidden_from_a if m in text]:
                bad.append(f"A's progress report: {[m for m in w.s.hidden_from_a if m in text]}")
        return bad
    for h in hidden:
        p = path.replace(ph, str(h))
        if why := _absent_like(w, _get(w, vw.STATION_A, p), p, key, h):
            bad.append(f"A reads {p}: {why}")
    for o in own:
        r = _get(w, vw.STATION_A, path.replace(ph, str(o)))
        if "minutes" in path and r.status_code == 409:
            continue  # no approved minutes: not possible, but not hidden
        if r.status_code != 200 or r.headers["content-type"] != "application/pdf":
            bad.append(f"A cannot print their own {path} {o}: {r.status_code}")
    r = _get(w, vw.ENDED, path.replace(ph, str(own[0])))
    if not _gone(r):
        bad.append(f"ended prints {path}: {r.status_code}")
    return bad


def check_signin(w: W, method: str, path: str) -> list[str]:
    return []  # reads no item, meeting or log: see the reason in ROUTES


CHECKS: dict[str, Callable[[W, str, str], list[str]]] = {
    "item": check_item, "meeting": check_meeting, "list": check_list, "calendar": check_calendar,
    "audit": check_audit, "diagram": check_diagram, "export": check_export, "act_item": check_act_item,
    "act_meeting": check_act_meeting, "act_order": check_act_order, "document": check_document,
    "convene": check_convene, "act_file": check_act_file, "public": check_public, "signin": check_signin,
    "people": check_people, "finding": check_finding, "paper": check_paper,
}


def test_every_route_keeps_r_r1(world):
    """R-R1: a station member reads nothing of another station's or the HQ's (404 as for an
    id never used); a member whose posts ended reads nothing; the HQ reads everything."""
    failures = []
    for (method, path), (kind, _why) in sorted(ROUTES.items()):
        failures += [f"{method} {path}: {x}" for x in CHECKS[kind](world, method, path)]
    assert failures == [], "\n".join(failures)


# ---------------------------------------------------------------- ids and months in range
def test_ids_past_64_bits_are_absent_never_a_500(world):
    """Every id in a path, query, form or JSON body: out of range is 404 (400 for a form
    field or JSON value that is not an id), never an OverflowError's 500."""
    failures = []
    hq = vw.HQ_MEMBER
    for (method, path), _ in sorted(ROUTES.items()):
        if "_id}" not in path:
            continue
        for n in BIG + [0, -1]:
            p = re.sub(r"\{\w+_id\}", str(n), path)
            r = _get(world, hq, p) if method == "GET" else _post(world, hq, p, {"trigger": "refer", "present": []})
            if r.status_code != 404:
                failures.append(f"{method} {p}: {r.status_code}")
    for n in BIG:
        for p in (f"/audit?item={n}", f"/diagram?item={n}"):
            if (r := _get(world, hq, p)).status_code != 404:
                failures.append(f"GET {p}: {r.status_code}")
        # form fields: an id no database holds is an id that does not exist
        r = _post(world, hq, f"/items/{world.s.hq_item}/advance", {"trigger": "decide", "meeting": str(n)})
        if r.status_code != 404:
            failures.append(f"advance meeting={n}: {r.status_code}")
        r = _post(world, hq, "/meetings", {"kind": "council", "starts_at": "2026-12-10T10:00", "item": str(n)})
        if r.status_code != 404:
            failures.append(f"convene item={n}: {r.status_code}")
        # JSON: a value out of the field's range is bad input
        r = _post(world, hq, "/api/meetings", {"kind": "council", "starts_at": "2026-12-10T10:00", "items": [n]})
        if r.status_code != 400:
            failures.append(f"api convene items=[{n}]: {r.status_code}")
        r = _post(world, hq, f"/api/items/{world.s.hq_item}/advance", {"trigger": "decide", "meeting": n})
        if r.status_code != 400:
            failures.append(f"api advance meeting={n}: {r.status_code}")
    for junk in ("x1", "１２", "1.5"):
        r = _post(world, hq, f"/items/{world.s.hq_item}/advance", {"trigger": "decide", "meeting": junk})
        if r.status_code != 400:
            failures.append(f"advance meeting={junk!r}: {r.status_code}")
    assert failures == [], "\n".join(failures)


def test_odd_months_show_this_month(real, browser):
    """`/meetings?month=9999-12` crashed (its next month is past the calendar)."""
    b = browser(real)
    b.login("sato")
    for month in ["9999-12", "0001-01", "0000-00", "2026-13", "2026-00", "10000-01", "2026-1", "x", "",
                  "2026-12-01", "2026-W01", "１２３４-01", "9998-12", "0002-01"]:
        r = b.get(f"/meetings?month={month}")
        assert r.status_code == 200 and 'class="calendar"' in r.text, month
