"""Pure decisions: each command checks the rules and returns the event it would write.

Nothing here reads a clock, a database or settings: the caller passes the time, the
actor, whose authority they use, the roster and the rulebook in force. The live service
and the auditor's replay call these very functions, so replay re-decides every act with
the code that allowed it.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine import authority as au
from engine.errors import BadInput, NotFound, NotPermitted, NotPossible
from engine.machine import fire
from engine.timeutil import jst
from store.chain import instant
from store.records import BodyRecord, ItemRecord, MeetingRecord, MemberRecord
from workflows import MeetingKind, Rulebook, TransitionDef


@dataclass(frozen=True)
class Draft:
    """An event before it is appended: type, payload, what it is about, and why it was allowed."""

    type: str
    payload: dict[str, Any]
    item: int | None = None
    meeting: int | None = None
    rule: str | None = None


@dataclass
class Ctx:
    """Who acts, when, under which rules. `authority` differs from `actor` when a clerk records."""

    book: Rulebook
    now: dt.datetime
    actor: str
    authority: str
    roster: au.Roster
    _held: list[au.Holding] | None = field(default=None, repr=False)

    @property
    def held(self) -> list[au.Holding]:
        if self._held is None:
            self._held = au.holdings(self.roster, self.book, self.authority, self.now)
        return self._held

    def role(self, key: str) -> str:
        t = self.book.role_title(key)
        return f"{t.en} ({t.ja})"

    def roles(self, keys: tuple[str, ...] | list[str]) -> str:
        names = [self.role(k) for k in keys]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]

    def now_held_by(self, roles: tuple[str, ...] | list[str], body: str) -> str:
        who = au.holders(self.roster, self.book, roles, body, self.now)
        return f" (now: {', '.join(who)})" if who else " (nobody holds it now)"

    def refuse(self, what: str, roles: tuple[str, ...] | list[str], body: str, rule: str) -> NotPermitted:
        return NotPermitted(f"only the {self.roles(roles)} {what} ({rule}); you hold "
                            f"{au.describe(self.held)}{self.now_held_by(roles, body)}", rule=rule)


def meeting_kind(book: Rulebook, kind: str) -> MeetingKind:
    try:
        return book.meetings[kind]
    except KeyError:
        raise BadInput(f"no meeting kind {kind!r}; one of {', '.join(book.meetings)}") from None


def _a(title: str) -> str:
    return ("an " if title[:1] in "aeiou" or title.startswith("HQ") else "a ") + title


# ---------------------------------------------------------------- items
def file_item(ctx: Ctx, item_id: int, title: str, body: BodyRecord, team: str | None, note: str,
              origin: int | None = None) -> Draft:
    """File a new item in a body; any role holder of that body may (not a clerk in their own name)."""
    if not title.strip():
        raise BadInput("an item needs a title")
    if team is not None and team not in ctx.book.teams:
        raise BadInput(f"no team {team!r}; one of {', '.join(ctx.book.teams)}")
    own = [h for h in ctx.held if h.body == body.key
           and not ctx.book.roles[h.role].records_on_behalf_only]
    if not own:
        raise NotPermitted(f"only a member of {body.en} ({body.ja}) files items there; you hold "
                           f"{au.describe(ctx.held)}")
    payload = {"title": title.strip(), "body": body.key, "team": team, "note": note,
               "state": ctx.book.initial, "origin": origin}
    return Draft("ItemFiled", payload, item=item_id, rule="file")


def advance(ctx: Ctx, item: ItemRecord, trigger: str, meeting: MeetingRecord | None,
            note: str, body_kind: str, open_orders: list[Any] = (), by_convening: bool = False  # type: ignore[assignment]
            ) -> Draft:
    """Move an item along its path, in a held meeting or by a role's own act.

    `by_convening`: the step some edges take when their meeting is convened with the item
    on its agenda (a station council tables a station item); nobody fires those by hand.
    """
    book = ctx.book
    if trigger not in book.triggers:
        raise BadInput(f"no trigger {trigger!r}; one of {', '.join(book.triggers)}")
    if not book.is_open(item.state):
        raise NotPossible(f"item {item.id} is {item.state}; nothing more happens to it")
    chosen: list[TransitionDef] = []

    def check(spec: TransitionDef) -> bool:
        if spec.items != body_kind:
            return False
        if bool(spec.fired_by) != by_convening:
            raise NotPossible(f"`{trigger}` happens when a {spec.meeting} meeting is convened with item "
                              f"{item.id} on its agenda", rule=spec.rule)
        if spec.meeting is not None:
            _check_in_meeting(ctx, item, spec, meeting)
        else:
            _check_own_act(ctx, item, spec, meeting)
        _check_requires(item, spec, open_orders)
        chosen.append(spec)
        return True

    dest = fire(book, item.state, trigger, check, body_kind)
    spec = chosen[-1]
    payload: dict[str, Any] = {"trigger": trigger, "from": item.state, "to": dest, "note": note}
    if by_convening:
        payload["tabled"] = True  # put on the agenda; the meeting has yet to deal with it
    return Draft("ItemAdvanced", payload, item=item.id,
                 meeting=meeting.id if meeting is not None and spec.meeting else None, rule=spec.rule)


def _check_requires(item: ItemRecord, spec: TransitionDef, open_orders: list[Any]) -> None:
    if "orders_settled" in spec.requires and open_orders:
        o = open_orders[0]
        raise NotPossible(f"order {o.id} to {o.to} on item {item.id} is open (due {jst(o.due_at)}); "
                          f"the team leader completes it or the general manager waives it first (R-T5)",
                          rule="R-T5")


def spawn(ctx: Ctx, new_id: int, origin: ItemRecord, spec: TransitionDef, bodies: dict[str, BodyRecord]) -> Draft:
    """The new item an edge like `escalate` opens in another path, linked to its origin."""
    kind, _, state = (spec.spawns or "").partition(":")
    body = next(b for b in bodies.values() if b.kind == kind)
    return Draft("ItemFiled", {"title": origin.title, "body": body.key, "team": origin.team,
                               "note": f"from item {origin.id} ({origin.body})", "state": state,
                               "origin": origin.id}, item=new_id, rule=spec.rule)


def _check_in_meeting(ctx: Ctx, item: ItemRecord, spec: TransitionDef, meeting: MeetingRecord | None) -> None:
    kind = ctx.book.meetings[spec.meeting]  # type: ignore[index]
    if au.holds(ctx.held, ctx.book, kind.recorder_roles, item.body) is None:
        raise ctx.refuse(f"records `{spec.trigger}` in {_a(kind.title.en)} ({kind.title.ja})",
                         kind.recorder_roles, item.body, "R-C5" if kind.recorders else kind.rule)
    need = f"{_a(kind.title.en)} ({kind.title.ja})"
    if meeting is None:
        raise NotPossible(f"`{spec.trigger}` from {spec.source} needs a held {kind.title.en} ({kind.title.ja}) "
                          f"with item {item.id} on its agenda; give --meeting M", rule=spec.rule)
    if meeting.kind != kind.key:
        raise NotPossible(f"meeting {meeting.id} is {_a(ctx.book.meetings[meeting.kind].title.en)}; "
                          f"`{spec.trigger}` from {spec.source} needs {need}", rule=spec.rule)
    if meeting.body != item.body:
        raise NotPossible(f"meeting {meeting.id} sits for {meeting.body}; item {item.id} belongs to {item.body}")
    wanted = "convened" if spec.fired_by == "convene" else "held"
    if meeting.status != wanted:
        raise NotPossible(f"meeting {meeting.id} is {meeting.status}, not held; an item moves only in a "
                          f"meeting that sat (`kaigi meeting hold {meeting.id}`)", rule=spec.rule)
    if item.id not in meeting.items:
        raise NotPossible(f"item {item.id} is not on the agenda of meeting {meeting.id}", rule=spec.rule)
    if not spec.fired_by and meeting.held_at is not None and meeting.held_at < item.updated_at:
        raise NotPossible(f"meeting {meeting.id} sat {jst(meeting.held_at)}, before item {item.id} became "
                          f"{item.state}; it needs a sitting after that", rule=spec.rule)
    if item.id in meeting.outcomes:
        raise NotPossible(f"meeting {meeting.id} already recorded `{meeting.outcomes[item.id]}` for "
                          f"item {item.id}", rule=spec.rule)


def _check_own_act(ctx: Ctx, item: ItemRecord, spec: TransitionDef, meeting: MeetingRecord | None) -> None:
    if meeting is not None:
        raise NotPossible(f"`{spec.trigger}` is not done in a meeting; drop --meeting")
    if spec.filer and ctx.authority == item.filed_by:
        return
    if au.holds(ctx.held, ctx.book, spec.roles, item.body) is None:
        who = list(spec.roles)
        what = f"may `{spec.trigger}` an item in state {spec.source}"
        if spec.filer:
            what += " (besides whoever filed it)"
        raise ctx.refuse(what, who, item.body, spec.rule)


# ---------------------------------------------------------------- meetings
def convene(ctx: Ctx, meeting_id: int, kind_key: str, body: BodyRecord, starts_at: dt.datetime,
            items: list[ItemRecord], attendees: list[str], invited: list[str],
            members: dict[str, MemberRecord], body_kind_of: dict[str, str]) -> Draft:
    """Call a meeting: convener, attendees, invitations and agenda checked against the rules."""
    book = ctx.book
    kind = meeting_kind(book, kind_key)
    if body.kind != kind.body:
        raise BadInput(f"{_a(kind.title.en)} sits for a {kind.body} body; {body.key} is a {body.kind}")
    if au.holds(ctx.held, book, (kind.convener,), body.key) is None:
        raise ctx.refuse(f"convenes {_a(kind.title.en)} ({kind.title.ja})", (kind.convener,), body.key, kind.rule)
    called = _attendees(ctx, kind, body, attendees, members)
    guests = _invited(ctx, kind, body, invited, called, members)
    agenda = _agenda(ctx, kind, body, items, body_kind_of)
    payload = {"kind": kind.key, "body": body.key, "chair": ctx.authority, "starts_at": instant(starts_at),
               "attendees": called, "invited": guests, "items": agenda}
    return Draft("MeetingConvened", payload, meeting=meeting_id, rule=kind.rule)


def _attendees(ctx: Ctx, kind: MeetingKind, body: BodyRecord, asked: list[str],
               members: dict[str, MemberRecord]) -> list[str]:
    book = ctx.book
    if not kind.callable:  # R-C2, R-T2: the members attend as of right; --attendee only adds to them
        asked = au.holders(ctx.roster, book, kind.members, body.key, ctx.now) + list(asked)
    if kind.callable and not [a for a in asked if a != ctx.authority]:
        raise NotPossible(f"{_a(kind.title.en)} calls the {ctx.roles(kind.callable)} it needs: "
                          f"give them with --attendee ({kind.member_rule})", rule=kind.member_rule)
    allowed = kind.members + kind.callable
    out = {ctx.authority}
    for login in asked:
        if login not in members:
            raise NotFound(f"no member {login!r}")
        held = au.holdings(ctx.roster, book, login, ctx.now)
        if au.holds(held, book, allowed, body.key) is None:
            hint = (f"only the {ctx.roles(kind.invite)} may have non-members attend, with --invite"
                    if kind.invite else "no one else is called")
            raise NotPermitted(f"{login} ({au.describe(held)}) is not called to {_a(kind.title.en)} "
                               f"({kind.title.ja}): its attendees are the {ctx.roles(allowed)}; {hint} "
                               f"({kind.member_rule})", rule=kind.member_rule)
        out.add(login)
    return sorted(out)


def _invited(ctx: Ctx, kind: MeetingKind, body: BodyRecord, invited: list[str], called: list[str],
             members: dict[str, MemberRecord]) -> list[str]:
    if not invited:
        return []
    if not kind.invite:
        raise NotPermitted(f"no one but the {ctx.roles(kind.members + kind.callable)} is called to "
                           f"{_a(kind.title.en)} ({kind.title.ja}) ({kind.invite_rule})", rule=kind.invite_rule)
    if au.holds(ctx.held, ctx.book, kind.invite, body.key) is None:
        raise ctx.refuse(f"may have non-members attend {_a(kind.title.en)} ({kind.title.ja})",
                         kind.invite, body.key, kind.invite_rule)
    for login in invited:
        if login not in members:
            raise NotFound(f"no member {login!r}")
        if login in called:
            raise BadInput(f"{login} attends {_a(kind.title.en)} as a member; invite only non-members")
    return sorted(set(invited))


def _agenda(ctx: Ctx, kind: MeetingKind, body: BodyRecord, items: list[ItemRecord],
            body_kind_of: dict[str, str]) -> list[int]:
    out: list[int] = []
    for item in items:
        if item.body != body.key:
            raise NotPossible(f"item {item.id} belongs to {item.body}; {_a(kind.title.en)} of {body.key} "
                              f"cannot take it")
        here = [t for t in ctx.book.transitions_from(item.state, body_kind_of.get(item.body))
                if t.meeting == kind.key]
        if not here:
            needs = sorted({ctx.book.meetings[t.meeting].title.en
                            for t in ctx.book.transitions_from(item.state) if t.meeting})
            raise NotPossible(f"item {item.id} is {item.state}; {_a(kind.title.en)} can do nothing with it"
                              + (f" (it needs {_a(' or '.join(needs))})" if needs else ""))
        if item.id not in out:
            out.append(item.id)
    return out


def _may_record(ctx: Ctx, meeting: MeetingRecord, what: str) -> MeetingKind:
    kind = meeting_kind(ctx.book, meeting.kind)
    if au.holds(ctx.held, ctx.book, kind.recorder_roles, meeting.body) is None:
        raise ctx.refuse(f"{what} {_a(kind.title.en)} ({kind.title.ja})", kind.recorder_roles, meeting.body,
                         "R-C5" if kind.recorders else kind.rule)
    return kind


def hold(ctx: Ctx, meeting: MeetingRecord, present: list[str]) -> Draft:
    """Record that a convened meeting sat, and who was there (only those called)."""
    kind = _may_record(ctx, meeting, "records the sitting of")
    if meeting.status != "convened":
        raise NotPossible(f"meeting {meeting.id} is {meeting.status}; only a convened meeting can be held")
    if ctx.now < meeting.starts_at:
        raise NotPossible(f"meeting {meeting.id} starts {jst(meeting.starts_at)}; it cannot sit before then")
    called = set(meeting.attendees) | set(meeting.invited)
    there = set(present) if present else called
    strangers = sorted(there - called)
    if strangers:
        raise NotPermitted(f"{', '.join(strangers)} was not called to meeting {meeting.id}; its attendees are "
                           f"those convened and invited ({kind.member_rule}, {kind.invite_rule})",
                           rule=kind.member_rule)
    return Draft("MeetingHeld", {"present": sorted(there)}, meeting=meeting.id, rule=kind.rule)


def cancel(ctx: Ctx, meeting: MeetingRecord, reason: str) -> Draft:
    """Calling a sitting off is the convener's power (R-C3, R-T3, R-S1, R-P2), not the recorder's."""
    kind = meeting_kind(ctx.book, meeting.kind)
    if au.holds(ctx.held, ctx.book, (kind.convener,), meeting.body) is None:
        raise ctx.refuse(f"calls off {_a(kind.title.en)} ({kind.title.ja})", (kind.convener,), meeting.body, kind.rule)
    if meeting.status != "convened":
        raise NotPossible(f"meeting {meeting.id} is {meeting.status}; only a convened meeting can be cancelled")
    return Draft("MeetingCancelled", {"reason": reason}, meeting=meeting.id, rule=kind.rule)


# ---------------------------------------------------------------- the roster
def _may_organise(ctx: Ctx, body: BodyRecord, position: str | None = None) -> None:
    """R-P1: the chief organises the HQ; a station chief organises their own station HQ,
    except its head: who chiefs a station is the HQ chief's to say."""
    pw = ctx.book.powers
    if au.holds(ctx.held, ctx.book, pw.organise_hq, au.HQ):
        return
    head = position is not None and ctx.book.role_of(position) == pw.station_head
    if body.kind == "station" and not head and au.holds(ctx.held, ctx.book, pw.organise_station, body.key):
        return
    if head:
        raise ctx.refuse(f"appoints or removes the head of {body.en} ({body.ja})", pw.organise_hq, au.HQ, "R-P1")
    roles: tuple[str, ...] = pw.organise_hq if body.kind == "hq" else pw.organise_station + pw.organise_hq
    raise ctx.refuse(f"organises {body.en} ({body.ja})", roles, body.key, "R-P1")


