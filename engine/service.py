"""The service: each command is one transaction that reads, decides, appends and projects.

Flow of an act: snapshot what the user acts on (its version), then take the write lock
(the log head), re-read, decide with the pure code of `decide.py` under the rulebook in
force now, append the event and save what the fold (`state.apply`) changed. A refusal
raises inside the transaction, so nothing is written. If the snapshot's version moved
before the lock was ours, someone else changed the item first: Conflict, nothing written.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine import authority as au
from engine import decide
from engine.clock import Clock, SystemClock
from engine.errors import BadInput, Conflict, EngineError, NotFound, NotPermitted, NotPossible
from engine.rules import Rules
from engine.state import World, apply
from store import ConcurrencyConflict, EventRecord
from store.records import AssignmentRecord, BodyRecord, ItemRecord, MeetingRecord, MemberRecord, OrderRecord
from workflows import Rulebook

SYSTEM = "system"


@dataclass(frozen=True)
class Outcome:
    """What an act did (`event`), or with --dry-run what it would do (`draft`, nothing written)."""

    draft: decide.Draft
    event: EventRecord | None
    before: Any = None
    after: Any = None

    @property
    def dry_run(self) -> bool:
        return self.event is None


@dataclass(frozen=True)
class AdoptOutcome(Outcome):
    book: Any = None


class _DryRun(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


class StoreRoster:
    """The roster as the store holds it, read once per act."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._all: list[AssignmentRecord] | None = None

    def all_assignments(self) -> list[AssignmentRecord]:
        if self._all is None:
            self._all = self.store.assignments()
        return self._all

    def assignments_of(self, login: str) -> list[AssignmentRecord]:
        if self._all is not None:
            return [a for a in self._all if a.login == login]
        return self.store.assignments(login)  # type: ignore[no-any-return]


