"""No key of the Ibaraki book is written in kaigi's code (issue 19): the engine reads its
organisation from the rulebook in force, so another organisation's book runs unchanged.

The bundled Ibaraki books' body-kind, role, state, meeting, position, team and pillar keys
must not appear as a quoted string literal in engine/, store/, web/ (Python and templates)
or cli.py. Comments and docstrings do not count (Python files are read as syntax trees).
"""

import ast
import re
from pathlib import Path

from workflows.loader import load_rulebook

ROOT = Path(__file__).resolve().parents[2]
BOOKS = sorted((ROOT / "workflows" / "rulebooks").glob("ibaraki-*.toml"))

# Words that are fixed contract names of kaigi's faces, not the book's keys read as such.
# Keep this tiny; each entry says why.
ALLOWED = {
    # `--station` (CLI.md), the `station` form field and query parameter (WEB.md) and the
    # API's `station` property name "a body below the top"; no code compares a body's kind to it.
    "station",
    # the delegations page's two lists, "given" and "received" (a direction, not the state).
    "received",
}

# Files still allowed to name a key: none (init founds the top body from the book).
KNOWN: set[Path] = set()


def _keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for path in BOOKS:
        book = load_rulebook(path)
        for what, table in (("body kind", book.body_kinds), ("role", book.roles), ("state", book.states),
                            ("meeting", book.meetings), ("position", book.positions), ("team", book.teams),
                            ("pillar", book.pillars)):
            for key in table:
                keys.setdefault(key, what)
    return keys


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}


def _python_hits(path: Path, keys: dict[str, str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                and node.value in keys and node.value not in ALLOWED:
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r} ({keys[node.value]})")
    return out


def _template_hits(path: Path, keys: dict[str, str]) -> list[str]:
    words = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    quoted = re.compile(rf"""(["'])({words})\1""")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for m in quoted.finditer(line):
            if m.group(2) not in ALLOWED:
                out.append(f"{path.relative_to(ROOT)}:{n}: {m.group(2)!r} ({keys[m.group(2)]})")
    return out


def _files() -> tuple[list[Path], list[Path]]:
    py = [ROOT / "cli.py"] + sorted(p for d in ("engine", "store", "web") for p in (ROOT / d).rglob("*.py"))
    html = sorted(p for d in ("engine", "store", "web") for p in (ROOT / d).rglob("*.html"))
    keep = [p for p in py if p.relative_to(ROOT) not in KNOWN]
    return keep, html


def test_the_bundled_books_have_keys_to_look_for():
    keys = _keys()
    assert len(BOOKS) >= 2
    assert {"hq", "station", "chief", "filed", "council", "somu"} <= set(keys)


def test_no_key_of_the_ibaraki_book_is_written_in_the_code():
    """Issue 19: the engine, store, faces and CLI name no body kind, role, state, meeting,
    position, team or pillar of the Ibaraki book; they read them from the rulebook."""
    keys = _keys()
    py, html = _files()
    hits = [h for p in py for h in _python_hits(p, keys)] + [h for p in html for h in _template_hits(p, keys)]
    assert hits == [], "the book's keys written in code:\n" + "\n".join(hits)


def test_the_scan_sees_a_literal_and_ignores_a_docstring(tmp_path):
    """The scan itself: a compared literal counts, a docstring or comment does not."""
    src = tmp_path / "x.py"
    src.write_text('"""The hq."""\n# "hq"\nif kind == "hq":\n    pass\n', encoding="utf-8")
    tree = ast.parse(src.read_text())
    skip = _docstrings(tree)
    found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in skip]
    assert found == ["hq"]
