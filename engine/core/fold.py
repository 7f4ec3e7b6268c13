"""The fold: one event into the world, and the projections it implies.

`apply(world, stamp, event, changes)` changes the records the event is about, then plans
again the reminders of every item and meeting it touched (the projection of
`engine.core.plan`). The same function serves the live path (an act folds the events
it just appended and saves `changes`) and replay (an empty World folds the whole log), so
stored and replayed state cannot drift; if they differ, something was altered. It reads
nothing but its arguments.

A plan is a function of its subject as it stands, so a World may defer it: replay's World
is `lazy`, and notes what to plan again instead of planning after every event; `settle`
plans what is owed (before a reminder is checked, and at the end).
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from engine.core import acts
from engine.core import events as ev
from engine.core import plan
from engine.core.errors import ReplayMismatch
from engine.core.world import Agenda, Outcomes, World
from store.frozen import copier, record
from store.records import (AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, ItemRecord,
                           MeetingRecord, MemberRecord, Minutes, OpenOrder, OrderRecord, Planned, Sitting)


@record
class Stamp:
    """The envelope of an event as the fold needs it."""

    seq: int
    at: dt.datetime
    actor: str
    authority: str
    rulebook: str


@dataclass
class Changes:
    """What an act changed: for each record, its first old value and its latest new one."""

    rows: dict[tuple[str, Any], tuple[Any, Any]] = field(default_factory=dict)

    def put(self, kind: str, key: Any, new: Any, old: Any) -> None:
        was = self.rows.get((kind, key))
        self.rows[(kind, key)] = (new, old if was is None else was[1])

    def of(self, kind: str) -> list[tuple[Any, Any]]:
        return [v for (k, _), v in self.rows.items() if k == kind]

    def __bool__(self) -> bool:
        return bool(self.rows)


_REPLACERS: dict[type, Any] = {}


def _r(obj: Any, **changes: Any) -> Any:
    """`dataclasses.replace` for frozen slots records, without its per-call introspection
    (the fold copies a record or two per event; `store.frozen.copier`)."""
    fn = _REPLACERS.get(type(obj))
    if fn is None:
        fn = _REPLACERS[type(obj)] = copier(type(obj))
    return fn(obj, changes)


class Fold:
    """Applies events to one World; `touched` collects what the projection must plan again."""

    __slots__ = ("c", "items", "meetings", "w")

    def __init__(self, world: World, changes: Changes) -> None:
        self.w, self.c = world, changes
        self.items: set[int] = set()
        self.meetings: set[int] = set()

    # ------------------------------------------------------------ writing records
    def item(self, new: ItemRecord, old: ItemRecord | None) -> None:
        self.w.items[new.id] = new
        self.c.put("item", new.id, new, old)
        self.items.add(new.id)

    def meeting(self, new: MeetingRecord, old: MeetingRecord | None) -> None:
        self.w.meetings[new.id] = new
        self.c.put("meeting", new.id, new, old)
        self.meetings.add(new.id)

    def sittings(self, m: MeetingRecord, item_ids: Any = None) -> None:
        """Refresh the view each agenda item has of the meeting (status, sitting, outcome),
        in meeting order. A lazy World only notes the meetings of each item and what to
        refresh (`settle` rebuilds the view from them)."""
        ids = m.items if item_ids is None else item_ids
        w = self.w
        if w.lazy:
            for item_id in ids:
                w.agenda_of[item_id] = Agenda.put(w.agenda_of.get(item_id), m.id, item_id in m.items)
                w.dirty_items.add(item_id)
            return
        for item_id in ids:
            old = w.items[item_id]
            kept = [s for s in old.sittings if s.meeting != m.id]
            if item_id in m.items:
                kept.append(Sitting(m.id, m.kind, m.status, m.starts_at, m.held_at, m.outcomes.get(item_id)))
                kept.sort(key=_by_meeting)
            self.item(_r(old, sittings=tuple(kept)), old)

    # ------------------------------------------------------------ the projection
    def replan(self) -> None:
        w = self.w
        if w.lazy:
            w.dirty_items |= self.items
            w.dirty_meetings |= self.meetings
            return
        for item_id in sorted(self.items):
            planned_item(w, item_id, self.c)
        for meeting_id in sorted(self.meetings):
            planned_meeting(w, meeting_id, self.c)


def _by_meeting(s: Sitting) -> int:
    return s.meeting


def sittings_of(w: World, item_id: int) -> tuple[Sitting, ...]:
    """An item's view of the meetings that have it on their agenda (a lazy World's rebuild)."""
    out = []
    made = w.sittings_made
    for mid in sorted(w.agenda_of.get(item_id, ())):
        m = w.meetings[mid]
        outcome = m.outcomes.get(item_id)
        s = made.get(mid)  # the last one made of this meeting: the same for each item with its outcome
        if (s is None or s.outcome != outcome or s.status is not m.status or s.held_at is not m.held_at
                or s.starts_at is not m.starts_at or s.kind is not m.kind):
            s = made[mid] = Sitting(m.id, m.kind, m.status, m.starts_at, m.held_at, outcome)
        out.append(s)
    return tuple(out)


def planned_item(w: World, item_id: int, changes: Changes) -> None:
    """Plan an item's reminders as it stands, under the version in force when it last moved."""
    item = w.items[item_id]
    new = settled_item(w, item_id, item)
    if new is not item:
        w.items[item_id] = new
        if new.reminders != item.reminders:
            changes.put("item", item_id, new, _r(item, sittings=new.sittings) if new.sittings != item.sittings else item)


