"""Who a rung of a reminder goes to: whoever holds its roles when it is sent, at the
subject's own body (R-N2), the people of the meeting or order it names. One function,
asked by the dispatcher when it fires, by the views when they forecast, and by replay
when it re-decides a reminder that went out. Pure.
"""

import datetime as dt
from typing import Any

from engine.core import authority as au
from workflows import Rulebook
from workflows.rulebook import ReminderRule

PSEUDO = ("attendees", "ordered")


def subject_order(ident: str) -> int | None:
    """The order a reminder's identity names (`key/order:7/…`), if any."""
    subject = ident.split("/")[1] if ident.count("/") >= 2 else ""
    kind, _, value = subject.partition(":")
    return int(value) if kind == "order" and value.isdigit() else None


def rule_for(world: Any, book: Rulebook, key: str, planned_under: str | None = None) -> ReminderRule | None:
    """A planned reminder's rule: the one in force now, else the one it was planned under."""
    from engine.core.plan import rule_of

    rule = rule_of(book, key)
    if rule is None and planned_under is not None and planned_under in world.adoptions:
        rule = rule_of(world.version(planned_under), key)
    return rule


def roles_of(rule: ReminderRule, rung: int) -> tuple[str, ...]:
    return rule.recipients(rung) if 0 <= rung <= len(rule.escalate) else ()


def recipients(world: Any, book: Rulebook, rule: ReminderRule, rung: int, item: int | None, meeting: int | None,
               ident: str, at: dt.datetime) -> tuple[list[str], list[str]]:
    """(logins, vacant roles) for rung `rung`: the holders at `at`, sorted.

    A meeting's notice under a rule with `notify` goes to no one once the meeting has
    started (R-N5): a scheduler that reaches it late records it lapsed, and so does replay."""
    if rule.notify and meeting is not None and meeting in world.meetings \
            and at >= world.meetings[meeting].starts_at:
        return [], []
    roles = roles_of(rule, rung)
    body = None
    if item is not None and item in world.items:
        body = world.items[item].body
    elif meeting is not None and meeting in world.meetings:
        body = world.meetings[meeting].body
    who: set[str] = set()
    vacant: list[str] = []
    for role in roles:
        if role in PSEUDO:
            continue
        held = au.holders(world, book, [role], body, at) if body is not None and role in book.roles else []
        if not held:
            vacant.append(role)
        who |= set(held)
    if "attendees" in roles and meeting is not None and meeting in world.meetings:
        m = world.meetings[meeting]
        who |= set(m.attendees) | set(m.invited)
    if "ordered" in roles:
        order = subject_order(ident)
        if order is not None and order in world.orders:
            who.add(world.orders[order].to)
    return sorted(who), vacant
