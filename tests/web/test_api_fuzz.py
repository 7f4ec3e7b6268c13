"""`/api/v1` against clients nobody here wrote (issue 18): Schemathesis runs every phase
(examples, coverage, fuzzing, stateful: file an item -> show it -> advance it; convene a
meeting -> hold it) with every check on, in-process against the app, with a fixed seed
and a bounded budget, on SQLite and on PostgreSQL: 0 failures. Then a client generated
from the document (openapi-python-client) parses real answers into typed models."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.app import accounts
from engine.core.identity import Actor
from web import create_app

schemathesis = pytest.importorskip("schemathesis")
SEED = 1  # fixed: the same cases each run (hypothesis derandomised by it)


def _app(k: Any) -> tuple[Any, str]:
    _, secret = accounts.create_token(k, Actor("sato", "web"), "fuzz")
    return create_app(k, secret="s"), secret


def _run(app: Any, secret: str, examples: int) -> tuple[list[str], dict[str, int], set[tuple[str, str]]]:
    """Every phase, every check; the failures as lines, how many cases each phase ran, and
    the links the stateful phase followed: (parent, child) to a 2xx, (parent, child, "tried")
    to any other answer."""
    from schemathesis import engine
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import events

    config = SchemathesisConfig.from_dict({
        "seed": SEED, "max-failures": 20,
        "headers": {"Authorization": f"Bearer {secret}"},
        "checks": {"enabled": True},
        "generation": {"max-examples": examples, "deterministic": False},
        # the stateful phase follows the document's links (file -> show -> advance, convene ->
        # hold), not links guessed from Location headers (see docs/api.md: advance's 404 may
        # name the meeting of its body, R-R1)
        "phases": {"stateful": {"max-steps": 30, "inference": {"algorithms": []}}},
    })
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, config=config)
    failures: list[str] = []
    ran: dict[str, int] = {}
    chained: set[tuple[str, str]] = set()
    for ev in engine.from_schema(schema).execute():
        if isinstance(ev, events.NonFatalError):
            failures.append(f"error: {ev.info.format() if hasattr(ev, 'info') else ev}")
        elif isinstance(ev, events.FatalError):
            failures.append(f"fatal: {ev.exception!r}")
        elif isinstance(ev, events.ScenarioFinished):
            ran[str(ev.phase)] = ran.get(str(ev.phase), 0) + len(ev.recorder.cases)
            for case_id, node in ev.recorder.cases.items():
                answer = ev.recorder.interactions.get(case_id)
                if node.parent_id in ev.recorder.cases and node.transition is not None and answer is not None \
                        and answer.response is not None:
                    link = (ev.recorder.cases[node.parent_id].value.operation.label, node.value.operation.label)
                    chained.add(link if answer.response.status_code < 300 else (*link, "tried"))
            for case_id, checks in ev.recorder.checks.items():
                for c in checks:
                    if c.failure_info is not None:
                        node = ev.recorder.cases[case_id].value
                        failures.append(f"{ev.phase} {c.name}: {node.operation.label} -> "
                                        f"{c.failure_info.failure.title}: {c.failure_info.failure.message[:300]}")
    return sorted(set(failures)), ran, chained


def test_schemathesis_finds_nothing(real):
    """Issue 18: 0 failures of any check in any phase; the stateful phase ran its chains."""
    app, secret = _app(real)
    failures, ran, chained = _run(app, secret, examples=25)
    assert failures == [], "\n".join(failures)
    assert all(ran.get(p) for p in ("coverage", "fuzzing", "stateful")), ran
    assert ("POST /api/v1/items", "GET /api/v1/items/{item_id}") in chained, chained  # file -> show
    advance = ("GET /api/v1/items/{item_id}", "POST /api/v1/items/{item_id}/advance")  # show -> advance
    assert advance in chained or (*advance, "tried") in chained, chained
    # convene -> hold is in the document's links, but random bodies seldom convene (201) under this
    # seed's budget: test_a_generated_client_is_typed walks that chain to 200 instead


def test_the_document_is_the_contract(real):
    """Every operation: bearer security, the error schema on each 4xx it lists, a typed 2xx."""
    from fastapi.testclient import TestClient

    app, _ = _app(real)
    doc = TestClient(app).get("/api/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer",
                                                              "description": "`kaigi token create`"}
    assert set(doc["paths"]) and all(p.startswith("/api/v1/") for p in doc["paths"])
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["security"] == [{"bearer": []}]
            assert "422" not in op["responses"]
            for code, resp in op["responses"].items():
                if code.startswith(("4", "5")):
                    assert resp["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
                if code.startswith("2"):
                    schema = resp["content"]["application/json"]["schema"]
                    assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path)
            assert {"401", "404"} <= set(op["responses"]), (method, path)
    assert doc["paths"]["/api/v1/items"]["post"]["responses"]["201"]["links"]["GetItem"]
    assert doc["paths"]["/api/v1/items/{item_id}"]["get"]["responses"]["200"]["links"]["AdvanceItem"]
    assert doc["paths"]["/api/v1/meetings"]["post"]["responses"]["201"]["links"]["HoldMeeting"]
    assert "council" in doc["components"]["schemas"]["Convene"]["properties"]["kind"]["enum"]
    assert "refer" in doc["components"]["schemas"]["Advance"]["properties"]["trigger"]["enum"]


def test_a_generated_client_is_typed(real, tmp_path: Path):
    """openapi-python-client generates from the document; its models parse real answers."""
    pytest.importorskip("openapi_python_client")
    from fastapi.testclient import TestClient

    app, secret = _app(real)
    c = TestClient(app)
    (tmp_path / "api.json").write_text(json.dumps(c.get("/api/openapi.json").json()))
    out = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path",
                          str(tmp_path / "api.json"), "--output-path", str(tmp_path / "client"), "--meta", "none"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        import client.models as m  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    h = {"Authorization": f"Bearer {secret}"}
    filed = c.post("/api/v1/items", headers=h, json={"title": "型のある応答"})
    assert filed.status_code == 201 and filed.headers["Location"].endswith(f"/api/v1/items/{filed.json()['id']}")
    acted = m.Acted.from_dict(filed.json())
    assert acted.id == filed.json()["id"] and acted.events[0].type_ == "ItemFiled"
    item = m.Item.from_dict(c.get(f"/api/v1/items/{acted.id}", headers=h).json())
    assert item.title == "型のある応答" and isinstance(item.next_[0] if item.next_ else m.NextAct, object)
    assert [m.Item.from_dict(x).id for x in c.get("/api/v1/items", headers=h).json()]
    assert m.HistoryEvent.from_dict(c.get(f"/api/v1/items/{acted.id}/history", headers=h).json()[0]).seq
    assert m.Whoami.from_dict(c.get("/api/v1/whoami", headers=h).json()).login == "sato"
    assert m.Verdict.from_dict(c.get("/api/v1/audit/verify", headers=h).json()).ok is True
    err = m.Error.from_dict(c.get("/api/v1/items/999", headers=h).json())
    assert err.error.kind.value == "not_found"
    starts = real.clock.now().isoformat()
    h = {"Authorization": f"Bearer {accounts.create_token(real, Actor('yamamoto', 'web'), 'typed')[1]}"}
    conv = c.post("/api/v1/meetings", headers=h, json={"kind": "staff", "starts_at": starts, "items": [acted.id],
                                                          "attendees": ["nakamura", "yoshida"]})
    assert conv.status_code == 201, conv.text
    meeting = m.Meeting.from_dict(c.get(f"/api/v1/meetings/{conv.json()['id']}", headers=h).json())
    assert meeting.items == [acted.id]
    held = m.Acted.from_dict(c.post(f"/api/v1/meetings/{meeting.id}/hold", headers=h, json={}).json())
    assert held.id == meeting.id and held.events[0].type_ == "MeetingHeld"
