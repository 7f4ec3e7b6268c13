"""The web face in a real browser: headless Chromium (Debian's, through Playwright) against
`kaigi serve`'s app on a loopback port. An item is walked from filed to closed by its
members, each signed in as themselves; a wrong member's refusal is shown; a forged form and
a wrong password are refused; a station's member does not see the HQ's items. The run
takes the screenshots of what only the walk shows (a refused sign-in, a refused act);
test_accessibility.py takes those of every page, on a desktop and on a phone."""

import datetime as dt
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, PASSWORDS, real_hq

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("the browser tests need playwright (pip install playwright)")
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    import uvicorn
    from argon2 import PasswordHasher

    from engine.infra import passwords
    from engine.infra.clock import FrozenClock
    from engine.infra.timeutil import JST
    from web import create_app

    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._dummy.clear()
    url = f"sqlite:///{tmp_path_factory.mktemp('web')}/kaigi.db"
    clock = FrozenClock(dt.datetime(2026, 12, 2, 9, 0, tzinfo=JST))
    k = real_hq(url, clock)
    app = create_app(k, secret="browser-test")
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
    yield {"base": f"http://127.0.0.1:{port}", "kaigi": k, "clock": clock}
    srv.should_exit = True
    thread.join(timeout=10)
    passwords._HASHER = None
    passwords._dummy.clear()
    k.store.close()


@pytest.fixture(scope="module")
def chromium(server: Any) -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


VIOLATIONS: list[str] = []  # what Chromium said the Content-Security-Policy refused, on any page of the run


def watched(page: Any) -> Any:
    """A page whose console is read for Content-Security-Policy refusals (the last test
    asserts there were none: the pages work with the policy on)."""
    page.on("console", lambda m: VIOLATIONS.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)
    return page


