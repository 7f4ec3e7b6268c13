"""Engine errors. Each names the situation and carries the exit code CLI.md gives it.

Messages are one line: what was refused, why, and what would be allowed.
"""


class EngineError(Exception):
    """Root of the engine's refusals and failures."""

    exit_code = 1
    kind = "error"
    prefix = ""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        self.rule = rule
        super().__init__(f"{self.prefix}{message}")


class BadInput(EngineError):
    exit_code = 2
    kind = "bad_input"


class NotPermitted(EngineError):
    """The actor's roles at that time do not allow the act (exit 3)."""

    exit_code = 3
    kind = "not_permitted"
    prefix = "not permitted: "


class NotPossible(EngineError):
    """The item's state has no such trigger, or a precondition is unmet (exit 4)."""

    exit_code = 4
    kind = "not_possible"
    prefix = "not possible: "


class NotFound(EngineError):
    exit_code = 5
    kind = "not_found"
    prefix = "not found: "


class Conflict(EngineError):
    """Someone else changed it first; nothing was written (exit 6)."""

    exit_code = 6
    kind = "conflict"
    prefix = "conflict: "


class IntegrityFailure(EngineError):
    """The log or the database was altered (exit 7)."""

    exit_code = 7
    kind = "integrity"
    prefix = "integrity failure: "


class ReplayMismatch(IntegrityFailure):
    """An event cannot be folded, or re-deciding it gives another result."""
