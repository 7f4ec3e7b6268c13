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
