"""Pure decisions about items: each checks the rules and returns the events an act writes.

Nothing here reads a clock, a database or settings: the caller passes the time, the
actor, whose authority they use, the world as it stands and the rulebook in force. The
live path and the auditor's replay call these very functions, so replay re-decides every
act with the code that allowed it. A refusal raises; the events returned are everything
the act writes (a spawned item, a tabled item included), in order.
"""

import datetime as dt
from dataclasses import dataclass, field

from engine.core import authority as au
from engine.core import text
from engine.core.errors import BadInput, NotPermitted, NotPossible
from engine.core.events import Event, ItemAdvanced, ItemFiled
from engine.core.machine import fire
from engine.core.world import World
from engine.i18n import A, Any_, Msg, Person, When
from store.records import ItemRecord, MeetingRecord
from store.records import BodyRecord
from workflows import MeetingKind, Rulebook, Title, TransitionDef

MAX_TITLE, MAX_NOTE = 300, 10_000


@dataclass
class Ctx:
    """Who acts, when, under which rules. `authority` differs from `actor` when a clerk records."""

    book: Rulebook
    now: dt.datetime
    actor: str
    authority: str
    world: World
    _held: list[au.Holding] | None = field(default=None, repr=False)
    # replay of an act recorded before this release's text rules (engine.core.text): judged by
    # the rule of its day, so an honest old log still verifies; every new act is judged strictly
    legacy_text: bool = False

    @property
    def held(self) -> list[au.Holding]:
        if self._held is None:
            self._held = au.holdings(self.world, self.book, self.authority, self.now)
        return self._held

    def holds(self, roles: tuple[str, ...] | list[str], body: str) -> str | None:
        return au.holds(self.world, self.held, self.book, roles, body)

    def titles(self, roles: tuple[str, ...] | list[str]) -> Any_:
        return Any_(tuple(self.book.role_title(r) for r in roles))

    def person(self, login: str) -> Person:
        m = self.world.members.get(login)
        return Person(login, m.name, m.name_en) if m else Person(login)

    def people(self, logins: list[str]) -> tuple[Person, ...]:
        return tuple(self.person(x) for x in logins)

    def held_text(self, held: list[au.Holding] | None = None) -> Msg:
        held = self.held if held is None else held
        return describe(self.world, self.book, held)

    def now_held_by(self, roles: tuple[str, ...] | list[str], body: str) -> Msg:
        who = au.holders(self.world, self.book, roles, body, self.now)
        return Msg("held.now", who=self.people(who)) if who else Msg("held.nobody")

    def refuse(self, act: Msg, roles: tuple[str, ...] | list[str], body: str, rule: str) -> NotPermitted:
        return NotPermitted("refuse.only", rule=rule, roles=self.titles(roles), act=act, rule_id=rule,
                            held=self.held_text(), now=self.now_held_by(roles, body))


def describe(world: World, book: Rulebook, held: list[au.Holding]) -> Msg:
    """What someone holds, for a refusal: `team leader (班長)`, or `no role`."""
    if not held:
        return Msg("held.none")
    kinds = world.body_kinds()
    parts: list[Title | Msg] = []
    for h in held:
        title = book.role_title(h.role)
        if kinds.get(h.body) == book.top_kind:  # a post at the top body goes without its body
            parts.append(title)
        else:
            b = world.bodies.get(h.body)
            parts.append(Msg("held.at", role=title, body=body_title(b) if b else h.body))
    return Msg("held.list", roles=tuple(dict.fromkeys(parts)))


def body_title(b: BodyRecord) -> Title:
    return Title(b.ja, b.en)


def meeting_kind(book: Rulebook, kind: str) -> MeetingKind:
    try:
        return book.meetings[kind]
    except KeyError:
        raise BadInput("meeting.no_kind", kind=kind, known=", ".join(book.meetings)) from None


def text_field(value: str, what: str, limit: int, required: bool = False, strip: bool = False) -> str:
    """A person's prose (a note, a reason): `engine.core.text.prose`, kept for callers of old."""
    return text.prose(value, what, limit, required=required, strip=strip)


