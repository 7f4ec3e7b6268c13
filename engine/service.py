"""The service: each command is one transaction that reads, decides, appends and projects.

Flow of an act: snapshot what the user acts on (its version), then take the write lock
(the log head), re-read, decide with the pure code of `decide.py` under the rulebook in
force now, append the event and save what the fold (`state.apply`) changed. A refusal
raises inside the transaction, so nothing is written. If the snapshot's version moved
before the lock was ours, someone else changed the item first: Conflict, nothing written.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import authority as au
from engine import decide
from engine.clock import Clock, SystemClock
from engine.errors import BadInput, Conflict, EngineError, NotFound, NotPermitted
from engine.rules import Rules
from engine.state import World, apply
from store import ConcurrencyConflict, EventRecord
from store.records import AssignmentRecord, BodyRecord, ItemRecord, MeetingRecord, MemberRecord
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

    def body(self, name: str | None) -> BodyRecord:
        """A body by key or by its Japanese or English name; None is the HQ."""
        key = name or au.HQ
        for b in self.store.bodies():
            if key in (b.key, b.ja, b.en):
                return b  # type: ignore[no-any-return]
        known = ", ".join(b.key for b in self.store.bodies())
        raise NotFound(f"no body {key!r}; known: {known}")

    def body_kinds(self) -> dict[str, str]:
        return {b.key: b.kind for b in self.store.bodies()}

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
        self.item(item_id)
        return self.store.events(item=item_id)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ the act
    def _act(self, actor: str, build: Callable[[decide.Ctx, World], decide.Draft], *, dry_run: bool,
             snapshot: Callable[[], Any] | None = None, authority: str | None = None) -> Outcome:
        self.actor(actor)
        seen = snapshot() if snapshot else None
        now = self.clock.now()
        try:
            with self.store.act(self.before_write) as tx:
                if snapshot and snapshot() != seen:
                    raise Conflict("someone else changed it while you acted; nothing was written; "
                                   "look again and retry")
                ctx = decide.Ctx(self.book(now), now, actor, authority or actor, StoreRoster(self.store))
                world = World()
                draft = build(ctx, world)
                if dry_run:
                    raise _DryRun(Outcome(draft, None))
                event = tx.append(at=now, actor=actor, authority=ctx.authority, rulebook=ctx.book.version,
                                  type=draft.type, payload=draft.payload, item=draft.item, meeting=draft.meeting)
                changes = apply(world, event)
                tx.save_all(changes)
                self._plan_reminders(tx, ctx, changes)
        except _DryRun as dry:
            return dry.outcome
        except ConcurrencyConflict as err:
            self._log_refusal(actor, draft_name(build), Conflict(str(err)))
            raise Conflict(str(err)) from err
        except EngineError as err:
            self._log_refusal(actor, draft_name(build), err)
            raise
        self._log_act(event, draft)
        return Outcome(draft, event)

    def _plan_reminders(self, tx: Any, ctx: decide.Ctx, changes: list[Any]) -> None:
        """Create, move or cancel the reminders of what this act touched, in its transaction."""
        from engine import reminders as rem

        items = {new.id for new, _ in changes if isinstance(new, ItemRecord)}
        meetings = {new.id: new for new, _ in changes if isinstance(new, MeetingRecord)}
        for m in meetings.values():
            items |= set(m.items)
        if not items and not meetings:
            return
        kinds = self.body_kinds()
        on_agenda = self.store.meetings_of_items(sorted(items))
        wanted = []
        for item in (self.item(i) for i in sorted(items)):
            wanted += rem.wanted_for_item(ctx.book, item, kinds[item.body], [m for m in on_agenda if item.id in m.items])
        for m in meetings.values():
            wanted += rem.wanted_for_meeting(ctx.book, m)
        pending = self.store.reminders(items=sorted(items), meetings=sorted(meetings))
        world = World(reminders={r.id: r for r in pending})
        for d in rem.reconcile(wanted, pending, self.store.next_id("reminder")):
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

    def _log_refusal(self, actor: str, what: str, err: EngineError) -> None:
        from engine.logs import get_logger

        get_logger().info("refused", act=what, actor=actor, kind=err.kind, rule=err.rule, reason=str(err))

    # ------------------------------------------------------------ items
    def file_item(self, actor: str, title: str, *, station: str | None = None, team: str | None = None,
                  note: str = "", dry_run: bool = False) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            body = self.body(station)
            return decide.file_item(ctx, self._next_id("item"), title, body, team, note)
        return self._act(actor, build, dry_run=dry_run)

    def advance(self, actor: str, item_id: int, trigger: str, *, meeting_id: int | None = None,
                note: str = "", dry_run: bool = False) -> Outcome:
        self.item(item_id)

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            item = self.item(item_id)
            meeting = self.meeting(meeting_id) if meeting_id is not None else None
            world.items[item.id] = item
            if meeting is not None:
                world.meetings[meeting.id] = meeting
            return decide.advance(ctx, item, trigger, meeting, note, self.body_kinds()[item.body])
        return self._act(actor, build, dry_run=dry_run, snapshot=lambda: self.item(item_id).version)

    # ------------------------------------------------------------ meetings
    def convene(self, actor: str, kind: str, starts_at: dt.datetime, *, items: list[int] = (),  # type: ignore[assignment]
                attendees: list[str] = (), invited: list[str] = (), station: str | None = None,  # type: ignore[assignment]
                dry_run: bool = False) -> Outcome:
        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            mk = decide.meeting_kind(ctx.book, kind)
            body = self.body(station) if station else self._meeting_body(ctx, mk.body)
            agenda = [self.item(i) for i in items]
            members = {m.login: m for m in self.store.members()}
            return decide.convene(ctx, self._next_id("meeting"), kind, body, starts_at, agenda,
                                  list(attendees), list(invited), members, self.body_kinds())
        return self._act(actor, build, dry_run=dry_run)

    def _meeting_body(self, ctx: decide.Ctx, kind: str) -> BodyRecord:
        if kind == "hq":
            return self.body(au.HQ)
        mine = sorted({h.body for h in ctx.held if self.body_kinds().get(h.body) == kind})
        if len(mine) != 1:
            raise BadInput(f"say which {kind} with --station NAME" + (f" (you hold roles at {', '.join(mine)})"
                                                                       if mine else ""))
        return self.body(mine[0])

    def hold(self, actor: str, meeting_id: int, *, present: list[str] = (),  # type: ignore[assignment]
             dry_run: bool = False) -> Outcome:
        self.meeting(meeting_id)

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            m = self.meeting(meeting_id)
            world.meetings[m.id] = m
            return decide.hold(ctx, m, list(present))
        return self._act(actor, build, dry_run=dry_run, snapshot=lambda: self.meeting(meeting_id).version)

    def cancel(self, actor: str, meeting_id: int, *, reason: str = "", dry_run: bool = False) -> Outcome:
        self.meeting(meeting_id)

        def build(ctx: decide.Ctx, world: World) -> decide.Draft:
            m = self.meeting(meeting_id)
            world.meetings[m.id] = m
            return decide.cancel(ctx, m, reason)
        return self._act(actor, build, dry_run=dry_run, snapshot=lambda: self.meeting(meeting_id).version)

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

    def _next_id(self, table: str) -> int:
        return self.store.next_id(table)  # type: ignore[no-any-return]


def draft_name(build: Callable[..., Any]) -> str:
    return build.__qualname__.split(".")[1] if "." in build.__qualname__ else build.__qualname__
