"""Who may see what (R-R1), as a pure rule of the core: `engine.app.visibility` explains
it and re-exports it; deciders that depend on sight (printing a paper) ask it here."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.core.errors import DomainError
from engine.core.world import World


@dataclass(frozen=True)
class Sight:
    """What one viewer sees at one time: everything, or the bodies where they hold a post."""

    login: str | None
    everything: bool
    bodies: frozenset[str] = frozenset()

    def item(self, item: Any, parent: Callable[[int], Any]) -> bool:
        """`item` (a record or a card: `id`, `body`, `origin`) is theirs, or was taken from
        one of theirs; `parent(id)` looks up an item by id (None if there is none)."""
        if self.everything:
            return True
        seen: set[int] = set()
        current = item
        while current is not None and current.id not in seen:
            if current.body in self.bodies:
                return True
            seen.add(current.id)
            current = parent(current.origin) if current.origin is not None else None
        return False

    def meeting(self, meeting: Any) -> bool:
        """A meeting of one of their bodies, or one they are called to."""
        if self.everything:
            return True
        if not self.bodies:
            return False  # no current post: nothing, invitations included
        return meeting.body in self.bodies or self.login in meeting.attendees or self.login in meeting.invited


EVERYTHING = Sight(None, True)


def sight(w: World, login: str | None, at: dt.datetime) -> Sight:
    """The sight of `login` at `at`: their current posts decide it (a post is an assignment
    valid then). `None` is a reader without a member, who sees everything."""
    if login is None:
        return EVERYTHING
    bodies = frozenset(a.body for a in w.assignments_of(login) if a.valid_at(at))
    try:
        top = w.top()
    except DomainError:  # a database without its top body yet: nobody is at it
        top = None
    return Sight(login, top is not None and top in bodies, bodies)
