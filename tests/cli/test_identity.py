"""R-I1: who acted is the authenticated identity, not a typed name.

A training database takes `--as` on trust and says so; a real one (`init --chief`) acts as
the member bound to the OS account running kaigi (SQLite) and refuses `--as` of anyone
else with exit 3 and one line. The two-account matrix makes a throwaway OS user when the
tests run as root (else it is skipped, with the reason)."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from engine.infra.os_account import os_account

ME = os_account()


def events(kaigi: Any) -> list[dict[str, Any]]:
    r = kaigi("audit", "export")
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in r.stdout.splitlines()]


@pytest.fixture
def real(kaigi: Any, db_url: str) -> Any:
    """A real database whose chief is whoever runs the tests: the OS account on SQLite, the
    database role of the test URL on PostgreSQL."""
    if db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's identity (the database role) is tested in tests/redteam/test_pg_witness.py")
    r = kaigi("init", "--chief", "sato", "--name", "佐藤 一郎")
    assert r.exit_code == 0, r.output
    assert "kind: real" in r.stdout
    return kaigi


class TestTraining:
    def test_training_says_so_and_records_it(self, demo_cli: Any) -> None:
        """R-I1: a training database takes --as on trust, says so on every screen and in every event."""
        r = demo_cli("--as", "yamamoto", "item", "file", "訓練の案件")
        assert r.exit_code == 0, r.output
        assert r.stderr.startswith("[training database] names are taken on trust")
        assert demo_cli("--as", "sato", "item", "show", "1").stderr.startswith("[training database]")
        last = events(demo_cli)[-1]
        assert (last["actor"], last["identity"]) == ("yamamoto", "training")

    def test_refusal_stays_one_line(self, demo_cli: Any) -> None:
        r = demo_cli("--as", "nakamura", "meeting", "convene", "team_lead", "--at", "now")
        assert r.exit_code == 3 and len(r.stderr.strip().splitlines()) == 1

    def test_japanese_header(self, demo_cli: Any) -> None:
        r = demo_cli("--lang", "ja", "--as", "sato", "item", "show", "1")
        assert r.stderr.startswith("【訓練用データベース】")

    def test_init_training_has_no_samples(self, kaigi: Any) -> None:
        assert kaigi("init", "--training").exit_code == 0
        r = kaigi("--json", "--as", "sato", "item", "list")
        assert r.exit_code == 3  # nobody is on the roster yet: no demo members
        assert "not on the roster" in r.stderr


class TestReal:
    def test_chief_is_bound_to_the_account_running_init(self, real: Any) -> None:
        """R-I1: the chief acts as the OS account that made the database; events say `os`."""
        r = real("--json", "whoami")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["login"] == "sato"
        assert "[training database]" not in r.stderr
        r = real("roster", "add", "tanaka", "--name", "田中", "--os-user", "tanaka-os")
        assert r.exit_code == 0, r.output
        last = events(real)[-1]
        assert (last["type"], last["actor"], last["identity"]) == ("MemberAdded", "sato", "os")

    def test_as_another_is_refused_with_who_you_are(self, real: Any) -> None:
        """R-I1: --as naming anyone but yourself: exit 3, one line saying who you are; nothing written."""
        real("roster", "add", "tanaka", "--name", "田中", "--os-user", "tanaka-os")
        before = events(real)
        r = real("--as", "tanaka", "roster", "add", "suzuki", "--name", "鈴木")
        assert r.exit_code == 3
        assert r.stderr == f"not permitted: you are OS user {ME}, member sato; --as is for training databases\n"
        assert events(real) == before

    def test_as_yourself_is_fine(self, real: Any) -> None:
        r = real("--as", "sato", "--json", "whoami")
        assert r.exit_code == 0 and json.loads(r.stdout)["login"] == "sato"

    def test_environment_cannot_claim_an_account(self, real: Any) -> None:
        """R-I1: $USER, $LOGNAME and KAIGI_AS do not make you someone else."""
        real("roster", "add", "tanaka", "--name", "田中")  # bound to OS user tanaka by default
        r = real("--json", "whoami", env={"USER": "tanaka", "LOGNAME": "tanaka"})
        assert json.loads(r.stdout)["login"] == "sato"
        r = real("whoami", env={"KAIGI_AS": "tanaka"})
        assert r.exit_code == 3 and "--as is for training databases" in r.stderr

    def test_unbound_account_is_refused(self, real: Any) -> None:
        """R-I1: an OS account no member is bound to cannot act; the line says how to bind one."""
        assert real("roster", "bind", "sato", "--os-user", "somebody-else").exit_code == 0
        before = events(real)
        r = real("item", "file", "x")
        assert r.exit_code == 3
        assert r.stderr.startswith(f"not permitted: you are OS user {ME}, and no member is bound to it")
        assert events(real) == before

    def test_a_database_keeps_its_kind(self, real: Any) -> None:
        r = real("init", "--training")
        assert r.exit_code == 2 and "made as a real database" in r.stderr
        assert real("init").exit_code == 0  # re-running plain init (an upgrade) is fine

    def test_init_chief_needs_a_name(self, kaigi: Any) -> None:
        r = kaigi("init", "--chief", "sato")
        assert r.exit_code == 2 and r.stderr == "--chief needs --name (the chief's full name)\n"
        r = kaigi("init", "--chief", "sato", "--name", "佐藤", "--demo")
        assert r.exit_code == 2


# ---------------------------------------------------------------- two OS accounts
ROOT = Path(__file__).resolve().parents[2]


def _interpreter_for(user: str) -> str | None:
    """A Python of our minor version that `user` may run (a venv under /root is not one):
    the tests' own, else the system's, with our site-packages on PYTHONPATH."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    for py in (sys.executable, f"/usr/bin/python{want}", "/usr/bin/python3"):
        ok = subprocess.run(["runuser", "-u", user, "--", py, "-c",
                             f"import sys; sys.exit(sys.version[:{len(want)}] != {want!r})"],
                            capture_output=True, timeout=30)
        if ok.returncode == 0:
            return py
    return None


