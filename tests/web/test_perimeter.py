"""The web face's perimeter, attacked: sessions that outlive sign-out or a member's posts
(R-I6), the trusted proxy's header spelt, doubled or realmed, the sign-in limiter dodged by
changing address, and a response without the headers that stop framing and sniffing.
Each of these worked on main at 71839af."""

import base64
import re
from typing import Any

import pytest

from engine.app import accounts
from engine.core.identity import Actor
from tests.web.conftest import PASSWORDS, Browser, csrf

CHIEF = Actor("sato", "web")


def _items(k: Any) -> int:
    with k.store.read() as tx:
        return len(tx.items())


def _cookie(b: Browser) -> str:
    return str(b.c.cookies.get("kaigi_session"))


def _replay(app: Any, cookie: str) -> Browser:
    """Another browser (or an attacker) presenting a copied session cookie."""
    other = Browser(app)
    other.c.cookies.set("kaigi_session", cookie)
    return other


def _assignments(k: Any, login: str) -> list[int]:
    with k.read() as q:
        return [h.assignment for h in q.holdings(login)]


def _end_posts(k: Any, login: str, chief: Actor = CHIEF) -> None:
    """The chief ends every post `login` holds (a minute on: a post ends after it began)."""
    k.clock.advance(minutes=1)
    for assignment in _assignments(k, login):
        k.end_assignment(chief, assignment)


