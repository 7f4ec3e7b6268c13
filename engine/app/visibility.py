"""Who may see what (R-R1): one rule, asked by every query of every face and file.

A viewer is a member at a time (the reader's). They see

- everything, if they hold a current post at the top body (the HQ: `World.top()`);
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

from typing import Any, TypeGuard

from engine.core.errors import NotFound
from engine.core.sight import EVERYTHING as EVERYTHING, Sight as Sight, sight as sight  # the rule lives in the core

MAX_ID = 2**63 - 1  # the largest id either database holds (a signed 64-bit integer)


def in_range(value: Any) -> TypeGuard[int]:
    """An id either database can hold: 1..2**63-1 (larger ones overflow SQLite's driver)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def absent(key: str, value: Any) -> NotFound:
    """The answer for an id that is hidden, out of range, or never used: all three alike."""
    return NotFound(key, id=str(value)[:30])
