"""Who holds which role, at a time, under a rulebook version: the one place that answers
"may this member, at this time, do this?".

A member holds a position for a period (the roster); the rulebook in force says which
role each position carries. So rotation and revision both change the answer, and both
are asked *at a time*.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from store.records import AssignmentRecord
from workflows import Rulebook

HQ = "hq"  # the key of the promotion HQ body; `kaigi init` creates it


class Roster(Protocol):
    def assignments_of(self, login: str) -> list[AssignmentRecord]: ...

    def all_assignments(self) -> list[AssignmentRecord]: ...


@dataclass(frozen=True, slots=True)
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
        role = book.role_of(a.position)
        if role is not None and a.valid_at(at):
            out.append(Holding(role, a.body, a.team, a.position, a.id))
    return out


def body_for(book: Rulebook, role: str, body: str) -> str:
    """Where a role is held when acting on something of `body`: HQ roles are held at the HQ."""
    r = book.roles.get(role)
    return HQ if r is not None and r.body == "hq" else body


def holds(held: list[Holding], book: Rulebook, roles: tuple[str, ...] | list[str], body: str) -> str | None:
    """The first of `roles` held for `body`, or None."""
    for role in roles:
        where = body_for(book, role, body)
        if any(h.role == role and h.body == where for h in held):
            return role
    return None


def holders(roster: Roster, book: Rulebook, roles: tuple[str, ...] | list[str], body: str,
            at: dt.datetime) -> list[str]:
    """Logins holding any of `roles` for `body` at `at`, sorted."""
    found = set()
    for a in roster.all_assignments():
        role = book.role_of(a.position)
        if role in roles and a.body == body_for(book, role, body) and a.valid_at(at):
            found.add(a.login)
    return sorted(found)


def describe(held: list[Holding]) -> str:
    """What someone holds, for a refusal: `team_leader` or `no role`."""
    names = sorted({h.role if h.body == HQ else f"{h.role}@{h.body}" for h in held})
    return ", ".join(names) if names else "no role"
