"""Two processes advance one item at once: one wins, the other exits 6, the chain has no fork."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def kaigi_proc(db_url, *args, env=None):
    return subprocess.Popen([sys.executable, "-c", "from cli import main; main()", "--db", db_url, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_two_concurrent_advances_one_wins(svc, db_url, tmp_path, monkeypatch):
    """Both read item 1 before either writes; the second to write finds it changed: exit 6."""
    import os

    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "KAIGI_TEST_BARRIER": f"{barrier}:2"}
    procs = [kaigi_proc(db_url, "--as", login, "item", "advance", "1", trigger, env=env)
             for login, trigger in (("yamamoto", "skip"), ("watanabe", "withdraw"))]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert [0, 6] == codes, results
    loser = next(err for code, err in results if code == 6)
    assert loser.startswith("conflict: ") and "nothing was written" in loser
    # exactly one advance was written, and the chain verifies (no fork)
    advanced = [e for e in svc.store.events(item=1) if e.type == "ItemAdvanced"]
    assert 1 == len(advanced)
    out = subprocess.run([sys.executable, "-c", "from cli import main; main()", "--db", db_url, "--json",
                          "audit", "verify"], capture_output=True, text=True)
    assert 0 == out.returncode and json.loads(out.stdout)["ok"]
    assert svc.item(1).state == advanced[0].payload["to"]
