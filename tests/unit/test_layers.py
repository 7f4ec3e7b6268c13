"""The layering of ARCHITECTURE.md: faces -> engine -> store, workflows; the core is pure;
each library has one importer; read commands stay light; no module takes part in an import
circle; the layers import only downwards; each shared constant is defined in one module."""

import ast
import functools
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
    "cli.py": {"store", "workflows", "sqlalchemy", "sqlmodel", "psycopg", "sqlite3"},
    "web": {"store", "workflows", "sqlalchemy", "sqlmodel", "psycopg", "sqlite3"},
}
ONLY = {"transitions": ["engine/core/machine.py"], "apscheduler": ["engine/reminders/scheduler.py"],
        "smtplib": ["engine/reminders/senders.py"]}


@functools.cache
def tree(path: Path) -> ast.Module:
    """A source file's syntax tree, parsed once a run (the checks below read ~100 files ~7 times)."""
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache
def imports(path: Path) -> frozenset[str]:
    found = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return frozenset(found)


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
    from tests.conftest import T0, FrozenClock, make_svc

    db = f"sqlite:///{tmp_path}/k.db"
    make_svc(db, FrozenClock(T0)).store.close()  # the demo database (`init --demo` is the CLI tests')

    def modules(*args):
        out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT)
        line = [x for x in out.stderr.splitlines() if x.startswith("MODULES ")][-1]
        return {m.split(".")[0] for m in line.split()[1:]}

    heavy = {"sqlalchemy", "sqlmodel", "alembic", "apscheduler", "structlog", "smtplib", "pydantic"}
    assert not modules("--help") & (heavy | {"transitions", "sqlite3", "psycopg"})
    assert not modules("--db", db, "--as", "sato", "item", "show", "1") & (heavy | {"transitions"})


# ------------------------------------------------------------------ the import graph
# Every module of the code (migrations are frozen history), and what it imports, at any
# depth of the file: an import inside a function ties two modules as much as one at the top.
TOPS = ("engine", "store", "web", "workflows")


@functools.cache
def modules() -> dict[str, Path]:
    found = {"cli": ROOT / "cli.py"}
    for top in TOPS:
        for f in sources(top):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = f
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports (`from p import m` names the submodule m)."""
    mods = modules()

    def ours(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        out: set[str] = set()
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Import):
                out |= {m for a in node.names if (m := ours(a.name))}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                for a in node.names:
                    m = f"{base}.{a.name}" if f"{base}.{a.name}" in mods else ours(base)
                    if m:
                        out.add(m)
        out.discard(mod)
        edges[mod] = out
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_circles_are_found():
    """The detector itself: a circle through a function-level import counts."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    """No module of engine/, store/, web/, workflows/ or cli.py imports, even inside a
    function, a module that imports it back (web/app.py <-> api.py, pages.py was one)."""
    assert [] == circles(graph())


# Highest first: a module may import its own layer and those below it, never one above.
LAYERS = [
    ("faces", ("web", "cli")),
    ("app", ("engine.app", "engine.papers", "engine")),  # `engine` itself: the API a face opens
    ("reminders", ("engine.reminders",)),
    ("infra", ("engine.infra",)),
    ("core", ("engine.core",)),
    ("words", ("engine.i18n",)),
    ("rulebook", ("workflows",)),
    ("store", ("store",)),
]


def layer(mod: str) -> int:
    best, rank = "", -1
    for n, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or (mod.startswith(p + ".") and p != "engine")) and len(p) > len(best):
                best, rank = p, n
    assert rank >= 0, f"{mod} is in no layer"
    return rank


def test_layers_import_only_downwards():
    """web, cli.py -> engine.app -> engine.reminders -> engine.core -> workflows (and store's
    records): never the other way."""
    bad = [f"{a} ({LAYERS[layer(a)][0]}) imports {b} ({LAYERS[layer(b)][0]})"
           for a, out in sorted(graph().items()) for b in sorted(out) if layer(b) < layer(a)]
    assert [] == bad


@pytest.mark.parametrize("low, high", [
    ("store", "engine"), ("store", "workflows"), ("store", "web"), ("store", "cli"),
    ("workflows", "engine"), ("workflows", "store"),
    ("engine.core", "engine.reminders"), ("engine.core", "engine.app"), ("engine.core", "engine.infra"),
    ("engine.core", "engine.papers"),
    ("engine.reminders", "engine.app"), ("engine.reminders", "engine.papers"),
])
def test_no_tie_against_the_grain(low, high):
    """The ties the layering forbids by name (ARCHITECTURE.md): the core plans reminders
    itself (engine.core.plan), and the dispatcher gets what it needs from the application
    it is given, never by importing it."""
    inside = lambda mod, p: mod == p or mod.startswith(p + ".")  # noqa: E731
    bad = [f"{a} imports {b}" for a, out in sorted(graph().items()) if inside(a, low)
           for b in sorted(out) if inside(b, high)]
    assert [] == bad


# ------------------------------------------------------------------ constants, once
# name -> how many modules assign it: one, and everyone else imports it. UTC is the standard
# library's `datetime.UTC` (store and workflows share no module of ours), so none of ours.
ONCE = {"JST": 1, "UTC": 0, "SYSTEM": 1, "SCHEDULER": 1, "IDENTITIES": 1, "FIRST_YEAR": 1, "LAST_YEAR": 1,
        "LANGS": 1, "PLACEHOLDER_ID": 1}
ZONES = ("ZoneInfo('Asia/Tokyo')", "timezone(timedelta(hours=9)", "timezone.utc")


@functools.cache
def assignments() -> dict[str, set[str]]:
    """Name -> the modules that assign it (at any depth), and each time zone value bound
    to a name -> the modules that build it."""
    out: dict[str, set[str]] = {}
    for mod, path in modules().items():
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        out.setdefault(n.id, set()).add(mod)
            text = ast.unparse(value).replace("datetime.", "").replace("dt.", "")
            for zone in ZONES:
                if text == zone or (zone.startswith("timezone(") and text.startswith(zone)):  # a name bound to it
                    out.setdefault(zone, set()).add(mod)
    return out


@pytest.mark.parametrize("name", sorted(ONCE))
def test_each_constant_defined_once(name):
    where = sorted(assignments().get(name, ()))
    assert len(where) == ONCE[name], f"{name} is assigned in {where}"


@pytest.mark.parametrize("zone", ZONES)
def test_each_time_zone_built_once(zone):
    """Japan time is built in workflows/timezone.py alone; UTC is never rebuilt."""
    where = sorted(assignments().get(zone, ()))
    assert where == (["workflows.timezone"] if "Tokyo" in zone else []), where


def test_module_names_say_what_they_are():
    """One `accounts.py` was the web's passwords and tokens, the other the OS account; only
    each package's own `errors.py` shares a name."""
    names = [p.name for p in modules().values() if p.name not in ("__init__.py", "errors.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