@pytest.fixture
def other_account() -> Any:
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("runuser") is None:
        pytest.skip("the two-account matrix makes a throwaway OS user: needs root, useradd and runuser")
    name = f"kt{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        py = _interpreter_for(name)
        if py is None:
            pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} that a second account may run")
        yield name, py
    finally:
        subprocess.run(["userdel", name], check=False)


def test_two_os_accounts(other_account: tuple[str, str]) -> None:
    """R-I1 on SQLite: each OS account acts as its own member and as nobody else."""
    import sysconfig

    other_account, py = other_account  # type: ignore[assignment]
    site = sysconfig.get_paths()["purelib"]
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="kaigi-two-accounts-"))  # pytest's tmp is private to root
    folder.chmod(0o777)
    try:
        root, site = _reachable(folder, other_account, site)
        _two_accounts(folder, other_account, py, site, root)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


SOURCES = ("cli.py", "engine", "store", "web", "workflows")
NOT_NEEDED = ("playwright", "pip", "setuptools", "hypothesis", "pygments", "_pytest", "pytest", "aiosmtpd")


def _reachable(folder: Path, user: str, site: str) -> tuple[Path, str]:
    """The checkout and the site-packages as `user` may read them: where they are, or, when
    the checkout sits in a private folder (a 0700 home, `mktemp -d`), a world-readable copy of
    kaigi's sources and of the packages the CLI imports, inside `folder`."""
    def readable(path: Path | str) -> bool:
        return subprocess.run(["runuser", "-u", user, "--", "test", "-r", str(path)],
                              capture_output=True, timeout=30).returncode == 0

    root = ROOT
    if not readable(ROOT / "cli.py"):
        root = folder / "src"
        for name in SOURCES:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                root.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, root / name)
    if not readable(Path(site)):
        copy = folder / "site"
        shutil.copytree(site, copy, ignore=lambda d, names: [n for n in names if n.split("-")[0] in NOT_NEEDED
                                                               or n.endswith(".pth") or n == "__pycache__"])
        site = str(copy)
    for path in (root, Path(site)):
        if path.is_relative_to(folder):
            subprocess.run(["chmod", "-R", "a+rX", str(path)], check=True)
    return root, site


def _two_accounts(folder: Path, other_account: str, py: str, site: str, root: Path = ROOT) -> None:
    url = f"sqlite:///{folder}/kaigi.db"

    def run(as_user: str | None, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [py if as_user else sys.executable, "-c", "import cli; cli.main()", "--db", url, "--lang", "en", *args]
        if as_user is not None:
            cmd = ["runuser", "-u", as_user, "--", *cmd]
        env = {"PATH": os.environ["PATH"], "HOME": str(folder), "PYTHONPATH": f"{root}:{site}",
               "KAIGI_LOG": str(folder / f"{as_user or 'root'}.log")}
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, cwd=folder)

    assert run(None, "init", "--chief", "sato", "--name", "佐藤").returncode == 0
    assert run(None, "roster", "add", "tanaka", "--name", "田中", "--os-user", other_account).returncode == 0
    assert run(None, "roster", "assign", "tanaka", "soshiki2_kacho").returncode == 0
    for f in folder.iterdir():
        if f.is_file():  # the database and its logs (a copy of the sources stays read-only)
            f.chmod(0o666)

    mine = run(other_account, "--json", "whoami")
    assert mine.returncode == 0, mine.stderr
    assert json.loads(mine.stdout)["login"] == "tanaka"
    filed = run(other_account, "--json", "item", "file", "田中が提出")
    assert filed.returncode == 0, filed.stderr
    forged = run(other_account, "--as", "sato", "item", "file", "本部長を装う")
    assert forged.returncode == 3
    assert forged.stderr.strip() == (f"not permitted: you are OS user {other_account}, member tanaka; "
                                     "--as is for training databases")
    log = [json.loads(x) for x in run(None, "audit", "export").stdout.splitlines()]
    filed_events = [e for e in log if e["type"] == "ItemFiled"]
    assert [(e["actor"], e["identity"]) for e in filed_events] == [("tanaka", "os")]
    assert run(None, "audit", "verify").returncode == 0
