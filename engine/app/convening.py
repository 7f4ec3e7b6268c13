"""What a member may convene now, and with what: the choices of the convening form.

A form offers only what the rules accept (WEB.md, "Only what is possible is offered"), so
each choice is decided here by `engine.core.sittings.convene` itself on the reader's
snapshot, at the reader's time, nothing written: the kinds this member may call (and
for which body), the items such a meeting may take now, whom it calls as of right or may
call (grouped by role, with the rulebook's titles), and whom the convener may invite.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.app.offers import PLACEHOLDER_ID, _ctx, _passes
from engine.core import authority as au, sittings
from engine.core.decide import Ctx
from store.records import BodyRecord, ItemRecord
from workflows import MeetingKind, Rulebook


@dataclass
class KindOffer:
    """One kind of meeting a member may convene, at one body (a station's council names
    its station). `callable`: whom a meeting without members as of right may call (R-S2);
    the form ticks them all, as it ticks a kind's members."""

    kind: MeetingKind
    body: BodyRecord
    station: str | None  # the `station` field the form posts: a body below the top (None: the top)
    callable: list[str] = field(default_factory=list)


def _bodies(ctx: Ctx, kind: MeetingKind) -> list[BodyRecord]:
    kinds = ctx.world.body_kinds()
    if kind.body == ctx.book.top_kind:  # a meeting of the top body (the HQ's)
        return [ctx.world.body(None)]
    return [ctx.world.bodies[b] for b in sorted({h.body for h in ctx.held if kinds.get(h.body) == kind.body})]


def _may_call(ctx: Ctx, kind: MeetingKind, body: BodyRecord) -> list[str]:
    """Whom this kind calls at `body`: its members as of right and those it may call."""
    return au.holders(ctx.world, ctx.book, kind.members + kind.calls, body.key, ctx.now)


def kinds(q: Any, login: str) -> list[KindOffer]:
    """The kinds of meeting `login` may convene now, each decided by a dry convening with an
    empty agenda (with those it may call, for a kind that has no members of its own)."""
    ctx = _ctx(q, login)
    out = []
    for kind in ctx.book.meetings.values():
        for body in _bodies(ctx, kind):
            called = [x for x in _may_call(ctx, kind, body) if x != login] if kind.calls else []
            if _passes(sittings.convene, ctx, PLACEHOLDER_ID, kind.key, body, ctx.now, [], called, []):
                station = None if kind.body == ctx.book.top_kind else body.key
                out.append(KindOffer(kind, body, station, called))
    return out


def items(q: Any, login: str, offer: KindOffer) -> list[ItemRecord]:
    """The open items the viewer may see that such a meeting may take now: each one decided
    by a dry convening with it alone on the agenda (R-C3, R-T3, R-S1, R-P2)."""
    ctx = _ctx(q, login)
    book = ctx.book
    out = []
    for item in sorted(q.tx.items(), key=lambda i: i.id):
        if item.body != offer.body.key or not book.is_open(item.state) or not q.sees_item(item):
            continue
        if _passes(sittings.convene, ctx, PLACEHOLDER_ID, offer.kind.key, offer.body, ctx.now,
                   [item], offer.callable, []):
            out.append(item)
    return out


def groups(q: Any, offer: KindOffer, lang: str) -> list[dict[str, Any]]:
    """Whom the meeting calls, by role (the rulebook's titles), names not logins: its
    members as of right ticked (for a kind that calls, those it may call, R-S2)."""
    book: Rulebook = q.book()
    kind, seen = offer.kind, set()
    out = []
    for role in (*kind.members, *kind.calls):
        people = []
        for login in au.holders(q.w, book, (role,), offer.body.key, q.now):
            if login in seen:
                continue
            seen.add(login)
            people.append({"login": login, "name": q.name(login, lang), "ticked": True})
        if people:
            out.append({"role": role, "title": book.role_title(role).in_(lang), "people": people})
    return out


def guests(q: Any, login: str, offer: KindOffer, lang: str) -> list[dict[str, Any]]:
    """Whom `login` may invite (R-C4, R-T4, R-P2): empty unless they hold an inviting role;
    then everyone holding a post who is not called anyway, by role and body, each one
    decided by a dry convening with that invitation."""
    kind = offer.kind
    ctx = _ctx(q, login)
    if not kind.invite or ctx.holds(kind.invite, offer.body.key) is None:
        return []
    book: Rulebook = q.book()
    called = set(_may_call(ctx, kind, offer.body)) | {login}
    groups_: dict[tuple[str, str], dict[str, Any]] = {}
    for m in sorted(q.w.members.values(), key=lambda m: m.login):
        if m.login in called:
            continue
        held = au.holdings(q.w, book, m.login, q.now)
        if not held:
            continue
        if not _passes(sittings.convene, ctx, PLACEHOLDER_ID, kind.key, offer.body, ctx.now, [],
                       offer.callable, [m.login]):
            continue
        h = held[0]
        key = (h.role, h.body)
        if key not in groups_:
            groups_[key] = {"role": h.role, "title": f"{book.role_title(h.role).in_(lang)}"
                            f"（{q.body_name(h.body, lang)}）" if lang == "ja" else
                            f"{book.role_title(h.role).in_(lang)} ({q.body_name(h.body, lang)})", "people": []}
        groups_[key]["people"].append({"login": m.login, "name": q.name(m.login, lang), "ticked": False})
    order = list(book.roles)
    hq = q.w.top()
    keys = sorted(groups_, key=lambda rb: (rb[1] != hq, rb[1], order.index(rb[0]) if rb[0] in order else 99))
    return [groups_[key] for key in keys]


def soon(now: dt.datetime) -> dt.datetime:
    """A start the form proposes: the next whole hour, Japan time, a day ahead."""
    from engine.infra.timeutil import JST

    at = (now.astimezone(JST) + dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    return at