# ---------------------------------------------------------------- filing
def file_item(ctx: Ctx, item_id: int, title: str, body: str, team: str | None, note: str,
              origin: int | None = None, pillars: tuple[str, ...] = ()) -> list[Event]:
    """File a new item in a body; any role holder of that body may (not a clerk in their own name).
    `pillars`: the pillars of 第3 it serves (R-X1), keys of the rulebook in force."""
    title = text.line(title, "title", MAX_TITLE, required=True, old=ctx.legacy_text)
    note = text.prose(note, "note", MAX_NOTE, old=ctx.legacy_text)
    if team is not None and team not in ctx.book.teams:
        raise BadInput("team.none", team=team, known=", ".join(ctx.book.teams))
    pillars = tuple(dict.fromkeys(pillars))
    for p in pillars:
        if p not in ctx.book.pillars:
            raise BadInput("pillar.none", pillar=p, known=", ".join(ctx.book.pillars) or "-")
    b = ctx.world.bodies[body]
    own = [h for h in ctx.held if h.body == b.key and not ctx.book.roles[h.role].records_on_behalf_only]
    if not own:
        raise NotPermitted("refuse.file", body=body_title(b), held=ctx.held_text())
    # an item begins where the rulebook says items of its body's kind begin (`start`)
    return [ItemFiled(item=item_id, title=title, body=b.key, team=team, note=note,
                      state=ctx.book.start_state(b.kind), origin=origin, pillars=pillars)]


# ---------------------------------------------------------------- advancing
def advance(ctx: Ctx, item: ItemRecord, trigger: str, meeting: MeetingRecord | None, note: str, *,
            by_convening: bool = False, spawn_id: int | None = None, document: str | None = None) -> list[Event]:
    """Move an item along its path, in a held meeting or by a role's own act.

    `by_convening`: the step some edges take when their meeting is convened (or has the
    item put on its agenda): a station council tables a station item; nobody fires those
    by hand. `spawn_id`: the id an edge like `escalate` gives the item it opens.
    """
    book = ctx.book
    note = text.prose(note, "note", MAX_NOTE, old=ctx.legacy_text)
    if trigger not in book.triggers:
        raise BadInput("step.no_trigger", trigger=trigger, known=", ".join(sorted(book.triggers)))
    if not book.is_open(item.state):
        raise NotPossible("item.final", id=item.id, state=_state(book, item.state))
    body_kind = ctx.world.body_kinds()[item.body]
    chosen: list[TransitionDef] = []

    def check(spec: TransitionDef) -> bool:
        if spec.items != body_kind:
            return False
        if bool(spec.fired_by) != by_convening:
            raise NotPossible("step.by_convening", rule=spec.rule, trigger=trigger,
                              meeting=A(book.meetings[spec.meeting].title) if spec.meeting else "", id=item.id)
        if spec.meeting is not None:
            _check_in_meeting(ctx, item, spec, meeting)
        else:
            _check_own_act(ctx, item, spec, meeting)
        _check_requires(ctx, item, spec)
        chosen.append(spec)
        return True

    dest = fire(book, item.state, trigger, check, body_kind)
    spec = chosen[-1]
    if spec.spawns and spawn_id is None:
        raise NotPossible("step.spawn_id", trigger=trigger)
    if document is not None and spec.meeting is None:
        raise BadInput("step.document_in_meeting", trigger=trigger)
    advanced = ItemAdvanced(item=item.id, meeting=meeting.id if meeting is not None and spec.meeting else None,
                            trigger=trigger, src=item.state, dest=dest, note=note, tabled=by_convening,
                            spawned=spawn_id if spec.spawns else None, document=document)
    out: list[Event] = [advanced]
    if spec.spawns:
        out.append(_spawn(ctx, spawn_id, item, spec))  # type: ignore[arg-type]
    return out


def _state(book: Rulebook, key: str) -> object:
    st = book.states.get(key)
    return st.title if st else key


def _check_requires(ctx: Ctx, item: ItemRecord, spec: TransitionDef) -> None:
    if "orders_settled" in spec.requires and item.orders:
        o = item.orders[0]
        raise NotPossible("order.still_open", rule="R-T5", id=o.id, to=ctx.person(o.to), item=item.id,
                          due=When(o.due_at))


def _spawn(ctx: Ctx, new_id: int, origin: ItemRecord, spec: TransitionDef) -> ItemFiled:
    """The new item an edge like `escalate` opens in another path, linked to its origin."""
    kind, _, state = (spec.spawns or "").partition(":")
    body = next(b for b in ctx.world.bodies.values() if b.kind == kind)
    return ItemFiled(item=new_id, title=origin.title, body=body.key, team=origin.team,
                     note=f"from item {origin.id} ({origin.body})", state=state, origin=origin.id,
                     pillars=origin.pillars)


