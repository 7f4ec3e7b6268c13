"""The roster, posts and delegations as a member may see and change them (R-P1, R-P4, R-A1).

What a page shows of the roster follows R-R1 kept simple: an HQ member sees every member
and post; a station's member sees the posts of their own station(s) and nothing of the
others'; a member whose posts have all ended sees nothing. `at` shows the roster as it
stood then (people rotate: R-V1): the posts valid at that time, titled by the rulebook in
force then.

What a member may change is decided as `engine.app.offers` decides it: by the pure
decisions `Kaigi.add_member`, `assign`, `end_assignment`, `delegate` and `end_delegation`
run (`engine.core.people`), on the reader's snapshot, at the reader's time, nothing
written. So a form is offered, and a select lists a choice, only if the act would pass.
"""

import datetime as dt
from typing import Any

from engine.app import visibility as vis
from engine.app.offers import PLACEHOLDER_ID, _passes
from engine.core import people
from engine.core.decide import Ctx
from engine.infra.timeutil import iso
from store.records import AssignmentRecord, DelegationRecord

PLACEHOLDER_LOGIN = "zz-placeholder-newcomer"  # a login nobody has: adding members is decided for it
DAY = dt.timedelta(days=1)


def _ctx(q: Any, login: str) -> Ctx:
    return Ctx(q.book(), q.now, login, login, q.w)


def _sees_body(q: Any, body: str) -> bool:
    return bool(q.sight.everything or body in q.sight.bodies)


# ---------------------------------------------------------------- what the viewer may see
def roster(q: Any, at: dt.datetime | None = None, lang: str = "en") -> list[dict[str, Any]]:
    """Members with their posts at `at` (default: now), as the reader's viewer may see them:
    everyone for the HQ, their own station's posts for a station's member. Each post names
    its position, body and team in words; members are named, sorted by their first post."""
    at = at or q.now
    book = q.book(at)
    out = []
    for m in q.w.members.values():
        posts = []
        for a in sorted(q.w.assignments_of(m.login), key=lambda a: a.valid_from):
            if not a.valid_at(at) or not _sees_body(q, a.body):
                continue
            pos = book.positions.get(a.position)
            team = book.teams.get(a.team) if a.team else None
            posts.append({"id": a.id, "position": a.position, "body": a.body,
                          "position_title": pos.title.in_(lang) if pos else a.position,
                          "role_title": book.role_title(pos.role).in_(lang) if pos else "",
                          "body_name": q.body_name(a.body, lang), "team": a.team,
                          "team_title": team.title.in_(lang) if team else None,
                          "valid_from": iso(a.valid_from), "valid_until": iso(a.valid_until)})
        if posts:
            out.append({"login": m.login, "name": q.name(m.login, lang), "posts": posts})
    order = sorted(q.w.bodies, key=lambda b: (not q.w.is_top(b), list(q.w.bodies).index(b)))  # the top body first
    return sorted(out, key=lambda r: (min(order.index(p["body"]) if p["body"] in order else 99 for p in r["posts"]),
                                      min(p["id"] for p in r["posts"])))


def assignment_record(q: Any, assignment_id: int) -> AssignmentRecord:
    """A post the viewer may see, or `NotFound` alike for one never made, out of range or
    of a body they do not see (R-R1)."""
    a = q.w.assignments.get(assignment_id) if vis.in_range(assignment_id) else None
    if a is None or not _sees_body(q, a.body):
        raise vis.absent("assignment.none", assignment_id)
    return a  # type: ignore[no-any-return]


def delegation_record(q: Any, delegation_id: int) -> DelegationRecord:
    """A delegation of the viewer's (given or received), or one an HQ member may see;
    anyone else's is absent (R-R1)."""
    d = q.w.delegations.get(delegation_id) if vis.in_range(delegation_id) else None
    if d is None or not (q.sight.everything or q.viewer in (d.holder, d.clerk)):
        raise vis.absent("delegation.none", delegation_id)
    return d  # type: ignore[no-any-return]


