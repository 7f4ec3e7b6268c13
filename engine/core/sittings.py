"""Pure decisions about meetings: convening, the agenda, sitting, calling off, minutes.

Who convenes and presides, who attends, who may invite, who keeps the agenda and the
minutes all come from the rulebook's meeting kinds (R-C2..R-C5, R-T2..R-T4, R-S1, R-S2,
R-P2, R-M1..R-M6). Like `decide`, nothing here reads a clock or a database.
"""

import datetime as dt
import hashlib

from engine.core import authority as au
from engine.core.decide import Ctx, advance, chairs, meeting_kind
from engine.core.errors import BadInput, NotFound, NotPermitted, NotPossible
from engine.core.events import (AgendaChanged, Event, MeetingCancelled, MeetingConvened, MeetingHeld,
                                MeetingMoved, MinutesApproved, MinutesRecorded)
from engine.core.text import line, prose  # `text` is the minutes' own name below
from engine.i18n import A, Msg, When
from store.records import BodyRecord, ItemRecord, MeetingRecord
from workflows import MeetingKind

MAX_ATTENDEES = 500
MAX_MINUTES = 200_000
MAX_PLACE = 200
MAX_MOVE_REASON = 500


def place_text(value: str) -> str:
    """Where a meeting sits (場所), read like a title (on the calendar, in the invitation):
    one line, trimmed, nothing that reorders or hides what is written (engine.core.text)."""
    return line(value.strip(), "place", MAX_PLACE)


def convene(ctx: Ctx, meeting_id: int, kind_key: str, body: BodyRecord, starts_at: dt.datetime,
            items: list[ItemRecord], attendees: list[str], invited: list[str], place: str = "") -> list[Event]:
    """Call a meeting: convener, attendees, invitations and agenda checked against the rules;
    `place`, where it sits, is a line of text. Items whose path moves when such a meeting is
    convened (a station council tables its items, R-P2) move in the same act."""
    book = ctx.book
    kind = meeting_kind(book, kind_key)
    place = place_text(place)
    if body.kind != kind.body:
        raise BadInput("meeting.wrong_body", meeting=A(kind.title), kind=kind.body, body=body.key, is_=body.kind)
    if ctx.holds((kind.convener,), body.key) is None:
        raise ctx.refuse(Msg("act.convene", meeting=A(kind.title)), (kind.convener,), body.key, kind.rule)
    if len(attendees) + len(invited) > MAX_ATTENDEES:
        raise BadInput("input.too_many", what="attendees", limit=MAX_ATTENDEES)
    called = _attendees(ctx, kind, body, attendees)
    guests = _invited(ctx, kind, body, invited, called)
    records = _agenda_items(ctx, kind, body, items)
    agenda = [i.id for i in records]
    convened = MeetingConvened(meeting=meeting_id, kind=kind.key, body=body.key, chair=ctx.authority,
                               starts_at=starts_at, attendees=tuple(called), invited=tuple(guests),
                               items=tuple(agenda), place=place)
    out: list[Event] = [convened]
    record = _as_convened(ctx, convened)
    for item in records:
        out += _tabling(ctx, item, record)
    return out


def _as_convened(ctx: Ctx, ev: MeetingConvened) -> MeetingRecord:
    """The meeting as it stands once convened, for the edges convening fires."""
    return MeetingRecord(id=ev.meeting, kind=ev.kind, body=ev.body, convener=ctx.authority, chair=ev.chair,
                         starts_at=ev.starts_at, status="convened", version=1, convened_at=ctx.now,
                         attendees=ev.attendees, invited=ev.invited, items=ev.items, place=ev.place)


def _tabling(ctx: Ctx, item: ItemRecord, meeting: MeetingRecord) -> list[Event]:
    kinds = ctx.world.body_kinds()
    for t in ctx.book.transitions_from(item.state, kinds[item.body]):
        if t.fired_by == "convene" and t.meeting == meeting.kind:
            return advance(ctx, item, t.trigger, meeting, "", by_convening=True)
    return []


