"""`kaigi serve --workers N` (issue 21): N worker processes over one database.

Acts filed through /api from several threads at once, against two workers, each land once,
and `kaigi audit verify` passes after; on SQLite (WAL, the head lock) and on PostgreSQL when
KAIGI_TEST_PG_URL is set (the `db_url` fixture). A bad N is refused in one line, exit 2.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import cli

KAIGI = [sys.executable, "-c", "from cli import main; main()"]
THREADS = 4
EACH = 5


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    return {**env, "KAIGI_LANG": "en", **extra}


def kaigi(db: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KAIGI, "--db", db, *args], cwd=cwd, env=env_for(), capture_output=True, text=True,
                          timeout=120)


def request(url: str, token: str | None = None, body: Any = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 (the test's own server)
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError as err:
        return 0, str(err)


def workers_of(pid: int) -> list[int]:
    """The worker processes uvicorn spawned under `pid` (multiprocessing's spawn_main)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and "spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_two_workers_file_every_act_once_and_the_log_verifies(db_url: str, tmp_path: Path) -> None:
    r = kaigi(db_url, tmp_path, "init", "--demo")
    assert r.returncode == 0, r.stderr
    r = kaigi(db_url, tmp_path, "--as", "yamamoto", "--json", "token", "create", "--name", "workers test")
    assert r.returncode == 0, r.stderr
    token = json.loads(r.stdout)["token"]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "serve.err", "w+", encoding="utf-8")  # noqa: SIM115 (the child writes it)
    serve = subprocess.Popen([*KAIGI, "--db", db_url, "serve", "--port", str(port), "--workers", "2"], cwd=tmp_path,
                             env=env_for(), stdout=subprocess.DEVNULL, stderr=log)
    results: list[tuple[int, str]] = []
    try:
        end = time.monotonic() + 60
        while request(f"{base}/healthz")[0] != 200:
            assert serve.poll() is None, (tmp_path / "serve.err").read_text()
            assert time.monotonic() < end, "kaigi serve --workers 2 did not answer"
            time.sleep(0.3)
        end = time.monotonic() + 30
        while len(workers_of(serve.pid)) < 2 and time.monotonic() < end:
            time.sleep(0.3)
        assert len(workers_of(serve.pid)) == 2  # the parent and two workers: three processes

        lock = threading.Lock()

        def file_some(t: int) -> None:
            for i in range(EACH):
                out = request(f"{base}/api/items", token, {"title": f"workers {t}-{i}"})
                with lock:
                    results.append(out)

        threads = [threading.Thread(target=file_some, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        assert serve.poll() is None
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait(timeout=5)
        log.seek(0)
        err = log.read()
        log.close()
    assert "Traceback" not in err, err
    assert [s for s, _ in results] == [201] * (THREADS * EACH), results
    assert len({json.loads(b)["id"] for _, b in results}) == THREADS * EACH

    r = kaigi(db_url, tmp_path, "--as", "yamamoto", "--json", "item", "list", "--search", "workers", "--limit", "200")
    assert r.returncode == 0, r.stderr
    titles = sorted(v["title"] for v in json.loads(r.stdout) if v["title"].startswith("workers "))
    assert titles == sorted(f"workers {t}-{i}" for t in range(THREADS) for i in range(EACH))
    r = kaigi(db_url, tmp_path, "audit", "verify")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("given", ["0", "65", "-1", "two", "1.5", "１"])
def test_a_bad_number_of_workers_is_refused_in_one_line(given: str, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/k.db"
    for args, env in ((["serve", "--workers", given], {}), (["serve"], {"KAIGI_WORKERS": given})):
        r = CliRunner().invoke(cli, ["--db", db, *args], env={"KAIGI_LANG": "en", **env})
        assert r.exit_code == 2, (given, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and "--workers" in lines[0] and "1 to 64" in lines[0], r.output
    assert not (tmp_path / "k.db").exists()  # refused before anything opened the database


def test_several_workers_over_a_database_in_memory_are_refused(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["--db", "memory://", "serve", "--workers", "2"], env={"KAIGI_LANG": "en"})
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "memory" in r.output, r.output