def add_member(ctx: Ctx, login: str, name: str, name_en: str, email: str | None, lang: str, channel: str,
               members: dict[str, MemberRecord]) -> Draft:
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_.-]{1,63}", login):
        raise BadInput(f"a login is 2-64 lower-case letters, digits, '_', '.', '-'; got {login!r}")
    if login in members:
        raise BadInput(f"member {login!r} exists already")
    if lang not in ("ja", "en") or channel not in ("email", "outbox"):
        raise BadInput("lang is ja or en; channel is email or outbox")
    pw = ctx.book.powers
    if not (au.holds(ctx.held, ctx.book, pw.organise_hq, au.HQ)
            or any(h.role in pw.organise_station for h in ctx.held)):
        raise ctx.refuse("adds members to the roster", pw.organise_hq + pw.organise_station, au.HQ, "R-P1")
    return Draft("MemberAdded", {"login": login, "name": name, "name_en": name_en or name, "email": email,
                                 "lang": lang, "channel": channel}, rule="R-P1")


def assign(ctx: Ctx, assignment_id: int, member: MemberRecord, position: str, body: BodyRecord,
           team: str | None, valid_from: dt.datetime, valid_until: dt.datetime | None) -> Draft:
    """A member takes a position in a body for a period; its role comes from the rulebook."""
    book = ctx.book
    pos = book.positions.get(position)
    if pos is None:
        raise BadInput(f"no position {position!r}; one of {', '.join(book.positions)}")
    role = book.roles[pos.role]
    if role.body != body.kind:
        raise BadInput(f"{pos.title.en} ({pos.title.ja}) is a post of a {role.body} body; {body.key} is a {body.kind}")
    if team is not None and team not in book.teams:
        raise BadInput(f"no team {team!r}; one of {', '.join(book.teams)}")
    if valid_until is not None and valid_until <= valid_from:
        raise BadInput("an assignment must end after it starts")
    _may_organise(ctx, body, position)
    return Draft("RoleAssigned", {"id": assignment_id, "login": member.login, "position": position,
                                  "body": body.key, "team": team, "valid_from": instant(valid_from),
                                  "valid_until": instant(valid_until) if valid_until else None}, rule="R-P1")


