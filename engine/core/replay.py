"""The auditor's replay: fold the log, and re-decide every act with the code that made it.

For each event: the rulebook version it names must be the one in force at its time
(among those adopted so far in the log); the very decision function the application ran
is asked again, with the event's time, actor, authority, the roster as the log had it
then and that rulebook; it must allow the act and give exactly the events recorded (an
act that wrote several, a spawned or tabled item, is checked whole). A reminder that went
out must have been planned and due, and its recipients are decided again from who held
the roles then. Then the event is folded with `fold.apply`. Nothing here reads the
database or the clock: the log alone is the evidence (its adopted rulebook texts included).
"""

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator, MutableMapping
from sys import intern
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine.core import acts, decide, papers, people, sittings
from engine.core import events as ev
from engine.core import recipients as rcp
from engine.core.decide import Ctx
from engine.core.errors import DomainError, NotPermitted, ReplayMismatch
from engine.core.fold import Changes, Stamp, apply, fold_credential, settle, settled_item, settled_meeting
from engine.core.identity import SCHEDULER, SYSTEM
from engine.core.world import World
from engine.i18n import LANGS, Msg, Said
from store.records import EventRecord
from workflows import Rulebook
from workflows.versions import parsed

# the system facts, and who may write what, as engine/core/acts.py declares each event type
SETUP = acts.setup_types()  # the system's, while `kaigi init` sets up
DELIVERY = acts.of_replay(acts.DELIVERY)  # the scheduler's: a reminder due, sent, failed
ADOPTED = acts.of_replay(acts.ADOPTED)  # a rulebook text, checked by its hash
REFUSALS = acts.of_replay(acts.REFUSAL)  # kept for the auditor; changes no state
SCHEDULED = acts.scheduler_types()  # an act the scheduler may also write (the notice it prints)


class Fired(NamedTuple):
    """What a `ReminderDue` queued, kept for the messages and settlings that answer to it
    (not the whole event: a long log fires many). The digests and routes are sha256s: kept
    as one `bytes` of 32 bytes each (`pack`), not a tuple of 64-character strings (~113 bytes
    each), as a long log keeps every rung that went out to the end (56,003 at 300,000 events);
    a forged event's digests that are not sha256 hex are kept as they came.

    `key` and `settled` are the replayer's bookkeeping, not what was queued (equality and a
    snapshot leave them out): the rung's key in `due`, and how its recipients were settled
    (what `Replayer.sent` reads: `Settlings`)."""

    recipients: tuple[str, ...]
    digests: bytes | tuple[str, ...]
    routes: bytes | tuple[str, ...]
    key: Any = None
    settled: Any = None

    def has_digest(self, hexdigest: str) -> bool:
        return holds(self.digests, hexdigest)

    def has_route(self, hexdigest: str) -> bool:
        return holds(self.routes, hexdigest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, tuple) and tuple(self[:3]) == tuple(other[:3])

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(tuple(self[:3]))


class Settlings(MutableMapping[Any, Any]):
    """`Replayer.sent`: (reminder, rung) -> how each recipient was settled, a dict in the
    order the rungs were first settled, kept on the rung's `Fired` in `due` rather than in a
    dict of its own. A long log settles every rung that went out: at 1,000,000 events a
    second dict and a second key tuple for each of 190,000 rungs took 20 MiB. A key that
    never fired (only a test writes one) is kept aside. A restored snapshot's `sent` is its
    own `Packed` map, not one of these."""

    __slots__ = ("due", "extra", "order")

    def __init__(self, due: MutableMapping[Any, Any]) -> None:
        self.due = due
        self.order: list[Any] = []  # the keys, in the order first settled (a dict's)
        self.extra: dict[Any, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        f = self.due.get(key)
        if f is not None and f.settled is not None:
            return f.settled
        return self.extra[key]

    def __contains__(self, key: object) -> bool:
        f = self.due.get(key)
        return (f is not None and f.settled is not None) or key in self.extra

    def __setitem__(self, key: Any, value: Any) -> None:
        f = self.due.get(key)
        if key not in self:
            self.order.append(f.key if f is not None and f.key is not None else key)
        if f is not None and key not in self.extra:
            self.due[key] = f._replace(settled=value)
        else:
            self.extra[key] = value

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)
        if key in self.extra:
            del self.extra[key]
        else:
            self.due[key] = self.due[key]._replace(settled=None)
        self.order.remove(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)