def _attendees(ctx: Ctx, kind: MeetingKind, body: BodyRecord, asked: list[str]) -> list[str]:
    book, world = ctx.book, ctx.world
    if not kind.calls:  # R-C2, R-T2: the members attend as of right; --attendee only adds to them
        asked = au.holders(world, book, kind.members, body.key, ctx.now) + list(asked)
    elif not [a for a in asked if a != ctx.authority]:
        raise NotPossible("meeting.calls_needed", rule=kind.member_rule, meeting=A(kind.title),
                          roles=ctx.titles(kind.calls), rule_id=kind.member_rule)
    allowed = kind.members + kind.calls
    out = {ctx.authority}
    for login in asked:
        if login not in world.members:
            raise NotFound("member.none", login=login)
        held = au.holdings(world, book, login, ctx.now)
        if au.holds(world, held, book, allowed, body.key) is None:
            hint = Msg("meeting.invite_hint", roles=ctx.titles(kind.invite)) if kind.invite else Msg(
                "meeting.no_one_else")
            raise NotPermitted("meeting.not_called", rule=kind.member_rule, who=ctx.person(login),
                               held=ctx.held_text(held), meeting=A(kind.title), roles=ctx.titles(allowed),
                               hint=hint, rule_id=kind.member_rule)
        out.add(login)
    return sorted(out)


def _invited(ctx: Ctx, kind: MeetingKind, body: BodyRecord, invited: list[str], called: list[str]) -> list[str]:
    if not invited:
        return []
    if not kind.invite:
        raise NotPermitted("meeting.no_invitations", rule=kind.invite_rule, roles=ctx.titles(kind.members + kind.calls),
                           meeting=A(kind.title), rule_id=kind.invite_rule)
    if ctx.holds(kind.invite, body.key) is None:
        raise ctx.refuse(Msg("act.invite", meeting=A(kind.title)), kind.invite, body.key, kind.invite_rule)
    for login in invited:
        if login not in ctx.world.members:
            raise NotFound("member.none", login=login)
        if login in called:
            raise BadInput("meeting.invite_member", who=ctx.person(login), meeting=A(kind.title))
    return sorted(set(invited))


def _agenda_items(ctx: Ctx, kind: MeetingKind, body: BodyRecord, items: list[ItemRecord]) -> list[ItemRecord]:
    out: dict[int, ItemRecord] = {}
    for item in items:
        _fits(ctx, kind, body, item)
        out.setdefault(item.id, item)
    return list(out.values())


def _fits(ctx: Ctx, kind: MeetingKind, body: BodyRecord, item: ItemRecord) -> None:
    """An item may go before a meeting that can do something with it, of its own body."""
    book = ctx.book
    if item.body != body.key:
        raise NotPossible("agenda.other_body", item=item.id, item_body=item.body, meeting=A(kind.title),
                          body=body.key)
    kinds = ctx.world.body_kinds()
    here = [t for t in book.transitions_from(item.state, kinds.get(item.body)) if t.meeting == kind.key]
    if not here:
        # the meetings that can take it, of its own body's path, each titled in the reader's language
        needs = tuple(book.meetings[k].title for k in sorted(
            {t.meeting for t in book.transitions_from(item.state, kinds.get(item.body)) if t.meeting}))
        st = book.states.get(item.state)
        raise NotPossible("agenda.cannot_take", item=item.id, state=st.title if st else item.state,
                          meeting=A(kind.title),
                          needs=Msg("agenda.needs", meetings=needs) if needs else "")


