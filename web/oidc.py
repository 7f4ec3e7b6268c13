"""Signing in through the intranet's identity provider: OpenID Connect, authorization code
with PKCE (S256), as the standard says.

What a sign-in trusts (docs/threat-model.md): the provider named by KAIGI_OIDC_ISSUER, its
discovery document and its keys (JWKS), fetched from that address. kaigi checks `state`
(the callback belongs to this browser's sign-in), the ID token's signature, `iss` (the
issuer configured, which the discovery document must name too), `aud` (our client id),
`exp`/`iat` and `nonce`, and sends the PKCE verifier the challenge was made of. The
member's login is one claim (KAIGI_OIDC_LOGIN_CLAIM, default `preferred_username`), read
from the ID token and from UserInfo (when the provider has a userinfo endpoint, whose `sub`
must be the ID token's); the engine then says whether that login is on the roster and holds
a post (R-I6). Without KAIGI_OIDC_CLIENT_SECRET kaigi is a public client (token endpoint
auth `none`), PKCE standing in for the secret.

Signing out ends kaigi's session (in the database, as for a password sign-in) and, when the
provider has an `end_session_endpoint`, sends the browser there (RP-initiated logout) with
the ID token (kept with the session's row in the database) as `id_token_hint` and kaigi's
login page as `post_logout_redirect_uri`, so the provider's own session ends too and the
next sign-in asks for credentials again. The way there is a page that goes on at once (a
meta refresh and a link): a redirect answering the sign-out form would leave CSP's
`form-action 'self'`.
"""

from dataclasses import dataclass
from typing import Any

LOGIN_CLAIM = "preferred_username"
ENV = {"issuer": "KAIGI_OIDC_ISSUER", "client_id": "KAIGI_OIDC_CLIENT_ID",
       "client_secret": "KAIGI_OIDC_CLIENT_SECRET", "login_claim": "KAIGI_OIDC_LOGIN_CLAIM"}


class Refused(Exception):
    """The provider's answer is not a sign-in kaigi can accept."""


class NoLogin(Refused):
    """A confirmed sign-in whose claims do not name a login."""


@dataclass
class OIDC:
    client: Any  # Authlib's Starlette client
    login_claim: str
    issuer: str

    async def claims(self, token: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims (Authlib checked signature, iss, aud, exp, nonce) and the
        UserInfo endpoint's, when the provider has one; the login claim must be among them."""
        id_claims = token.get("userinfo")
        if not token.get("id_token") or not id_claims or not id_claims.get("sub"):
            raise Refused("no ID token")
        found = dict(id_claims)
        metadata = await self.client.load_server_metadata()
        if str(metadata.get("issuer") or "").rstrip("/") != self.issuer.rstrip("/"):  # OpenID Connect Discovery 4.3
            raise Refused("the discovery document names another issuer")
        if metadata.get("userinfo_endpoint"):
            try:
                info = dict(await self.client.userinfo(token=token))
            except Exception as err:  # noqa: BLE001 (the endpoint refused or answered nonsense)
                raise Refused("userinfo") from err
            if info.get("sub") != id_claims["sub"]:  # OpenID Connect Core 5.3.2
                raise Refused("userinfo sub differs")
            found.update({k: v for k, v in info.items() if k not in ("iss", "aud", "nonce", "exp", "iat")})
        login = found.get(self.login_claim)
        if not isinstance(login, str) or not login:
            raise NoLogin(self.login_claim)
        return found

    def login(self, claims: dict[str, Any]) -> str:
        return str(claims[self.login_claim])

    async def logout_url(self, id_token: str | None, back: str) -> str | None:
        """The provider's end-session address for this sign-out, or None when it has none
        (or cannot be asked now: kaigi's own session is over all the same)."""
        try:
            metadata = await self.client.load_server_metadata()
            if not metadata.get("end_session_endpoint"):
                return None
            extra = {} if id_token else {"client_id": self.client.client_id}
            found = await self.client.create_logout_url(post_logout_redirect_uri=back, id_token_hint=id_token,
                                                        **extra)
        except Exception:  # noqa: BLE001 (the provider unreachable: sign out of kaigi only)
            return None
        return str(found["url"])


def from_env() -> dict[str, str] | None:
    """The provider named by KAIGI_OIDC_* (read by engine.infra.settings), or None."""
    from engine.infra.settings import environment

    return environment().oidc


def make(conf: dict[str, str] | None) -> OIDC | None:
    """An Authlib client for the identity provider, or None: it reads the provider's discovery
    document, always sends a PKCE S256 challenge, and authenticates at the token endpoint with
    the secret (client_secret_basic) or, without one, as a public client (`none`)."""
    if not conf:
        return None
    from authlib.integrations.starlette_client import OAuth

    secret = conf.get("client_secret") or None
    oauth = OAuth()
    oauth.register("idp", server_metadata_url=conf["issuer"].rstrip("/") + "/.well-known/openid-configuration",
                   client_id=conf["client_id"], client_secret=secret,
                   client_kwargs={"scope": "openid profile", "code_challenge_method": "S256",
                                  "token_endpoint_auth_method": "client_secret_basic" if secret else "none"})
    return OIDC(oauth.idp, (conf.get("login_claim") or "").strip() or LOGIN_CLAIM, conf["issuer"])


__all__ = ["ENV", "LOGIN_CLAIM", "OIDC", "NoLogin", "Refused", "from_env", "make"]