class Settled(tuple):  # type: ignore[type-arg]
    """How each recipient of a rung was settled, in the order of the log: (login, "sent" or
    "failed", login, ...), read as a dict is (`in`, `get`, `items`). A tuple of 56 bytes for
    the usual one recipient where a dict takes 184: a long log keeps every rung's to the end.
    A snapshot encodes it as the dict it stands for (its bytes unchanged) and decodes a dict."""

    __slots__ = ()

    @staticmethod
    def adding(old: "Settled | dict[str, str] | None", login: str, status: str) -> "Settled | dict[str, str]":
        if isinstance(old, dict):  # restored from a snapshot
            old[login] = status
            return old
        pairs = dict(old.items()) if old else {}
        pairs[login] = status  # where it was, as a dict keeps it
        return Settled(x for pair in pairs.items() for x in pair)

    def items(self) -> list[tuple[str, str]]:
        return [(self[i], self[i + 1]) for i in range(0, len(self), 2)]

    def get(self, login: str, default: str | None = None) -> str | None:
        for i in range(0, len(self), 2):
            if self[i] == login:
                return str(self[i + 1])
        return default

    def __contains__(self, login: object) -> bool:
        return any(self[i] == login for i in range(0, len(self), 2))

    def __eq__(self, other: object) -> bool:  # equal to the dict it stands for (a restored snapshot's)
        if isinstance(other, dict):
            return dict(self.items()) == other
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def pack(digests: tuple[str, ...]) -> bytes | tuple[str, ...]:
    """sha256 hex digests as one bytes; none, or anything else, as it came."""
    if digests and all(type(d) is str and _SHA256_HEX.fullmatch(d) for d in digests):
        return b"".join(bytes.fromhex(d) for d in digests)
    return tuple(digests)


def unpack(packed: bytes | tuple[str, ...]) -> tuple[str, ...]:
    """The hex digests `pack` was given (a snapshot encodes these: its bytes do not change)."""
    if isinstance(packed, bytes):
        return tuple(packed[i:i + 32].hex() for i in range(0, len(packed), 32))
    return tuple(packed)


def holds(packed: bytes | tuple[str, ...], hexdigest: str) -> bool:
    """Whether `hexdigest` is one of the packed digests (at a 32-byte boundary)."""
    if not isinstance(packed, bytes):
        return hexdigest in packed
    if not _SHA256_HEX.fullmatch(hexdigest):
        return False
    want = bytes.fromhex(hexdigest)
    at = packed.find(want)
    while at != -1:
        if at % 32 == 0:
            return True
        at = packed.find(want, at + 1)
    return False


class _NoChanges(Changes):
    """Replay keeps the world, not a list of what changed."""

    def put(self, kind: str, key: Any, new: Any, old: Any) -> None:
        return None


@dataclass
class Step:
    """One event as the replay judged it."""

    seq: int
    at: dt.datetime
    actor: str
    authority: str
    type: str
    item: int | None
    meeting: int | None
    trigger: str | None
    src: str | None
    dest: str | None
    rulebook: str
    allowed: bool
    reason: Msg
    event: ev.Event | None = None

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        from workflows.timezone import JST

        return {"seq": self.seq, "at": self.at.astimezone(JST).isoformat(timespec="seconds"), "actor": self.actor, "authority": self.authority,
                "type": self.type, "item": self.item, "meeting": self.meeting, "trigger": self.trigger,
                "from": self.src, "to": self.dest, "rulebook": self.rulebook, "allowed": self.allowed,
                "reason": self.reason.render(lang)}