def settled_item(w: World, item_id: int, item: ItemRecord) -> ItemRecord:
    """`item` (the world's record of `item_id`) as planning leaves it: its view of its
    meetings rebuilt in a lazy World, its reminders planned; `item` itself when neither
    changes. Nothing is written: `audit verify` compares a long log's records this way, one
    at a time, rather than holding every planned record at once."""
    if w.lazy:
        sittings = sittings_of(w, item_id)
        if sittings != item.sittings:
            item = _r(item, sittings=sittings)
    planned = plan.plan_item(w.book(item.updated_at), item, w.body_kinds()[item.body])
    return item if planned == item.reminders else _r(item, reminders=planned)


def planned_meeting(w: World, meeting_id: int, changes: Changes) -> None:
    m = w.meetings[meeting_id]
    new = settled_meeting(w, m)
    if new is not m:
        w.meetings[meeting_id] = new
        changes.put("meeting", meeting_id, new, m)


def settled_meeting(w: World, m: MeetingRecord) -> MeetingRecord:
    """`m` with its reminders planned (`m` itself when they stand); nothing written."""
    planned = plan.plan_meeting(w.book(m.convened_at), m)
    return m if planned == m.reminders else _r(m, reminders=planned)


def settle(w: World, item: int | None = None, meeting: int | None = None) -> None:
    """Plan what a lazy World owes: one subject, or (neither given) everything."""
    nothing = Changes()
    if item is not None or meeting is not None:
        if item is not None and item in w.dirty_items:
            w.dirty_items.discard(item)
            planned_item(w, item, nothing)
        if meeting is not None and meeting in w.dirty_meetings:
            w.dirty_meetings.discard(meeting)
            planned_meeting(w, meeting, nothing)
        return
    for i in sorted(w.dirty_items):
        planned_item(w, i, nothing)
    for m in sorted(w.dirty_meetings):
        planned_meeting(w, m, nothing)
    w.dirty_items.clear()
    w.dirty_meetings.clear()


def apply(world: World, stamp: Stamp, event: ev.Event, changes: Changes) -> None:
    """Fold one event into the world, then plan the reminders of what it touched."""
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise ReplayMismatch("replay.unknown_type", type=event.type)
    if handler is _nothing:  # a fact that changes no state (a message sent): nothing to fold or plan
        return
    f = Fold(world, changes)
    try:
        handler(f, stamp, event)
    except (KeyError, TypeError, ValueError) as err:
        raise ReplayMismatch("replay.cannot_fold", seq=stamp.seq, type=event.type, error=repr(err)) from err
    if f.items or f.meetings:
        f.replan()


