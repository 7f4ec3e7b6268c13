"""The rulebooks kaigi enforces, as data, and the code that loads and checks them.

Pure: importing this package pulls in nothing but the standard library.
"""

__kaigi__ = "workflows"  # cli.py checks this mark: the top-level `workflows` is kaigi's own

from importlib import resources

from workflows.errors import NoVersionInForce, Problem, RulebookError, RulebookInvalid, UnknownVersion
from workflows.loader import load_rulebook, parse_rulebook
from workflows.rulebook import MeetingKind, Role, Rulebook, Title, TransitionDef

__all__ = [
    "MeetingKind",
    "NoVersionInForce",
    "Problem",
    "Role",
    "Rulebook",
    "RulebookError",
    "RulebookInvalid",
    "Title",
    "TransitionDef",
    "UnknownVersion",
    "bundled_rulebooks",
    "load_rulebook",
    "parse_rulebook",
]


# the book `kaigi init` starts a database on when it is given none (`--rulebook KEY` names another)
DEFAULT_KEY = "ibaraki-foreign-residents"


def bundled_rulebooks(key: str | None = DEFAULT_KEY) -> list[Rulebook]:
    """The versions of one rulebook shipped with kaigi (`key`; every book's for None), oldest
    first. Each organisation's book is its own line of versions: a database adopts one."""
    from workflows.versions import parsed  # parsed once a process, by text (init reads them twice)

    folder = resources.files("workflows") / "rulebooks"
    books = [parsed(f.read_text(encoding="utf-8"), f"workflows/rulebooks/{f.name}")
             for f in folder.iterdir() if f.name.endswith(".toml")]
    return sorted((b for b in books if key is None or b.key == key), key=lambda b: b.effective_from)


def bundled_organisations() -> list[str]:
    """The keys of the organisations whose rulebooks kaigi ships (`kaigi init --rulebook KEY`)."""
    return sorted({b.key for b in bundled_rulebooks(None)})


def bundled_book(key: str) -> list[Rulebook]:
    """Every bundled version of organisation `key`'s rulebook, oldest first; [] if none."""
    return bundled_rulebooks(key)


def demo_roster(key: str) -> str | None:
    """The text of organisation `key`'s sample roster (`workflows/demo/KEY.toml`), if kaigi
    ships one: what `kaigi init --demo` loads on a database of that book."""
    f = resources.files("workflows") / "demo" / f"{key}.toml"
    return f.read_text(encoding="utf-8") if f.is_file() else None