def end_assignment(ctx: Ctx, assignment: Any, body: BodyRecord, at: dt.datetime) -> Draft:
    _may_organise(ctx, body, assignment.position)
    if at <= assignment.valid_from:
        raise BadInput(f"assignment {assignment.id} starts {instant(assignment.valid_from)}; it must end after that")
    if assignment.valid_until is not None and assignment.valid_until <= at:
        raise NotPossible(f"assignment {assignment.id} has ended already ({instant(assignment.valid_until)})")
    return Draft("AssignmentEnded", {"id": assignment.id, "valid_until": instant(at)}, rule="R-P1")


# ---------------------------------------------------------------- investigation orders (R-T5)
def issue_order(ctx: Ctx, order_id: int, item: ItemRecord, to: MemberRecord, due_at: dt.datetime,
                note: str) -> Draft:
    """The general manager orders a team leader to investigate an item in pre-review."""
    pw = ctx.book.powers
    if au.holds(ctx.held, ctx.book, pw.order, au.HQ) is None:
        raise ctx.refuse("orders team leaders to investigate", pw.order, au.HQ, "R-T5")
    held = au.holdings(ctx.roster, ctx.book, to.login, ctx.now)
    if au.holds(held, ctx.book, pw.ordered, au.HQ) is None:
        raise NotPermitted(f"orders go to team leaders ({ctx.roles(pw.ordered)}); {to.login} holds "
                           f"{au.describe(held)} (R-T5)", rule="R-T5")
    if item.state != pw.order_state:
        raise NotPossible(f"item {item.id} is {item.state}; orders are for items in pre-review, before "
                          f"the team-lead meeting (R-T5)", rule="R-T5")
    if due_at <= ctx.now:
        raise BadInput("an order's due time must be in the future")
    return Draft("OrderIssued", {"id": order_id, "to": to.login, "due_at": instant(due_at), "note": note},
                 item=item.id, rule="R-T5")