# ---------------------------------------------------------------- the rules and the roster
@acts.folds(ev.RulebookAdopted)
def _adopted(f: Fold, s: Stamp, e: ev.RulebookAdopted) -> None:
    new = AdoptionRecord(e.version, dt.date.fromisoformat(e.effective_from), e.sha256, e.text)
    f.w.adoptions[new.version] = new
    f.c.put("adoption", new.version, new, None)
    f.w.rules_changed()


@acts.folds(ev.BodyAdded)
def _body(f: Fold, s: Stamp, e: ev.BodyAdded) -> None:
    if e.key in f.w.bodies:
        raise ValueError(f"body {e.key} exists")
    new = BodyRecord(e.key, e.kind, e.ja, e.en)
    f.w.bodies[new.key] = new
    f.c.put("body", new.key, new, None)
    f.w.bodies_changed()


@acts.folds(ev.MemberAdded)
def _member(f: Fold, s: Stamp, e: ev.MemberAdded) -> None:
    if e.login in f.w.members:
        raise ValueError(f"member {e.login} exists")
    new = MemberRecord(e.login, e.name, e.name_en, e.email, e.lang, e.channel, e.os_user, e.db_role)
    f.w.members[new.login] = new
    f.c.put("member", new.login, new, None)


@acts.folds(ev.MemberBound)
def _bound(f: Fold, s: Stamp, e: ev.MemberBound) -> None:
    old = f.w.members[e.login]
    new = _r(old, os_user=e.os_user, db_role=e.db_role)
    f.w.members[new.login] = new
    f.c.put("member", new.login, new, old)


@acts.folds(ev.RoleAssigned)
def _assigned(f: Fold, s: Stamp, e: ev.RoleAssigned) -> None:
    new = AssignmentRecord(e.id, e.login, e.position, e.body, e.team, e.valid_from, e.valid_until)
    f.w.assignments[new.id] = new
    f.c.put("assignment", new.id, new, None)
    f.w.roster_changed()


@acts.folds(ev.AssignmentEnded)
def _ended(f: Fold, s: Stamp, e: ev.AssignmentEnded) -> None:
    old = f.w.assignments[e.id]
    new = _r(old, valid_until=e.valid_until)
    f.w.assignments[new.id] = new
    f.c.put("assignment", new.id, new, old)
    f.w.roster_changed()


@acts.folds(ev.RecordingDelegated)
def _delegated(f: Fold, s: Stamp, e: ev.RecordingDelegated) -> None:
    new = DelegationRecord(e.id, s.authority, e.clerk, e.valid_from, e.valid_until)
    f.w.delegations[new.id] = new
    f.c.put("delegation", new.id, new, None)


@acts.folds(ev.DelegationEnded)
def _undelegated(f: Fold, s: Stamp, e: ev.DelegationEnded) -> None:
    old = f.w.delegations[e.id]
    new = _r(old, valid_until=e.valid_until)
    f.w.delegations[new.id] = new
    f.c.put("delegation", new.id, new, old)


# ---------------------------------------------------------------- items
@acts.folds(ev.ItemFiled)
def _filed(f: Fold, s: Stamp, e: ev.ItemFiled) -> None:
    if e.item in f.w.items:
        raise ValueError(f"item {e.item} exists")
    f.item(ItemRecord(id=e.item, title=e.title, body=e.body, team=e.team, state=e.state, version=1,
                      filed_by=s.authority, filed_at=s.at, updated_at=s.at, note=e.note, origin=e.origin,
                      pillars=e.pillars), None)


@acts.folds(ev.ItemAdvanced)
def _advanced(f: Fold, s: Stamp, e: ev.ItemAdvanced) -> None:
    old = f.w.items[e.item]
    if old.state != e.src:
        raise ValueError(f"item {old.id} is {old.state}, the event says {e.src}")
    f.item(_r(old, state=e.dest, version=old.version + 1, updated_at=s.at), old)
    if e.meeting is not None and not e.tabled:
        mold = f.w.meetings[e.meeting]
        outcomes = {**mold.outcomes, old.id: e.trigger}
        mnew = _r(mold, outcomes=Outcomes(outcomes) if f.w.lazy else outcomes, version=mold.version + 1)
        f.meeting(mnew, mold)
        f.sittings(mnew, [old.id])


