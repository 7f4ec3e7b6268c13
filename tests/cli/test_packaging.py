"""kaigi installed as a wheel runs outside its checkout, and a foreign package that takes one of
kaigi's top-level names is named in one line (issue 20: packaging).

kaigi installs `engine`, `store`, `web`, `workflows` and `cli` at the top level; another
distribution shipping its own `web` would shadow or overwrite ours.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIGI_")}
    env["PYTHONPATH"] = str(path)
    return env


@pytest.mark.parametrize("name", ["web", "engine", "workflows", "store"])
def test_a_foreign_top_level_package_is_named_in_one_line(tmp_path: Path, name: str) -> None:
    fake = tmp_path / name
    fake.mkdir()
    (fake / "__init__.py").write_text("raise SystemExit('a foreign package ran')\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(1, {str(ROOT)!r}); import cli"],
                         cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and f"'{name}'" in lines[0] and "virtual environment" in lines[0], run.stderr
    assert "Traceback" not in run.stderr and "a foreign package ran" not in run.stderr


def test_the_wheel_installed_outside_the_checkout_runs(tmp_path: Path) -> None:
    import shutil

    dist, site, work, src = tmp_path / "dist", tmp_path / "site", tmp_path / "work", tmp_path / "src"
    work.mkdir()
    # built from a copy: setuptools writes build/ beside the sources, never into the checkout
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "tests", "node_modules",
                                                             "__pycache__", ".hypothesis", "*.db", "*.db-*"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0 and "No matching distribution" in build.stderr:
        pytest.skip("no setuptools to build with (offline, no package index)")
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(dist.glob("kaigi-*.whl"))
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                              str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    script = (
        "import sys, engine, web, workflows, cli\n"
        f"assert engine.__file__.startswith({str(site)!r}), engine.__file__\n"
        "from fastapi.testclient import TestClient\n"
        "import engine as e\n"
        "from web import create_app\n"
        "k = e.open_url('sqlite:///' + sys.argv[1])\n"
        "page = TestClient(create_app(k)).get('/login')\n"
        "assert page.status_code == 200 and 'htmx' in page.text, page.status_code\n"
        "css = TestClient(create_app(k)).get('/static/kaigi.css')\n"
        "assert css.status_code == 200, css.status_code\n"
        "print('ok')\n")
    db = work / "kaigi.db"
    kaigi = [sys.executable, "-c", "import cli; cli.main()", "--db", f"sqlite:///{db}"]
    for args in (["init", "--demo"], ["--as", "yamamoto", "item", "show", "1"], ["rulebook", "list"], ["audit", "verify"]):
        run = subprocess.run([*kaigi, *args], cwd=work, env=_env(site), capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, (args, run.stdout[-1000:], run.stderr[-1000:])
    run = subprocess.run([sys.executable, "-c", script, str(db)], cwd=work, env=_env(site), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-2000:]
