"""The reminder projection: what waits on whom, derived from state and the rulebook.

Nothing here is an event. `plan_item` and `plan_meeting` give the reminders a subject
should have now: one per rule whose condition holds, with its deadline, under the
rulebook in force when the subject last changed state; how many rungs of each have gone
out is the subject's tally of ReminderDue facts (`fired`). So a plan is a function of
the subject as it stands, whenever and however often it is computed: the fold plans
every subject an act touched, in the act's transaction; replay plans each once, when it
needs it; the stored plan is always what the log implies (`audit verify` checks).
Pure: times come from the records and the rulebook.
"""

import datetime as dt

from engine.core.workdays import deadline
from store.records import ItemRecord, MeetingRecord, Planned
from workflows import Rulebook
from workflows.rulebook import ReminderRule


def rule_of(book: Rulebook, key: str) -> ReminderRule | None:
    return book.reminder(key)


def rung_at(book: Rulebook, rule: ReminderRule, due_at: dt.datetime, rung: int) -> dt.datetime | None:
    """When rung `rung` fires: rung 0 at the deadline, each escalation `after` the previous one."""
    if rung > len(rule.escalate):
        return None
    at = due_at
    for step in rule.escalate[:rung]:
        at = deadline(at, step.after, rule.unit, book.office_closure)
    return at


def tally(fired: tuple[tuple[str, int], ...], ident: str) -> tuple[tuple[str, int], ...]:
    """The subject's tally after one more rung of `ident` went out."""
    counts = dict(fired)
    counts[ident] = counts.get(ident, 0) + 1
    return tuple(counts.items())


def _new(book: Rulebook, rule: ReminderRule, subject: str, start: dt.datetime, due: dt.datetime,
         fired: dict[str, int], order: int | None = None) -> Planned:
    p = Planned(rule.key, subject, book.version, start, due, 0, due, order)
    n = fired.get(p.ident, 0) if fired else 0
    if n == 0:
        return p
    return Planned(rule.key, subject, book.version, start, due, n, rung_at(book, rule, due, n), order)


def plan_item(book: Rulebook, item: ItemRecord, body_kind: str) -> tuple[Planned, ...]:
    """The reminders an item should have now: its state's, and its open orders'. `book` is
    the version in force when it last changed state (`item.updated_at`)."""
    out: list[Planned] = []
    fired = dict(item.fired) if item.fired else {}
    if item.orders and book.is_open(item.state):  # an order on a final item waits for nothing
        for rule in book.reminders_for("order"):
            out += [_new(book, rule, f"order:{o.id}", o.issued_at, o.due_at, fired, o.id) for o in item.orders]
    for rule in book.reminders_for("state", item.state):
        if rule.items and rule.items != body_kind:
            continue
        if rule.cancelled_by and _covered(item, rule.cancelled_by.partition(":")[2]):
            continue
        start = _start(rule, item)
        if start is None:
            continue
        out.append(_new(book, rule, f"item:{item.id}", start,
                        deadline(start, rule.due, rule.unit, book.office_closure), fired))
    return tuple(out)


def _covered(item: ItemRecord, kind: str) -> bool:
    """A meeting of that kind is called with the item on its agenda and has yet to sit."""
    return any(s.kind == kind and s.status == "convened" for s in item.sittings)


def _start(rule: ReminderRule, item: ItemRecord) -> dt.datetime | None:
    """When the wait began: entering the state, or (`starts = "held:K"`) the sitting that left it open."""
    left_open = [s for s in item.sittings if s.status == "held" and s.outcome is None and s.held_at is not None]
    if rule.starts is None and rule.restarts == "outcome":  # R-C7: only a recorded outcome moves it
        return item.updated_at
    if rule.starts is None:  # a sitting that left the item undealt with restarts the wait
        return max([item.updated_at, *[h for s in left_open if (h := s.held_at) is not None and h >= item.updated_at]])
    kind = rule.starts.partition(":")[2]
    sat = [h for s in left_open if s.kind == kind and (h := s.held_at) is not None]
    if sat:
        return max(sat)
    if any(s.kind == kind and s.status == "convened" for s in item.sittings):
        return None  # the sitting is still to come
    return item.updated_at  # its sitting was called off: the wait runs from the tabling


def plan_meeting(book: Rulebook, meeting: MeetingRecord) -> tuple[Planned, ...]:
    """A convened meeting's notice to its attendees, before it starts; under a rule with
    `notify` (R-N5) its invitation, updates and cancellation as well."""
    fired = dict(meeting.fired) if meeting.fired else {}
    out: list[Planned] = []
    for r in book.reminders_for("meeting"):
        if r.notify:
            out += _notices(book, r, meeting, fired)
        elif meeting.status == "convened":  # kaigi 0.2: the day before only
            out.append(_new(book, r, f"meeting:{meeting.id}", meeting.convened_at,
                            deadline(meeting.starts_at, r.due, r.unit, book.office_closure), fired))
    return tuple(out)


def follows_changes(book: Rulebook) -> bool:
    """Whether a meeting convened under `book` sends notices of its changes (R-N5): then
    its record keeps `changed_at` (a rulebook without `notify` folds as kaigi 0.2 did)."""
    return any(r.notify for r in book.reminders_for("meeting"))


def day_before(book: Rulebook, rule: ReminderRule, meeting: MeetingRecord) -> dt.datetime:
    return deadline(meeting.starts_at, rule.due, rule.unit, book.office_closure)


def notified(rule: ReminderRule, meeting: MeetingRecord, but: str | None = None) -> bool:
    """Whether a notice of `rule` went out about the meeting (any but the reminder `but`)."""
    head = f"{rule.key}/meeting:{meeting.id}/"
    return any(ident.startswith(head) and n > 0 and ident != but for ident, n in meeting.fired)


def _notices(book: Rulebook, rule: ReminderRule, m: MeetingRecord, fired: dict[str, int]) -> list[Planned]:
    """R-N5, a pure function of the record: one notice as the meeting stands (due at its
    convening or its last change: a change gives it a new identity, so a notice it
    superseded before it went never goes), the day-before reminder when that comes after
    it, and for a meeting called off after a notice went out, the cancellation. Nothing
    is planned at or after the start. Each names the time it is about as its `started_at`;
    the day-before one alone is due later than that."""
    subject = f"meeting:{m.id}"
    starts = m.starts_at
    if m.status == "cancelled":
        at = m.changed_at
        if "cancelled" in rule.notify and at is not None and at < starts and notified(rule, m):
            return [_new(book, rule, subject, at, at, fired)]
        return []
    if m.status != "convened":
        return []
    out: list[Planned] = []
    times = [m.convened_at] if "convened" in rule.notify else []
    if "changed" in rule.notify and m.changed_at is not None and (times or notified(rule, m)):
        times.append(m.changed_at)
    notice = max(times, default=None)
    if notice is not None and notice < starts:
        out.append(_new(book, rule, subject, notice, notice, fired))
    before = day_before(book, rule, m)
    if before < starts and (notice is None or before > notice):
        out.append(_new(book, rule, subject, m.convened_at, before, fired))
    return out


def overdue(reminders: tuple[Planned, ...], now: dt.datetime) -> bool:
    """R-N3: overdue from the deadline until the wait ends, whatever rungs have gone out."""
    return any(p.due_at <= now for p in reminders)
