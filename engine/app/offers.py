"""What a member may do now, decided by the very functions an act runs.

A face offers an act only if it would be accepted: a form whose every choice the rules
refuse is not shown, and a select lists only the choices that pass. Rather than a second
copy of the rules, each candidate is decided here with the pure decision of `engine.core`
(`decide.advance`, `sittings.hold`, …) on the reader's snapshot, at the reader's time, and
nothing is written: the same answer an act would get, without taking the log's head.

Each offer is a plain dict: `act` (what the form does: `advance`, `hold`, `record_minutes`,
`approve_minutes`, `agenda`, `complete_order`, `waive_order`, `issue_order`, `cancel`, `move`), and
for an item's step its `trigger`, `to` and the `meetings` it may cite.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any, ParamSpec

from engine.core import decide, people, sittings
from engine.core.decide import Ctx
from engine.core.errors import DomainError
from store.records import ItemRecord, MeetingRecord

PLACEHOLDER_ID = 2**62  # an id no act will get: a step that opens an item needs one to be decided


def _ctx(q: Any, login: str) -> Ctx:
    return Ctx(q.book(), q.now, login, login, q.w)


P = ParamSpec("P")


def _passes(run: Callable[P, object], *args: P.args, **kw: P.kwargs) -> bool:
    """Whether `run(*args, **kw)` would be allowed now (it raises no DomainError)."""
    try:
        run(*args, **kw)
    except DomainError:
        return False
    return True


def item_steps(q: Any, login: str, item: ItemRecord) -> list[dict[str, Any]]:
    """The steps of `item` that `login` may take now by hand, each with the sittings it may
    cite (only those the rules accept; an empty list for a step taken outside a meeting).
    Steps fired by convening are the convener's act, not an item's step: left out."""
    ctx = _ctx(q, login)
    book = ctx.book
    kind = q.w.body_kinds().get(item.body)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for t in book.transitions_from(item.state, kind):
        if t.fired_by or t.trigger in seen:
            continue
        if t.meeting:
            cited = []
            for s in item.sittings:
                # a sitting that has its outcome for the item, or did not sit, is cited by no
                # step (the decision refuses it): not decided again, on a list over many items
                if s.kind != t.meeting or s.outcome is not None or s.status not in ("convened", "held"):
                    continue
                m = q.w.meetings.get(s.meeting)
                if m is not None and _passes(decide.advance, ctx, item, t.trigger, m, "",
                                                             spawn_id=PLACEHOLDER_ID):
                    cited.append(m)
            if not cited:
                continue
            meetings = [{"id": m.id, "kind": m.kind, "starts_at": m.starts_at, "sat_at": decide.sat_at(m)}
                        for m in cited]
        else:
            if not _passes(decide.advance, ctx, item, t.trigger, None, "", spawn_id=PLACEHOLDER_ID):
                continue
            meetings = []
        seen.add(t.trigger)
        dest = book.states.get(t.dest)
        ends = bool(dest and dest.final and not t.meeting)
        # a step that ends the item outside any meeting at its filer's wish (a withdrawal) is
        # never the work asked of someone: a face offers it only as a secondary act, behind a
        # confirmation; a role's own closing step (a received station item closed) is not that
        out.append({"act": "advance", "trigger": t.trigger, "to": t.dest, "meeting_kind": t.meeting,
                    "meetings": meetings, "ends_outside_meeting": ends, "secondary": ends and bool(t.filer)})
    return out


def meeting_acts(q: Any, login: str, meeting: MeetingRecord) -> list[dict[str, Any]]:
    """What `login` may do to a meeting now: hold it, keep its agenda, record or approve its
    minutes, cancel it, move it (R-M6)."""
    ctx = _ctx(q, login)
    out: list[dict[str, Any]] = []
    if _passes(lambda: sittings.hold(ctx, meeting, [])):
        out.append({"act": "hold"})
    if _passes(lambda: sittings.record_minutes(ctx, meeting, "-")):
        out.append({"act": "record_minutes"})
    if meeting.minutes and _passes(lambda: sittings.approve_minutes(ctx, meeting, None)):
        out.append({"act": "approve_minutes", "n": meeting.minutes[-1].n})
    if _passes(lambda: sittings.cancel(ctx, meeting, "")):
        out.append({"act": "cancel"})
    later = max(meeting.starts_at, ctx.now) + dt.timedelta(days=1)  # any time to come: the time is the form's
    if _passes(lambda: sittings.move(ctx, meeting, later, None)):
        out.append({"act": "move"})
    keep = agenda_ops(q, login, meeting)
    if keep:
        out.append({"act": "agenda", **keep})
    return out


def agenda_ops(q: Any, login: str, meeting: MeetingRecord, candidates: list[ItemRecord] | None = None
               ) -> dict[str, Any]:
    """The agenda changes `login` may make now: which items may be added (of `candidates`,
    by default the open items of the meeting's body), and whether the listed ones may be
    removed or moved. Empty when they keep no agenda of this meeting (R-M3)."""
    ctx = _ctx(q, login)
    listed = [q.w.items.get(i) for i in meeting.items]
    listed = [i for i in listed if i is not None]
    removable = [i.id for i in listed if _passes(sittings.change_agenda, ctx, meeting, "remove", i, None)]
    movable = len(listed) > 1 and bool(removable)
    if candidates is None:
        book = ctx.book
        candidates = [i for i in q.tx.items() if book.is_open(i.state) and i.id not in meeting.items]
    addable = [i.id for i in candidates
               if _passes(sittings.change_agenda, ctx, meeting, "add", i, None)]
    if not (addable or removable):
        return {}
    return {"add": addable, "remove": removable, "move": movable}


def order_acts(q: Any, login: str, order: Any) -> list[dict[str, Any]]:
    """Complete or waive an investigation order (R-T5): the ordered team leader completes
    it, the general manager may waive it."""
    ctx = _ctx(q, login)
    item = q.w.items.get(order.item)
    if item is None:
        return []
    out = []
    if _passes(lambda: people.complete_order(ctx, order, "-", item)):
        out.append({"act": "complete_order", "order": order.id})
    if _passes(lambda: people.waive_order(ctx, order, "-", item)):
        out.append({"act": "waive_order", "order": order.id})
    return out


def may_order(q: Any, login: str, item: ItemRecord) -> list[str]:
    """The members `login` may order to investigate `item` now (R-T5): empty when they may not."""
    ctx = _ctx(q, login)
    due = q.now + dt.timedelta(days=1)  # any due date to come: the date is the form's, not who may be ordered
    out = []
    for m in sorted(q.w.members.values(), key=lambda m: m.login):
        if _passes(people.issue_order, ctx, PLACEHOLDER_ID, item, m, due, ""):
            out.append(m.login)
    return out