# ---------------------------------------------------------------- the agenda (R-M3)
def change_agenda(ctx: Ctx, meeting: MeetingRecord, op: str, item: ItemRecord, position: int | None) -> list[Event]:
    """Add, remove or move an item on a convened meeting's agenda, before it starts (R-M3)."""
    kind = meeting_kind(ctx.book, meeting.kind)
    body = ctx.world.bodies[meeting.body]
    if ctx.holds(kind.agenda_roles, meeting.body) is None:
        raise ctx.refuse(Msg("act.agenda", meeting=A(kind.title)), kind.agenda_roles, meeting.body, "R-M3")
    if meeting.status != "convened":
        raise NotPossible("agenda.not_convened", rule="R-M3", id=meeting.id, status=meeting.status)
    if ctx.now >= meeting.starts_at:
        raise NotPossible("agenda.started", rule="R-M3", id=meeting.id, starts=When(meeting.starts_at))
    on = item.id in meeting.items
    if op == "add":
        if on:
            raise NotPossible("agenda.already_on", item=item.id, id=meeting.id)
        _fits(ctx, kind, body, item)
        at = len(meeting.items) if position is None else position - 1
    elif op in ("remove", "move"):
        if not on:
            raise NotPossible("step.not_on_agenda", item=item.id, id=meeting.id)
        if op == "remove" and _tabled_by(ctx, item, meeting):
            raise NotPossible("agenda.tabled", item=item.id, id=meeting.id)
        at = meeting.items.index(item.id) if op == "remove" or position is None else position - 1
    else:
        raise BadInput("agenda.op", op=op)
    size = len(meeting.items) + (op == "add")  # the places an item may take (a removed one had its own)
    if not 0 <= at <= max(size - 1, 0):
        raise BadInput("agenda.position", position=at + 1, size=max(size, 1))
    out: list[Event] = [AgendaChanged(meeting=meeting.id, item=item.id, op=op, position=at + 1)]
    if op == "add":
        out += _tabling(ctx, item, meeting)
    return out


def _tabled_by(ctx: Ctx, item: ItemRecord, meeting: MeetingRecord) -> bool:
    """An item this meeting tabled (a station item, R-P2) stays before it: no edge leads back."""
    return any(t.fired_by == "convene" and t.meeting == meeting.kind and t.dest == item.state
               for t in ctx.book.transitions if t.items == ctx.world.body_kinds()[item.body])


# ---------------------------------------------------------------- sitting
def _may_record(ctx: Ctx, meeting: MeetingRecord, act: str) -> MeetingKind:
    kind = meeting_kind(ctx.book, meeting.kind)
    if ctx.holds(kind.recorder_roles, meeting.body) is None:
        raise ctx.refuse(Msg(act, meeting=A(kind.title)), kind.recorder_roles, meeting.body,
                         "R-C5" if kind.recorders else kind.rule)
    return kind


def hold(ctx: Ctx, meeting: MeetingRecord, present: list[str], sat: dt.datetime | None = None) -> list[Event]:
    """Record that a convened meeting sat, who was there (only those called), and, if it is
    recorded after the fact, when it says it sat (R-M1, R-M5)."""
    kind = _may_record(ctx, meeting, "act.record_sitting")
    if meeting.status != "convened":
        raise NotPossible("sitting.not_convened", id=meeting.id, status=meeting.status)
    if ctx.now < meeting.starts_at:
        raise NotPossible("sitting.too_early", rule="R-M5", id=meeting.id, starts=When(meeting.starts_at))
    if sat is not None:
        if sat > ctx.now:
            raise NotPossible("sitting.sat_future", rule="R-M5", id=meeting.id, sat=When(sat))
        if sat < meeting.starts_at:
            raise NotPossible("sitting.sat_before_start", rule="R-M5", id=meeting.id, sat=When(sat),
                              starts=When(meeting.starts_at))
    presiding = set(chairs(ctx.world, meeting, sat or ctx.now)) if kind.chair_present else set()
    called = set(meeting.attendees) | set(meeting.invited) | presiding
    there = set(present) if present else called
    strangers = sorted(there - called)
    if strangers:
        raise NotPermitted("sitting.strangers", rule=kind.member_rule, who=ctx.people(strangers), id=meeting.id,
                           rules=f"{kind.member_rule}, {kind.invite_rule}")
    return [MeetingHeld(meeting=meeting.id, present=tuple(sorted(there)), sat_at=sat)]


