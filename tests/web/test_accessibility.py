"""Every page, as the HQ's people read it, checked in a real browser (issue 16, items 5, 6).

axe-core (vendored in tests/web/vendor/axe-core, never served by the app) runs in headless
Chromium on every page the app serves, in Japanese and in English, signed in as the HQ
chief, the general manager, a team leader and a station chief, over a month of the HQ's
work with something on every page (`_world`: meetings held with minutes, orders, a station's
report escalated, a council convened). The pages are found from the app's own GET routes,
the ids in their paths filled from that world, so a page added later is scanned too.
0 critical and 0 serious violations; the moderate and minor ones are counted and printed.

On a 390-px phone (the same pages, in Japanese) no page is wider than the screen, the
header stays a strip, and the month calendar becomes a list of the days with meetings.
The run saves the screenshots of docs/screenshots/ (desktop 1280 wide, `phone-*` at 390).

axe needs to run inside the page, and the app's Content-Security-Policy allows no inline
script: `page.add_script_tag` (an inline <script>) is refused, `page.evaluate(source)`
runs through the DevTools protocol, which the policy does not govern.
"""

import collections
import datetime as dt
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, PASSWORDS, real_hq

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
SHOTS = HERE.parents[1] / "docs" / "screenshots"

# who reads: one of each kind of reader the pages differ for
MEMBERS = {"sato": "HQ chief (本部長)", "watanabe": "general manager (総括責任者)",
           "kobayashi": "team leader (班長)", "matsumoto": "station chief (署長)"}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BLOCKING = ("critical", "serious")

# GET routes that are not pages a person reads, and why (every other GET route answering
# HTML is scanned; a route with a path parameter the test cannot fill fails
# test_every_page_route_is_scanned)
NOT_PAGES = {
    "/lang/{code}": "switches the session's language (the scan uses it to read in English)",
    "/login/oidc": "a redirect to the identity provider",
    "/login/oidc/callback": "the identity provider's redirect back",
    "/healthz": "plain text for benchmarks",
    "/docs/oauth2-redirect": "FastAPI's OAuth helper for the API docs",
}
# pages whose content their own script draws after the load: the scan waits for it
DRAWN_BY_SCRIPT = {"/api/docs": ".opblock"}
ENGLISH_ONLY = {"/api/docs": "Swagger UI has no Japanese; the page says lang=\"en\""}
# pages whose markup is a vendored tool's: scanned once, their findings counted, not failed
THIRD_PARTY = {"/api/docs": "Swagger UI (vendored, read by developers): its operation rows nest buttons "
                            "(nested-interactive) and it brings its own colours"}
# the screenshots other browser tests take of a moment only they reach (the sign-in refused,
# an account after its token is revoked, ...): this run leaves those files to them
SHOT_ELSEWHERE = {name for f in Path(__file__).resolve().parent.glob("test_*.py") if f.name != Path(__file__).name
                  for name in re.findall(r'\bshot\(\w+, "([\w-]+)"\)', f.read_text(encoding="utf-8"))}

AXE_OPTIONS = {"resultTypes": ["violations"]}


