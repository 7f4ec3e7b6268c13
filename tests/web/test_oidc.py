"""OpenID Connect sign-in (web/oidc.py): a small identity provider on a loopback port, speaking
the authorization-code flow with PKCE and RS256 ID tokens; kaigi signs in the member named by
the login claim (`preferred_username`, from the ID token or UserInfo), and refuses a token
signed by another key, a wrong issuer, audience or nonce, a forged state, a code exchange the
provider refuses (no PKCE verifier), a missing login claim, and an account not on the roster.
A conformant provider (panva's oidc-provider) is driven in a browser in
tests/web/test_oidc_conformant.py."""

import base64
import html
import socket
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
import pytest

CLIENT = "kaigi-hq"


class Provider:
    """The identity provider's side: discovery, authorize (signs `user` in at once), token
    (checks the PKCE verifier against the S256 challenge), UserInfo and end-session when
    asked for, JWKS. Knobs let a test make it misbehave."""

    def __init__(self) -> None:
        from authlib.jose import JsonWebKey

        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k1"})
        self.codes: dict[str, dict[str, str]] = {}
        self.base = ""
        self.reset()

    def reset(self) -> None:
        self.user = "yamamoto"
        self.sign_with: Any = self.key
        self.id_claims: dict[str, Any] = {}  # overrides of the ID token's claims (None: left out)
        self.userinfo: dict[str, Any] | None = None  # a userinfo endpoint answering this (sub added)
        self.end_session = False
        self.discovery_issuer: str | None = None  # another issuer named in the discovery document
        self.refuse_code = False  # answer the token request as if the PKCE verifier were missing
        self.authorize_query: dict[str, str] = {}
        self.token_form: dict[str, str] = {}
        self.token_auth: str | None = None
        self.issued: list[str] = []

    def app(self) -> Any:
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse, RedirectResponse

        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            found = {"issuer": self.discovery_issuer or self.base, "authorization_endpoint": f"{self.base}/authorize",
                     "token_endpoint": f"{self.base}/token", "jwks_uri": f"{self.base}/jwks",
                     "response_types_supported": ["code"], "subject_types_supported": ["public"],
                     "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]}
            if self.userinfo is not None:
                found["userinfo_endpoint"] = f"{self.base}/userinfo"
            if self.end_session:
                found["end_session_endpoint"] = f"{self.base}/logout"
            return found

        @app.get("/authorize")
        def authorize(request: Request) -> Any:
            q = request.query_params
            self.authorize_query = dict(q)
            code = uuid.uuid4().hex
            self.codes[code] = {"nonce": q.get("nonce", ""), "user": self.user,
                                "challenge": q.get("code_challenge", ""), "method": q.get("code_challenge_method", "")}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

        @app.post("/token")
        async def token(request: Request) -> Any:
            from authlib.jose import jwt

            form = dict(await request.form())
            self.token_form, self.token_auth = form, request.headers.get("authorization")
            grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if (grant is None or self.refuse_code or grant["method"] != "S256"
                    or _s256(verifier) != grant["challenge"]):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {"iss": self.discovery_issuer or self.base, "aud": CLIENT, "sub": f"sub-{grant['user']}",
                      "preferred_username": grant["user"], "nonce": grant["nonce"], "iat": now, "exp": now + 300}
            claims.update(self.id_claims)
            claims = {k: v for k, v in claims.items() if v is not None}
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.sign_with).decode()
            self.issued.append(id_token)
            return JSONResponse({"access_token": "at-" + grant["user"], "token_type": "Bearer", "expires_in": 300,
                                 "id_token": id_token})

        @app.get("/userinfo")
        def userinfo(request: Request) -> Any:
            if not request.headers.get("authorization", "").startswith("Bearer at-"):
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            user = request.headers["authorization"].removeprefix("Bearer at-")
            return {"sub": f"sub-{user}", **(self.userinfo or {})}

        @app.get("/jwks")
        def jwks() -> Any:
            return {"keys": [self.key.as_dict(is_private=False)]}

        return app


