"""`/api` (WEB.md): the same walk as the CLI's with a bearer token of each member, the
CLI's JSON shapes, and errors as `{"error": {"kind", "message", "rule"}}`."""

from typing import Any

from fastapi.testclient import TestClient

from engine.app import accounts
from engine.core.identity import Actor
from tests.conftest import fingerprint
from web import create_app


def client(k: Any) -> TestClient:
    return TestClient(create_app(k, secret="s"))


def token(k: Any, login: str) -> dict[str, str]:
    _, secret = accounts.create_token(k, Actor(login, "web"), "api test")
    return {"Authorization": f"Bearer {secret}"}


def iso(k: Any) -> str:
    return k.clock.now().isoformat()


def test_no_token_no_answer(real):
    c = client(real)
    r = c.get("/api/items")
    assert r.status_code == 401 and r.json()["error"]["kind"] == "not_permitted"
    r = c.get("/api/items", headers={"Authorization": "Bearer kaigi_forged"})
    assert r.status_code == 401


def test_a_revoked_or_expired_token_is_refused(real):
    tid, secret = accounts.create_token(real, Actor("sato", "web"), "x")
    c = client(real)
    assert c.get("/api/whoami", headers={"Authorization": f"Bearer {secret}"}).json()["login"] == "sato"
    accounts.revoke_token(real, Actor("sato", "web"), tid)
    assert c.get("/api/whoami", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_the_walk_through_the_api(real):
    c = client(real)
    y, w, s = token(real, "yamamoto"), token(real, "watanabe"), token(real, "sato")

    def meeting(h: dict[str, str], kind: str, **extra: Any) -> int:
        r = c.post("/api/meetings", headers=h, json={"kind": kind, "starts_at": iso(real), "items": [1], **extra})
        assert r.status_code == 201, r.text
        m = r.json()["events"][0]["meeting"]
        assert c.post(f"/api/meetings/{m}/hold", headers=h, json={}).status_code == 200
        return int(m)

    def advance(h: dict[str, str], trigger: str, m: int) -> str:
        r = c.post("/api/items/1/advance", headers=h, json={"trigger": trigger, "meeting": m})
        assert r.status_code == 200, r.text
        return str(c.get("/api/items/1", headers=h).json()["state"])

    assert advance(y, "refer", meeting(y, "staff", attendees=["nakamura", "yoshida"])) == "pre_review"
    assert advance(w, "refer", meeting(w, "team_lead")) == "council"
    assert advance(w, "decide", meeting(s, "council")) == "in_progress"
    assert advance(w, "close", meeting(s, "council")) == "closed"
    history = c.get("/api/items/1/history", headers=s).json()
    assert [e["actor"] for e in history if e["type"] == "ItemAdvanced"] == ["yamamoto", "watanabe", "watanabe",
                                                                         "watanabe"]
    assert c.get("/api/audit/verify", headers=s).json()["ok"] is True


def test_a_refusal_is_an_error_object_and_changes_nothing(real):
    c = client(real)
    before = fingerprint(real.store)
    r = c.post("/api/meetings", headers=token(real, "nakamura"), json={"kind": "council", "starts_at": iso(real)})
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["kind"] == "not_permitted" and err["rule"] == "R-C3" and "本部長" in err["message"]
    r = c.post("/api/items/1/advance", headers=token(real, "yamamoto"), json={"trigger": "nonsense"})
    assert r.status_code in (400, 409) and "error" in r.json()
    r = c.post("/api/items/1/advance", headers=token(real, "yamamoto"), json={"trigger": 5, "meeting": "x"})
    assert r.status_code == 400 and r.json()["error"]["kind"] == "bad_input"
    assert c.get("/api/items/999", headers=token(real, "sato")).status_code == 404
    assert [e for e in fingerprint(real.store)[0] if e.type != "TokenCreated"] == \
        [e for e in before[0] if e.type != "TokenCreated"]


def test_openapi_is_published(real):
    c = client(real)
    spec = c.get("/api/openapi.json").json()
    assert "/api/v1/items/{item_id}/advance" in spec["paths"]  # v1 is the contract; /api/... its alias
    assert c.get("/api/docs").status_code == 200
