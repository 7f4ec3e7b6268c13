"""The layering of STYLE.md: the engine never imports the CLI or SQL; the store knows no rules."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "workflows": {"engine", "store", "cli", "click", "sqlalchemy", "sqlmodel"},
    "store": {"engine", "workflows", "cli", "click", "transitions", "apscheduler"},
    "engine": {"cli", "click", "sqlmodel", "sqlalchemy", "store.sql", "store.db", "store.tables"},
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers(package):
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert [] == bad


def test_transitions_only_in_machine():
    users = [p.name for p in (ROOT / "engine").glob("*.py") if any(
        n == "transitions" or n.startswith("transitions.") for n in imports(p))]
    assert ["machine.py"] == users


def test_schema_head_constant_is_alembics_head():
    """store.db reads the schema version without Alembic; its constant must be Alembic's head."""
    from store.db import SCHEMA_HEAD, migrations_head

    assert migrations_head() == SCHEMA_HEAD


def test_read_commands_import_no_heavy_modules_they_do_not_need(tmp_path):
    """`kaigi --help` imports no database or scheduling library; `item show` no alembic,
    apscheduler, structlog or rich."""
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

    help_mods = modules("--help")
    assert not help_mods & {"sqlalchemy", "sqlmodel", "transitions", "apscheduler", "structlog", "rich", "alembic"}
    show_mods = modules("--db", db, "--as", "sato", "item", "show", "1")
    assert "sqlalchemy" in show_mods
    assert not show_mods & {"alembic", "apscheduler", "structlog", "rich", "smtplib"}
