"""The fold: `apply(world, event)` turns one event into changed records.

The same function serves the live path (the service applies the event it just wrote
and saves what changed, in that transaction) and replay (an empty World folds the whole
log). So stored state and replayed state cannot drift; if they differ, something was
altered. `apply` reads nothing but its arguments: no clock, no database, no config.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, TypeVar

R = TypeVar("R")


def replace(obj: R, **changes: Any) -> R:
    """`dataclasses.replace` for our frozen slots records, without its per-call field
    introspection (a third of the fold's time over a long log)."""
    cls = type(obj)
    new = object.__new__(cls)
    for name in cls.__slots__:  # type: ignore[attr-defined]
        object.__setattr__(new, name, changes[name] if name in changes else getattr(obj, name))
    return new

from engine.errors import ReplayMismatch
from store.records import (AdoptionRecord, AssignmentRecord, BodyRecord, DelegationRecord, EventRecord,
                           ItemRecord, MeetingRecord, MemberRecord, OrderRecord, ReminderRecord)

Change = tuple[Any, Any]  # (new record, old record or None)


@dataclass
class World:
    """Everything the log describes: the roster over time, items, meetings, rulebooks."""

    bodies: dict[str, BodyRecord] = field(default_factory=dict)
    members: dict[str, MemberRecord] = field(default_factory=dict)
    assignments: dict[int, AssignmentRecord] = field(default_factory=dict)
    items: dict[int, ItemRecord] = field(default_factory=dict)
    meetings: dict[int, MeetingRecord] = field(default_factory=dict)
    adoptions: dict[str, AdoptionRecord] = field(default_factory=dict)
    reminders: dict[int, ReminderRecord] = field(default_factory=dict)
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    delegations: dict[int, DelegationRecord] = field(default_factory=dict)

    _by_login: dict[str, list[AssignmentRecord]] | None = field(default=None, repr=False, compare=False)

    def assignments_of(self, login: str) -> list[AssignmentRecord]:
        if self._by_login is None:  # an index, dropped whenever an assignment changes
            index: dict[str, list[AssignmentRecord]] = {}
            for a in self.assignments.values():
                index.setdefault(a.login, []).append(a)
            self._by_login = index
        return self._by_login.get(login, [])

    _open_orders: dict[int, dict[int, OrderRecord]] = field(default_factory=dict, repr=False, compare=False)
    _kinds: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def open_orders_of(self, item: int) -> list[OrderRecord]:
        """The item's open orders (an index kept by the fold: replay asks on every step)."""
        return list(self._open_orders.get(item, {}).values())

    def body_kinds(self) -> dict[str, str]:
        if self._kinds is None:
            self._kinds = {b.key: b.kind for b in self.bodies.values()}
        return self._kinds

    def all_assignments(self) -> list[AssignmentRecord]:
        return list(self.assignments.values())


def parse_instant(text: str | None) -> dt.datetime | None:
    """A time as events carry it (`chain.instant`), back to an aware datetime."""
    return None if text is None else dt.datetime.fromisoformat(text)


_t = parse_instant


def apply(world: World, ev: EventRecord) -> list[Change]:
    """Fold one event into the world; return what changed as (new, old) pairs."""
    handler = _HANDLERS.get(ev.type)
    if handler is None:
        raise ReplayMismatch(f"event {ev.seq}: unknown type {ev.type!r}")
    try:
        changes = handler(world, ev, ev.payload)
    except (KeyError, TypeError, ValueError) as err:
        raise ReplayMismatch(f"event {ev.seq} ({ev.type}) cannot be folded: {err!r}") from err
    return changes


def _rulebook_adopted(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    new = AdoptionRecord(p["version"], dt.date.fromisoformat(p["effective_from"]), p["sha256"], p["text"])
    w.adoptions[new.version] = new
    return [(new, None)]


def _body_added(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    new = BodyRecord(p["key"], p["kind"], p["ja"], p["en"])
    if new.key in w.bodies:
        raise ValueError(f"body {new.key} exists")
    w.bodies[new.key] = new
    w._kinds = None
    return [(new, None)]


def _member_added(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    new = MemberRecord(p["login"], p["name"], p["name_en"], p.get("email"), p.get("lang", "ja"),
                       p.get("channel", "email"))
    if new.login in w.members:
        raise ValueError(f"member {new.login} exists")
    w.members[new.login] = new
    return [(new, None)]


def _role_assigned(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    new = AssignmentRecord(p["id"], p["login"], p["position"], p["body"], p.get("team"),
                           _t(p["valid_from"]), _t(p.get("valid_until")))  # type: ignore[arg-type]
    w.assignments[new.id] = new
    w._by_login = None
    return [(new, None)]


def _assignment_ended(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    old = w.assignments[p["id"]]
    new = replace(old, valid_until=_t(p["valid_until"]))
    w.assignments[new.id] = new
    w._by_login = None
    return [(new, old)]


def _item_filed(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    assert ev.item is not None
    if ev.item in w.items:
        raise ValueError(f"item {ev.item} exists")
    new = ItemRecord(id=ev.item, title=p["title"], body=p["body"], team=p.get("team"), state=p["state"],
                     version=1, filed_by=ev.authority, filed_at=ev.at, updated_at=ev.at,
                     note=p.get("note", ""), origin=p.get("origin"))
    w.items[new.id] = new
    return [(new, None)]


def _item_advanced(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    assert ev.item is not None
    old = w.items[ev.item]
    if old.state != p["from"]:
        raise ValueError(f"item {old.id} is {old.state}, the event says {p['from']}")
    new = replace(old, state=p["to"], version=old.version + 1, updated_at=ev.at)
    w.items[new.id] = new
    changes: list[Change] = [(new, old)]
    if ev.meeting is not None and not p.get("tabled"):
        mold = w.meetings[ev.meeting]
        mnew = replace(mold, outcomes={**mold.outcomes, old.id: p["trigger"]}, version=mold.version + 1)
        w.meetings[mnew.id] = mnew
        changes.append((mnew, mold))
    return changes


def _meeting_convened(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    assert ev.meeting is not None
    if ev.meeting in w.meetings:
        raise ValueError(f"meeting {ev.meeting} exists")
    new = MeetingRecord(id=ev.meeting, kind=p["kind"], body=p["body"], convener=ev.authority,
                        chair=p["chair"], starts_at=_t(p["starts_at"]),  # type: ignore[arg-type]
                        status="convened", version=1, convened_at=ev.at,
                        attendees=tuple(p["attendees"]), invited=tuple(p["invited"]),
                        items=tuple(p["items"]))
    w.meetings[new.id] = new
    return [(new, None)]


def _meeting_held(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    assert ev.meeting is not None
    old = w.meetings[ev.meeting]
    new = replace(old, status="held", present=tuple(p["present"]), held_at=ev.at, version=old.version + 1)
    w.meetings[new.id] = new
    return [(new, old)]


def _meeting_cancelled(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    assert ev.meeting is not None
    old = w.meetings[ev.meeting]
    new = replace(old, status="cancelled", version=old.version + 1)
    w.meetings[new.id] = new
    return [(new, old)]


def _reminder_set(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    if p["id"] in w.reminders:
        raise ValueError(f"reminder {p['id']} exists")
    new = ReminderRecord(id=p["id"], key=p["key"], item=ev.item, meeting=ev.meeting, order=p.get("order"),
                         body=p["body"], started_at=_t(p["started_at"]), due_at=_t(p["due_at"]),  # type: ignore[arg-type]
                         next_rung=0, next_at=_t(p["due_at"]), status="pending")
    w.reminders[new.id] = new
    return [(new, None)]


def _reminder_cancelled(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    old = w.reminders[p["id"]]
    new = replace(old, status="cancelled", next_at=None, version=old.version + 1)
    w.reminders[new.id] = new
    return [(new, old)]


def _reminder_due(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    old = w.reminders[p["id"]]
    if old.next_rung != p["rung"] or old.status != "pending":
        raise ValueError(f"reminder {old.id} is at rung {old.next_rung} ({old.status}), the event says {p['rung']}")
    nxt = _t(p.get("next_at"))
    new = replace(old, next_rung=old.next_rung + 1, next_at=nxt, status="pending" if nxt else "done",
                  version=old.version + 1)
    w.reminders[new.id] = new
    return [(new, old)]


def _order_issued(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    assert ev.item is not None
    if p["id"] in w.orders:
        raise ValueError(f"order {p['id']} exists")
    new = OrderRecord(id=p["id"], item=ev.item, issued_by=ev.authority, to=p["to"], issued_at=ev.at,
                      due_at=_t(p["due_at"]), status="open", note=p.get("note", ""))  # type: ignore[arg-type]
    w.orders[new.id] = new
    w._open_orders.setdefault(new.item, {})[new.id] = new
    return [(new, None)]


def _order_settled(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    old = w.orders[p["id"]]
    if old.status != "open":
        raise ValueError(f"order {old.id} is {old.status}")
    status = "complete" if ev.type == "OrderCompleted" else "waived"
    new = replace(old, status=status, finding=p.get("finding"), reason=p.get("reason"), settled_at=ev.at,
                  version=old.version + 1)
    w.orders[new.id] = new
    w._open_orders.get(new.item, {}).pop(new.id, None)
    return [(new, old)]


def _delegated(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    new = DelegationRecord(p["id"], ev.authority, p["clerk"], _t(p["valid_from"]), _t(p.get("valid_until")))  # type: ignore[arg-type]
    w.delegations[new.id] = new
    return [(new, None)]


def _delegation_ended(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    old = w.delegations[p["id"]]
    new = replace(old, valid_until=_t(p["valid_until"]))
    w.delegations[new.id] = new
    return [(new, old)]


def _no_state(w: World, ev: EventRecord, p: dict[str, Any]) -> list[Change]:
    """Delivery outcomes are facts for the auditor; the reminder itself does not change."""
    if p["id"] not in w.reminders:
        raise ValueError(f"no reminder {p['id']}")
    return []


_HANDLERS = {
    "RulebookAdopted": _rulebook_adopted,
    "BodyAdded": _body_added,
    "MemberAdded": _member_added,
    "RoleAssigned": _role_assigned,
    "AssignmentEnded": _assignment_ended,
    "ItemFiled": _item_filed,
    "ItemAdvanced": _item_advanced,
    "MeetingConvened": _meeting_convened,
    "MeetingHeld": _meeting_held,
    "MeetingCancelled": _meeting_cancelled,
    "ReminderSet": _reminder_set,
    "ReminderCancelled": _reminder_cancelled,
    "ReminderDue": _reminder_due,
    "ReminderSent": _no_state,
    "ReminderFailed": _no_state,
    "OrderIssued": _order_issued,
    "OrderCompleted": _order_settled,
    "OrderWaived": _order_settled,
    "RecordingDelegated": _delegated,
    "DelegationEnded": _delegation_ended,
    "ActRefused": lambda w, ev, p: [],  # a refused attempt, kept for the auditor: no state changes
}
EVENT_TYPES = tuple(_HANDLERS)
