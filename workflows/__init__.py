"""The rulebooks kaigi enforces, as data, and the code that loads and checks them.

Pure: importing this package pulls in nothing but the standard library.
"""

__kaigi__ = "workflows"  # cli.py checks this mark: the top-level `workflows` is kaigi's own

from importlib import resources

from workflows.errors import NoVersionInForce, Problem, RulebookError, RulebookInvalid, UnknownVersion
from workflows.loader import load_rulebook, parse_rulebook
from workflows.rulebook import MeetingKind, Role, Rulebook, Title, TransitionDef

__all__ = ["MeetingKind", "Problem", "Role", "Rulebook", "RulebookError", "RulebookInvalid",
           "Title", "TransitionDef", "UnknownVersion", "NoVersionInForce", "bundled_rulebooks", "load_rulebook",
           "parse_rulebook"]


def bundled_rulebooks() -> list[Rulebook]:
    """The rulebook versions shipped with kaigi, oldest first."""
    folder = resources.files("workflows") / "rulebooks"
    books = [parse_rulebook(f.read_text(encoding="utf-8"), f"workflows/rulebooks/{f.name}")
             for f in folder.iterdir() if f.name.endswith(".toml")]
    return sorted(books, key=lambda b: b.effective_from)
