"""Two processes advance one item at once: the head lock serialises them, the second judges
the item as the first left it and is refused with one line, and the chain has no fork."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def kaigi_proc(db_url, *args, env=None):
    return subprocess.Popen([sys.executable, "-c", "from cli import main; main()", "--db", db_url, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_two_concurrent_advances_one_wins(svc, db_url, tmp_path, monkeypatch):
    """Both start together; the second to take the head finds item 1 moved on: exit 4, one line."""
    import os

    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "KAIGI_TEST_BARRIER": f"{barrier}:2", "KAIGI_LANG": "en"}
    procs = [kaigi_proc(db_url, "--as", "yamamoto", "item", "advance", "1", "skip", env=env) for _ in range(2)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert [0, 4] == codes, results
    loser = next(err for code, err in results if code == 4)
    assert loser.startswith("not possible: an item in state pre-review") and 1 == len(loser.strip().splitlines())
    # exactly one advance was written, and the chain verifies (no fork)
    advanced = [e for e in svc.peek.events(item=1) if e.type == "ItemAdvanced"]
    assert 1 == len(advanced)
    out = subprocess.run([sys.executable, "-c", "from cli import main; main()", "--db", db_url, "--json",
                          "audit", "verify"], capture_output=True, text=True)
    assert 0 == out.returncode and json.loads(out.stdout)["ok"]
    assert svc.item(1).state == advanced[0].data["to"]