# ---------------------------------------------------------------- meetings
@acts.folds(ev.MeetingConvened)
def _convened(f: Fold, s: Stamp, e: ev.MeetingConvened) -> None:
    if e.meeting in f.w.meetings:
        raise ValueError(f"meeting {e.meeting} exists")
    new = MeetingRecord(id=e.meeting, kind=e.kind, body=e.body, convener=s.authority, chair=e.chair,
                        starts_at=e.starts_at, status="convened", version=1, convened_at=s.at,
                        attendees=f.w.logins(e.attendees), invited=f.w.logins(e.invited),
                        items=f.w.item_ids(e.items), place=e.place)
    f.meeting(new, None)
    f.sittings(new)


@acts.folds(ev.AgendaChanged)
def _agenda(f: Fold, s: Stamp, e: ev.AgendaChanged) -> None:
    old = f.w.meetings[e.meeting]
    items = [i for i in old.items if i != e.item]
    if e.op != "remove":
        items.insert(e.position - 1, e.item)
    new = _r(old, items=f.w.item_ids(tuple(items)), version=old.version + 1, changed_at=_changed(f, old, s))
    f.meeting(new, old)
    f.sittings(new, [e.item])


def _changed(f: Fold, old: MeetingRecord, s: Stamp) -> dt.datetime | None:
    """When the meeting last changed after convening (R-N5: its notices follow it); kept
    only under a rulebook whose meeting notice follows changes, so a meeting folded under
    an older one keeps the record it was stored with."""
    return s.at if plan.follows_changes(f.w.book(old.convened_at)) else old.changed_at


@acts.folds(ev.MeetingHeld)
def _held(f: Fold, s: Stamp, e: ev.MeetingHeld) -> None:
    old = f.w.meetings[e.meeting]
    new = _r(old, status="held", present=f.w.logins(e.present), held_at=s.at, sat_at=e.sat_at, version=old.version + 1)
    f.meeting(new, old)
    f.sittings(new)


@acts.folds(ev.MeetingCancelled)
def _cancelled(f: Fold, s: Stamp, e: ev.MeetingCancelled) -> None:
    old = f.w.meetings[e.meeting]
    new = _r(old, status="cancelled", version=old.version + 1, changed_at=_changed(f, old, s))
    f.meeting(new, old)
    f.sittings(new)


@acts.folds(ev.MeetingMoved)
def _moved(f: Fold, s: Stamp, e: ev.MeetingMoved) -> None:
    """Another time or place (R-M6): its items' view of it and its reminders follow."""
    old = f.w.meetings[e.meeting]
    new = _r(old, starts_at=e.starts_at, place=e.place, version=old.version + 1, changed_at=_changed(f, old, s))
    f.meeting(new, old)
    f.sittings(new)


@acts.folds(ev.MinutesRecorded)
def _minutes(f: Fold, s: Stamp, e: ev.MinutesRecorded) -> None:
    old = f.w.meetings[e.meeting]
    entry = Minutes(e.n, e.sha256, e.text, s.authority, s.at)
    f.meeting(_r(old, minutes=(*old.minutes, entry), version=old.version + 1), old)


@acts.folds(ev.MinutesApproved)
def _approved(f: Fold, s: Stamp, e: ev.MinutesApproved) -> None:
    old = f.w.meetings[e.meeting]
    minutes = tuple(_r(m, approved_by=s.authority, approved_at=s.at) if m.n == e.n else m for m in old.minutes)
    f.meeting(_r(old, minutes=minutes, version=old.version + 1), old)


