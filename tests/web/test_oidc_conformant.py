"""OpenID Connect against a certified provider: panva's `oidc-provider` (npm, the version
pinned in tests/web/oidc-provider/package.json) at its defaults — profile claims only in
UserInfo (`conformIdTokenClaims`), PKCE required (here for every client), its development
login and consent forms, RP-initiated logout with a confirm form — with kaigi registered as
a public client (no secret, token endpoint auth `none`). Driven in Debian's Chromium:
kaigi's login page, the provider's forms, back on kaigi signed in as the roster member;
signing out goes through the provider's end-session, and the next sign-in asks for
credentials again. Needs node and npm (the test runs `npm install` once); skipped, saying
why, without them."""

import datetime as dt
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, real_hq

HERE = Path(__file__).parent / "oidc-provider"
CLIENT = "kaigi"


def _port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def _npm_ready() -> str | None:
    """Why the provider cannot run here, or None when it can."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "the conformant-provider test needs node and npm (apt-get install -y nodejs npm)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        try:
            done = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True,
                                  text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"npm install of oidc-provider failed: {err}"
        if done.returncode != 0:
            return f"npm install of oidc-provider failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("the browser tests need playwright (pip install playwright)")
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    why = _npm_ready()
    if why:
        pytest.skip(why)
    import uvicorn

    from engine.infra.clock import FrozenClock
    from engine.infra.timeutil import JST
    from web import create_app

    kaigi_port, idp_port = _port(), _port()
    base, issuer = f"http://127.0.0.1:{kaigi_port}", f"http://127.0.0.1:{idp_port}"
    env = {**os.environ, "PORT": str(idp_port), "CLIENT_ID": CLIENT,
           "REDIRECT_URI": f"{base}/login/oidc/callback", "POST_LOGOUT_URI": f"{base}/login"}
    idp = subprocess.Popen(["node", "provider.js"], cwd=HERE, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    deadline = time.monotonic() + 30
    assert idp.stdout is not None
    while time.monotonic() < deadline:
        line = idp.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("ready "):
            break
    else:
        line = ""
    if not line.startswith("ready "):
        idp.kill()
        pytest.fail("oidc-provider did not start: " + "".join(seen)[-500:])
    threading.Thread(target=lambda: seen.extend(idp.stdout), daemon=True).start()  # type: ignore[arg-type]

    url = f"sqlite:///{tmp_path_factory.mktemp('oidc')}/kaigi.db"
    k = real_hq(url, FrozenClock(dt.datetime(2026, 12, 2, 9, 0, tzinfo=JST)))
    app = create_app(k, secret="oidc-test", oidc={"issuer": issuer, "client_id": CLIENT})  # public: no secret
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=kaigi_port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield {"base": base, "issuer": issuer, "kaigi": k, "log": seen}
    srv.should_exit = True
    thread.join(timeout=10)
    idp.terminate()
    try:
        idp.wait(timeout=10)
    except subprocess.TimeoutExpired:
        idp.kill()
    k.store.close()


@pytest.fixture(scope="module")
def browser(stack: Any) -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield found
        found.close()


def _local_only(context: Any) -> None:
    """The provider's pages @import a web font; nothing leaves the machine."""
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1:")
                  else route.abort())


def _provider_login(page: Any, stack: Any, login: str) -> None:
    page.wait_for_url(stack["issuer"] + "/interaction/**")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password: the provider's development login")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if page.url.startswith(stack["issuer"] + "/interaction/"):  # consent, when the provider asks
        page.click("button[type=submit]")


def test_a_member_signs_in_through_a_conformant_provider_and_out_of_it(browser, stack):
    """The login arrives only through UserInfo; PKCE is required; logout is RP-initiated."""
    context = browser.new_context(locale="ja-JP")
    _local_only(context)
    page = context.new_page()
    page.goto(stack["base"] + "/login")
    page.click("#oidc")
    _provider_login(page, stack, "yamamoto")
    page.wait_for_url(stack["base"] + "/")
    assert page.locator("[data-login=yamamoto]").count() >= 1

    page.click("form[action='/logout'] button")  # kaigi's session ends, then the provider's confirm form
    page.wait_for_url(stack["issuer"] + "/session/end**")
    page.click("button[name=logout][value=yes]")
    page.wait_for_url(stack["base"] + "/login**")
    page.goto(stack["base"] + "/")
    assert page.url.startswith(stack["base"] + "/login")  # kaigi's session is over

    page.click("#oidc")  # the provider's session is over too: it asks for credentials again
    page.wait_for_url(stack["issuer"] + "/interaction/**")
    assert page.locator("input[name=password]").count() == 1
    context.close()


def test_a_provider_account_not_on_the_roster_is_refused(browser, stack):
    context = browser.new_context(locale="ja-JP")
    _local_only(context)
    page = context.new_page()
    page.goto(stack["base"] + "/login")
    page.click("#oidc")
    _provider_login(page, stack, "stranger")
    page.wait_for_url(stack["base"] + "/login/oidc/callback**")
    assert "名簿にありません" in page.locator("#login-error").inner_text()
    page.goto(stack["base"] + "/")
    assert page.url.startswith(stack["base"] + "/login")
    context.close()


def test_the_provider_requires_pkce_so_kaigis_sign_in_proves_it_sends_it(stack):
    """The same authorization request without a code challenge is turned away by the provider."""
    import httpx

    q = {"client_id": CLIENT, "response_type": "code", "scope": "openid profile", "state": "s", "nonce": "n",
         "redirect_uri": f"{stack['base']}/login/oidc/callback"}
    r = httpx.get(f"{stack['issuer']}/auth", params=q, follow_redirects=False)
    assert r.status_code in (302, 303)
    back = dict(httpx.URL(r.headers["location"]).params)
    assert back["error"] == "invalid_request" and "PKCE" in back["error_description"]