def chairs(world: World, meeting: MeetingRecord, at: dt.datetime) -> list[str]:
    """Who presides a sitting at `at`: whoever holds the convening role then (R-C3, R-T3, R-S1,
    R-P2), which after a rotation or a revision is the successor of whoever convened it."""
    book = world.book(at)
    kind = book.meetings.get(meeting.kind)
    if kind is None:
        return [meeting.chair]
    return au.holders(world, book, (kind.convener,), meeting.body, at) or [meeting.chair]


def chair_was_present(world: World, meeting: MeetingRecord, sat: dt.datetime | None) -> bool:
    return meeting.chair in meeting.present or any(
        c in meeting.present for c in chairs(world, meeting, sat or meeting.starts_at))


def sat_at(meeting: MeetingRecord) -> dt.datetime | None:
    """When a sitting says it sat (R-M5): its own word if it gave one, else when it was recorded."""
    return meeting.sat_at or meeting.held_at


def _check_in_meeting(ctx: Ctx, item: ItemRecord, spec: TransitionDef, meeting: MeetingRecord | None) -> None:
    book = ctx.book
    kind = book.meetings[spec.meeting]  # type: ignore[index]
    if ctx.holds(kind.recorder_roles, item.body) is None:
        raise ctx.refuse(Msg("act.record_step", trigger=spec.trigger, meeting=A(kind.title)),
                         kind.recorder_roles, item.body, "R-C5" if kind.recorders else kind.rule)
    if meeting is None:
        raise NotPossible("step.needs_meeting", rule=spec.rule, trigger=spec.trigger,
                          src=_state(book, spec.source), meeting=kind.title, id=item.id)
    if meeting.kind != kind.key:
        raise NotPossible("step.wrong_kind", rule=spec.rule, id=meeting.id,
                          is_a=A(book.meetings[meeting.kind].title) if meeting.kind in book.meetings else meeting.kind,
                          trigger=spec.trigger, src=_state(book, spec.source), needs=A(kind.title))
    if meeting.body != item.body:
        raise NotPossible("step.other_body", id=meeting.id, body=meeting.body, item=item.id, item_body=item.body)
    wanted = "convened" if spec.fired_by == "convene" else "held"
    if meeting.status != wanted:
        raise NotPossible("step.not_held", rule=spec.rule, id=meeting.id, status=meeting.status)
    if item.id not in meeting.items:
        raise NotPossible("step.not_on_agenda", rule=spec.rule, item=item.id, id=meeting.id)
    if spec.fired_by:
        return
    sat = sat_at(meeting)
    if sat is not None and sat < item.updated_at:  # R-M5: a sitting acts on what was before it
        raise NotPossible("step.sat_before", rule="R-M5", id=meeting.id, sat=When(sat), item=item.id,
                          state=_state(book, item.state))
    if item.id in meeting.outcomes:
        raise NotPossible("step.already", rule=spec.rule, id=meeting.id, outcome=meeting.outcomes[item.id],
                          item=item.id)
    if kind.chair_present and not chair_was_present(ctx.world, meeting, sat):  # R-C3, R-T3, R-M1
        raise NotPossible("sitting.chair_absent", rule="R-M1", id=meeting.id, chair=ctx.person(meeting.chair),
                          meeting=A(kind.title))
    if kind.recorder_present and ctx.authority not in meeting.present:  # R-M2
        raise NotPermitted("sitting.recorder_absent", rule="R-M2", id=meeting.id, who=ctx.person(ctx.authority))


def _check_own_act(ctx: Ctx, item: ItemRecord, spec: TransitionDef, meeting: MeetingRecord | None) -> None:
    if meeting is not None:
        raise NotPossible("step.no_meeting_needed", trigger=spec.trigger)
    if spec.filer and ctx.authority == item.filed_by:
        return
    if ctx.holds(spec.roles, item.body) is None:
        act = Msg("act.own_step_filer" if spec.filer else "act.own_step", trigger=spec.trigger,
                  state=_state(ctx.book, spec.source))
        raise ctx.refuse(act, list(spec.roles), item.body, spec.rule)