class Service:
    """Commands and queries over one kaigi database. `store` is a `store.sql.Store`."""

    def __init__(self, store: Any, clock: Clock | None = None,
                 before_write: Callable[[], None] | None = None) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.before_write = before_write
        self._rules: Rules | None = None

    # ------------------------------------------------------------ rules and people
    def rules(self) -> Rules:
        if self._rules is None:
            adopted = self.store.adoptions()
            if not adopted:
                raise NotFound("no rulebook adopted in this database; run `kaigi init`")
            self._rules = Rules.from_texts([(a.version, a.text) for a in adopted])
        return self._rules

    def book(self, at: dt.datetime | None = None) -> Rulebook:
        return self.rules().at(at or self.clock.now())

    def member(self, login: str) -> MemberRecord:
        m = self.store.member(login)
        if m is None:
            raise NotFound(f"no member {login!r}")
        return m  # type: ignore[no-any-return]

    def actor(self, login: str) -> MemberRecord:
        """The acting member; someone not on the roster may do nothing (exit 3)."""
        m = self.store.member(login)
        if m is None:
            raise NotPermitted(f"{login!r} is not on the roster; act as a member with --as LOGIN")
        return m  # type: ignore[no-any-return]

    def holdings(self, login: str, at: dt.datetime | None = None) -> list[au.Holding]:
        at = at or self.clock.now()
        return au.holdings(StoreRoster(self.store), self.book(at), login, at)

    _bodies: list[BodyRecord] | None = None

    def bodies(self) -> list[BodyRecord]:
        """The bodies, read once per act (they change only by their own events)."""
        if self._bodies is not None:
            return self._bodies
        return self.store.bodies()  # type: ignore[no-any-return]

    def body(self, name: str | None) -> BodyRecord:
        """A body by key or by its Japanese or English name; None is the HQ."""
        key = name or au.HQ
        for b in self.bodies():
            if key in (b.key, b.ja, b.en):
                return b
        known = ", ".join(b.key for b in self.bodies())
        raise NotFound(f"no body {key!r}; known: {known}")

    def body_kinds(self) -> dict[str, str]:
        return {b.key: b.kind for b in self.bodies()}

    # ------------------------------------------------------------ reads
    def item(self, item_id: int) -> ItemRecord:
        item = self.store.item(item_id)
        if item is None:
            raise NotFound(f"no item {item_id}")
        return item  # type: ignore[no-any-return]

    def meeting(self, meeting_id: int) -> MeetingRecord:
        m = self.store.meeting(meeting_id)
        if m is None:
            raise NotFound(f"no meeting {meeting_id}")
        return m  # type: ignore[no-any-return]

    def history(self, item_id: int) -> list[EventRecord]:
        """The item's events, and those of the items it was taken into (a station's report
        escalated to the HQ shows the HQ outcome here)."""
        self.item(item_id)
        events = list(self.store.events(item=item_id))
        for child in self.descendants(item_id):
            events += self.store.events(item=child.id)
        return sorted(events, key=lambda e: e.seq)

    def descendants(self, item_id: int) -> list[ItemRecord]:
        out, frontier = [], [item_id]
        while frontier:
            parent = frontier.pop()
            kids = self.store.items(origin=parent)
            out += kids
            frontier += [k.id for k in kids]
        return out

    # ------------------------------------------------------------ the act
    def _act(self, actor: str, build: Callable[[decide.Ctx, World], decide.Draft], *, dry_run: bool,
             snapshot: Callable[[], Any] | None = None, authority: str | None = None,
             about: tuple[int | None, int | None] = (None, None)) -> Outcome:
        seen = snapshot() if snapshot else None  # what the user acts on, before the lock (NotFound here)
        now = self.clock.now()
        self._bodies = None
        try:
            with self.store.act(self.before_write) as tx:
                now = self.clock.now()  # under the lock: event times follow the sequence
                if snapshot and snapshot() != seen:
                    raise Conflict("someone else changed it while you acted; nothing was written; "
                                   "look again and retry")
                self.actor(actor)
                if authority is not None and authority != actor:
                    self.member(authority)
                ctx = decide.Ctx(self.book(now), now, actor, authority or actor, StoreRoster(self.store))
                self._bodies = self.store.bodies()
                if ctx.authority != actor:  # R-A1: a clerk records a holder's act
                    clerk = au.holdings(ctx.roster, ctx.book, actor, now)
                    decide.may_record_for(ctx, clerk, self.store.delegations(clerk=actor))
                world = World()
                self._follow_ups: list[decide.Draft] = []
                draft = build(ctx, world)
                if dry_run:
                    raise _DryRun(Outcome(draft, None))
                event = tx.append(at=now, actor=actor, authority=ctx.authority, rulebook=ctx.book.version,
                                  type=draft.type, payload=draft.payload, item=draft.item, meeting=draft.meeting)
                changes = apply(world, event)
                for follow in self._follow_ups:  # consequences of the act, in its transaction
                    ev = tx.append(at=now, actor=actor, authority=ctx.authority, rulebook=ctx.book.version,
                                   type=follow.type, payload=follow.payload, item=follow.item, meeting=follow.meeting)
                    changes += apply(world, ev)
                tx.save_all(changes)
                self._plan_reminders(tx, ctx, changes)
        except _DryRun as dry:
            return dry.outcome
        except ConcurrencyConflict as err:
            self._log_refusal(actor, authority or actor, draft_name(build), Conflict(str(err)), about)
            raise Conflict(str(err)) from err
        except EngineError as err:
            self._log_refusal(actor, authority or actor, draft_name(build), err, about)
            if isinstance(err, (NotPermitted, NotPossible)) and not dry_run:
                self._keep_refusal(actor, authority or actor, draft_name(build), err, about, now)
            raise
        finally:
            self._bodies = None
        self._log_act(event, draft)
        return Outcome(draft, event)

    def _keep_refusal(self, actor: str, authority: str, act: str, err: EngineError,
                      about: tuple[int | None, int | None], now: dt.datetime) -> None:
        """A refused attempt is kept as an event that changes no state, so an auditor sees who
        tried what they were not allowed to. Best effort: failing to keep it must not hide
        the refusal itself."""
        try:
            version = self.book(now).version
            with self.store.act() as tx:
                tx.append(at=now, actor=actor, authority=authority, rulebook=version, type="ActRefused",
                          payload={"act": act, "kind": err.kind, "rule": err.rule, "reason": str(err)},
                          item=about[0], meeting=about[1])
        except Exception as exc:  # noqa: BLE001
            from engine.logs import get_logger

            get_logger().warning("refusal not kept", act=act, actor=actor, error=repr(exc))

    def _plan_reminders(self, tx: Any, ctx: decide.Ctx, changes: list[Any]) -> None:
        """Create, move or cancel the reminders of what this act touched, in its transaction."""
        from engine import reminders as rem

        items = {new.id for new, _ in changes if isinstance(new, ItemRecord)}
        items |= {new.item for new, _ in changes if isinstance(new, OrderRecord)}
        meetings = {new.id: new for new, _ in changes if isinstance(new, MeetingRecord)}
        for m in meetings.values():
            items |= set(m.items)
        if not items and not meetings:
            return
        kinds = self.body_kinds()
        latest = {new.id: new for new, _ in changes if isinstance(new, ItemRecord)}
        records = [latest.get(i) or self.item(i) for i in sorted(items)]
        needs_meetings = any(r.waits_state == it.state and (r.cancelled_by or r.starts)
                             for r in ctx.book.reminders for it in records)
        on_agenda = self.store.meetings_of_items(sorted(items), people=False) if needs_meetings else []
        wanted = []
        for item in records:
            wanted += rem.wanted_for_item(ctx.book, item, kinds[item.body], [m for m in on_agenda if item.id in m.items],
                                          self.store.orders(item=item.id))
        for m in meetings.values():
            wanted += rem.wanted_for_meeting(ctx.book, m)
        pending = self.store.reminders(items=sorted(items), meetings=sorted(meetings))
        if not wanted and not pending:
            return
        world = World(reminders={r.id: r for r in pending})
        drafts = rem.reconcile(wanted, pending, 0)
        if not drafts:
            return
        first = self.store.next_id("reminder") if any(d.type == "ReminderSet" for d in drafts) else 0
        for d in rem.reconcile(wanted, pending, first):
            ev = tx.append(at=ctx.now, actor=ctx.actor, authority=ctx.authority, rulebook=ctx.book.version,
                           type=d.type, payload=d.payload, item=d.item, meeting=d.meeting)
            tx.save_all(apply(world, ev))

    def _log_act(self, event: EventRecord, draft: decide.Draft) -> None:
        from engine.logs import get_logger

        p = event.payload
        get_logger().info("act", seq=event.seq, type=event.type, item=event.item, meeting=event.meeting,
                          trigger=p.get("trigger"), actor=event.actor, authority=event.authority,
                          **{"from": p.get("from"), "to": p.get("to")}, rule=draft.rule,
                          rulebook=event.rulebook)

    def _log_refusal(self, actor: str, authority: str, what: str, err: EngineError,
                     about: tuple[int | None, int | None]) -> None:
        from engine.logs import get_logger

        get_logger().info("refused", act=what, item=about[0], meeting=about[1], actor=actor, authority=authority,
                          kind=err.kind, rule=err.rule, reason=str(err))

    # ------------------------------------------------------------ items
    def file_item(self, actor: str, title: str, *, station: str | None = None, team: str | None = None,
                  note: str = "", dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            body = self.body(station)
            return decide.file_item(ctx, self._next_id("item"), title, body, team, note)
        return self._act(actor, build, dry_run=dry_run, authority=on_behalf_of)

    def advance(self, actor: str, item_id: int, trigger: str, *, meeting_id: int | None = None,
                note: str = "", dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        seen: list[ItemRecord] = []

        def snapshot() -> int:
            seen.append(self.item(item_id))
            return seen[-1].version

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            item = seen[-1]  # read under the lock by the snapshot check
            meeting = self.meeting(meeting_id) if meeting_id is not None else None
            world.items[item.id] = item
            if meeting is not None:
                world.meetings[meeting.id] = meeting
            kind = self.body_kinds()[item.body]
            draft = decide.advance(ctx, item, trigger, meeting, note, kind,
                                   open_orders=self.store.orders(item=item.id, status="open"))
            spec = ctx.book.transition(trigger, item.state, kind)
            if spec is not None and spec.spawns:
                new_id = self._next_id("item")
                draft = replace(draft, payload={**draft.payload, "spawned": new_id})
                self._follow_ups.append(decide.spawn(ctx, new_id, item, spec,
                                                     {b.key: b for b in self.store.bodies()}))
            return draft
        return self._act(actor, build, dry_run=dry_run, snapshot=snapshot, authority=on_behalf_of,
                         about=(item_id, meeting_id))

    # ------------------------------------------------------------ meetings
    def convene(self, actor: str, kind: str, starts_at: dt.datetime, *, items: list[int] = (),  # type: ignore[assignment]
                attendees: list[str] = (), invited: list[str] = (), station: str | None = None,  # type: ignore[assignment]
                dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            mk = decide.meeting_kind(ctx.book, kind)
            body = self.body(station) if station else self._meeting_body(ctx, mk.body)
            agenda = [self.item(i) for i in dict.fromkeys(items)]
            members = {m.login: m for m in self.store.members()}
            draft = decide.convene(ctx, self._next_id("meeting"), kind, body, starts_at, agenda,
                                   list(attendees), list(invited), members, self.body_kinds())
            self._table_on_convene(ctx, draft, agenda, world)
            return draft
        return self._act(actor, build, dry_run=dry_run, authority=on_behalf_of)

    def _table_on_convene(self, ctx: decide.Ctx, draft: decide.Draft, agenda: list[ItemRecord], world: World) -> None:
        """Edges fired by convening (a station council tables its items), as follow-up events."""
        from engine.state import parse_instant

        p = draft.payload
        meeting = MeetingRecord(id=draft.meeting or 0, kind=p["kind"], body=p["body"], convener=ctx.authority,
                                chair=p["chair"], starts_at=parse_instant(p["starts_at"]), status="convened", version=1,  # type: ignore[arg-type]
                                convened_at=ctx.now, attendees=tuple(p["attendees"]), invited=tuple(p["invited"]),
                                items=tuple(p["items"]))
        kinds = self.body_kinds()
        for item in agenda:
            for t in ctx.book.transitions_from(item.state, kinds[item.body]):
                if t.fired_by == "convene" and t.meeting == meeting.kind:
                    world.items[item.id] = item
                    self._follow_ups.append(decide.advance(ctx, item, t.trigger, meeting, "", kinds[item.body],
                                                           by_convening=True))

    def _meeting_body(self, ctx: decide.Ctx, kind: str) -> BodyRecord:
        if kind == "hq":
            return self.body(au.HQ)
        mine = sorted({h.body for h in ctx.held if self.body_kinds().get(h.body) == kind})
        if len(mine) != 1:
            raise BadInput(f"say which {kind} with --station NAME" + (f" (you hold roles at {', '.join(mine)})"
                                                                       if mine else ""))
        return self.body(mine[0])

    def hold(self, actor: str, meeting_id: int, *, present: list[str] = (),  # type: ignore[assignment]
             dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        self.meeting(meeting_id)

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            m = self.meeting(meeting_id)
            world.meetings[m.id] = m
            return decide.hold(ctx, m, list(present))
        return self._act(actor, build, dry_run=dry_run, snapshot=lambda: self.meeting(meeting_id).version,
                         authority=on_behalf_of, about=(None, meeting_id))

    def cancel(self, actor: str, meeting_id: int, *, reason: str = "", dry_run: bool = False,
               on_behalf_of: str | None = None) -> Outcome:
        self.meeting(meeting_id)

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            m = self.meeting(meeting_id)
            world.meetings[m.id] = m
            return decide.cancel(ctx, m, reason)
        return self._act(actor, build, dry_run=dry_run, snapshot=lambda: self.meeting(meeting_id).version,
                         authority=on_behalf_of, about=(None, meeting_id))

    # ------------------------------------------------------------ investigation orders (R-T5)
    def issue_order(self, actor: str, item_id: int, to: str, *, due_at: dt.datetime | None = None,
                    note: str = "", dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        self.item(item_id)

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            due = due_at
            if due is None:
                from engine import reminders as rem
                from engine.calendar import deadline

                rule = rem.rule_of(ctx.book, "investigation_order")
                due = deadline(ctx.now, rule.due if rule else 7, rule.unit if rule else "days",
                               ctx.book.office_closure)
            return decide.issue_order(ctx, self._next_id("order"), self.item(item_id), self.member(to), due, note)
        return self._act(actor, build, dry_run=dry_run, authority=on_behalf_of, about=(item_id, None))

    def order(self, order_id: int) -> Any:
        found = self.store.orders(ids=[order_id])
        if not found:
            raise NotFound(f"no order {order_id}")
        return found[0]

    def complete_order(self, actor: str, order_id: int, finding: str, *, dry_run: bool = False,
                       on_behalf_of: str | None = None) -> Outcome:
        return self._settle(actor, order_id, decide.complete_order, finding, dry_run, on_behalf_of)

    def waive_order(self, actor: str, order_id: int, reason: str, *, dry_run: bool = False,
                    on_behalf_of: str | None = None) -> Outcome:
        return self._settle(actor, order_id, decide.waive_order, reason, dry_run, on_behalf_of)

    def _settle(self, actor: str, order_id: int, settle: Callable[..., decide.Draft], text: str, dry_run: bool,
                on_behalf_of: str | None) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            o = self.order(order_id)
            world.orders[o.id] = o
            return settle(ctx, o, text, self.item(o.item))
        return self._act(actor, build, dry_run=dry_run, snapshot=lambda: self.order(order_id).version,
                         authority=on_behalf_of, about=(self.order(order_id).item, None))

    # ------------------------------------------------------------ delegation (R-A1)
    def delegate(self, actor: str, clerk: str, *, valid_until: dt.datetime, valid_from: dt.datetime | None = None,
                 dry_run: bool = False) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            return decide.delegate(ctx, self._next_id("delegation"), self.member(clerk), valid_from or ctx.now,
                                   valid_until)
        return self._act(actor, build, dry_run=dry_run)

    def end_delegation(self, actor: str, delegation_id: int, *, dry_run: bool = False) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            found = [d for d in self.store.delegations() if d.id == delegation_id]
            if not found:
                raise NotFound(f"no delegation {delegation_id}")
            world.delegations[delegation_id] = found[0]
            return decide.end_delegation(ctx, found[0], ctx.now)
        return self._act(actor, build, dry_run=dry_run)

    # ------------------------------------------------------------ the roster
    def add_member(self, actor: str, login: str, *, name: str, name_en: str = "", email: str | None = None,
                   lang: str = "ja", channel: str = "email", dry_run: bool = False) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            members = {m.login: m for m in self.store.members()}
            return decide.add_member(ctx, login, name, name_en, email, lang, channel, members)
        return self._act(actor, build, dry_run=dry_run)

    def assign(self, actor: str, login: str, position: str, *, station: str | None = None,
               team: str | None = None, valid_from: dt.datetime | None = None,
               valid_until: dt.datetime | None = None, dry_run: bool = False) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            return decide.assign(ctx, self._next_id("assignment"), self.member(login), position, self.body(station),
                                 team, valid_from or ctx.now, valid_until)
        return self._act(actor, build, dry_run=dry_run)

    def end_assignment(self, actor: str, assignment_id: int, *, at: dt.datetime | None = None,
                       dry_run: bool = False) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            found = [a for a in self.store.assignments() if a.id == assignment_id]
            if not found:
                raise NotFound(f"no assignment {assignment_id}")
            world.assignments[assignment_id] = found[0]
            return decide.end_assignment(ctx, found[0], self.body(found[0].body), at or ctx.now)
        return self._act(actor, build, dry_run=dry_run)

    # ------------------------------------------------------------ rulebook versions (R-V1)
    def adopt_rulebook(self, actor: str, text: str, source: str, *, dry_run: bool = False) -> Outcome:
        from workflows import parse_rulebook

        book = parse_rulebook(text, source)

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            return decide.adopt_rulebook(ctx, book, {a.version: a for a in self.store.adoptions()})
        out = self._act(actor, build, dry_run=dry_run)
        self._rules = None
        return AdoptOutcome(out.draft, out.event, book=book)

    def _next_id(self, table: str) -> int:
        return self.store.next_id(table)  # type: ignore[no-any-return]


def draft_name(build: Callable[..., Any]) -> str:
    return build.__qualname__.split(".")[1] if "." in build.__qualname__ else build.__qualname__
