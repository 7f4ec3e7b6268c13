"""Who may see what (R-R1): one rule, asked by every query of every face and file.

A viewer is a member at a time (the reader's). They see

- everything, if they hold a current post at the top body (the HQ: `World.hq()`);
- else their own bodies' items and meetings (agenda, minutes, outcomes, history), what
  became of their reports (an item taken from one of theirs, as an escalation takes a
  station's item into the HQ path: its state and outcome, never the HQ's other business),
  and the meetings they are called to (attendee or invited): those with their people and
  minutes (they sat there), but an agenda that lists only what they may see otherwise; an
  item's own page names the sittings that dealt with it and their outcome, nothing more;
- nothing, once all their posts have ended (or before the first starts).

What a viewer may not see is answered as absent: the same `NotFound` as an id nobody ever
used, so a refusal never tells that something exists. A read without a viewer is the
engine itself, or a database reader without a member (the auditor's role, R-I4): it sees
everything. The rule is pure: the caller passes the world and a way to look items up.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.core.errors import DomainError, NotFound
from engine.core.world import World

MAX_ID = 2**63 - 1  # the largest id either database holds (a signed 64-bit integer)


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
        top = w.hq()
    except DomainError:  # a database without its top body yet: nobody is at it
        top = None
    return Sight(login, top is not None and top in bodies, bodies)


def in_range(value: Any) -> bool:
    """An id either database can hold: 1..2**63-1 (larger ones overflow SQLite's driver)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def absent(key: str, value: Any) -> NotFound:
    """The answer for an id that is hidden, out of range, or never used: all three alike."""
    return NotFound(key, id=str(value)[:30])
