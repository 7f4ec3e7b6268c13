"""The auditor's replay: fold the log, and re-decide every act with the code that made it.

For each event: the rulebook version it names must be the one in force at its time
(among those adopted so far in the log); the same decision function the service ran is
asked again, with the event's time, actor, authority, the roster as the log had it then
and that rulebook; it must allow the act and produce exactly the recorded event. Then
the event is folded with `state.apply`. Nothing here reads the database or the clock:
the log alone is the evidence (its adopted rulebook texts included).
"""

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine import authority as au
from engine import decide
from engine.errors import EngineError, NotFound, NotPermitted, ReplayMismatch
from engine.rules import Rules
from engine.state import World, apply
from store.records import EventRecord
from workflows import Rulebook, parse_rulebook

SYSTEM, SCHEDULER = "system", "scheduler"
SETUP = {"RulebookAdopted", "BodyAdded", "MemberAdded", "RoleAssigned"}
CONSEQUENCES = {"ReminderSet", "ReminderCancelled"}  # written by the act just before, in its transaction
DELIVERY = {"ReminderDue", "ReminderSent", "ReminderFailed"}


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
    from_: str | None
    to: str | None
    rulebook: str
    allowed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        from engine.timeutil import iso

        return {"seq": self.seq, "at": iso(self.at), "actor": self.actor, "authority": self.authority,
                "type": self.type, "item": self.item, "meeting": self.meeting, "trigger": self.trigger,
                "from": self.from_, "to": self.to, "rulebook": self.rulebook, "allowed": self.allowed,
                "reason": self.reason}