# ---------------------------------------------------------------- orders
@acts.folds(ev.OrderIssued)
def _issued(f: Fold, s: Stamp, e: ev.OrderIssued) -> None:
    if e.id in f.w.orders:
        raise ValueError(f"order {e.id} exists")
    new = OrderRecord(id=e.id, item=e.item, issued_by=s.authority, to=e.to, issued_at=s.at, due_at=e.due_at,
                      status="open", note=e.note)
    f.w.orders[new.id] = new
    f.c.put("order", new.id, new, None)
    old = f.w.items[e.item]
    f.item(_r(old, orders=(*old.orders, OpenOrder(e.id, e.to, s.at, e.due_at))), old)


@acts.folds(ev.OrderCompleted, ev.OrderWaived)
def _settled(f: Fold, s: Stamp, e: ev.OrderCompleted | ev.OrderWaived) -> None:
    old = f.w.orders[e.id]
    if old.status != "open":
        raise ValueError(f"order {old.id} is {old.status}")
    done = isinstance(e, ev.OrderCompleted)
    new = _r(old, status="complete" if done else "waived", finding=e.finding if done else None,  # type: ignore[union-attr]
             reason=None if done else e.reason, settled_at=s.at, version=old.version + 1)  # type: ignore[union-attr]
    f.w.orders[new.id] = new
    f.c.put("order", new.id, new, old)
    item = f.w.items[old.item]
    f.item(_r(item, orders=tuple(o for o in item.orders if o.id != e.id)), item)


# ---------------------------------------------------------------- what the scheduler did
@acts.folds(ev.ReminderDue)
def _due(f: Fold, s: Stamp, e: ev.ReminderDue) -> None:
    """A rung went out: the subject's tally of it moves on (and so does its plan)."""
    ident = e.reminder
    if ident is None:  # kaigi 0.1 named it by row id
        known = f.w.legacy.get(e.legacy_id)  # type: ignore[arg-type]
        if known is None:
            return
        ident = known[0]
    if e.meeting is not None and e.item is None:
        m = f.w.meetings[e.meeting]
        f.meeting(_r(m, fired=plan.tally(m.fired, ident)), m)
        return
    item = f.w.items[e.item]  # type: ignore[index]
    f.item(_r(item, fired=plan.tally(item.fired, ident)), item)


@acts.folds(ev.ReminderSet)
def _legacy_set(f: Fold, s: Stamp, e: ev.ReminderSet) -> None:
    """kaigi 0.1 bookkeeping: no state; its id is kept to read the 0.1 delivery events."""
    subject = f"order:{e.order}" if e.order is not None else (
        f"item:{e.item}" if e.item is not None else f"meeting:{e.meeting}")
    ident = Planned(e.key, subject, s.rulebook, e.started_at, e.due_at).ident
    f.w.legacy[e.id] = (ident, e.key, e.due_at, e.order)


@acts.folds(ev.ReminderSent, ev.ReminderFailed, ev.ActRefused, ev.CredentialSet, ev.TokenCreated, ev.TokenRevoked,
            ev.ReminderCancelled, ev.DocumentPrinted)
def _nothing(f: Fold, s: Stamp, e: ev.Event) -> None:
    """Facts for the auditor that change no state: a message sent or failed, a refusal."""


def fold_credential(tokens: dict[int, dict[str, Any]], commitments: dict[str, str | None], seq: int,
                    at: dt.datetime, e: ev.Event) -> None:
    """R-I5: the api_token table as TokenCreated and TokenRevoked fold to (the row the
    append function writes on PostgreSQL, and `after` on the other stores), and each
    member's latest password commitment. Kept beside the World: no decision reads a token,
    only `audit verify` (and an import) does; `seq` is the last event that touched a row."""
    if isinstance(e, ev.TokenCreated):
        tokens[e.id] = {"id": e.id, "login": e.login, "name": e.name, "digest": e.digest, "created_at": at,
                        "expires_at": e.expires_at, "revoked_at": None, "seq": seq}
    elif isinstance(e, ev.TokenRevoked):
        t = tokens.get(e.id)
        if t is not None and t["revoked_at"] is None:
            t.update(revoked_at=at, seq=seq)
    elif isinstance(e, ev.CredentialSet):
        commitments[e.login] = e.commitment


# every handler above, as `@acts.folds` registered it for the event types engine/core/acts.py declares
_HANDLERS: dict[type, Any] = acts.FOLDS