def complete_order(ctx: Ctx, order: Any, finding: str, item: ItemRecord | None = None) -> Draft:
    if ctx.authority != order.to:
        raise NotPermitted(f"only {order.to}, the team leader ordered, completes order {order.id} (R-T5)",
                           rule="R-T5")
    if order.status != "open":
        raise NotPossible(f"order {order.id} is {order.status}")
    if item is not None and not ctx.book.is_open(item.state):
        raise NotPossible(f"item {item.id} is {item.state}; its orders wait for nothing")
    if not finding.strip():
        raise BadInput("a completed order needs its finding (--finding TEXT)")
    return Draft("OrderCompleted", {"id": order.id, "finding": finding.strip()}, item=order.item, rule="R-T5")


def waive_order(ctx: Ctx, order: Any, reason: str, item: ItemRecord | None = None) -> Draft:
    if au.holds(ctx.held, ctx.book, ctx.book.powers.order, au.HQ) is None:
        raise ctx.refuse("waives an investigation order", ctx.book.powers.order, au.HQ, "R-T5")
    if order.status != "open":
        raise NotPossible(f"order {order.id} is {order.status}")
    if not reason.strip():
        raise BadInput("waiving an order needs a reason (--reason TEXT)")
    return Draft("OrderWaived", {"id": order.id, "reason": reason.strip()}, item=order.item, rule="R-T5")


