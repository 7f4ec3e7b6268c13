"""The application: every command a face may give, each one transaction.

An act: open a write transaction (the log's head is ours), take the roster and rules
from a shared snapshot (good until an event changes them), read what the act needs,
decide with the pure code of `engine.core` under the rulebook in force at the
transaction's time, append exactly the events the decision returned, fold them (the
projections, planned reminders included, follow) and save what changed. A refusal
raises before anything is written; it is then kept as an `ActRefused` event of its own.
`dry_run` does all of that and rolls back.

Where the store says reading under the head costs (PostgreSQL: every read is a round trip
while every other writer waits), the reads come first, outside the head (issue 21): the
act is decided once on a read snapshot, the store noting what that decision read (its
records, the largest ids it asked, the roster mark). Then the head is taken and, in the
same round trip, the store checks that none of it changed. If so the act decides again
under the head from those very records, with the time the head was taken (the witness's
stamp: a decision never uses a time other than the act's own), without reading anything
again; if anything changed, it decides again from fresh reads under the head, as it
always did. Either way the events appended were decided under the head, on what the log
held then, at the act's time; what moved out is only the waiting for reads.

`Kaigi` holds no per-request state: the snapshot is immutable and replaced whole, so one
instance serves the threads of a web server.
"""

import datetime as dt
import functools
import inspect
import threading
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from engine.app import testhooks
from engine.app.visibility import MAX_ID
from engine.core import authority as au, decide, people, sittings, text
from engine.core.decide import Ctx
from engine.core.errors import BadInput, Conflict, DomainError, IntegrityFailure, NotFound, NotPermitted, NotPossible
from engine.core.events import ActRefused, Event
from engine.core.fold import Changes, Stamp, apply
from engine.core.identity import SYSTEM, Actor
from engine.core.world import Lazy, World
from engine.i18n import Msg
from engine.infra.logs import act_logged
from store.ports import Act, Reads, Store
from store.frozen import record as frozen_record
from store.records import DocumentRecord, EventRecord, ItemRecord, MeetingRecord, NewEvent, ReadSet

if TYPE_CHECKING:
    from engine.app.guard import Guarded
    from engine.papers import Paper

P = ParamSpec("P")
R = TypeVar("R")
Build = Callable[[Ctx, Act], list[Event]]


def usable_text(name: str, value: Any) -> None:
    """A command's argument `name`: every text in it (a key, a title, each login of a list,
    the acting member's login) must be text the store and the log can hold (no lone
    surrogate, no NUL: `engine.core.text.usable`), else a refusal naming the character."""
    if isinstance(value, str):
        text.usable(value, name)
    elif isinstance(value, Actor):
        text.usable(value.login, "actor")
    elif isinstance(value, (list, tuple)):
        for v in value:
            if isinstance(v, str):
                text.usable(v, name)


