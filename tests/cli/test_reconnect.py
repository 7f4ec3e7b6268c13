"""PostgreSQL restarts under a running `kaigi serve` and `kaigi scheduler run` (issue 15, item 6).

On main both kept the connection the server had dropped: the server answered 500 to
every request until it was restarted itself, and the scheduler logged "the connection is
closed" on every sweep and sent none of the reminders that fell due.

The cluster is a throwaway one of this test's own (initdb into a temporary folder, a free
port), never the shared one: it is stopped and started while the two processes work
against it. Needs root (PostgreSQL runs as the `postgres` OS user) and PostgreSQL's server
binaries; skipped with the reason otherwise.
"""

import datetime as dt
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.infra.clock import FrozenClock
from tests.conftest import make_svc

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

UTC = dt.UTC
KAIGI = [sys.executable, "-c", "from cli import main; main()"]
LEAD = 20.0  # seconds from set-up until the reminders fall due: after the restart


def _bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in a temporary folder, trust authentication, 127.0.0.1 only."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="kaigi-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.pg("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                "--locale=C.UTF-8")

    def pg(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(self.bindir, tool), *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "-t", "30",
                "start")

    def stop(self) -> None:
        self.pg("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.skip("restarting a PostgreSQL of the test's own needs root (the server runs as the postgres user)")
    bindir = _bin()
    if bindir is None or shutil.which("runuser") is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin) or no runuser here")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres OS user to run a cluster as")
    c = Cluster(bindir)
    try:
        c.start()
        yield c
    finally:
        c.remove()


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (a local test server)
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as err:
        return 0, str(err)


def env_for(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    return {**env, "KAIGI_LANG": "en", **extra}


def sent_lines(outbox: Path) -> list[str]:
    return outbox.read_text(encoding="utf-8").splitlines() if outbox.exists() else []


def wait_for(check: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_and_scheduler_survive_a_postgresql_restart(cluster: Cluster, tmp_path: Path) -> None:
    # Items filed so that their staff_meeting reminders (14 calendar days) fall due LEAD
    # seconds from now: after the restart below. Nothing is due before it.
    due_at = dt.datetime.now(UTC) + dt.timedelta(seconds=LEAD)
    svc = make_svc(cluster.url, FrozenClock(due_at - dt.timedelta(days=14)))
    for i in range(3):
        svc.file_item("yamamoto", f"after the restart {i}")
    svc.store.close()

    outbox = tmp_path / "outbox.jsonl"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = {name: open(tmp_path / f"{name}.err", "w+", encoding="utf-8")  # noqa: SIM115 (the children write them; read back at the end)
            for name in ("serve", "scheduler")}
    serve = subprocess.Popen([*KAIGI, "--db", cluster.url, "serve", "--port", str(port)], cwd=tmp_path,
                             env=env_for(), stdout=subprocess.DEVNULL, stderr=logs["serve"])
    sched = subprocess.Popen([*KAIGI, "--db", cluster.url, "scheduler", "run", "--sweep", "1"], cwd=tmp_path,
                             env=env_for(KAIGI_OUTBOX=str(outbox)), stdout=subprocess.DEVNULL,
                             stderr=logs["scheduler"])
    try:
        wait_for(lambda: get(f"{base}/healthz", 2)[0] == 200, 30, "kaigi serve")
        for path in ("/switch", "/healthz"):  # each worker's connection made before the restart
            assert 200 == get(base + path)[0]
        time.sleep(2.5)  # the scheduler has swept (every second) on its connection
        assert sched.poll() is None and not sent_lines(outbox)

        cluster.stop()
        during = [get(base + p)[0] for p in ("/healthz", "/switch", "/board")]
        assert 500 not in during, during  # the database away is 503, one line, never a 500
        assert 503 == get(f"{base}/healthz")[0]
        time.sleep(1.5)  # the scheduler sweeps against a stopped server
        cluster.start()
        back = dt.datetime.now(UTC)
        assert back < due_at - dt.timedelta(seconds=2), "the restart took too long for this test's timing"

        statuses = [get(base + p)[0] for p in ("/switch", "/healthz", "/switch", "/api/items") for _ in range(3)]
        assert 500 not in statuses and 503 not in statuses, statuses
        wait_for(lambda: get(f"{base}/healthz")[0] == 200, 5, "/healthz to say the database is back")

        # the reminders that fell due after the restart are sent
        wait_for(lambda: len(sent_lines(outbox)) >= 3, LEAD + 20, "the reminders due after the restart")
        assert sched.poll() is None and serve.poll() is None
    finally:
        for p in (serve, sched):
            p.terminate()
        for p in (serve, sched):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
    lines = [json.loads(x) for x in sent_lines(outbox)]
    subjects = " ".join(x["subject"] for x in lines)
    assert all(f"after the restart {i}" in subjects for i in range(3)), subjects
    logs["scheduler"].seek(0)
    err = logs["scheduler"].read()
    failed = [x for x in err.splitlines() if "pass failed" in x]
    assert failed, err  # the sweeps during the outage said so, one line each
    assert all(x.startswith("{") for x in failed) and "Traceback" not in err, err