# ---------------------------------------------------------------- the secretariat (R-A1)
def delegate(ctx: Ctx, delegation_id: int, clerk: MemberRecord, valid_from: dt.datetime,
             valid_until: dt.datetime) -> Draft:
    """A role holder lets a secretariat clerk record their acts, for a period."""
    if not [h for h in ctx.held if not ctx.book.roles[h.role].records_on_behalf_only]:
        raise NotPermitted(f"only a role holder delegates recording; you hold {au.describe(ctx.held)} (R-A1)",
                           rule="R-A1")
    held = au.holdings(ctx.roster, ctx.book, clerk.login, valid_from)
    if au.holds(held, ctx.book, ctx.book.clerk_roles, au.HQ) is None:
        raise NotPermitted(f"recording is delegated to a secretariat clerk ({ctx.roles(ctx.book.clerk_roles)}); "
                           f"{clerk.login} holds {au.describe(held)} (R-A1)", rule="R-A1")
    if valid_until <= valid_from:
        raise BadInput("a delegation must end after it starts")
    return Draft("RecordingDelegated", {"id": delegation_id, "clerk": clerk.login,
                                        "valid_from": instant(valid_from), "valid_until": instant(valid_until)},
                 rule="R-A1")


def end_delegation(ctx: Ctx, d: Any, at: dt.datetime) -> Draft:
    if ctx.authority != d.holder:
        raise NotPermitted(f"only {d.holder}, who delegated, ends delegation {d.id} (R-A1)", rule="R-A1")
    if d.valid_until is not None and d.valid_until <= at:
        raise NotPossible(f"delegation {d.id} has ended already")
    return Draft("DelegationEnded", {"id": d.id, "valid_until": instant(max(at, d.valid_from))}, rule="R-A1")


