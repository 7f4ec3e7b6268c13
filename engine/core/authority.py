"""Who holds which role, at a time, under a rulebook version: the one place that answers
"may this member, at this time, do this?".

A member holds a position for a period (the roster); the rulebook in force says which
role each position carries. So rotation and revision both change the answer, and both
are asked *at a time*. A role of the HQ's kind is held at the HQ body; a station's role
at that station.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from store.frozen import record
from store.records import AssignmentRecord, BodyRecord
from workflows import Rulebook


class Roster(Protocol):
    @property
    def bodies(self) -> Mapping[str, BodyRecord]: ...

    def assignments_of(self, login: str) -> list[AssignmentRecord]: ...

    def all_assignments(self) -> list[AssignmentRecord]: ...

    def body_kinds(self) -> dict[str, str]: ...


@record
class Holding:
    """A role held through a position in a body, by one assignment."""

    role: str
    body: str
    team: str | None
    position: str
    assignment: int


def holdings(roster: Roster, book: Rulebook, login: str, at: dt.datetime) -> list[Holding]:
    """The roles `login` holds at `at`, under `book`."""
    out = []
    for a in roster.assignments_of(login):
        if a.valid_at(at):
            pos = book.positions.get(a.position)
            if pos is not None:
                out.append(Holding(pos.role, a.body, a.team, a.position, a.id))
    return out


def body_for(roster: Roster, book: Rulebook, role: str, body: str) -> str:
    """Where a role is held when acting on something of `body`: a role of another kind of
    body than `body` (the HQ's, acting on a station's item) is held at the one body of its kind."""
    r = book.roles.get(role)
    kinds = roster.body_kinds()
    if r is None or kinds.get(body) == r.body:
        return body
    for key, kind in kinds.items():
        if kind == r.body:
            return key
    return body


def holds(roster: Roster, held: list[Holding], book: Rulebook, roles: tuple[str, ...] | list[str],
          body: str) -> str | None:
    """The first of `roles` held for `body`, or None."""
    for role in roles:
        where = body_for(roster, book, role, body)
        for h in held:
            if h.role == role and h.body == where:
                return role
    return None


def holders(roster: Roster, book: Rulebook, roles: tuple[str, ...] | list[str], body: str,
            at: dt.datetime) -> list[str]:
    """Logins holding any of `roles` for `body` at `at`, sorted."""
    found = set()
    by_body = getattr(roster, "assignments_at", None)
    for role in roles:
        if role not in book.roles:
            continue
        where = body_for(roster, book, role, body)
        pool = by_body(where) if by_body is not None else roster.all_assignments()
        for a in pool:
            pos = book.positions.get(a.position)
            if pos is not None and pos.role == role and a.body == where and a.valid_at(at):
                found.add(a.login)
    return sorted(found)
