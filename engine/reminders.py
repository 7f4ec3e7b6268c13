"""Pure reminder planning: what waits on whom, from the state of items and meetings.

`wanted()` derives the reminders an item or a meeting should have now (one per rule
whose condition holds, with its deadline); `reconcile()` compares that with the pending
rows and returns the events that create or cancel rows. The act that changes what waits
calls it in its own transaction, so a reminder is never out of step with its item.
No clock, no database: times come from the records and the rulebook.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.calendar import deadline
from engine.decide import Draft
from store.chain import instant
from store.records import ItemRecord, MeetingRecord, ReminderRecord
from workflows import Rulebook
from workflows.rulebook import ReminderRule


@dataclass(frozen=True, slots=True)
class Wanted:
    key: str
    body: str
    started_at: dt.datetime
    due_at: dt.datetime
    item: int | None = None
    meeting: int | None = None
    order: int | None = None

    @property
    def identity(self) -> tuple[object, ...]:
        return (self.key, self.item, self.meeting, self.order, self.due_at)


def rule_of(book: Rulebook, key: str) -> ReminderRule | None:
    return next((r for r in book.reminders if r.key == key), None)


def rung_at(book: Rulebook, rule: ReminderRule, due_at: dt.datetime, rung: int) -> dt.datetime | None:
    """When rung `rung` fires: rung 0 at the deadline, each escalation `after` the previous one."""
    if rung > len(rule.escalate):
        return None
    at = due_at
    for step in rule.escalate[:rung]:
        at = deadline(at, step.after, rule.unit, book.office_closure)
    return at


def _covered(item: ItemRecord, kind: str, meetings: list[MeetingRecord]) -> bool:
    """A meeting of that kind is called with the item on its agenda and has yet to sit."""
    return any(m.kind == kind and item.id in m.items and m.status == "convened" for m in meetings)


def wanted_for_item(book: Rulebook, item: ItemRecord, body_kind: str,
                    meetings: list[MeetingRecord], orders: list[Any] = ()) -> list[Wanted]:  # type: ignore[assignment]
    """The reminders an item should have now: its state's, and its open orders'."""
    out = []
    for rule in book.reminders:
        if rule.waits_kind == "order":
            if book.is_open(item.state):  # an order on a withdrawn or closed item waits for nothing
                out += [Wanted(rule.key, item.body, o.issued_at, o.due_at, item=item.id, order=o.id)
                        for o in orders if o.status == "open"]
            continue
        if rule.waits_state != item.state or (rule.items and rule.items != body_kind):
            continue
        if rule.cancelled_by and _covered(item, rule.cancelled_by.partition(":")[2], meetings):
            continue
        start = _start(rule, item, meetings)
        if start is None:
            continue
        due = deadline(start, rule.due, rule.unit, book.office_closure)
        out.append(Wanted(rule.key, item.body, start, due, item=item.id))
    return out


def _start(rule: ReminderRule, item: ItemRecord, meetings: list[MeetingRecord]) -> dt.datetime | None:
    """When the wait began: entering the state, or (`starts = "held:K"`) the sitting that left it open."""
    sat = [m.held_at for m in meetings if m.status == "held" and item.id in m.items and item.id not in m.outcomes
           and m.held_at is not None and m.held_at >= item.updated_at]
    if rule.starts is None:  # a sitting that left the item undealt with restarts the wait
        return max([item.updated_at, *sat])
    kind = rule.starts.partition(":")[2]
    sat = [m.held_at for m in meetings if m.kind == kind and m.status == "held" and item.id in m.items
           and item.id not in m.outcomes and m.held_at is not None]
    if sat:
        return max(sat)
    if any(m.kind == kind and item.id in m.items and m.status == "convened" for m in meetings):
        return None  # the sitting is still to come
    return item.updated_at  # its sitting was called off: the wait runs from the tabling


def wanted_for_meeting(book: Rulebook, meeting: MeetingRecord) -> list[Wanted]:
    if meeting.status != "convened":
        return []
    return [Wanted(r.key, meeting.body, meeting.convened_at,
                   deadline(meeting.starts_at, r.due, r.unit, book.office_closure), meeting=meeting.id)
            for r in book.reminders if r.waits_kind == "meeting"]


def reconcile(wanted: list[Wanted], pending: list[ReminderRecord], next_id: int) -> list[Draft]:
    """Events that bring the pending reminders in line with what is wanted."""
    have = {(r.key, r.item, r.meeting, r.order, r.due_at): r for r in pending}
    want = {w.identity: w for w in wanted}
    drafts = []
    for ident, r in have.items():
        if ident not in want:
            moved = any(w.key == r.key and (w.item, w.meeting, w.order) == (r.item, r.meeting, r.order)
                        for w in wanted)
            drafts.append(Draft("ReminderCancelled", {"id": r.id, "reason": "deadline moved" if moved
                                                      else "no longer waits"}, item=r.item, meeting=r.meeting))
    for ident, w in want.items():
        if ident not in have:
            drafts.append(Draft("ReminderSet", {"id": next_id, "key": w.key, "body": w.body, "order": w.order,
                                                "started_at": instant(w.started_at), "due_at": instant(w.due_at)},
                                item=w.item, meeting=w.meeting))
            next_id += 1
    return drafts