@dataclass
class Replayer:
    """Folds events one by one, re-deciding each act; `world` is the state so far."""

    world: World = field(default_factory=World)
    _books: list[Rulebook] = field(default_factory=list)
    _rules: Rules | None = None
    _last: EventRecord | None = None
    _acted: bool = False  # a member has acted: set-up by `kaigi init` is over
    fired: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # reminder id -> rungs fired, sent

    def rules(self) -> Rules:
        if self._rules is None:
            self._rules = Rules(self._books)
        return self._rules

    def step(self, ev: EventRecord) -> Step:
        """Judge and fold one event. A judgement of `not allowed` leaves the world unfolded."""
        try:
            reason = self._judge(ev)
            allowed = ev.type != "ActRefused"
        except EngineError as err:
            return self._step(ev, False, str(err))
        apply(self.world, ev)
        self._last = ev
        if ev.type == "ReminderDue":
            self.fired.setdefault(ev.payload["id"], []).append(
                {"rung": ev.payload["rung"], "recipients": ev.payload["recipients"], "sent_to": []})
        elif ev.type == "ReminderSent":
            for rung in self.fired.get(ev.payload["id"], []):
                if rung["rung"] == ev.payload["rung"]:
                    rung["sent_to"].append(ev.payload["recipient"])
        return self._step(ev, allowed, reason)

    def _step(self, ev: EventRecord, allowed: bool, reason: str) -> Step:
        p = ev.payload if ev.type == "ItemAdvanced" else {}
        return Step(ev.seq, ev.at, ev.actor, ev.authority, ev.type, ev.item, ev.meeting, p.get("trigger"),
                    p.get("from"), p.get("to"), ev.rulebook, allowed, reason)

    # ------------------------------------------------------------ judging
    def _judge(self, ev: EventRecord) -> str:
        if ev.type == "RulebookAdopted":
            return self._adopt(ev)
        if ev.type == "ActRefused":
            return f"refused then: {ev.payload.get('reason', '')}"
        book = self._book(ev)
        if ev.type in SETUP and ev.actor == SYSTEM:
            if ev.authority != SYSTEM:
                raise ReplayMismatch(f"event {ev.seq}: set-up by system must carry system authority")
            if ev.type != "BodyAdded" and self._acted:
                raise NotPermitted(f"event {ev.seq}: the roster is set up by `kaigi init` before anyone acts; "
                                   f"later changes are acts of the chief or a station chief (R-P1)")
            return "set-up (kaigi init)"
        if ev.type in DELIVERY:
            if ev.actor != SCHEDULER:
                raise NotPermitted(f"event {ev.seq}: only the scheduler records {ev.type}")
            return "the scheduler's record"
        if ev.type in CONSEQUENCES:
            same_act = self._last is not None and (self._last.actor, self._last.at) == (ev.actor, ev.at)
            if not same_act and ev.actor != SCHEDULER:
                raise ReplayMismatch(f"event {ev.seq}: {ev.type} does not follow an act of {ev.actor}")
            return "consequence of the act before"
        self._acted = True
        decider = _DECIDERS.get(ev.type)
        if decider is None:
            raise ReplayMismatch(f"event {ev.seq}: unknown type {ev.type!r}")
        ctx = self._ctx(ev, book)
        draft = decider(self, ctx, ev)
        expected = (draft.type, draft.payload, draft.item, draft.meeting)
        if expected != (ev.type, ev.payload, ev.item, ev.meeting):
            raise ReplayMismatch(f"event {ev.seq}: the rules give {draft.type} {draft.payload} "
                                 f"(item {draft.item}, meeting {draft.meeting}), the log says {ev.type} {ev.payload}")
        return f"allowed ({draft.rule})" if draft.rule else "allowed"

    def _adopt(self, ev: EventRecord) -> str:
        p = ev.payload
        if ev.actor != SYSTEM:  # a new version adopted later: the chief issues circulars
            book = self._book(ev)
            ctx = self._ctx(ev, book)
            if au.holds(ctx.held, book, book.powers.adopt_rulebook, au.HQ) is None:
                raise ctx.refuse("adopts a rulebook version", book.powers.adopt_rulebook, au.HQ, "R-V1")
        if hashlib.sha256(p["text"].encode("utf-8")).hexdigest() != p["sha256"]:
            raise ReplayMismatch(f"event {ev.seq}: the adopted rulebook text does not match its sha256")
        book = parse_rulebook(p["text"], f"adopted rulebook {p['version']}")
        if (book.version, book.effective_from.isoformat()) != (p["version"], p["effective_from"]):
            raise ReplayMismatch(f"event {ev.seq}: the adopted text is version {book.version}, the event says {p['version']}")
        self._books = [b for b in self._books if b.version != book.version] + [book]
        self._rules = None
        return f"rulebook {book.version} adopted, in force from {book.effective_from}"

    def _book(self, ev: EventRecord) -> Rulebook:
        try:
            book = self.rules().at(ev.at)
        except NotFound as err:
            raise ReplayMismatch(f"event {ev.seq}: {err}") from err
        if book.version != ev.rulebook:
            raise ReplayMismatch(f"event {ev.seq} says rulebook {ev.rulebook}; {book.version} was in force then")
        return book

    def _ctx(self, ev: EventRecord, book: Rulebook) -> decide.Ctx:
        w = self.world
        if ev.actor not in w.members:
            raise NotPermitted(f"{ev.actor!r} was not on the roster")
        ctx = decide.Ctx(book, ev.at, ev.actor, ev.authority, w)
        if ev.authority != ev.actor:
            if ev.authority not in w.members:
                raise NotPermitted(f"{ev.authority!r} was not on the roster")
            clerk = au.holdings(w, book, ev.actor, ev.at)
            decide.may_record_for(ctx, clerk, list(w.delegations.values()))
        return ctx

    # ------------------------------------------------------------ helpers for deciders
    def item(self, item_id: int | None) -> Any:
        try:
            return self.world.items[item_id]  # type: ignore[index]
        except KeyError:
            raise ReplayMismatch(f"no item {item_id} in the log before this event") from None

    def meeting(self, meeting_id: int | None) -> Any:
        try:
            return self.world.meetings[meeting_id]  # type: ignore[index]
        except KeyError:
            raise ReplayMismatch(f"no meeting {meeting_id} in the log before this event") from None

    def kinds(self) -> dict[str, str]:
        return self.world.body_kinds()

    def body(self, key: str) -> Any:
        try:
            return self.world.bodies[key]
        except KeyError:
            raise ReplayMismatch(f"no body {key!r} in the log before this event") from None

    def member(self, login: str) -> Any:
        try:
            return self.world.members[login]
        except KeyError:
            raise ReplayMismatch(f"no member {login!r} in the log before this event") from None