@dataclass
class Replayer:
    """Folds events one by one, re-deciding each act; `world` is the state so far."""

    world: World = field(default_factory=World)
    acted: bool = False  # a member has acted: set-up by `kaigi init` is over
    sent: Any = None  # (reminder, rung) -> {login: how}: `Settlings` over `due`
    due: dict[tuple[str, int], "Fired"] = field(default_factory=dict)  # what each fired rung queued
    documents: dict[str, int] = field(default_factory=dict)  # sha256 -> the event that carried it
    tokens: dict[int, dict[str, Any]] = field(default_factory=dict)  # API token id -> its row, as replayed
    credentials: dict[str, str | None] = field(default_factory=dict)  # login -> commitment of the latest password
    _schema: int = 1  # the schema the act's event was written at (pre-R-I5 credential events)
    # acts up to this sequence number were recorded before the text rules of engine.core.text
    # (the database's `text_rules_from`, set when it was upgraded): judged by the rule of their day
    legacy_text_until: int = 0
    _pending: list[ev.Event] = field(default_factory=list)
    _act: EventRecord | None = None
    _nothing: Changes = field(default_factory=_NoChanges)
    _tuples: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, repr=False)
    _packed: dict[bytes | tuple[str, ...], bytes | tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.sent is None:
            self.sent = Settlings(self.due)
        self.world.lazy = True  # plan reminders when a check needs them, and at the end

    def step(self, rec: EventRecord) -> Step:
        """Judge and fold one event. A judgement of `not allowed` leaves the world unfolded."""
        event, allowed, reason = self.judge(rec)
        return self._step(rec, event, allowed, reason)

    def judge(self, rec: EventRecord) -> tuple[ev.Event | None, bool, Msg]:
        """`step` without the Step: (the event, allowed, why), for `audit verify`'s pass."""
        try:
            event = ev.decode(rec.type, rec.schema, rec.payload, rec.item, rec.meeting)
            reason = self._judge(rec, event)
        except DomainError as err:
            return None, False, err.msg
        try:
            apply(self.world, Stamp(rec.seq, rec.at, rec.actor, rec.authority, rec.rulebook), event, self._nothing)
        except DomainError as err:
            return event, False, err.msg
        t = type(event)
        if type(event) is ev.ItemAdvanced:  # `type(event) is`, not `t is`: the checker narrows the former
            if event.document:
                self.documents.setdefault(event.document, rec.seq)
        elif type(event) is ev.ReminderDue:  # kept to the end: one copy of each name (sys.intern, `_names`)
            key = (intern(self._ident(event)), event.rung)
            old = self.due.get(key)
            self.due[key] = Fired(self._names(event.recipients), pack(event.digests), self._routes(event.routes),
                                  key, None if old is None else old.settled)
        elif type(event) is ev.ReminderSent or type(event) is ev.ReminderFailed:
            key = (intern(self._ident(event)), event.rung)
            status = "sent" if type(event) is ev.ReminderSent else "failed"
            self.sent[key] = Settled.adding(self.sent.get(key), intern(event.recipient), status)
        elif t is ev.TokenCreated or t is ev.TokenRevoked or t is ev.CredentialSet:
            self._credential(rec, event)
        return event, t is not ev.ActRefused, reason

    def planned_record(self, kind: str, key: Any, record: Any) -> Any:
        """`record` (the world's item or meeting `key`) as `finish` would leave it planned,
        without keeping it."""
        w = self.world
        if kind == "item" and key in w.dirty_items:
            return settled_item(w, key, record)
        if kind == "meeting" and key in w.dirty_meetings:
            return settled_meeting(w, record)
        return record

    def _names(self, logins: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple for each set of recipients (a long log repeats a few hundred thousand times)."""
        return self._tuples.setdefault(logins, logins)

    def _routes(self, routes: tuple[str, ...]) -> bytes | tuple[str, ...]:
        """One copy of each set of routes, packed: the same recipients at the same addresses
        give the same routes rung after rung."""
        packed = pack(routes)
        return self._packed.setdefault(packed, packed)

    def _credential(self, rec: EventRecord, e: Any) -> None:
        """The api_token rows and password commitments as the log has them (R-I5): what
        verify compares the stored tables with."""
        fold_credential(self.tokens, self.credentials, rec.seq, rec.at, e)

    def finish(self, plan: bool = True) -> Msg | None:
        """At the end of the log: every plan made, and an act whose events stop short is a
        broken act. `plan=False`: the plans owed are left to the reader (`audit verify` plans
        each record as it compares it: `planned_record`)."""
        if plan:
            settle(self.world)
        if self._pending:
            return Msg("replay.act_cut", seq=self._act.seq if self._act else 0, type=self._pending[0].type)
        return None

    @staticmethod
    def _step(rec: EventRecord, event: ev.Event | None, allowed: bool, reason: Msg) -> Step:
        adv = event if isinstance(event, ev.ItemAdvanced) else None
        return Step(rec.seq, rec.at, rec.actor, rec.authority, rec.type, rec.item, rec.meeting,
                    adv.trigger if adv else None, adv.src if adv else None, adv.dest if adv else None,
                    rec.rulebook, allowed, reason, event)

    def _ident(self, e: ev.ReminderDue | ev.ReminderSent | ev.ReminderFailed) -> str:
        if e.reminder is not None:
            return e.reminder
        known = self.world.legacy.get(e.legacy_id)  # type: ignore[arg-type]
        return known[0] if known else f"0.1/{e.legacy_id}"

    # ------------------------------------------------------------ judging
    def _judge(self, rec: EventRecord, e: ev.Event) -> Msg:
        if self._pending:
            return self._follow(rec, e)
        if isinstance(e, ADOPTED):
            return self._adopt(rec, e)  # type: ignore[arg-type]
        book = self._book(rec)
        if isinstance(e, REFUSALS):  # as refused, in either language
            return Msg("replay.refused_then", reason=Said(e.reason, e.reason_ja))  # type: ignore[attr-defined]
        if e.legacy:
            if rec.v != 1:
                raise ReplayMismatch("replay.legacy_in_new", seq=rec.seq, type=rec.type)
            return Msg("replay.legacy")
        if rec.actor == SYSTEM.login:
            return self._setup(rec, e)
        if rec.actor == SCHEDULER.login and isinstance(e, SCHEDULED):
            return self._notice_printed(rec, e)  # type: ignore[arg-type]
        if isinstance(e, DELIVERY):
            if rec.actor != SCHEDULER.login:
                raise NotPermitted("replay.scheduler_only", seq=rec.seq, type=rec.type)
            return self._delivery(rec, e, book)
        decider = _DECIDERS.get(type(e))
        if decider is None:
            raise ReplayMismatch("replay.not_an_act", seq=rec.seq, type=rec.type)
        self.acted = True
        ctx = self._ctx(rec, book)
        self._schema = rec.schema
        decided = decider(self, ctx, e)
        if not decided or decided[0] != e:
            got = decided[0] if decided else None
            raise ReplayMismatch("replay.differs", seq=rec.seq, decided=_show(got), recorded=_show(e))
        self._pending, self._act = list(decided[1:]), rec
        return Msg("replay.allowed")

    def _follow(self, rec: EventRecord, e: ev.Event) -> Msg:
        """An event the act before also wrote (a spawned item, a tabled item)."""
        want = self._pending.pop(0)
        first = self._act
        assert first is not None
        same = (rec.actor, rec.authority, rec.at, rec.rulebook) == (first.actor, first.authority, first.at,
                                                                   first.rulebook)
        if not same or want != e:
            raise ReplayMismatch("replay.follow_differs", seq=rec.seq, act=first.seq, decided=_show(want),
                                 recorded=_show(e))
        return Msg("replay.part_of", seq=first.seq)

    def _adopt(self, rec: EventRecord, e: ev.RulebookAdopted) -> Msg:
        if rec.actor != SYSTEM.login:  # a new version adopted later: the chief issues circulars
            book = self._book(rec)
            ctx = self._ctx(rec, book)
            if ctx.holds(book.powers.adopt_rulebook, self.world.top()) is None:
                raise ctx.refuse(Msg("act.adopt"), book.powers.adopt_rulebook, self.world.top(), "R-V1")
        if hashlib.sha256(e.text.encode("utf-8")).hexdigest() != e.sha256:
            raise ReplayMismatch("replay.rulebook_sha", seq=rec.seq)
        book = parsed(e.text, f"adopted rulebook {e.version}")
        if (book.version, book.effective_from.isoformat()) != (e.version, e.effective_from):
            raise ReplayMismatch("replay.rulebook_version", seq=rec.seq, text=book.version, said=e.version)
        return Msg("replay.adopted", version=book.version, since=str(book.effective_from))

    def _setup(self, rec: EventRecord, e: ev.Event) -> Msg:
        if rec.authority != SYSTEM.login:
            raise ReplayMismatch("replay.setup_authority", seq=rec.seq)
        if not isinstance(e, SETUP + (ev.ItemFiled,)):
            raise NotPermitted("replay.setup_only", seq=rec.seq, type=rec.type)
        if isinstance(e, ev.ItemFiled) or (not isinstance(e, ev.BodyAdded) and self.acted):
            raise NotPermitted("replay.setup_over", seq=rec.seq)
        return Msg("replay.setup")

    def _book(self, rec: EventRecord) -> Rulebook:
        try:
            book = self.world.book(rec.at)
        except DomainError as err:
            raise ReplayMismatch("replay.no_book", seq=rec.seq, why=err.msg) from None
        if book.version != rec.rulebook:
            raise ReplayMismatch("replay.wrong_book", seq=rec.seq, said=rec.rulebook, was=book.version)
        return book

    def _ctx(self, rec: EventRecord, book: Rulebook) -> Ctx:
        w = self.world
        if rec.actor not in w.members:
            raise NotPermitted("replay.not_on_roster", login=rec.actor)
        ctx = Ctx(book, rec.at, rec.actor, rec.authority, w, legacy_text=rec.seq <= self.legacy_text_until)
        if rec.authority != rec.actor:
            if rec.authority not in w.members:
                raise NotPermitted("replay.not_on_roster", login=rec.authority)
            people.may_record_for(ctx)
        return ctx

    # ------------------------------------------------------------ what the scheduler did
    def _delivery(self, rec: EventRecord, e: Any, book: Rulebook) -> Msg:
        ident = self._ident(e)
        if isinstance(e, ev.ReminderDue):
            if e.reminder is None:  # 0.1 planned its reminders by events; its recipients are re-decided
                return self._recipients(rec, e, book, ident, legacy=True)
            planned = self._planned(e)
            p = next((x for x in planned if x.ident == ident), None)
            if p is None or p.fired != e.rung:
                raise ReplayMismatch("replay.not_planned", seq=rec.seq, reminder=ident, rung=e.rung)
            if p.next_at is None or p.next_at > rec.at:
                raise ReplayMismatch("replay.not_due", seq=rec.seq, reminder=ident, rung=e.rung)
            return self._recipients(rec, e, book, ident, planned_under=p.book)
        fired = self.due.get((ident, e.rung))
        if fired is None or e.recipient not in fired.recipients:
            raise ReplayMismatch("replay.not_fired", seq=rec.seq, reminder=ident, rung=e.rung, who=e.recipient)
        if e.recipient in self.sent.get((ident, e.rung), {}):
            raise ReplayMismatch("replay.settled_twice", seq=rec.seq, reminder=ident, rung=e.rung, who=e.recipient)
        return Msg("replay.scheduler")

    def _notice_printed(self, rec: EventRecord, e: ev.DocumentPrinted) -> Msg:
        """The scheduler prints one paper only: the convocation notice of a meeting still
        convened, that its invitations carry, anchored at the head it follows."""
        m = self.world.meetings.get(e.meeting) if e.meeting is not None else None
        if (rec.authority != SCHEDULER.login or e.kind != "notice" or e.item is not None or m is None
                or m.status != "convened" or e.head_seq != rec.seq - 1 or not 0 <= e.of_seq <= e.head_seq
                or e.lang not in LANGS or not re.fullmatch(r"[0-9a-f]{64}", e.sha256)):
            raise NotPermitted("replay.scheduler_only", seq=rec.seq, type=rec.type)
        return Msg("replay.scheduler")

    def _planned(self, e: ev.ReminderDue) -> tuple[Any, ...]:
        settle(self.world, item=e.item, meeting=e.meeting if e.item is None else None)
        if e.item is not None:
            return self.world.item(e.item).reminders
        if e.meeting is not None:
            return self.world.meeting(e.meeting).reminders
        return ()

    def _recipients(self, rec: EventRecord, e: ev.ReminderDue, book: Rulebook, ident: str,
                    legacy: bool = False, planned_under: str | None = None) -> Msg:
        key = e.key
        rule = rcp.rule_for(self.world, book, key, planned_under)
        if rule is None:
            raise ReplayMismatch("replay.no_rule", seq=rec.seq, key=key)
        who, vacant = rcp.recipients(self.world, book, rule, e.rung, e.item, e.meeting, ident, rec.at)
        if tuple(who) != tuple(e.recipients) or (not legacy and tuple(vacant) != tuple(e.vacant)):
            raise ReplayMismatch("replay.recipients", seq=rec.seq, reminder=ident, rung=e.rung,
                                 decided=", ".join(who) or "-", recorded=", ".join(e.recipients) or "-")
        return Msg("replay.reminder_due", rung=e.rung)


def _show(e: ev.Event | None) -> str:
    if e is None:
        return "nothing"
    return f"{e.type} {e.payload_text()}"


# ---------------------------------------------------------------- the deciders: events back to their acts
@acts.replays(ev.ItemFiled)
def _file(r: Replayer, ctx: Ctx, e: ev.ItemFiled) -> list[ev.Event]:
    return decide.file_item(ctx, e.item, e.title, e.body, e.team, e.note, pillars=e.pillars)


@acts.replays(ev.ItemAdvanced)
def _advance(r: Replayer, ctx: Ctx, e: ev.ItemAdvanced) -> list[ev.Event]:
    if e.tabled:
        raise ReplayMismatch("replay.tabled_alone", item=e.item)
    item = r.world.item(e.item)
    meeting = r.world.meeting(e.meeting) if e.meeting is not None else None
    return decide.advance(ctx, item, e.trigger, meeting, e.note, spawn_id=e.spawned, document=e.document)


@acts.replays(ev.MeetingConvened)
def _convene(r: Replayer, ctx: Ctx, e: ev.MeetingConvened) -> list[ev.Event]:
    items = [r.world.item(i) for i in e.items]
    return sittings.convene(ctx, e.meeting, e.kind, r.world.bodies[e.body], e.starts_at, items,
                            list(e.attendees), list(e.invited), e.place)


@acts.replays(ev.AgendaChanged)
def _agenda(r: Replayer, ctx: Ctx, e: ev.AgendaChanged) -> list[ev.Event]:
    m = r.world.meeting(e.meeting)
    position = e.position if e.op != "remove" else None
    return sittings.change_agenda(ctx, m, e.op, r.world.item(e.item), position)


@acts.replays(ev.MeetingHeld)
def _hold(r: Replayer, ctx: Ctx, e: ev.MeetingHeld) -> list[ev.Event]:
    return sittings.hold(ctx, r.world.meeting(e.meeting), list(e.present), e.sat_at)


@acts.replays(ev.MeetingCancelled)
def _cancel(r: Replayer, ctx: Ctx, e: ev.MeetingCancelled) -> list[ev.Event]:
    return sittings.cancel(ctx, r.world.meeting(e.meeting), e.reason)


@acts.replays(ev.MeetingMoved)
def _move(r: Replayer, ctx: Ctx, e: ev.MeetingMoved) -> list[ev.Event]:
    return sittings.move(ctx, r.world.meeting(e.meeting), e.starts_at, e.place, e.reason)


@acts.replays(ev.MinutesRecorded)
def _minutes(r: Replayer, ctx: Ctx, e: ev.MinutesRecorded) -> list[ev.Event]:
    return sittings.record_minutes(ctx, r.world.meeting(e.meeting), e.text)


@acts.replays(ev.MinutesApproved)
def _approve(r: Replayer, ctx: Ctx, e: ev.MinutesApproved) -> list[ev.Event]:
    return sittings.approve_minutes(ctx, r.world.meeting(e.meeting), e.n)


@acts.replays(ev.OrderIssued)
def _order(r: Replayer, ctx: Ctx, e: ev.OrderIssued) -> list[ev.Event]:
    return people.issue_order(ctx, e.id, r.world.item(e.item), r.world.member(e.to), e.due_at, e.note)


@acts.replays(ev.OrderCompleted)
def _complete(r: Replayer, ctx: Ctx, e: ev.OrderCompleted) -> list[ev.Event]:
    o = r.world.order(e.id)
    return people.complete_order(ctx, o, e.finding, r.world.item(o.item))


@acts.replays(ev.OrderWaived)
def _waive(r: Replayer, ctx: Ctx, e: ev.OrderWaived) -> list[ev.Event]:
    o = r.world.order(e.id)
    return people.waive_order(ctx, o, e.reason, r.world.item(o.item))


@acts.replays(ev.MemberAdded)
def _member(r: Replayer, ctx: Ctx, e: ev.MemberAdded) -> list[ev.Event]:
    return people.add_member(ctx, e.login, e.name, e.name_en, e.email, e.lang, e.channel, e.os_user, e.db_role)


@acts.replays(ev.MemberBound)
def _bind(r: Replayer, ctx: Ctx, e: ev.MemberBound) -> list[ev.Event]:
    return people.bind_member(ctx, r.world.member(e.login), e.os_user, e.db_role)


@acts.replays(ev.RoleAssigned)
def _assign(r: Replayer, ctx: Ctx, e: ev.RoleAssigned) -> list[ev.Event]:
    return people.assign(ctx, e.id, r.world.member(e.login), e.position, r.world.bodies[e.body], e.team,
                         e.valid_from, e.valid_until)


@acts.replays(ev.BodyAdded)
def _body(r: Replayer, ctx: Ctx, e: ev.BodyAdded) -> list[ev.Event]:
    return people.add_body(ctx, e.key, e.kind, e.ja, e.en)


@acts.replays(ev.AssignmentEnded)
def _end(r: Replayer, ctx: Ctx, e: ev.AssignmentEnded) -> list[ev.Event]:
    a = r.world.assignments.get(e.id)
    if a is None:
        raise ReplayMismatch("replay.no_assignment", id=e.id)
    return people.end_assignment(ctx, a, r.world.bodies[a.body], e.valid_until)


@acts.replays(ev.RecordingDelegated)
def _delegate(r: Replayer, ctx: Ctx, e: ev.RecordingDelegated) -> list[ev.Event]:
    return people.delegate(ctx, e.id, r.world.member(e.clerk), e.valid_from, e.valid_until)


@acts.replays(ev.DelegationEnded)
def _undelegate(r: Replayer, ctx: Ctx, e: ev.DelegationEnded) -> list[ev.Event]:
    d = r.world.delegations.get(e.id)
    if d is None:
        raise ReplayMismatch("replay.no_delegation", id=e.id)
    return people.end_delegation(ctx, d, ctx.now)


def _nothing(r: Replayer, ctx: Ctx, e: ev.Event) -> list[ev.Event]:
    return [e]  # web sign-in facts: the actor acted on their own account (checked by the application)


@acts.replays(ev.CredentialSet)
def _password(r: Replayer, ctx: Ctx, e: ev.CredentialSet) -> list[ev.Event]:
    return people.set_password(ctx, e.login, e.commitment, legacy=r._schema < 2)


@acts.replays(ev.TokenCreated)
def _token(r: Replayer, ctx: Ctx, e: ev.TokenCreated) -> list[ev.Event]:
    if e.id in r.tokens:
        raise ReplayMismatch("replay.token_exists", id=e.id)
    return people.create_token(ctx, e.id, e.name, e.expires_at, e.digest, legacy=r._schema < 2)


@acts.replays(ev.TokenRevoked)
def _untoken(r: Replayer, ctx: Ctx, e: ev.TokenRevoked) -> list[ev.Event]:
    t = r.tokens.get(e.id)
    return people.revoke_token(ctx, e.id, t["login"] if t else None, t is not None and t["revoked_at"] is not None,
                               legacy=r._schema < 2)


@acts.replays(ev.DocumentPrinted)
def _printed(r: Replayer, ctx: Ctx, e: ev.DocumentPrinted) -> list[ev.Event]:
    return papers.printed(ctx, e.kind, e.item, e.meeting, e.lang, e.sha256, e.of_seq, e.head_seq)


# every decider above, as `@acts.replays` registered it for the acts engine/core/acts.py declares
_DECIDERS: dict[type, Callable[[Replayer, Ctx, Any], list[ev.Event]]] = acts.REPLAYS
