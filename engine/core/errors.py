"""Domain errors: what was refused, why, under which rule, and who could do it.

An error carries a `Msg` (rendered in the reader's language by a face) and its `kind`;
it knows nothing of exit codes or HTTP statuses, which the faces map from `kind`.
`str(err)` is the English line, for logs.
"""

from typing import Any

from engine.i18n import Msg


class DomainError(Exception):
    """Root of the engine's refusals and failures."""

    kind = "error"

    def __init__(self, msg: Msg | str, *, rule: str | None = None, **params: Any) -> None:
        self.msg = msg if isinstance(msg, Msg) else Msg(msg, **params)
        self.rule = rule
        super().__init__(self.msg.render("en"))

    def render(self, lang: str = "en") -> str:
        """The one line a person reads: `not permitted: …` / `許可されません: …`."""
        return Msg(f"kind.{self.kind}", text=self.msg).render(lang)


class BadInput(DomainError):
    """An input that does not parse or is out of range."""

    kind = "bad_input"


class NotPermitted(DomainError):
    """The actor's roles at that time do not allow the act."""

    kind = "not_permitted"


class NotPossible(DomainError):
    """The item's state has no such step, or a precondition is unmet."""

    kind = "not_possible"


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    """Someone else changed it first; nothing was written."""

    kind = "conflict"


class IntegrityFailure(DomainError):
    """The log or the database was altered."""

    kind = "integrity"


class ReplayMismatch(IntegrityFailure):
    """An event cannot be folded, or re-deciding it gives another result."""


class Unavailable(DomainError):
    """The database cannot do it: not set up, read-only, refusing, unreachable."""

    kind = "unavailable"


class RulebookProblems(BadInput):
    """A rulebook that does not hold together; `problems` lists every one (file, key, expected)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("rulebook.invalid", first=problems[0] if problems else "-", more=max(len(problems) - 1, 0))