def checked(method: Callable[P, R]) -> Callable[P, R]:
    """A command of `Kaigi` whose text arguments are checked (`usable_text`) before anything
    is opened: for every face, so a face cannot forget it (an undecodable station crashed
    JSON rendering, a NUL filter made PostgreSQL refuse: HTTP 500 and 503)."""
    sig = inspect.signature(method)
    names = [p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    params = sig.parameters
    usable = text.usable

    @functools.wraps(method)
    def run(*args: P.args, **kw: P.kwargs) -> R:
        # what sig.bind(...) would name, without building a BoundArguments for every act
        # (bench/advance.py: it was a tenth of the application's own CPU per act)
        if len(args) > len(names) or (kw and any(k not in params for k in kw)):
            sig.bind(*args, **kw)  # the TypeError a wrong call deserves
        for name, value in zip(names, args, strict=False):
            kind = type(value)
            if kind is str:
                usable(value, name)  # type: ignore[arg-type]
            elif kind is not int and value is not None and name != "self":
                usable_text(name, value)  # a document is (name, bytes): its name is checked
        if kw:
            for name, value in kw.items():
                usable_text(name, value)
        return method(*args, **kw)
    return run


@frozen_record  # a frozen dataclass with the cheap constructor (store.frozen): one per act
class Outcome:
    """What an act wrote (or, with `dry_run`, would write): its events as recorded and as
    decided, the rule that allowed it, and the records it left behind."""

    records: tuple[EventRecord, ...]
    facts: tuple[Event, ...]
    dry_run: bool
    items: dict[int, ItemRecord] = field(default_factory=dict)
    meetings: dict[int, MeetingRecord] = field(default_factory=dict)

    @property
    def event(self) -> EventRecord:
        return self.records[0]

    @property
    def fact(self) -> Any:
        return self.facts[0]


class Kaigi:
    """One kaigi database, its commands and its queries. Build it with `engine.open`."""

    def __init__(self, store: "Store | Guarded", *, training: bool | None = None, mail_domain: str = "kaigi.local") -> None:
        from engine.app.guard import Guarded

        self.store = store if isinstance(store, Guarded) else Guarded(store)
        self.mail_domain = mail_domain
        self._snap: tuple[int, World] | None = None
        self._lock = threading.Lock()
        self._training = training

    # ------------------------------------------------------------ the roster and rules, cached
    def snapshot(self, tx: Reads) -> World:
        """The roster, bodies, delegations and adopted rulebooks as of this transaction."""
        head = tx.head()
        snap = self._snap
        if snap is not None and snap[0] == head.roster_seq and head.roster_seq:
            return snap[1]
        bodies, members, assignments, delegations, adoptions = tx.roster()
        w = World(bodies={b.key: b for b in bodies}, members={m.login: m for m in members},
                  assignments={a.id: a for a in assignments}, delegations={d.id: d for d in delegations},
                  adoptions={a.version: a for a in adoptions})
        if adoptions:
            w.rules  # noqa: B018 (parse the rulebooks once, here)
        w.assignments_of("")
        w.body_kinds()
        self._snap = (head.roster_seq, w)
        return w

    def world(self, tx: Reads) -> World:
        """An act's view: the snapshot's roster (copy on write), records loaded on first use."""
        w = self.snapshot(tx).snapshot_copy()
        w.items = Lazy(tx.item)
        w.meetings = Lazy(tx.meeting)
        w.orders = Lazy(lambda i: next(iter(tx.orders(ids=[i])), None))
        return w

    def training(self, tx: Reads | None = None) -> bool:
        """A training database takes names on trust (R-I1); anything not made real is one."""
        if self._training is None:
            if tx is None:
                with self.store.read() as tx_:
                    return self.training(tx_)
            self._training = tx.meta("mode") != "real"
        return self._training

    def now(self) -> dt.datetime:
        """The time as this database's acts will see it (a test's clock, else the host's), for
        a face reading what people type ("now", a bare date) the way acts will judge it."""
        clock = getattr(self.store, "clock", None)
        return clock() if clock is not None else dt.datetime.now(dt.UTC)

    # ------------------------------------------------------------ who is acting (R-I1)
    @checked
    def authenticate(self, claimed: str | None = None, tx: Reads | None = None) -> Actor:
        """The member this process acts as. A training database takes `claimed` (else the OS
        account) on trust. A real one asks the witness: PostgreSQL's authenticated role, or on
        SQLite the OS account running kaigi; `claimed` may only name that member."""
        from engine.infra.os_account import os_account

        if tx is None:
            with self.store.read() as tx_:
                return self.authenticate(claimed, tx_)
        if self.training(tx):
            return Actor(claimed or os_account(), "training")
        role = tx.session_role()
        members = self.snapshot(tx).members
        how, account = ("db", role) if role is not None else ("os", os_account())
        bound = sorted(m.login for m in members.values()
                       if ((m.db_role if how == "db" else m.os_user) or m.login) == account)
        if claimed is not None and claimed in bound:
            return Actor(claimed, how, via=account)
        if not bound:
            raise NotPermitted(f"identity.unbound_{how}", rule="R-I1", who=account)
        if claimed is not None:
            raise NotPermitted(f"identity.as_refused_{how}", rule="R-I1", who=account, member=", ".join(bound))
        if len(bound) > 1:
            raise BadInput(f"identity.ambiguous_{how}", who=account, members=", ".join(bound))
        return Actor(bound[0], how, via=account)

    @checked
    def web_actor(self, login: str) -> Actor:
        """The member a web sign-in vouched for (a password, a token, a trusted proxy, or the
        training menu); on PostgreSQL the server then acts as their database role."""
        return self.web_member(login)[0]

    @checked
    def web_member(self, login: str, tx: Reads | None = None) -> tuple[Actor, str]:
        """`web_actor` and the member's own language, from one look at the roster (inside `tx`
        when the face holds one already: a web request resolves its member once)."""
        if tx is None:
            with self.store.read() as tx_:
                return self.web_member(login, tx_)
        w = self.snapshot(tx)
        m = w.members.get(login)
        if m is None:
            raise NotPermitted("actor.not_on_roster", login=login)
        if not self._holds_post(w, login):
            raise NotPermitted("actor.no_post", rule="R-I6", login=login)
        if self.training(tx):
            return Actor(login, "training"), m.lang
        return Actor(login, "web", via=m.db_role or m.login), m.lang

    def holds_post(self, login: str, tx: Reads | None = None) -> bool:
        """Whether `login` holds a post now. A member whose posts have all ended keeps no web
        session and no API token (R-I6): the faces ask this on every request."""
        if tx is None:
            with self.store.read() as tx_:
                return self.holds_post(login, tx_)
        return self._holds_post(self.snapshot(tx), login)

    def _holds_post(self, w: World, login: str) -> bool:
        now = self.now()
        try:
            book = w.book(now)
        except DomainError:
            return False
        return bool(au.holdings(w, book, login, now))

    # ------------------------------------------------------------ the auditor's anchors
    def checkpoint(self, sign_with: str | None = None, snapshot: bool = False) -> dict[str, Any]:
        """The head as `SEQ:HASH`, or with `sign_with` (a private key file) a signed statement
        of it (engine.app.checkpoints), to be kept outside the database. With `snapshot`, the
        whole log is verified first and the state it replays to at the head is kept
        (`out["snapshot"]`, canonical bytes) and signed by its sha256: a later
        `audit verify --since` resumes from it. A log that does not verify is not signed."""
        from engine.app import audit, checkpoints
        from engine.app.guard import translated
        from engine.core.snapshot import digest_of as snapshots_digest

        key = checkpoints.load_private(sign_with) if sign_with else None
        with self.store.read() as tx:
            h, log, now = tx.head(), tx.meta("log_id"), tx.now
        out: dict[str, Any] = {"seq": h.seq, "hash": h.hash, "checkpoint": f"{h.seq}:{h.hash}"}
        if key is not None:
            if log is None:
                raise NotPossible("checkpoint.no_log_id")
            if not snapshot:
                out["signed"] = checkpoints.sign(log, h.seq, h.hash, h.at, now, key)
                return out
            with translated():
                v = audit.verify(self.store, snapshot=True)
            if not v.ok or v.snapshot is None:
                raise IntegrityFailure("snapshot.not_verified", seq=v.first_bad_seq or "-",
                                       problem=v.problem or Msg("snapshot.empty"))
            (seq, digest), data = v.head, v.snapshot
            out.update(seq=seq, hash=digest, checkpoint=f"{seq}:{digest}", snapshot=data)
            out["signed"] = checkpoints.sign(log, seq, digest, v.head_at, now, key,
                                             snapshot=snapshots_digest(data))
        return out

    def verify(self, *, checkpoints: Sequence[str] = (), key: str | None = None, replay: bool = True,
               since: str | None = None, jobs: int | None = None) -> Any:
        """`audit verify`: the whole log in one snapshot. Each checkpoint is `SEQ:HASH` or a
        signed checkpoint file, whose signature is checked with the public key `key` first.
        `since`: a signed checkpoint file with a snapshot beside it: the replay resumes from
        that state (its bytes must hash to what the checkpoint signs), reading only later events.
        `jobs`: processes for a full verify split at the signed snapshots (engine.app.segments)."""
        from engine.app import audit
        from engine.app import checkpoints as cps

        marks, signed = [], []
        public = None
        resume = None
        if since is not None:
            if key is None:
                raise BadInput("checkpoint.needs_key")
            public = cps.load_public(key)
            cp = cps.read_signed(since, public)
            resume = (since, cp, cps.read_snapshot(since, cp))
        for c in checkpoints:
            if _looks_like_mark(c):
                marks.append(audit.parse_checkpoint(c))
                continue
            if key is None:
                raise BadInput("checkpoint.needs_key")
            public = public or cps.load_public(key)
            signed.append((c, cps.read_signed(c, public)))
        from engine.app.guard import translated

        with translated():
            return audit.verify(self.store, replay=replay, checkpoints=marks, signed=signed, since=resume, jobs=jobs)

    # ------------------------------------------------------------ PostgreSQL's roles (R-I3)
    def db_grants(self, *, apply: bool = False) -> list[str]:
        """`kaigi db grant`: the group roles and grants (TRUST.md), each member's login role
        made a `kaigi_member`; with `apply`, run them (as the schema's owner)."""
        from engine.app.guard import translated

        with self.store.read() as tx:
            members = self.snapshot(tx).members
        roles = sorted({m.db_role or m.login for m in members.values()})
        with translated():
            statements: list[str] = self.store.grant_statements(roles)
            if apply:
                self.store.apply_statements(statements)
        return statements

    # ------------------------------------------------------------ the act
    def act(self, actor: Actor | str, name: str, build: Build, *, dry_run: bool = False,
            on_behalf_of: str | None = None, about: tuple[int | None, int | None] = (None, None),
            after: Callable[[Act], None] | None = None) -> Outcome:
        """Run one act: decide with `build(ctx, tx)`, append, fold, save; one transaction.
        `after(tx)` writes what lives beside the log (a password hash, a token digest) once
        the act's event is appended, in the same transaction."""
        who = actor if isinstance(actor, Actor) else Actor(actor, "training")
        authority = on_behalf_of or who.login
        outside = self.decides_outside_head and not dry_run
        if outside:
            self.store.keep(True)  # the plan's read and the act on one connection of the pool
        try:
            item = _id(about[0])
            plan = self._plan(who, authority, build) if outside else None
            with self.store.act(rollback=dry_run, item=None if plan else item, role=self._role(who),
                                expect=plan.reads if plan else None) as tx:
                btx: Any = tx
                if plan is not None and tx.unchanged:  # decide again, at the act's time, on what was read
                    w, btx = plan.world(tx), _Replay(tx, plan.reads.rows)
                else:
                    w = self.world(tx)
                ctx = Ctx(w.book(tx.now), tx.now, who.login, authority, w)
                self._may_act(ctx, who)
                facts = build(ctx, btx)
                if not facts:
                    raise NotPossible("act.nothing")
                records = self._append(tx, w, ctx, who, facts)
                if after is not None:
                    after(tx)
                outcome = Outcome(tuple(records), tuple(facts), dry_run, *self._touched(w, facts))
        except (NotPermitted, NotPossible) as err:
            if not dry_run:
                self._keep_refusal(who, authority, name, err, about)
            raise
        finally:
            if outside:
                self.store.keep(False)
        act_logged(outcome, name)
        return outcome

    @property
    def decides_outside_head(self) -> bool:
        """Whether acts read (and first decide) on a snapshot before taking the head: where the
        store says so (`decides_outside_head`: PostgreSQL, whose reads are round trips)."""
        return bool(getattr(self.store, "decides_outside_head", False))

    def _plan(self, who: Actor, authority: str, build: Build) -> "_Plan | None":
        """Decide once on a read snapshot, outside the head, to learn (and load) what the act
        reads. None when that cannot stand in for reads under the head: the decision refused
        or failed (it is then made under the head, where a refusal counts), or it read
        something the store cannot check again (`_Recording.opaque`)."""
        try:
            with self.store.read() as rtx:
                rtx.track()
                snap = self.snapshot(rtx)
                rec = _Recording(rtx)
                w = snap.snapshot_copy()
                w.items, w.meetings = Lazy(rec.item), Lazy(rec.meeting)
                w.orders = Lazy(lambda i: next(iter(rec.orders(ids=[i])), None))
                ctx = Ctx(w.book(rtx.now), rtx.now, who.login, authority, w)
                self._may_act(ctx, who)
                build(ctx, rec)
                if rec.opaque or not rtx.head().roster_seq:
                    return None
                return _Plan(snap, rtx.read_set(), rec.records)
        except DomainError:
            return None

    def _role(self, who: Actor) -> str | None:
        """The database role to act as: a web member's, when the server's own connection is
        a service role (PostgreSQL then witnesses the member, not the server)."""
        if who.identity != "web" or not getattr(self.store, "pg", False) or self.store.is_owner():
            return None
        return who.via or who.login

    def _may_act(self, ctx: Ctx, who: Actor) -> None:
        w = ctx.world
        if who.login not in w.members:
            raise NotPermitted("actor.not_on_roster", login=who.login)
        if ctx.authority != who.login:
            if ctx.authority not in w.members:
                raise NotFound("member.none", login=ctx.authority)
            people.may_record_for(ctx)

    def _append(self, tx: Act, w: World, ctx: Ctx, who: Actor, facts: Sequence[Event]) -> list[EventRecord]:
        return self.record(tx, w, ctx.actor, ctx.authority, who.identity, ctx.book.version, facts)

    @staticmethod
    def record(tx: Act, w: World, actor: str, authority: str, identity: str, version: str,
               facts: Sequence[Event], changes: Changes | None = None) -> list[EventRecord]:
        """Append `facts` as one act, fold them into `w` and save what changed (in `tx`).

        With `changes`, what changed is added to them and left for the caller to save: the
        scheduler appends a reminder's overdue rung after its first in one transaction, and
        writes each record they both moved once (`save_changes`), not once per rung."""
        new = [NewEvent(e.type, e.schema, e.payload_text(), e.item_ref, e.meeting_ref, e.roster) for e in facts]
        records = tx.append(actor, authority, identity, version, new)
        own = changes is None
        if changes is None:
            changes = Changes()
        for r, e in zip(records, facts, strict=True):
            apply(w, Stamp(r.seq, r.at, r.actor, r.authority, r.rulebook), e, changes)
        if own:
            Kaigi.save_changes(tx, changes)
        return list(records)

    @staticmethod
    def save_changes(tx: Act, changes: Changes) -> None:
        """Write what folds changed: each record's latest value over its first old one."""
        tx.save((kind, new_, old) for (kind, _), (new_, old) in changes.rows.items())

    @staticmethod
    def _touched(w: World, facts: Sequence[Event]) -> tuple[dict[int, ItemRecord], dict[int, MeetingRecord]]:
        items: dict[int, ItemRecord] = {}
        meetings: dict[int, MeetingRecord] = {}
        for e in facts:  # each looked up once (a Lazy mapping's `in` is a lookup of its own)
            i, m = e.item_ref, e.meeting_ref
            if i is not None and i not in items and (found := w.items.get(i)) is not None:
                items[i] = found
            if m is not None and m not in meetings and (met := w.meetings.get(m)) is not None:
                meetings[m] = met
        return items, meetings

    def _keep_refusal(self, who: Actor, authority: str, name: str, err: DomainError,
                      about: tuple[int | None, int | None]) -> None:
        """A refused attempt is kept as an event that changes no state, so an auditor sees who
        tried what they were not allowed to. Best effort: failing to keep it must not hide
        the refusal itself."""
        try:
            with self.store.act() as tx:
                w = self.snapshot(tx)
                fact = ActRefused(item=about[0], meeting=about[1], act=name, kind=err.kind, rule=err.rule,
                                  reason=err.msg.render("en"), reason_ja=err.msg.render("ja"))
                tx.append(who.login, authority, who.identity, w.book(tx.now).version,
                          [NewEvent(fact.type, fact.schema, fact.payload_text(), about[0], about[1])])
        except Exception as exc:  # noqa: BLE001
            from engine.infra.logs import get_logger

            get_logger().info("refusal not kept", act=name, actor=who.login, error=repr(exc))  # stderr stays one line

    def system(self, facts: Sequence[Event]) -> list[EventRecord]:
        """Set-up events of `kaigi init` (the rulebooks, the first bodies, a demo roster),
        stamped with the version in force when they are recorded (those adopted here count)."""
        from engine.core.events import RulebookAdopted
        from workflows.versions import Rules, parsed

        with self.store.act() as tx:
            w = self.world(tx)
            books = list(w.rules.books) + [parsed(e.text, e.version) for e in facts if isinstance(e, RulebookAdopted)]
            version = Rules(books).at(tx.now).version
            records = self.record(tx, w, SYSTEM.login, SYSTEM.login, SYSTEM.identity, version, facts)
        self._snap = None
        return records

    # ------------------------------------------------------------ ids
    @staticmethod
    def _next(tx: Reads, kind: str) -> int:
        n = tx.max_id(kind) + 1
        if n > MAX_ID:
            raise BadInput("input.id_range")
        return int(n)

    # ------------------------------------------------------------ items
    @checked
    def file_item(self, actor: Actor | str, title: str, *, station: str | None = None, team: str | None = None,
                  note: str = "", dry_run: bool = False, on_behalf_of: str | None = None,
                  pillars: tuple[str, ...] | list[str] = ()) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            body = ctx.world.body(station)
            return decide.file_item(ctx, self._next(tx, "item"), title, body.key, team, note, pillars=tuple(pillars))
        return self.act(actor, "file_item", build, dry_run=dry_run, on_behalf_of=on_behalf_of)

    @checked
    def advance(self, actor: Actor | str, item: int, trigger: str, *, meeting: int | None = None, note: str = "",
                document: tuple[str, bytes] | None = None, expect_version: int | None = None,
                dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        testhooks.barrier()  # a no-op unless the suite races two processes (KAIGI_TEST_BARRIER)

        def build(ctx: Ctx, tx: Act) -> list[Event]:
            it = ctx.world.item(item)
            if expect_version is not None and it.version != expect_version:
                raise Conflict("conflict.item", id=item, seen=expect_version, now=it.version)
            m = ctx.world.meeting(meeting) if meeting is not None else None
            spec = ctx.book.transition(trigger, it.state, ctx.world.body_kinds().get(it.body))
            spawn = self._next(tx, "item") if spec is not None and spec.spawns else None
            doc = _document(*document) if document is not None else None
            facts = decide.advance(ctx, it, trigger, m, note, spawn_id=spawn, document=doc.sha256 if doc else None)
            if doc is not None:
                tx.put_document(doc)
            return facts
        return self.act(actor, "advance", build, dry_run=dry_run, on_behalf_of=on_behalf_of, about=(item, meeting))

    # ------------------------------------------------------------ meetings
    @checked
    def convene(self, actor: Actor | str, kind: str, starts_at: dt.datetime, *, items: Sequence[int] = (),
                attendees: Sequence[str] = (), invited: Sequence[str] = (), station: str | None = None,
                place: str = "", dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            mk = decide.meeting_kind(ctx.book, kind)
            body = ctx.world.body(station) if station else self._meeting_body(ctx, mk.body)
            agenda = [ctx.world.item(i) for i in dict.fromkeys(items)]
            return sittings.convene(ctx, self._next(tx, "meeting"), kind, body, starts_at, agenda,
                                    list(attendees), list(invited), place)
        return self.act(actor, "convene", build, dry_run=dry_run, on_behalf_of=on_behalf_of)

    @staticmethod
    def _meeting_body(ctx: Ctx, kind: str) -> Any:
        kinds = ctx.world.body_kinds()
        if kind == ctx.book.top_kind:
            return ctx.world.body(None)
        mine = sorted({h.body for h in ctx.held if kinds.get(h.body) == kind})
        if len(mine) != 1:
            raise BadInput("meeting.which_station", kind=kind, mine=", ".join(mine) or "-")
        return ctx.world.bodies[mine[0]]

    @checked
    def agenda(self, actor: Actor | str, meeting: int, op: str, item: int, *, position: int | None = None,
               dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return sittings.change_agenda(ctx, ctx.world.meeting(meeting), op, ctx.world.item(item), position)
        return self.act(actor, "agenda", build, dry_run=dry_run, on_behalf_of=on_behalf_of, about=(item, meeting))

    @checked
    def hold(self, actor: Actor | str, meeting: int, *, present: Sequence[str] = (), sat_at: dt.datetime | None = None,
             dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return sittings.hold(ctx, ctx.world.meeting(meeting), list(present), sat_at)
        return self.act(actor, "hold", build, dry_run=dry_run, on_behalf_of=on_behalf_of, about=(None, meeting))

    @checked
    def cancel(self, actor: Actor | str, meeting: int, *, reason: str = "", dry_run: bool = False,
               on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return sittings.cancel(ctx, ctx.world.meeting(meeting), reason)
        return self.act(actor, "cancel", build, dry_run=dry_run, on_behalf_of=on_behalf_of, about=(None, meeting))

    @checked
    def move(self, actor: Actor | str, meeting: int, *, starts_at: dt.datetime | None = None,
             place: str | None = None, reason: str = "", dry_run: bool = False,
             on_behalf_of: str | None = None) -> Outcome:
        """Move a convened meeting that has not started to another time and/or place (R-M6);
        `None` keeps either as it is. A meeting the actor may not see is absent (R-R1)."""
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            from engine.app import visibility as vis

            m = ctx.world.meetings.get(meeting) if vis.in_range(meeting) else None
            if m is None or not vis.sight(ctx.world, ctx.actor, ctx.now).meeting(m):
                raise vis.absent("meeting.none", meeting)
            return sittings.move(ctx, m, starts_at, place, reason)
        return self.act(actor, "move", build, dry_run=dry_run, on_behalf_of=on_behalf_of, about=(None, meeting))

    @checked
    def record_minutes(self, actor: Actor | str, meeting: int, text: str, *, dry_run: bool = False,
                       on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return sittings.record_minutes(ctx, ctx.world.meeting(meeting), text)
        return self.act(actor, "minutes", build, dry_run=dry_run, on_behalf_of=on_behalf_of, about=(None, meeting))

    @checked
    def approve_minutes(self, actor: Actor | str, meeting: int, *, n: int | None = None, dry_run: bool = False,
                        on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return sittings.approve_minutes(ctx, ctx.world.meeting(meeting), n)
        return self.act(actor, "approve_minutes", build, dry_run=dry_run, on_behalf_of=on_behalf_of,
                        about=(None, meeting))

    # ------------------------------------------------------------ investigation orders (R-T5)
    @checked
    def issue_order(self, actor: Actor | str, item: int, to: str, *, due_at: dt.datetime | None = None,
                    note: str = "", dry_run: bool = False, on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            due = due_at
            if due is None:
                from engine.core.plan import rule_of
                from engine.core.workdays import deadline

                rule = rule_of(ctx.book, "investigation_order")
                due = deadline(ctx.now, rule.due if rule else 7, rule.unit if rule else "days",
                               ctx.book.office_closure)
            return people.issue_order(ctx, self._next(tx, "order"), ctx.world.item(item), ctx.world.member(to),
                                      due, note)
        return self.act(actor, "issue_order", build, dry_run=dry_run, on_behalf_of=on_behalf_of, about=(item, None))

    @checked
    def complete_order(self, actor: Actor | str, order: int, finding: str, *, dry_run: bool = False,
                       on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            o = ctx.world.order(order)
            return people.complete_order(ctx, o, finding, ctx.world.item(o.item))
        return self.act(actor, "complete_order", build, dry_run=dry_run, on_behalf_of=on_behalf_of,
                        about=(self._order_item(order), None))

    @checked
    def waive_order(self, actor: Actor | str, order: int, reason: str, *, dry_run: bool = False,
                    on_behalf_of: str | None = None) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            o = ctx.world.order(order)
            return people.waive_order(ctx, o, reason, ctx.world.item(o.item))
        return self.act(actor, "waive_order", build, dry_run=dry_run, on_behalf_of=on_behalf_of,
                        about=(self._order_item(order), None))

    def _order_item(self, order: int) -> int | None:
        with self.store.read() as tx:
            found = tx.orders(ids=[order])
        return found[0].item if found else None

    # ------------------------------------------------------------ delegation (R-A1)
    @checked
    def delegate(self, actor: Actor | str, clerk: str, *, valid_until: dt.datetime,
                 valid_from: dt.datetime | None = None, dry_run: bool = False) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return people.delegate(ctx, self._next(tx, "delegation"), ctx.world.member(clerk),
                                   valid_from or ctx.now, valid_until)
        return self.act(actor, "delegate", build, dry_run=dry_run)

    @checked
    def end_delegation(self, actor: Actor | str, delegation: int, *, dry_run: bool = False) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            d = ctx.world.delegations.get(delegation)
            if d is None:
                raise NotFound("delegation.none", id=delegation)
            return people.end_delegation(ctx, d, ctx.now)
        return self.act(actor, "end_delegation", build, dry_run=dry_run)

    # ------------------------------------------------------------ the roster (R-P1)
    @checked
    def add_member(self, actor: Actor | str, login: str, *, name: str, name_en: str = "", email: str | None = None,
                   lang: str = "ja", channel: str = "email", os_user: str | None = None, db_role: str | None = None,
                   dry_run: bool = False) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return people.add_member(ctx, login, name, name_en, email, lang, channel, os_user, db_role)
        return self.act(actor, "add_member", build, dry_run=dry_run)

    @checked
    def bind_member(self, actor: Actor | str, login: str, *, os_user: str | None = None, db_role: str | None = None,
                    dry_run: bool = False) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return people.bind_member(ctx, ctx.world.member(login), os_user, db_role)
        return self.act(actor, "bind_member", build, dry_run=dry_run)

    @checked
    def assign(self, actor: Actor | str, login: str, position: str, *, station: str | None = None,
               team: str | None = None, valid_from: dt.datetime | None = None,
               valid_until: dt.datetime | None = None, dry_run: bool = False) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return people.assign(ctx, self._next(tx, "assignment"), ctx.world.member(login), position,
                                 ctx.world.body(station), team, valid_from or ctx.now, valid_until)
        return self.act(actor, "assign", build, dry_run=dry_run)

    @checked
    def end_assignment(self, actor: Actor | str, assignment: int, *, at: dt.datetime | None = None,
                       dry_run: bool = False) -> Outcome:
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            a = ctx.world.assignments.get(assignment)
            if a is None:
                raise NotFound("assignment.none", id=assignment)
            return people.end_assignment(ctx, a, ctx.world.bodies[a.body], at or ctx.now)
        return self.act(actor, "end_assignment", build, dry_run=dry_run)

    @checked
    def add_body(self, actor: Actor | str, key: str, *, kind: str, name: str, name_en: str = "",
                 dry_run: bool = False) -> Outcome:
        """Set up a body of one of the rulebook's kinds (a station HQ, a district): R-P1, by
        whoever organises the top body; `assign … station=KEY` then appoints its people."""
        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return people.add_body(ctx, key, kind, name, name_en)
        return self.act(actor, "add_body", build, dry_run=dry_run)

    # ------------------------------------------------------------ rulebook versions (R-V1)
    @checked
    def adopt_rulebook(self, actor: Actor | str, text: str, source: str, *, dry_run: bool = False) -> Outcome:
        from workflows import parse_rulebook

        book = parse_rulebook(text, source)

        def build(ctx: Ctx, tx: Act) -> list[Event]:
            return people.adopt_rulebook(ctx, book)
        out = self.act(actor, "adopt_rulebook", build, dry_run=dry_run)
        self._snap = None
        return out

    # ------------------------------------------------------------ papers (kaigi document)
    def print_paper(self, actor: Actor | str | None, kind: str, subject: int | None = None, *, lang: str = "ja",
                    since: dt.datetime | None = None, until: dt.datetime | None = None,
                    record: bool = True) -> "Paper":
        """A paper (engine.papers.paper) as `actor` may see it, its print recorded as theirs."""
        from engine.papers import paper

        login = actor.login if isinstance(actor, Actor) else actor
        return paper(self, kind, subject, viewer=login, lang=lang, since=since, until=until, record=record,
                     actor=actor)

    def verify_paper(self, data: bytes) -> Any:
        """`document verify`: whether this log vouches for the PDF `data` (engine.papers.verify)."""
        from engine.papers import verify

        return verify(self, data)

    # ------------------------------------------------------------ queries
    def read(self, viewer: str | None = None) -> Any:
        """One consistent snapshot for queries: `with kaigi.read(viewer=login) as q: q.item(1)`.
        The reader answers only what `viewer` may see (R-R1); without one it is the engine's
        own read, or a database reader's without a member, and sees everything."""
        from engine.app.queries import Reader

        return Reader(self, viewer)


class _Plan:
    """What an act's decision on a snapshot read: the roster and rules it decided under and the
    store's note of the records and largest ids it read (`ReadSet`)."""

    def __init__(self, snap: World, reads: ReadSet, records: dict[tuple[str, Any], Any]) -> None:
        self.snap, self.reads, self.records = snap, reads, records

    def world(self, tx: Act) -> World:
        """An act's view from what was read: the same roster (its mark unchanged), the records
        as read (each unchanged); any other record is read under the head, from `tx`."""
        w = self.snap.snapshot_copy()
        loaded: dict[str, Lazy[int, Any]] = {
            "item": Lazy(tx.item), "meeting": Lazy(tx.meeting),
            "order": Lazy(lambda i: next(iter(tx.orders(ids=[i])), None))}
        for (kind, key), record in self.records.items():
            if record is not None:
                loaded[kind].seen[key] = record
        w.items, w.meetings, w.orders = loaded["item"], loaded["meeting"], loaded["order"]
        return w


class _Recording:
    """A read snapshot as an act's `build` sees it while deciding outside the head. The reads
    the store can check again under the head (records by id, largest ids) pass through, and
    the records come back to `_Plan`; a write (a document) waits for the act itself; any
    other use marks the plan `opaque`: the act then reads under the head as it always did."""

    _CHECKED = frozenset({"now"})
    _WRITES = frozenset({"put_document"})

    def __init__(self, tx: Reads) -> None:
        self._tx = tx
        self.opaque = False
        self.records: dict[tuple[str, Any], Any] = {}

    def item(self, item_id: int) -> ItemRecord | None:
        found = self._tx.item(item_id)
        self.records[("item", item_id)] = found
        return found

    def meeting(self, meeting_id: int) -> MeetingRecord | None:
        found = self._tx.meeting(meeting_id)
        self.records[("meeting", meeting_id)] = found
        return found

    def orders(self, *, item: int | None = None, ids: Sequence[int] | None = None, status: str | None = None,
               items: Sequence[int] | None = None, after: int | None = None, limit: int | None = None) -> list[Any]:
        if ids is None or item is not None or status is not None or items is not None or after is not None \
                or limit is not None:
            self.opaque = True
        found = self._tx.orders(item=item, ids=ids, status=status, items=items, after=after, limit=limit)
        if ids is not None:
            got = {o.id: o for o in found}
            self.records.update({("order", i): got.get(i) for i in ids})
        return found

    def max_id(self, kind: str) -> int:
        return self._tx.max_id(kind)

    def __getattr__(self, name: str) -> Any:
        if name in self._WRITES:
            return lambda *args, **kw: None
        if name not in self._CHECKED:
            self.opaque = True
        return getattr(self._tx, name)


class _Replay:
    """The act's transaction as `build` sees it when deciding again under the head from a
    plan: the largest ids come from what was read (checked unchanged under the head: only an
    append, which needs the head, moves them); everything else is the act's own."""

    def __init__(self, tx: Act, rows: dict[tuple[str, Any], Any]) -> None:
        self._tx = tx
        self._max = {key: n for (kind, key), n in rows.items() if kind == "max"}

    def max_id(self, kind: str) -> int:
        n = self._max.get(kind)
        return self._tx.max_id(kind) if n is None else int(n)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


MAX_DOCUMENT = 20_000_000


def _document(name: str, content: bytes) -> DocumentRecord:
    """A document an act carries, named by its sha256 (the event keeps only that)."""
    import hashlib
    import mimetypes

    if len(content) > MAX_DOCUMENT:
        raise BadInput("file.too_big", path=name, limit=MAX_DOCUMENT)
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return DocumentRecord(hashlib.sha256(content).hexdigest(), name[-200:], media, content)


def _looks_like_mark(text: str) -> bool:
    """`SEQ:HASH` rather than a checkpoint file (a path with a colon that exists is a file)."""
    import os

    return ":" in text and not os.path.exists(text)


def _id(value: int | None) -> int | None:
    """An id a database can hold, or a refusal (ids past 64 bits never reach a driver)."""
    if value is None:
        return None
    if not 0 < value <= MAX_ID:
        raise NotFound("id.range", id=str(value)[:30])
    return value


def schema_ready(store: Any) -> None:
    """Refuse to work on a database kaigi has not initialised or that is behind."""
    from engine.core.errors import Unavailable
    from store.db import SCHEMA_HEAD

    current = store.revision()
    if current is None:
        raise Unavailable("store.no_schema")
    if current != SCHEMA_HEAD:
        raise Unavailable("store.old_schema", current=current, head=SCHEMA_HEAD)


Msg  # noqa: B018 (re-exported for faces that build refusals)