# ---------------------------------------------------------------- the world and its server
def _serve(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", srv, thread


def _world(k: Any, clock: Any) -> dict[str, list[Any]]:
    """A month of the HQ's work with something on every page, in the words its people would
    use (the screenshots show it): the demo's four HQ items referred by a staff meeting,
    an order done and one open, a team-lead meeting, a council that decided one item and
    one convened with a station chief invited, a station's report relayed, received and
    escalated, another station's own council, minutes approved and awaiting approval, a
    meeting called off. Returns the ids the pages' paths take."""
    from engine.core.identity import Actor

    def act(login: str) -> Actor:
        return Actor(login, "web")

    def held(convener: str, kind: str, items: list[int], minutes: str = "", clerk: str = "", **kw: Any) -> int:
        m = int(k.convene(act(convener), kind, k.now(), items=items, **kw).fact.meeting)
        k.hold(act(convener), m)
        if minutes:
            k.record_minutes(act(clerk or convener), m, minutes)
        return m

    def later(**delta: float) -> None:
        clock.advance(**delta)

    staff = held("yamamoto", "staff", [1, 2, 3], "1 各班から提案の3件を班長会議の事前検討に付すこととした。\n"
                 "2 広報啓発資料（案件4）は翻訳の見積りを待って次回に諮る。", attendees=["nakamura", "kobayashi", "kato"])
    k.approve_minutes(act("yamamoto"), staff)
    for item in (1, 2, 3):
        k.advance(act("yamamoto"), item, "refer", meeting=staff, note="担当者会議で整理済み")
    later(days=1)
    done = int(k.issue_order(act("watanabe"), 2, "nakamura", note="受講対象の事業所数と日程を調べてください").fact.id)
    open_order = int(k.issue_order(act("watanabe"), 1, "kobayashi", note="合同パトロールの参加団体の意向を確認").fact.id)
    later(days=2)
    k.complete_order(act("nakamura"), done, "水戸・常総管内の42事業所、1月から3月に各署で実施可能")
    mito = int(k.file_item(act("matsumoto"), "外国人従業員の多い事業所への防犯指導について", station="mito",
                           note="管内の製造業3社から要望あり").fact.item)
    later(hours=2)
    sc = held("matsumoto", "station_council", [mito], "防犯指導の実施を本部に報告することとした。")
    report = "水戸警察署 四半期報告\n管内の製造業3社で防犯指導を実施する。\n".encode()
    k.advance(act("matsumoto"), mito, "report", meeting=sc, note="署対策会議で了承",
              document=("水戸署_四半期報告.txt", report))
    later(days=1)
    k.advance(act("watanabe"), mito, "relay")
    k.advance(act("sato"), mito, "receive")
    escalated = k.advance(act("sato"), mito, "escalate").facts[1].item
    joso = int(k.file_item(act("inoue"), "技能実習生向け交通安全教室の開催について", station="joso").fact.item)
    held("inoue", "station_council", [joso], "教室は2月に開催する方向で検討を続ける。")
    later(days=2)
    tl = held("watanabe", "team_lead", [2, 3, escalated], "3件とも対策会議に付議することとした。")
    for item in (2, 3, escalated):
        k.advance(act("watanabe"), item, "refer", meeting=tl)
    later(days=3)
    council = held("sato", "council", [3], "案件3は取締り強化として推進することに決定した。", clerk="watanabe")
    k.advance(act("watanabe"), 3, "decide", meeting=council, note="取締班が主担当")
    later(days=1)
    next_council = int(k.convene(act("sato"), "council", k.now() + dt.timedelta(days=7, hours=5), items=[2, escalated],
                                 invited=["matsumoto"]).fact.meeting)
    soon = [int(k.convene(act("watanabe"), "team_lead", k.now() + dt.timedelta(days=d, hours=h)).fact.meeting)
            for d, h in ((2, 1), (9, 4))]
    k.cancel(act("watanabe"), soon[-1], reason="日程変更")
    return {"item_id": [2, 1, 3, escalated, mito, joso],
            "meeting_id": [next_council, tl, council, staff, sc, soon[-1]],
            "order_id": [open_order, done], "login": ["watanabe", "matsumoto"], "station": ["mito"],
            "body": ["mito"], "n": [1], "sha256": [hashlib.sha256(report).hexdigest()]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("the browser tests need playwright (pip install playwright)")
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    from argon2 import PasswordHasher

    from engine.infra import passwords
    from engine.infra.clock import FrozenClock
    from engine.infra.timeutil import JST
    from tests.conftest import make_svc
    from web import create_app

    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._dummy.clear()
    root = tmp_path_factory.mktemp("a11y")
    clock = FrozenClock(dt.datetime(2026, 11, 24, 10, 0, tzinfo=JST))  # the world ends on 2 December
    k = real_hq(f"sqlite:///{root}/kaigi.db", clock)
    ids = _world(k, clock)
    app = create_app(k, secret="a11y-test")
    training = make_svc(f"sqlite:///{root}/training.db", clock)  # /switch exists only there
    base, srv, thread = _serve(app)
    tbase, tsrv, tthread = _serve(create_app(training, secret="a11y-test"))
    yield {"base": base, "training": tbase, "app": app, "ids": ids}
    for s, th in ((srv, thread), (tsrv, tthread)):
        s.should_exit = True
        th.join(timeout=10)
    passwords._HASHER = None
    passwords._dummy.clear()
    k.store.close()
    training.store.close()


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Any:
    """After the module: the findings counted by impact, the moderate and minor ones listed
    (they do not fail the run; the critical and serious ones fail their test)."""
    yield
    out = request.config.pluginmanager.get_plugin("terminalreporter")
    if out is None or not SCANNED:
        return
    counts = {impact: len(lines) for impact, lines in sorted(FOUND.items())}
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        out.write_line(f"\naxe-core {AXE_VERSION} over {len(SCANNED)} page scans: {counts or 'no violations'}")
        for impact in sorted(i for i in FOUND if i not in BLOCKING):
            for line in sorted(set(FOUND[impact]))[:40]:
                out.write_line(f"  {line}")


@pytest.fixture(scope="module")
def chromium(site: Any) -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


# ---------------------------------------------------------------- the pages, from the app
def get_routes(app: Any) -> list[tuple[str, Any]]:
    """(path, route) of every GET route, through included routers (see test_visibility)."""
    out: list[tuple[str, Any]] = []

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes, prefix + r.include_context.prefix)
            elif "GET" in (getattr(r, "methods", None) or ()):
                out.append((prefix + r.path, r))
    walk(app.routes, "")
    return sorted(out, key=lambda pr: pr[0])


def page_routes(app: Any) -> list[tuple[str, Any]]:
    """The GET routes that may be pages: not /api's JSON (its docs page is a page), not NOT_PAGES."""
    return [(p, r) for p, r in get_routes(app)
            if p not in NOT_PAGES and (not p.startswith("/api/") or p == "/api/docs")]


def _params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def _query_names(route: Any) -> list[str]:
    dependant = getattr(route, "dependant", None)
    return [f.alias for f in (dependant.query_params if dependant else [])]


QUERY_VALUES = {"item": "item_id", "q": "防犯"}  # a query parameter worth a scan of its own


def candidates(path: str, route: Any, ids: dict[str, list[Any]]) -> list[str] | None:
    """The URLs to try for one route, the richest first; None when a path parameter is
    one the world has no values for."""
    names = _params(path)
    if re.search(r"\.{\w+}$", path) or path.endswith(".pdf"):  # /x.{fmt}, a paper: a file, never a page
        return []
    if any(n not in ids for n in names):
        return None
    urls = [path]
    for n in names:
        urls = [re.sub(r"{" + n + r"(?::\w+)?}", str(v), u) for u in urls for v in ids[n]]
    extra = []
    for q in _query_names(route):
        value = QUERY_VALUES.get(q)
        if value in ids:
            extra += [f"{u}?{q}={v}" for u in urls for v in ids[value]]
        elif value is not None:
            extra += [f"{u}?{q}={value}" for u in urls]
    return extra + urls


def shot_name(path: str) -> str:
    """docs/screenshots/<name>.png of a route: `/items/{item_id}` → item, `/` → my-work."""
    parts = [p for p in path.strip("/").split("/") if p]
    words = []
    for i, p in enumerate(parts):
        if p.startswith("{"):
            continue
        nxt = parts[i + 1] if i + 1 < len(parts) else ""
        words.append(p[:-1] if nxt.startswith("{") and p.endswith("s") else p)
    return "-".join(words).replace(".", "-") or "my-work"


# ---------------------------------------------------------------- reading a page
AXE_SOURCE: list[str] = []


def axe(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the page as it stands (axe put in the page first if a context
    made by `sign_in(..., scans=True)` has not already)."""
    if not AXE_SOURCE:
        AXE_SOURCE.append(AXE.read_text(encoding="utf-8"))
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE[0])  # DevTools protocol: not subject to the page's CSP
    return page.evaluate("async (o) => (await axe.run(document, o)).violations", AXE_OPTIONS)


def sign_in(chromium: Any, base: str, login: str, viewport: dict[str, int], scans: bool = False) -> Any:
    """A signed-in page in a new context. `scans`: every document the context opens gets axe
    before its own scripts run, by the DevTools protocol as `axe()` does (not subject to the
    page's CSP), sent to the browser once instead of ~550 KB of source for each page scanned."""
    context = chromium.new_context(locale="ja-JP", viewport=viewport, is_mobile=viewport is PHONE,
                                   has_touch=viewport is PHONE)
    if scans:
        context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORDS[login])
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def visit(page: Any, base: str, urls: list[str], keep: int) -> Iterator[tuple[str, int]]:
    """Opens the first `keep` URLs that answer 200 with HTML (asked first with the page's
    own cookies: a calendar file or a spreadsheet is a download, not a page); if none
    does, the first that answers 404 (the not-found page this member gets). Yields
    (url, status) after each load."""
    answers = []
    for u in urls:
        r = page.request.get(base + u, max_redirects=0)
        html = "text/html" in (r.headers.get("content-type") or "")
        answers.append((u, r.status, html))
        if len([a for a in answers if a[1] == 200 and a[2]]) >= keep:
            break
    chosen = [(u, st) for u, st, html in answers if st == 200 and html][:keep]
    if not any(st == 200 for _u, st, _html in answers):  # nothing this member may see there
        chosen = [(u, st) for u, st, html in answers if html and st == 404][:1]
    for u, st in chosen:
        page.goto(base + u)
        yield u, st


# ---------------------------------------------------------------- what the scans found
FOUND: dict[str, list[str]] = collections.defaultdict(list)  # impact -> "rule @ page"
SCANNED: list[str] = []


def _record(who: str, lang: str, url: str, violations: list[dict[str, Any]], fail: bool = True) -> list[str]:
    SCANNED.append(f"{who} {lang} {url}")
    blocking = []
    for v in violations:
        nodes = ", ".join(" ".join(n["target"][:1]) if isinstance(n["target"][0], str) else str(n["target"])
                          for n in v["nodes"][:3])
        line = f"{v['id']} ({v['impact']}, {len(v['nodes'])}) {who} {lang} {url}: {v['help']} — {nodes}"
        FOUND[(v["impact"] or "none") + ("" if fail else " (third-party, not failed)")].append(line)
        if fail and v["impact"] in BLOCKING:
            blocking.append(line)
    return blocking


def _shoot(page: Any, name: str) -> None:
    """A PNG of the page; a very long page is cut at 3000 px to keep the file small."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.viewport_size["width"]
    if height > 3000:
        page.screenshot(path=str(SHOTS / f"{name}.png"), clip={"x": 0, "y": 0, "width": width, "height": 3000},
                        full_page=True)
    else:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# ---------------------------------------------------------------- the tests
def test_every_page_route_is_scanned(site):
    """A page route whose path the scan cannot fill would go unchecked: say how to fill it
    in `_world`'s ids (named after the path parameter)."""
    unfilled = [p for p, r in page_routes(site["app"]) if candidates(p, r, site["ids"]) is None]
    assert unfilled == [], f"add ids for these path parameters in _world: {unfilled}"


def test_axe_cannot_be_injected_as_an_inline_script(chromium, site):
    """Why the scan injects axe through the DevTools protocol: the app's policy refuses an
    inline <script> (the CSP of issue 15 holds), so `add_script_tag` would check nothing."""
    page = chromium.new_page()
    page.goto(site["base"] + "/login")
    with pytest.raises(Exception):  # noqa: B017 (Playwright's Error: the script did not load)
        page.add_script_tag(path=str(AXE))
    assert page.evaluate("typeof window.axe") == "undefined"
    assert axe(page) is not None and page.evaluate("typeof window.axe") == "object"
    page.context.close()


@pytest.mark.parametrize("login", list(MEMBERS))
def test_no_critical_or_serious_violation_on_any_page(chromium, site, login):
    """axe-core: 0 critical and 0 serious violations on every page this member reads, in
    Japanese and in English (labels, names, contrast, landmarks, lang)."""
    page = sign_in(chromium, site["base"], login, DESKTOP, scans=True)
    blocking: list[str] = []
    shots: set[str] = set()
    for lang in ("ja", "en"):
        if lang == "en":
            page.goto(site["base"] + "/lang/en")
        for path, route in page_routes(site["app"]):
            urls = candidates(path, route, site["ids"]) or []
            if path in THIRD_PARTY and (login, lang) != ("sato", "ja"):
                continue
            for url, status in visit(page, site["base"], urls, keep=1 if lang == "en" else 2):
                assert page.locator("html").get_attribute("lang") == ("en" if path in ENGLISH_ONLY else lang), url
                if path in DRAWN_BY_SCRIPT:
                    page.wait_for_selector(DRAWN_BY_SCRIPT[path], timeout=20000)
                blocking += _record(MEMBERS[login], lang, url, axe(page), fail=path not in THIRD_PARTY)
                name = shot_name(path)
                if (login, lang, status) == ("sato", "ja", 200) and path not in THIRD_PARTY \
                        and name not in shots | SHOT_ELSEWHERE:
                    shots.add(name)
                    _shoot(page, name)
    page.context.close()
    assert blocking == [], "\n".join(blocking)


def test_the_sign_in_and_the_training_menu_signed_out(chromium, site):
    """The pages read before signing in: the sign-in (with its error), the training menu."""
    blocking: list[str] = []
    page = chromium.new_context(locale="ja-JP", viewport=DESKTOP).new_page()
    for lang in ("ja", "en"):
        page.goto(site["base"] + f"/lang/{lang}")
        page.goto(site["base"] + "/login")
        blocking += _record("signed out", lang, "/login", axe(page))
        page.fill("input[name=login]", "sato")
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        page.wait_for_selector("#login-error")
        blocking += _record("signed out", lang, "/login (refused)", axe(page))
        page.goto(site["training"] + f"/lang/{lang}")
        page.goto(site["training"] + "/switch")
        blocking += _record("training", lang, "/switch", axe(page))
    page.context.close()
    assert blocking == [], "\n".join(blocking)


TOO_WIDE = """(w) => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > w + 1 && ![...e.children].some(c => c.getBoundingClientRect().right > w + 1))
    .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string'
    ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')"""
PHONE_SHOTS = {"my-work", "meetings", "item", "audit", "board"}


@pytest.mark.parametrize("login", list(MEMBERS))
def test_no_page_is_wider_than_a_phone(chromium, site, login):
    """At 390×844 every page fits the screen's width (no sideways scrolling of the page;
    a wide table scrolls in its own box), and the header is a strip, not 40 % of it; in
    Japanese and in English (longer words, the same screen)."""
    page = sign_in(chromium, site["base"], login, PHONE)
    wide, tall = [], []
    for lang in ("ja", "en"):
        if lang == "en":
            page.goto(site["base"] + "/lang/en")
        for path, route in page_routes(site["app"]):
            for url, status in visit(page, site["base"], candidates(path, route, site["ids"]) or [], keep=1):
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > PHONE["width"]:
                    wide.append(f"{lang} {url}: {width} px ({page.evaluate(TOO_WIDE, PHONE['width'])})")
                header = page.evaluate("(document.querySelector('body > header') || {offsetHeight: 0}).offsetHeight")
                if header > 0.15 * PHONE["height"]:
                    tall.append(f"{lang} {url}: header {header} px")
                name = shot_name(path)
                if (login, lang, status) == ("sato", "ja", 200) and name in PHONE_SHOTS:
                    _shoot(page, f"phone-{name}")
    page.context.close()
    assert wide == [] and tall == [], wide + tall


def test_the_month_calendar_is_a_list_of_days_on_a_phone(chromium, site):
    """Below 600 px the calendar shows only the days with meetings, one under another, each
    meeting readable at the screen's width; at 1280 it is the month's grid."""
    page = sign_in(chromium, site["base"], "sato", PHONE)
    page.goto(site["base"] + "/meetings?month=2026-12")
    days = page.evaluate("""() => [...document.querySelectorAll('.calendar td')].map(td => ({
        shown: td.getClientRects().length > 0, meetings: td.querySelectorAll('.meeting').length,
        width: td.getBoundingClientRect().width}))""")
    shown = [d for d in days if d["shown"]]
    assert shown and all(d["meetings"] > 0 for d in shown), days
    assert len(shown) == len([d for d in days if d["meetings"]]), days
    assert all(d["width"] > 0.8 * PHONE["width"] for d in shown), shown
    assert page.evaluate("document.querySelector('.calendar thead').getClientRects().length") == 0
    page.context.close()
    page = sign_in(chromium, site["base"], "sato", DESKTOP)
    page.goto(site["base"] + "/meetings?month=2026-12")
    assert page.evaluate("[...document.querySelectorAll('.calendar td')].every(td => td.getClientRects().length)")
    assert page.evaluate("document.querySelectorAll('.calendar tr:first-child th').length") == 7
    page.context.close()


def test_the_first_tab_is_the_skip_link_to_the_page_itself(chromium, site):
    """A keyboard's first Tab shows the skip link; Enter puts the reader in the page's main
    part, past the header and its navigation."""
    page = sign_in(chromium, site["base"], "watanabe", DESKTOP)
    page.goto(site["base"] + "/board")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    box = page.locator("a.skip").bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] > 0  # on the screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id === 'content' && document.activeElement.parentElement.tagName")\
        == "MAIN"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    page.context.close()