def cancel(ctx: Ctx, meeting: MeetingRecord, reason: str) -> list[Event]:
    """Calling a sitting off is the convener's power (R-C3, R-T3, R-S1, R-P2), not the recorder's."""
    kind = meeting_kind(ctx.book, meeting.kind)
    reason = prose(reason, "reason", 2000, old=ctx.legacy_text)
    if ctx.holds((kind.convener,), meeting.body) is None:
        raise ctx.refuse(Msg("act.cancel", meeting=A(kind.title)), (kind.convener,), meeting.body, kind.rule)
    if meeting.status != "convened":
        raise NotPossible("meeting.cancel_not_convened", id=meeting.id, status=meeting.status)
    return [MeetingCancelled(meeting=meeting.id, reason=reason)]


def move(ctx: Ctx, meeting: MeetingRecord, starts_at: dt.datetime | None, place: str | None,
         reason: str = "") -> list[Event]:
    """Move a convened meeting that has not started to another time and/or place (R-M6):
    the convener's power, as calling it (R-C3, R-T3, R-S1, R-P2). `None` keeps the time or
    the place as it is; the new time lies ahead; something must change."""
    kind = meeting_kind(ctx.book, meeting.kind)
    new_place = meeting.place if place is None else place_text(place)
    reason = line(reason.strip(), "reason", MAX_MOVE_REASON)
    at = meeting.starts_at if starts_at is None else starts_at
    if at.tzinfo is None:
        raise BadInput("meeting.move_naive", id=meeting.id)
    if ctx.holds((kind.convener,), meeting.body) is None:
        raise ctx.refuse(Msg("act.move", meeting=A(kind.title)), (kind.convener,), meeting.body, kind.rule)
    if meeting.status != "convened":
        raise NotPossible("meeting.move_not_convened", rule="R-M6", id=meeting.id, status=meeting.status)
    if ctx.now >= meeting.starts_at:
        raise NotPossible("meeting.move_started", rule="R-M6", id=meeting.id, starts=When(meeting.starts_at))
    if at <= ctx.now:
        raise NotPossible("meeting.move_past", rule="R-M6", id=meeting.id, at=When(at))
    if at == meeting.starts_at and new_place == meeting.place:
        raise NotPossible("meeting.move_same", rule="R-M6", id=meeting.id)
    return [MeetingMoved(meeting=meeting.id, starts_at=at, place=new_place, reason=reason)]


# ---------------------------------------------------------------- minutes (R-M4)
def record_minutes(ctx: Ctx, meeting: MeetingRecord, text: str) -> list[Event]:
    """An entry of the minutes of a sitting, by whoever keeps its business (R-M4, R-C5)."""
    kind = meeting_kind(ctx.book, meeting.kind)
    text = prose(text, "minutes", MAX_MINUTES, required=True, old=ctx.legacy_text)
    if ctx.holds(kind.minutes_roles, meeting.body) is None:
        raise ctx.refuse(Msg("act.minutes", meeting=A(kind.title)), kind.minutes_roles, meeting.body, "R-M4")
    if meeting.status != "held":
        raise NotPossible("minutes.not_held", rule="R-M4", id=meeting.id, status=meeting.status)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return [MinutesRecorded(meeting=meeting.id, n=len(meeting.minutes) + 1, sha256=digest, text=text)]


def approve_minutes(ctx: Ctx, meeting: MeetingRecord, n: int | None) -> list[Event]:
    """The chair approves an entry; approved minutes do not change (R-M4)."""
    if ctx.authority != meeting.chair:
        raise NotPermitted("minutes.chair_only", rule="R-M4", id=meeting.id, chair=ctx.person(meeting.chair))
    if not meeting.minutes:
        raise NotPossible("minutes.none", rule="R-M4", id=meeting.id)
    n = meeting.minutes[-1].n if n is None else n
    entry = next((m for m in meeting.minutes if m.n == n), None)
    if entry is None:
        raise NotFound("minutes.no_entry", id=meeting.id, n=n)
    if entry.approved_by is not None:
        raise NotPossible("minutes.approved", rule="R-M4", id=meeting.id, n=n)
    return [MinutesApproved(meeting=meeting.id, n=n, sha256=entry.sha256)]


