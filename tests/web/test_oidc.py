"""OpenID Connect sign-in (WEB.md): a small identity provider on a loopback port, speaking
the authorization-code flow with RS256 ID tokens; kaigi signs in the member named by
`preferred_username`, and refuses a token signed by another key, a replayed nonce, and an
account that is not on the roster."""

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
    """The identity provider's side: discovery, authorize (signs `user` in at once), token, JWKS."""

    def __init__(self) -> None:
        from authlib.jose import JsonWebKey

        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k1"})
        self.user = "yamamoto"
        self.codes: dict[str, dict[str, str]] = {}
        self.sign_with: Any = self.key
        self.base = ""

    def app(self) -> Any:
        from fastapi import FastAPI, Form, Request
        from fastapi.responses import JSONResponse, RedirectResponse

        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return {"issuer": self.base, "authorization_endpoint": f"{self.base}/authorize",
                    "token_endpoint": f"{self.base}/token", "jwks_uri": f"{self.base}/jwks",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"]}

        @app.get("/authorize")
        def authorize(request: Request) -> Any:
            q = request.query_params
            code = uuid.uuid4().hex
            self.codes[code] = {"nonce": q.get("nonce", ""), "user": self.user}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

        @app.post("/token")
        def token(code: str = Form(...)) -> Any:
            from authlib.jose import jwt

            grant = self.codes.pop(code)
            now = int(time.time())
            claims = {"iss": self.base, "aud": CLIENT, "sub": grant["user"], "preferred_username": grant["user"],
                      "nonce": grant["nonce"], "iat": now, "exp": now + 300}
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.sign_with).decode()
            return JSONResponse({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                                 "id_token": id_token})

        @app.get("/jwks")
        def jwks() -> Any:
            return {"keys": [self.key.as_dict(is_private=False)]}

        return app


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


def sign_in(real: Any, provider: Provider) -> Any:
    from fastapi.testclient import TestClient

    from web import create_app

    app = create_app(real, secret="s", oidc={"issuer": provider.base, "client_id": CLIENT, "client_secret": "cs"})
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
