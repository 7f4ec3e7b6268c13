"""What moves when a rulebook version takes effect: each open duty whose holder changes.

A duty is what waits on a role: an open item's next acts, a convened meeting's chair,
a pending reminder's next rung. Under the outgoing version one person held the role
through their post; under the incoming one the post may be renamed (its successor
holds the duty) or gone. Pure over a service's reads; used by `rulebook cutover`.
"""

import datetime as dt
from typing import Any

from engine import authority as au
from engine import reminders as rem
from engine.rules import Rules
from engine.service import Service, StoreRoster
from engine.timeutil import start_of_day_jst
from workflows import Rulebook


def _who(roster: Any, book: Rulebook, roles: list[str], body: str, at: dt.datetime) -> list[str]:
    return au.holders(roster, book, [r for r in roles if r in book.roles], body, at)


def _names(roster: Any, book: Rulebook, logins: list[str], at: dt.datetime) -> str:
    out = []
    for login in logins:
        posts = [book.positions[h.position].title.ja for h in au.holdings(roster, book, login, at)]
        out.append(f"{login} ({', '.join(posts)})" if posts else login)
    return ", ".join(out) or "nobody"


def moves(svc: Service, new: Rulebook, rules: Rules | None = None) -> list[dict[str, Any]]:
    """Each duty whose holders differ between the outgoing version and `new` at its cutover.

    `rules`: the versions to weigh `new` against (default: those adopted)."""
    rules = rules or svc.rules()
    at = start_of_day_jst(new.effective_from)
    before = at - dt.timedelta(microseconds=1)
    old = rules.at(before) if any(b.effective_from < new.effective_from for b in rules.books) else None
    if old is None:
        return []
    roster = StoreRoster(svc.store)
    kinds = svc.body_kinds()
    duties: list[tuple[str, list[str], str]] = []
    for item in svc.store.items():
        if not old.is_open(item.state):
            continue
        for t in old.transitions_from(item.state, kinds.get(item.body)):
            roles = list(old.meetings[t.meeting].recorder_roles) if t.meeting else list(t.roles)
            duties.append((f"item {item.id} ({item.state}): {t.trigger}", roles, item.body))
    for m in svc.store.meetings(status="convened"):
        kind = old.meetings.get(m.kind)
        if kind is not None:
            duties.append((f"meeting {m.id} ({m.kind}): chair and record", list(kind.recorder_roles), m.body))
    for r in svc.store.reminders():
        rule = rem.rule_of(old, r.key)
        if rule is not None and r.next_rung <= len(rule.escalate):
            duties.append((f"reminder {r.id} ({r.key}, rung {r.next_rung})", list(rule.recipients(r.next_rung)),
                           r.body))
    out = []
    for what, roles, body in duties:
        was, will = _who(roster, old, roles, body, before), _who(roster, new, roles, body, at)
        if was != will:
            out.append({"what": what, "roles": roles, "from": was, "to": will,
                        "from_posts": _names(roster, old, was, before), "to_posts": _names(roster, new, will, at),
                        "at": at.isoformat()})
    return out
