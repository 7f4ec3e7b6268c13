"""Errors of the rulebook package: a rulebook that cannot be read or does not hold together.

`RulebookInvalid` carries *every* problem found, so an author fixes a file in one pass.
"""

from dataclasses import dataclass, field


class RulebookError(Exception):
    """Root of the rulebook errors."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a rulebook file: where (file, key path) and what was expected."""

    source: str
    key: str
    expected: str
    # a problem the checks can say in any language: `code` names its message (the catalog's
    # `rbcheck.<code>`, ja and en), `params` its words; `expected` is its English, as before
    code: str = field(default="", compare=False)
    params: dict[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.expected}"


class RulebookInvalid(RulebookError):
    """The rulebook has one or more problems; `problems` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "no problems"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"invalid rulebook: {first}{more}")

    def report(self) -> str:
        """All problems, one a line."""
        return "\n".join(str(p) for p in self.problems)


class UnknownVersion(RulebookError):
    """No bundled or adopted rulebook has that version."""

    def __init__(self, version: str, known: list[str]) -> None:
        self.version, self.known = version, known
        super().__init__(f"no rulebook version {version!r}; adopted: {', '.join(known) or 'none'}")


class NoVersionInForce(RulebookError):
    """No adopted version had taken effect at that time."""

    def __init__(self, when: object, first: object) -> None:
        self.when, self.first = when, first
        super().__init__(f"no rulebook was in force at {when} (the first takes effect {first or 'never'})")