def _s256(verifier: str) -> str:
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def provider() -> Any:
    import uvicorn

    p = Provider()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    p.base = f"http://127.0.0.1:{port}"
    srv = uvicorn.Server(uvicorn.Config(p.app(), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield p
    srv.should_exit = True
    t.join(timeout=10)


@pytest.fixture(autouse=True)
def fresh(provider: Provider) -> Any:
    provider.reset()
    yield


def sign_in(real: Any, provider: Provider, **conf: str) -> Any:
    from fastapi.testclient import TestClient

    from web import create_app

    conf = {"issuer": provider.base, "client_id": CLIENT, "client_secret": "cs", **conf}
    app = create_app(real, secret="s", oidc=conf)
    c = TestClient(app, follow_redirects=False)
    assert 'id="oidc"' in c.get("/login").text
    to_idp = c.get("/login/oidc")
    assert to_idp.status_code == 302 and to_idp.headers["location"].startswith(provider.base + "/authorize")
    back = httpx.get(to_idp.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    url = urlparse(back.headers["location"])
    return c, c.get(f"{url.path}?{url.query}")


def test_a_member_signs_in_through_the_identity_provider(real, provider):
    provider.user, provider.sign_with = "yamamoto", provider.key
    c, r = sign_in(real, provider)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert 'data-login="yamamoto"' in c.get("/").text


def test_an_account_not_on_the_roster_is_refused(real, provider):
    provider.user, provider.sign_with = "stranger", provider.key
    c, r = sign_in(real, provider)
    assert r.status_code == 403 and "名簿にありません" in r.text
    assert c.get("/").headers["location"] == "/login"


def test_a_token_signed_by_another_key_is_refused(real, provider):
    from authlib.jose import JsonWebKey

    provider.user = "sato"
    provider.sign_with = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k1"})
    c, r = sign_in(real, provider)
    assert r.status_code == 401 and "確認できませんでした" in r.text
    assert c.get("/").headers["location"] == "/login"
    provider.sign_with = provider.key


def test_a_callback_replayed_without_its_session_is_refused(real, provider):
    from fastapi.testclient import TestClient

    from web import create_app

    provider.user, provider.sign_with = "sato", provider.key
    sign_in(real, provider)  # a good sign-in elsewhere: its code is spent
    app = create_app(real, secret="s", oidc={"issuer": provider.base, "client_id": CLIENT, "client_secret": "cs"})
    other = TestClient(app, follow_redirects=False)  # no state in this session
    code = uuid.uuid4().hex
    r = other.get(f"/login/oidc/callback?{urlencode({'code': code, 'state': 'forged'})}")
    assert r.status_code == 401


def test_every_sign_in_sends_a_pkce_s256_challenge_and_its_verifier(real, provider):
    _c, r = sign_in(real, provider)
    assert r.status_code == 303
    assert provider.authorize_query["code_challenge_method"] == "S256"
    assert _s256(provider.token_form["code_verifier"]) == provider.authorize_query["code_challenge"]
    assert provider.authorize_query["nonce"] and provider.authorize_query["state"]


def test_a_code_exchange_the_provider_refuses_for_want_of_a_verifier_is_refused(real, provider):
    provider.refuse_code = True
    c, r = sign_in(real, provider)
    assert r.status_code == 401 and "確認できませんでした" in r.text
    assert c.get("/").headers["location"] == "/login"


def test_a_public_client_without_a_secret_signs_in_with_token_auth_none(real, provider):
    c, r = sign_in(real, provider, client_secret="")
    assert r.status_code == 303 and 'data-login="yamamoto"' in c.get("/").text
    assert provider.token_auth is None and provider.token_form["client_id"] == CLIENT
    assert "client_secret" not in provider.token_form


def test_a_confidential_client_authenticates_with_its_secret(real, provider):
    sign_in(real, provider)
    assert provider.token_auth is not None and provider.token_auth.startswith("Basic ")


def test_the_login_may_come_from_userinfo_only(real, provider):
    """What a conformant provider does by default: profile claims in UserInfo, not the ID token."""
    provider.id_claims = {"preferred_username": None}
    provider.userinfo = {"preferred_username": "yamamoto"}
    c, r = sign_in(real, provider)
    assert r.status_code == 303 and 'data-login="yamamoto"' in c.get("/").text


def test_userinfo_about_another_subject_is_refused(real, provider):
    provider.id_claims = {"preferred_username": None}
    provider.userinfo = {"sub": "sub-someone-else", "preferred_username": "sato"}
    c, r = sign_in(real, provider)
    assert r.status_code == 401
    assert c.get("/").headers["location"] == "/login"


def test_the_login_claim_is_configurable(real, provider):
    provider.id_claims = {"preferred_username": "y.yamamoto@pref.example", "kaigi_login": "yamamoto"}
    c, r = sign_in(real, provider, login_claim="kaigi_login")
    assert r.status_code == 303 and 'data-login="yamamoto"' in c.get("/").text


def test_the_login_claim_is_read_from_the_environment(monkeypatch):
    from web import oidc

    monkeypatch.setenv("KAIGI_OIDC_ISSUER", "http://127.0.0.1:1")
    monkeypatch.setenv("KAIGI_OIDC_CLIENT_ID", CLIENT)
    monkeypatch.setenv("KAIGI_OIDC_LOGIN_CLAIM", "employee_login")
    made = oidc.make(oidc.from_env())
    assert made is not None and made.login_claim == "employee_login"
    monkeypatch.delenv("KAIGI_OIDC_LOGIN_CLAIM")
    made = oidc.make(oidc.from_env())
    assert made is not None and made.login_claim == "preferred_username"


def test_a_sign_in_without_the_login_claim_is_refused_and_says_which_claim(real, provider):
    provider.id_claims = {"preferred_username": None}
    provider.userinfo = {"name": "山本"}
    c, r = sign_in(real, provider)
    assert r.status_code == 403 and "preferred_username" in r.text and "届きませんでした" in r.text
    assert c.get("/").headers["location"] == "/login"


@pytest.mark.parametrize("claim, value", [("iss", "http://127.0.0.1:9/another-issuer"), ("aud", "another-client"),
                                          ("nonce", "not-the-nonce-we-sent")])
def test_a_token_with_the_wrong_issuer_audience_or_nonce_is_refused(real, provider, claim, value):
    provider.id_claims = {claim: value}
    c, r = sign_in(real, provider)
    assert r.status_code == 401 and "確認できませんでした" in r.text
    assert c.get("/").headers["location"] == "/login"


def test_a_token_without_its_nonce_is_refused(real, provider):
    provider.id_claims = {"nonce": None}
    _c, r = sign_in(real, provider)
    assert r.status_code == 401


def test_a_callback_whose_state_is_not_this_browsers_is_refused(real, provider):
    from fastapi.testclient import TestClient

    from web import create_app

    app = create_app(real, secret="s", oidc={"issuer": provider.base, "client_id": CLIENT, "client_secret": "cs"})
    c = TestClient(app, follow_redirects=False)
    to_idp = c.get("/login/oidc")
    back = httpx.get(to_idp.headers["location"], follow_redirects=False)
    url = urlparse(back.headers["location"])
    code = dict(p.split("=", 1) for p in url.query.split("&"))["code"]
    r = c.get(f"/login/oidc/callback?{urlencode({'code': code, 'state': 'another-state'})}")
    assert r.status_code == 401 and provider.token_form == {}  # the code was never exchanged
    assert c.get("/").headers["location"] == "/login"


def test_logout_ends_kaigis_session_and_the_providers(real, provider):
    """RP-initiated logout: kaigi's session ends in the database, then the browser goes to
    the provider's end_session_endpoint with id_token_hint and the way back to the login page."""
    from urllib.parse import parse_qs

    provider.end_session = True
    c, _r = sign_in(real, provider)
    cookie = c.cookies.get("kaigi_session")
    payload = base64.b64decode(cookie.split(".")[0] + "==").decode()
    assert provider.issued[-1] not in payload and "id_token" not in payload  # kept server side
    page = c.get("/").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    old_cookie = c.cookies.get("kaigi_session")
    out = c.post("/logout", data={"csrf_token": csrf})
    # a page that goes on at once: a redirect answering a form would leave CSP's form-action 'self'
    assert out.status_code == 200 and "ログアウトしました" in out.text
    away = html.unescape(out.text.split('id="provider-logout" href="', 1)[1].split('"', 1)[0])
    assert f'http-equiv="refresh" content="0; url={html.escape(away)}"' in out.text
    assert away.startswith(provider.base + "/logout?")
    q = parse_qs(urlparse(away).query)
    assert q["id_token_hint"] == [provider.issued[-1]]
    assert q["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert c.get("/").headers["location"] == "/login"
    c.cookies.set("kaigi_session", old_cookie)  # the old cookie replayed: its session is over
    assert c.get("/").headers["location"] == "/login"


def test_logout_without_an_end_session_endpoint_stays_with_kaigi(real, provider):
    c, _r = sign_in(real, provider)
    csrf = c.get("/").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = c.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/login"


def test_a_discovery_document_naming_another_issuer_is_refused(real, provider):
    """The configured issuer must be the one the document (and so the ID token) names."""
    provider.discovery_issuer = "http://127.0.0.1:9/not-the-configured-issuer"
    c, r = sign_in(real, provider)
    assert r.status_code == 401
    assert c.get("/").headers["location"] == "/login"


def test_a_provider_answering_with_an_error_is_refused(real, provider):
    """The person declined at the provider (error=access_denied): not signed in, one clear line."""
    from fastapi.testclient import TestClient

    from web import create_app

    app = create_app(real, secret="s", oidc={"issuer": provider.base, "client_id": CLIENT})
    c = TestClient(app, follow_redirects=False)
    state = dict(p.split("=", 1) for p in urlparse(c.get("/login/oidc").headers["location"]).query.split("&"))["state"]
    r = c.get(f"/login/oidc/callback?{urlencode({'error': 'access_denied', 'state': state})}")
    assert r.status_code == 401 and "確認できませんでした" in r.text
    assert c.get("/").headers["location"] == "/login"


def test_a_provider_that_cannot_be_reached_is_said_so_without_a_traceback(real):
    from fastapi.testclient import TestClient

    from web import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there
    app = create_app(real, secret="s", oidc={"issuer": f"http://127.0.0.1:{port}", "client_id": CLIENT})
    r = TestClient(app, follow_redirects=False).get("/login/oidc")
    assert r.status_code == 502 and "認証基盤に接続できません" in r.text and "Traceback" not in r.text