def signed_in(chromium: Any, server: Any, login: str) -> Any:
    page = watched(chromium.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900}).new_page())
    page.goto(server["base"] + "/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORDS[login])
    page.click("button[type=submit]")
    page.wait_for_url(server["base"] + "/")
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def starts(server: Any) -> str:
    from engine.infra.timeutil import JST

    return server["clock"].now().astimezone(JST).strftime("%Y-%m-%dT%H:%M")


def convene_and_hold(page: Any, server: Any, kind: str, attendees: tuple[str, ...] = ()) -> str:
    """Convene from the convening page (its kind chosen, item 1 ticked by the query, the
    members as the page ticks them), then record the sitting from the meeting's page."""
    page.goto(server["base"] + f"/meetings/new?kind={kind}&item=1")
    page.fill("#convene input[name=starts_at]", starts(server))
    page.fill("#convene input[name=place]", "本部4階 大会議室")
    assert page.locator('#convene input[name=item][value="1"]').is_checked()
    for login in attendees:
        assert page.locator(f'#convene input[name=attendee][value="{login}"]').is_checked()
    page.click("#convene button[type=submit]")
    page.wait_for_selector("#hold")
    meeting = page.url.rsplit("/", 1)[1]
    page.click("#hold button[type=submit]")
    page.wait_for_selector('[data-status="held"]')
    return meeting


def advance(page: Any, server: Any, trigger: str, meeting: str) -> str:
    """Take a next act from the item page; htmx swaps the page's main part in place."""
    page.goto(server["base"] + "/items/1")
    before = page.locator("#state").get_attribute("data-state")
    form = page.locator(f'form[data-trigger="{trigger}"]')
    form.locator("select[name=meeting]").select_option(meeting)
    form.locator("button").click()
    page.wait_for_function("(before) => { const s = document.querySelector('#state');"
                           " return document.querySelector('#refusal') || (s && s.dataset.state !== before)"
                           " || document.querySelector('[data-trigger]') === null; }", arg=before)
    assert page.locator("#refusal").count() == 0, page.locator("#refusal").inner_text()
    return str(page.locator("#state").get_attribute("data-state"))


def test_wrong_password_is_refused(chromium, server):
    page = watched(chromium.new_page())
    page.goto(server["base"] + "/login")
    page.fill("input[name=login]", "sato")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator("#login-error").inner_text() == "ログイン名またはパスワードが正しくありません"
    shot(page, "login")
    page.close()


def test_a_forged_form_without_csrf_token_is_rejected(chromium, server):
    page = signed_in(chromium, server, "yamamoto")
    status = page.evaluate("""async () => (await fetch('/items/1/advance', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'trigger=skip'})).status""")
    assert status == 403
    page.goto(server["base"] + "/items/1")
    assert page.locator("#state").get_attribute("data-state") == "filed"


def test_the_walk_in_the_browser(chromium, server):
    """The demo walk by its members, each signed in as themselves; a wrong member refused."""
    yamamoto = signed_in(chromium, server, "yamamoto")
    m = convene_and_hold(yamamoto, server, "staff", ("nakamura", "yoshida"))
    assert advance(yamamoto, server, "refer", m) == "pre_review"

    watanabe = signed_in(chromium, server, "watanabe")
    m = convene_and_hold(watanabe, server, "team_lead")
    nakamura = signed_in(chromium, server, "nakamura")  # a team leader may not record the pre-review's outcome
    nakamura.goto(server["base"] + "/items/1")
    assert nakamura.locator('form[data-trigger="refer"]').count() == 0  # R-T3: so it is not offered to her
    stale = signed_in(chromium, server, "watanabe")  # a second window, opened before the step is taken
    stale.goto(server["base"] + "/items/1")
    assert advance(watanabe, server, "refer", m) == "council"
    stale.locator('form[data-trigger="refer"] button').click()  # the form of a state that has passed
    stale.wait_for_selector("#refusal")  # swapped in by htmx, the page stays
    assert stale.url.endswith("/items/1")
    assert stale.locator("#refusal").inner_text().startswith("できません: ")
    shot(stale, "refusal")

    sato = signed_in(chromium, server, "sato")
    m = convene_and_hold(sato, server, "council")
    assert advance(watanabe, server, "decide", m) == "in_progress"
    m = convene_and_hold(sato, server, "council")
    assert advance(watanabe, server, "close", m) == "closed"

    sato.goto(server["base"] + "/board")
    assert sato.locator('[data-state="closed"] a[href="/items/1"]').count() == 1
    sato.goto(server["base"] + "/meetings")
    sato.goto(server["base"] + "/audit?item=1")
    assert sato.locator('#verify[data-ok="true"]').count() == 1
    assert sato.locator('.replay-step[data-allowed="true"]').count() >= 5
    sato.goto(server["base"] + "/diagram?item=1")
    with server["kaigi"].store.read() as tx:
        acts = {(e.actor, e.type) for e in tx.events(item=1) if e.identity == "web"}
    assert {("yamamoto", "ItemAdvanced"), ("watanabe", "ItemAdvanced")} <= acts


def test_meetings_fit_a_390_px_phone(chromium, server):
    """The calendar collapses to a list below ~600 px (CSS only); the list view, the
    convening form and a meeting's page are no wider than a 390-px screen."""
    k = server["kaigi"]
    from engine.core.identity import Actor

    m = k.convene(Actor("sato", "web"), "council", server["clock"].now() + dt.timedelta(days=2),
                  place="茨城県警察本部 4階 大会議室（水戸市笠原町978番6）").fact.meeting
    page = signed_in(chromium, server, "sato")
    page.set_viewport_size({"width": 390, "height": 844})
    for path, name in (("/meetings", "meetings-phone"), ("/meetings?view=list", "meetings-list"),
                       ("/meetings/new?kind=council", "meeting-new"), (f"/meetings/{m}", None)):
        page.goto(server["base"] + path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390-px screen"
        if name:
            shot(page, name)
    page.goto(server["base"] + "/meetings")
    assert page.locator("table.calendar thead").is_hidden()  # a list of days, not seven columns
    assert page.locator(f'a[data-meeting="{m}"]').is_visible()


def test_a_station_member_sees_only_their_station(chromium, server):
    matsumoto = signed_in(chromium, server, "matsumoto")
    matsumoto.goto(server["base"] + "/board")
    assert matsumoto.locator('a[href="/items/1"]').count() == 0
    response = matsumoto.goto(server["base"] + "/items/2")
    assert response.status == 404


def test_htmx_swaps_under_the_policy(chromium, server):
    """htmx 2 with its config in <meta name="htmx-config"> (no eval, no injected styles):
    the board's filter swaps the board in place, the page is not reloaded."""
    sato = signed_in(chromium, server, "sato")
    sato.goto(server["base"] + "/board")
    sato.evaluate("window.kaigiMarker = 'still here'")
    team = sato.locator("form.filters select[name=team] option").nth(1).get_attribute("value")
    sato.select_option("form.filters select[name=team]", team)
    sato.click("form.filters button")
    sato.wait_for_url(f"**/board?*team={team}*")
    assert sato.evaluate("window.kaigiMarker") == "still here"
    assert sato.locator(".board .column").count() >= 5


def test_an_error_page_goes_back_without_inline_script(chromium, server):
    page = signed_in(chromium, server, "yamamoto")
    page.goto(server["base"] + "/board")
    page.goto(server["base"] + "/items/99999")
    page.click("a[data-back]")
    page.wait_for_url(server["base"] + "/board")


def test_the_api_docs_run_from_vendored_assets(chromium, server):
    page = watched(chromium.new_page())
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.goto(server["base"] + "/api/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.locator(".opblock").count() >= 5
    assert hosts == {server["base"].split("/")[2]}, hosts


def _serve_once(html: str) -> Any:
    """Another origin on the same host (another port): a page that frames ours."""
    import http.server

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            body = html.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_a_page_framed_from_another_origin_is_refused(chromium, server):
    """A signed-in item page with live act buttons, framed by a page on another port of the
    same host (same site: the session cookie goes along): the browser shows nothing of it."""
    page = signed_in(chromium, server, "yamamoto")
    with server["kaigi"].store.read() as tx:
        victim = min(i.id for i in tx.items(state="filed", body="hq"))
    framing = f'<!doctype html><title>other</title><iframe id="victim" src="{server["base"]}/items/{victim}"></iframe>'
    other = _serve_once(framing)
    page.goto(f"http://127.0.0.1:{other.server_address[1]}/frame.html")
    page.wait_for_timeout(1500)
    frames = [f for f in page.frames if f != page.main_frame]
    assert frames, "the iframe was not created"
    for frame in frames:
        try:
            buttons = frame.locator("form[data-trigger] button").count()
            login = frame.locator("[data-login]").count()
        except Exception:  # noqa: BLE001 (a refused frame may have no document to ask)
            buttons = login = 0
        assert buttons == 0 and login == 0, frame.url
    other.shutdown()
    other.server_close()
    VIOLATIONS[:] = [v for v in VIOLATIONS if "frame-ancestors" not in v]  # that refusal was the point
    page.goto(f"{server['base']}/items/{victim}")  # the same page, not framed, has its buttons
    assert page.locator("form[data-trigger] button").count() >= 1 and page.locator("[data-login]").count() == 1


def test_no_page_broke_the_content_security_policy():
    """Run last: every page the walk above opened worked without a CSP refusal."""
    assert VIOLATIONS == []