# ---------------------------------------------------------------- sessions end (R-I6)
class TestSessionsEnd:
    def test_r_i6_a_cookie_replayed_after_logout_neither_reads_nor_acts(self, real, browser):
        b = browser(real)
        b.login("yamamoto")
        page = b.get("/")
        assert 'data-login="yamamoto"' in page.text
        stolen, token = _cookie(b), csrf(page.text)
        b.post("/logout", {})
        thief = _replay(b.c.app, stolen)
        assert thief.get("/").url.path == "/login"
        assert thief.get("/items/1").url.path == "/login"
        before = _items(real)
        r = thief.c.post("/items", data={"title": "ログアウト後の再送", "csrf_token": token})
        assert r.url.path == "/login" and _items(real) == before

    def test_r_i6_logout_holds_at_once_on_every_server(self, real, browser, db_url, web_clock):
        """Two server processes over one database (one secret, as behind a proxy): a sign-out
        on one ends the session on the other."""
        from engine.app.kaigi import Kaigi
        from store import open_store

        other = real if db_url.startswith("memory") else Kaigi(open_store(db_url, clock=web_clock.now))
        a, b = browser(real), browser(other)
        a.login("watanabe")
        cookie = _cookie(a)
        on_b = _replay(b.c.app, cookie)
        assert 'data-login="watanabe"' in on_b.get("/").text
        a.post("/logout", {})
        assert on_b.get("/").url.path == "/login"
        if other is not real:
            other.store.close()

    def test_r_i6_the_cookie_carries_no_login(self, real, browser):
        b = browser(real)
        b.login("yamamoto")
        payload = _cookie(b).split(".", 1)[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert b"yamamoto" not in decoded and b"login" not in decoded

    def test_r_i6_a_member_whose_last_post_ends_loses_session_and_tokens(self, real, browser):
        b = browser(real)
        b.login("yoshida")
        _, token = accounts.create_token(real, Actor("yoshida", "web"), "cron")
        bearer = {"Authorization": f"Bearer {token}"}
        assert b.get("/api/whoami", headers=bearer).status_code == 200
        assert 'data-login="yoshida"' in b.get("/").text
        _end_posts(real, "yoshida")
        assert b.get("/").url.path == "/login"
        assert b.get("/api/whoami", headers=bearer).status_code == 401
        r = b.login("yoshida")  # the right password opens nothing any more
        assert r.status_code == 401 and 'data-login="yoshida"' not in r.text

    def test_r_i6_an_ended_session_stays_ended_when_a_post_comes_back(self, real, browser):
        b = browser(real)
        b.login("yoshida")
        posts = _assignments(real, "yoshida")
        with real.read() as q:
            held = [(a.position, a.body, a.team) for a in q.w.assignments.values() if a.id in posts]
        _end_posts(real, "yoshida")
        assert b.get("/").url.path == "/login"
        position, body, team = held[0]
        with real.read() as q:
            kind = q.w.body_kinds().get(body)
        real.assign(CHIEF, "yoshida", position, station=None if kind == "hq" else body, team=team)
        assert b.get("/").url.path == "/login"  # the old cookie does not come back to life

    def test_r_i6_a_new_password_ends_the_sessions_begun_under_the_old(self, real, browser):
        b, other = browser(real), browser(real)
        b.login("nakamura")
        other.login("nakamura")
        accounts.set_password(real, Actor("nakamura", "web"), "nakamura", "a-new-password-2026")  # R-I5: their own
        assert b.get("/").url.path == "/login" and other.get("/").url.path == "/login"
        assert 'data-login="nakamura"' in b.login("nakamura", "a-new-password-2026").text

    def test_r_i6_a_session_runs_out_after_twelve_hours(self, real, browser):
        b = browser(real)
        b.login("inoue")
        real.clock.advance(hours=11)
        assert 'data-login="inoue"' in b.get("/").text
        real.clock.advance(hours=2)
        assert b.get("/").url.path == "/login"

    def test_r_i6_the_training_menu_offers_no_one_without_a_post(self, training, browser):
        b = browser(training)
        assert 'data-login="watanabe"' in b.switch("watanabe").text
        _end_posts(training, "watanabe", Actor("sato", "training"))
        assert b.get("/").url.path == "/switch"
        r = b.switch("watanabe")
        assert r.status_code == 403 and 'data-login="watanabe"' not in r.text


# ---------------------------------------------------------------- the trusted proxy's header
class TestTrustedProxy:
    @pytest.mark.parametrize("headers", [
        [("Remote-User", "yamamoto"), ("remote_user", "sato")],  # the client's spelling beside the proxy's
        [("remote_user", "sato")],
        [("X-Remote-User", "sato")],
        [("Remote_User", "sato")],
        [("HTTP_REMOTE_USER", "sato")],
        [("Remote-User", "sato"), ("Remote-User", "yamamoto")],
    ], ids=["beside", "underscore", "x-prefix", "mixed", "cgi", "twice"])
    def test_another_spelling_or_a_second_copy_is_refused(self, real, browser, headers):
        b = browser(real, trust_proxy=True)
        for path in ("/", "/api/whoami", "/static/kaigi.css"):
            r = b.c.get(path, headers=headers, follow_redirects=False)
            assert r.status_code == 400, (path, r.status_code)
            assert "Remote-User" in r.text and "sato" not in r.text
            assert "\n" not in r.text.strip() and "Traceback" not in r.text

    @pytest.mark.parametrize("user", ["sato@OTHER.REALM", "OTHER\\sato", "sato@", "EXAMPLE.JP\\sato"])
    def test_a_name_with_a_realm_or_domain_is_refused(self, real, browser, user):
        r = browser(real, trust_proxy=True).c.get("/", headers={"Remote-User": user}, follow_redirects=False)
        assert r.status_code == 403 and 'data-login="sato"' not in r.text

    def test_only_the_mapped_realm_is_stripped(self, real, browser):
        b = browser(real, trust_proxy=True, proxy_realm="EXAMPLE.JP")
        assert 'data-login="sato"' in b.get("/", headers={"Remote-User": "sato@EXAMPLE.JP"}).text
        for user in ("sato@OTHER.REALM", "sato@example.jp.evil", "sato@EXAMPLE.JP@EXAMPLE.JP"):
            assert b.c.get("/", headers={"Remote-User": user}, follow_redirects=False).status_code == 403

    def test_the_configured_header_name_is_the_only_one(self, real, browser, monkeypatch):
        monkeypatch.setenv("KAIGI_PROXY_HEADER", "X-Forwarded-User")
        b = browser(real, trust_proxy=True)
        assert 'data-login="sato"' in b.get("/", headers={"X-Forwarded-User": "sato"}).text
        assert b.c.get("/", headers={"X-Forwarded-User": "sato", "Forwarded-User": "yamamoto"},
                       follow_redirects=False).status_code == 400
        assert b.get("/", headers={"Remote-User": "sato"}).url.path == "/login"  # not the header in use

    def test_untrusted_the_header_is_ignored_not_believed(self, real, browser):
        assert browser(real).get("/", headers={"Remote-User": "sato"}).url.path == "/login"

    def test_r_i6_the_proxy_cannot_sign_in_a_member_without_a_post(self, real, browser):
        _end_posts(real, "yoshida")
        b = browser(real, trust_proxy=True)
        assert b.get("/", headers={"Remote-User": "yoshida"}).url.path == "/login"


# ---------------------------------------------------------------- the sign-in limiter
def _fail(app: Any, login: str, address: str, forwarded: str | None = None) -> int:
    from fastapi.testclient import TestClient

    c = TestClient(app, client=(address, 40000))
    token = csrf(c.get("/login").text)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return c.post("/login", data={"login": login, "password": "wrong", "csrf_token": token},
                  headers=headers).status_code


def _right(app: Any, login: str, address: str) -> int:
    from fastapi.testclient import TestClient

    c = TestClient(app, client=(address, 40000))
    token = csrf(c.get("/login").text)
    return c.post("/login", data={"login": login, "password": PASSWORDS[login], "csrf_token": token}).status_code


class TestSignInLimiter:
    def test_changing_address_does_not_reopen_an_account(self, real):
        from web import create_app

        app = create_app(real, secret="s")
        for n in range(5):
            assert _fail(app, "sato", f"192.0.2.{n + 1}", forwarded=f"198.51.100.{n}") == 401
        assert _right(app, "sato", "192.0.2.99") == 429
        assert _right(app, "watanabe", "192.0.2.99") == 200  # another account is not shut out

    def test_one_address_guessing_many_accounts_is_stopped(self, real):
        from web import create_app

        app = create_app(real, secret="s")
        for n in range(20):
            assert _fail(app, f"nobody{n}", "192.0.2.7", forwarded=f"198.51.100.{n}") == 401
        assert _right(app, "watanabe", "192.0.2.7") == 429
        assert _right(app, "watanabe", "192.0.2.8") == 200

    def test_forwarded_for_counts_only_from_a_trusted_proxy(self, real):
        from web import create_app

        app = create_app(real, secret="s", trusted_proxies="10.0.0.1")
        for n in range(20):  # behind the proxy: each client its own address
            assert _fail(app, f"nobody{n}", "10.0.0.1", forwarded=f"203.0.113.5, 198.51.100.{n}") == 401
        assert _right(app, "watanabe", "10.0.0.1") == 200
        for n in range(20):  # a client claiming to be forwarded: its own address counts
            assert _fail(app, f"someone{n}", "192.0.2.50", forwarded=f"198.51.100.{n}") == 401
        assert _right(app, "watanabe", "192.0.2.50") == 429


# ---------------------------------------------------------------- headers on every response
SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def _csp(value: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in value.split(";") if part.strip()}


class TestHeaders:
    def test_every_response_forbids_framing_sniffing_and_inline_script(self, real, browser):
        from fastapi.testclient import TestClient

        from web import create_app

        app = create_app(real, secret="s")

        @app.get("/boom-for-the-test")
        def boom() -> None:
            raise RuntimeError("an unexpected failure")

        b = Browser(app)
        b.login("yamamoto")
        raw = TestClient(app, raise_server_exceptions=False)
        responses = [b.get("/"), b.get("/items/1"), b.get("/board"), b.get("/static/kaigi.css"),
                     b.get("/static/htmx.min.js"), b.get("/api/whoami"), b.get("/api/docs"), b.get("/healthz"),
                     b.get("/no-such-page"), b.get("/items/99999"), b.c.post("/items", data={}),
                     raw.get("/boom-for-the-test"), raw.get("/login")]
        assert responses[-2].status_code == 500
        for r in responses:
            where = (r.request.url.path, r.status_code)
            for name, value in SECURITY.items():
                assert r.headers.get(name) == value, where
            policy = _csp(r.headers.get("content-security-policy", ""))
            assert policy.get("frame-ancestors") == "'none'", where
            assert policy.get("script-src") == "'self'", where
            assert policy.get("default-src") == "'none'", where

    def test_the_api_docs_load_nothing_from_another_host(self, real, browser):
        html = browser(real).get("/api/docs").text
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls and all(u.startswith("/static/") for u in urls), urls
        assert "<script>" not in html and "cdn" not in html.lower()
        for u in urls:
            r = browser(real).get(u)
            assert r.status_code == 200 and len(r.content) > 100, u

    def test_no_template_carries_inline_script_or_handlers(self):
        from pathlib import Path

        import web

        for page in (Path(web.__file__).parent / "templates").glob("*.html"):
            text = page.read_text(encoding="utf-8")
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), page.name
            assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), page.name
            assert not re.search(r"\sstyle\s*=", text, re.IGNORECASE), page.name
            assert "javascript:" not in text.lower(), page.name

    def test_htmx_is_configured_for_the_policy(self, real, browser):
        import json

        html = browser(real).get("/login").text
        conf = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1))
        assert conf["includeIndicatorStyles"] is False and conf["allowEval"] is False


def test_kaigi_serve_leaves_forwarded_for_to_the_app(real, monkeypatch, db_url):
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default, which made a client on the
    host its own proxy (and the limiter's address whatever it wrote): `kaigi serve` turns that
    off, and the app believes only KAIGI_TRUSTED_PROXIES."""
    import uvicorn
    from click.testing import CliRunner

    from cli import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    r = CliRunner().invoke(cli, ["--db", db_url, "serve", "--port", "8123"], env={"KAIGI_LANG": "en"})
    assert r.exit_code == 0, r.output
    assert seen.get("proxy_headers") is False