def may_record_for(ctx: Ctx, clerk_held: list[au.Holding], delegations: list[Any]) -> Any:
    """R-A1: a clerk records a holder's act only under a delegation valid now; returns it."""
    if au.holds(clerk_held, ctx.book, ctx.book.clerk_roles, au.HQ) is None:
        raise NotPermitted(f"only a secretariat clerk ({ctx.roles(ctx.book.clerk_roles)}) records on behalf of "
                           f"another; {ctx.actor} holds {au.describe(clerk_held)} (R-A1)", rule="R-A1")
    for d in delegations:
        if d.holder == ctx.authority and d.clerk == ctx.actor and d.valid_at(ctx.now):
            return d
    raise NotPermitted(f"{ctx.actor} has no delegation from {ctx.authority} valid now; "
                       f"{ctx.authority} delegates with `kaigi roster delegate {ctx.actor} --until WHEN` (R-A1)",
                       rule="R-A1")


# ---------------------------------------------------------------- rulebook versions (R-V1)
def adopt_rulebook(ctx: Ctx, book: Rulebook, adopted: dict[str, Any]) -> Draft:
    """The chief adopts a new version (a circular), in force from its effective date."""
    if au.holds(ctx.held, ctx.book, ctx.book.powers.adopt_rulebook, au.HQ) is None:
        raise ctx.refuse("adopts a rulebook version", ctx.book.powers.adopt_rulebook, au.HQ, "R-V1")
    if book.version in adopted:
        raise NotPossible(f"rulebook {book.version} is adopted already")
    return Draft("RulebookAdopted", {"version": book.version, "effective_from": book.effective_from.isoformat(),
                                     "sha256": book.sha256, "text": book.text}, rule="R-V1")
