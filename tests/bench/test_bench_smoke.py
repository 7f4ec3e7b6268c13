"""Every bench in bench/ still runs (issue 20: benches rot when nothing runs them).

Each runs at a tiny size, in a subprocess as a person would start it, and must end with its
`ratio: X` line (ours / the baseline measured in the same run). The figures at this size mean
nothing; that the script runs to its verdict against today's code does.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "advance.py": ["--n", "10", "--rounds", "1"],
    "verify.py": ["--events", "1500", "--rounds", "1"],
    "startup.py": ["--runs", "1", "--bytecode", "env"],  # the bytecode already there: a throw-away cache compiles every module
    "reminders.py": ["--total", "300", "--due", "30", "--no-memory"],
    "web.py": ["--events", "1500", "--requests", "3", "--board-requests", "1"],
    "api.py": ["--events", "1500", "--clients", "2", "--requests", "1"],
    "lists.py": ["--items", "300", "--overdue", "30", "--rounds", "1"],
    "serve_scale.py": ["--clients", "2", "--seconds", "0.5", "--servers", "1,2"],
    "pg_writers.py": ["--writers", "2", "--acts", "3", "--schedstat"],
}
NEEDS_PG = {"serve_scale.py", "pg_writers.py"}  # run against KAIGI_TEST_PG_URL's server (databases of its own)


def test_every_bench_is_smoke_tested() -> None:
    """A new bench script must be added here (loggen.py builds logs for the others)."""
    scripts = {p.name for p in (ROOT / "bench").glob("*.py")} - {"__init__.py", "loggen.py"}
    assert scripts == set(TINY)


@pytest.mark.parametrize("script", sorted(TINY))
def test_bench_runs_to_its_ratio(script: str, tmp_path: Path) -> None:
    if script in NEEDS_PG and not os.environ.get("KAIGI_TEST_PG_URL"):
        pytest.skip(f"{script} needs PostgreSQL: set KAIGI_TEST_PG_URL")
    run = subprocess.run([sys.executable, str(ROOT / "bench" / script), *TINY[script]], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"ratio: \d+(\.\d+)?", last), run.stdout[-1000:]


def test_loggen_builds_a_log_that_verifies(tmp_path: Path) -> None:
    out = tmp_path / "log.db"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "loggen.py"), "--events", "800", "--out", str(out)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    check = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--db", f"sqlite:///{out}", "audit", "verify"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout[-1000:] + check.stderr[-1000:]