def delegations(q: Any, login: str, lang: str = "en") -> dict[str, list[dict[str, Any]]]:
    """`login`'s delegations: those they gave (to a clerk) and those they received, the
    current and future first, each saying whether `login` may end it now."""
    ctx = _ctx(q, login)
    given: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []
    for d in sorted(q.w.delegations.values(), key=lambda d: d.id, reverse=True):
        if login not in (d.holder, d.clerk):
            continue
        row = {"id": d.id, "holder": d.holder, "holder_name": q.name(d.holder, lang), "clerk": d.clerk,
               "clerk_name": q.name(d.clerk, lang), "valid_from": iso(d.valid_from),
               "valid_until": iso(d.valid_until),
               "current": d.valid_at(q.now), "over": d.valid_until is not None and d.valid_until <= q.now,
               "may_end": _passes(people.end_delegation, ctx, d, q.now)}
        (given if d.holder == login else received).append(row)
    return {"given": given, "received": received}


# ---------------------------------------------------------------- what the viewer may change
def may_add_members(q: Any, login: str) -> bool:
    """R-P1/R-P4: those who organise the HQ or a station HQ add members."""
    if PLACEHOLDER_LOGIN in q.w.members:
        return False
    ctx = _ctx(q, login)
    return _passes(lambda: people.add_member(ctx, PLACEHOLDER_LOGIN, "-", "", None, "ja", "email"))


def assignable(q: Any, login: str, lang: str = "en") -> list[dict[str, Any]]:
    """For each body `login` may organise now, the positions they may assign there (R-P1,
    R-P4 as the rulebook's powers say): `[{"body", "body_name", "kind", "positions":
    [{"key", "title"}], "teams": [...]}]`, empty when they organise nothing."""
    ctx = _ctx(q, login)
    book = ctx.book
    me = q.w.members.get(login)
    if me is None:
        return []
    out = []
    for body in sorted(q.w.bodies.values(), key=lambda b: b.kind != book.top_kind):  # the top body first
        positions = [{"key": key, "title": pos.title.in_(lang)} for key, pos in book.positions.items()
                     if book.roles[pos.role].body == body.kind
                     and _passes(people.assign, ctx, PLACEHOLDER_ID, me, key, body, None, q.now, None)]
        if positions:
            teams = [{"key": k, "title": tm.title.in_(lang)} for k, tm in book.teams.items()] if body.kind == book.top_kind else []
            out.append({"body": body.key, "body_name": q.body_name(body.key, lang), "kind": body.kind,
                        "positions": positions, "teams": teams})
    return out


def may_end(q: Any, login: str, a: AssignmentRecord) -> bool:
    """Whether `login` may end post `a` now (R-P1, R-P4), decided as the act decides it."""
    if a.valid_until is not None and a.valid_until <= q.now:
        return False
    ctx = _ctx(q, login)
    body = q.w.bodies.get(a.body)
    at = max(q.now, a.valid_from + dt.timedelta(seconds=1))
    return body is not None and _passes(lambda: people.end_assignment(ctx, a, body, at))


def clerks(q: Any, login: str, lang: str = "en") -> list[dict[str, Any]]:
    """The secretariat clerks `login` may delegate the recording of their acts to now
    (R-A1): empty for a clerk, or when there is none."""
    ctx = _ctx(q, login)
    out = []
    for m in q.w.members.values():
        if m.login != login and _passes(people.delegate, ctx, PLACEHOLDER_ID, m, q.now, q.now + DAY):
            out.append({"login": m.login, "name": q.name(m.login, lang)})
    return sorted(out, key=lambda c: c["name"])


def is_chief(q: Any, login: str) -> bool:
    """The chief (R-P1's organiser of the HQ): lists and revokes every member's token (R-I5)."""
    return people.is_chief(_ctx(q, login))


def assign_choices(q: Any, login: str, lang: str = "en") -> list[dict[str, Any]]:
    """The members an organiser may pick for a post: those on the roster they see, and those
    who hold no post now (a newcomer just added), by name."""
    seen = {r["login"] for r in roster(q, None, lang)}
    idle = {m for m in q.w.members if not any(a.valid_at(q.now) for a in q.w.assignments_of(m))}
    return sorted(({"login": x, "name": q.name(x, lang)} for x in seen | idle), key=lambda c: c["name"])

