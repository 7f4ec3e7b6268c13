"""The layering of ARCHITECTURE.md: faces -> engine -> store, workflows; the core is pure;
each library has one importer; read commands stay light."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
FORBIDDEN = {
    "workflows": {"engine", "store", "cli", "web", "click", "sqlalchemy", "sqlmodel", "transitions"},
    "store": {"engine", "workflows", "cli", "web", "click", "transitions", "apscheduler"},
    "engine": {"cli", "web", "click", "fastapi", "sqlmodel", "sqlalchemy", "alembic", "store.sql", "store.tables"},
    "engine/core": {"engine.app", "engine.infra", "engine.reminders.dispatch", "engine.reminders.senders",
                    "engine.reminders.scheduler", "store.memory", "store.db", "os", "socket", "smtplib",
                    "apscheduler", "structlog"},
    "engine/reminders/plan.py": {"engine.app", "engine.infra", "store.db"},
    "cli.py": {"store", "workflows", "sqlalchemy", "sqlmodel", "psycopg", "sqlite3"},
    "web": {"store", "workflows", "sqlalchemy", "sqlmodel", "psycopg", "sqlite3"},
}
ONLY = {"transitions": ["engine/core/machine.py"], "apscheduler": ["engine/reminders/scheduler.py"],
        "smtplib": ["engine/reminders/senders.py"]}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def sources(place: str) -> list[Path]:
    p = ROOT / place
    if p.is_file():
        return [p]
    return [f for f in p.rglob("*.py") if "migrations" not in f.parts]


@pytest.mark.parametrize("place", sorted(FORBIDDEN))
def test_layers(place):
    bad = []
    for path in sources(place):
        for name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[place]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert [] == bad


@pytest.mark.parametrize("lib", sorted(ONLY))
def test_one_importer_per_library(lib):
    users = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/**/*.py")
                   if ".venv" not in p.parts and "tests" not in p.parts and "bench" not in p.parts
                   and any(n == lib or n.startswith(lib + ".") for n in imports(p)))
    assert ONLY[lib] == users


def test_schema_head_constant_is_alembics_head():
    """store.db reads the schema version without Alembic; its constant must be Alembic's head."""
    from store.db import SCHEMA_HEAD, migrations_head

    assert migrations_head() == SCHEMA_HEAD


def test_read_commands_import_no_heavy_modules_they_do_not_need(tmp_path):
    """`kaigi --help` imports no database or scheduling library; `item show` reads through
    the driver alone: no SQLAlchemy, SQLModel, Alembic, APScheduler, structlog or mail."""
    import subprocess
    import sys

    probe = ("import sys, runpy; sys.argv = ['kaigi'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print('MODULES', ' '.join(sorted(m for m in sys.modules)), file=sys.stderr)")
    db = f"sqlite:///{tmp_path}/k.db"
    subprocess.run([sys.executable, "-c", "from cli import main; main()", "--db", db, "init", "--demo"],
                   check=True, capture_output=True, cwd=ROOT)

    def modules(*args):
        out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT)
        line = [x for x in out.stderr.splitlines() if x.startswith("MODULES ")][-1]
        return {m.split(".")[0] for m in line.split()[1:]}

    heavy = {"sqlalchemy", "sqlmodel", "alembic", "apscheduler", "structlog", "smtplib", "pydantic"}
    assert not modules("--help") & (heavy | {"transitions", "sqlite3", "psycopg"})
    assert not modules("--db", db, "--as", "sato", "item", "show", "1") & (heavy | {"transitions"})