def _t(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _file(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    p = ev.payload
    if p.get("origin") is not None:  # opened by an edge like `escalate`, just before
        last = r._last
        if last is None or last.type != "ItemAdvanced" or last.payload.get("spawned") != ev.item:
            raise ReplayMismatch(f"event {ev.seq}: item {ev.item} claims origin {p['origin']} but no step opened it")
        origin = r.item(last.item)
        spec = ctx.book.transition(last.payload["trigger"], last.payload["from"], r.kinds()[origin.body])
        if spec is None or not spec.spawns:
            raise ReplayMismatch(f"event {ev.seq}: `{last.payload['trigger']}` opens no item")
        return decide.spawn(ctx, ev.item or 0, origin, spec, r.world.bodies)
    return decide.file_item(ctx, ev.item or 0, p["title"], r.body(p["body"]), p.get("team"), p.get("note", ""))


def _advance(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    p = ev.payload
    item = r.item(ev.item)
    meeting = r.meeting(ev.meeting) if ev.meeting is not None else None
    orders = r.world.open_orders_of(item.id)
    draft = decide.advance(ctx, item, p["trigger"], meeting, p.get("note", ""), r.kinds()[item.body],
                           open_orders=orders, by_convening=bool(p.get("tabled")))
    if "spawned" in p:  # the id of the item it opens is the store's; the next event must file it
        draft = decide.Draft(draft.type, {**draft.payload, "spawned": p["spawned"]}, draft.item, draft.meeting,
                             draft.rule)
    return draft


def _convene(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    p = ev.payload
    items = [r.item(i) for i in p["items"]]
    return decide.convene(ctx, ev.meeting or 0, p["kind"], r.body(p["body"]), _t(p["starts_at"]),  # type: ignore[arg-type]
                          items, list(p["attendees"]), list(p["invited"]), r.world.members, r.kinds())


def _hold(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    return decide.hold(ctx, r.meeting(ev.meeting), list(ev.payload["present"]))


def _cancel(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    return decide.cancel(ctx, r.meeting(ev.meeting), ev.payload.get("reason", ""))


def _order(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    p = ev.payload
    return decide.issue_order(ctx, p["id"], r.item(ev.item), r.member(p["to"]), _t(p["due_at"]),  # type: ignore[arg-type]
                              p.get("note", ""))


def _settle(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    o = r.world.orders.get(ev.payload["id"])
    if o is None:
        raise ReplayMismatch(f"event {ev.seq}: no order {ev.payload['id']}")
    if ev.type == "OrderCompleted":
        return decide.complete_order(ctx, o, ev.payload["finding"], r.item(o.item))
    return decide.waive_order(ctx, o, ev.payload["reason"], r.item(o.item))


def _member(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    p = ev.payload
    return decide.add_member(ctx, p["login"], p["name"], p["name_en"], p.get("email"), p.get("lang", "ja"),
                             p.get("channel", "email"), r.world.members)


def _assign(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    p = ev.payload
    return decide.assign(ctx, p["id"], r.member(p["login"]), p["position"], r.body(p["body"]), p.get("team"),
                         _t(p["valid_from"]), _t(p.get("valid_until")))  # type: ignore[arg-type]


def _end(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    a = r.world.assignments.get(ev.payload["id"])
    if a is None:
        raise ReplayMismatch(f"event {ev.seq}: no assignment {ev.payload['id']}")
    return decide.end_assignment(ctx, a, r.body(a.body), _t(ev.payload["valid_until"]))  # type: ignore[arg-type]


def _delegate(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    p = ev.payload
    return decide.delegate(ctx, p["id"], r.member(p["clerk"]), _t(p["valid_from"]), _t(p["valid_until"]))  # type: ignore[arg-type]


def _undelegate(r: Replayer, ctx: decide.Ctx, ev: EventRecord) -> decide.Draft:
    d = r.world.delegations.get(ev.payload["id"])
    if d is None:
        raise ReplayMismatch(f"event {ev.seq}: no delegation {ev.payload['id']}")
    return decide.end_delegation(ctx, d, ev.at)


_DECIDERS: dict[str, Callable[[Replayer, decide.Ctx, EventRecord], decide.Draft]] = {
    "ItemFiled": _file, "ItemAdvanced": _advance, "MeetingConvened": _convene, "MeetingHeld": _hold,
    "MeetingCancelled": _cancel, "OrderIssued": _order, "OrderCompleted": _settle, "OrderWaived": _settle,
    "MemberAdded": _member, "RoleAssigned": _assign, "AssignmentEnded": _end, "RecordingDelegated": _delegate,
    "DelegationEnded": _undelegate,
}
