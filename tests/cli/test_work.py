"""`kaigi work`: what waits on the acting member, the web's my work in the terminal, each
entry with the command that does it (engine.app.work)."""

import json


def test_work_lists_what_is_asked_with_its_command(demo_cli):
    """R-S1: the demo's filed items wait on the implementation manager, for a staff meeting
    or the decision to skip it; a team leader who filed one is asked nothing (no withdrawal)."""
    r = demo_cli("--as", "yamamoto", "--json", "work")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {(x["act"], x["item"]) for x in rows} == {(a, i) for a in ("convene", "skip") for i in (1, 2, 3, 4)}
    assert "kaigi meeting convene staff --at WHEN --item 1" in {x["command"] for x in rows}
    r = demo_cli("--as", "nakamura", "work")
    assert r.exit_code == 0 and "Nothing waits on you now" in r.stdout
    assert "withdraw" not in r.stdout
