"""What is asked of a member now: their work list, earliest deadline first, each entry with
the one form that does it.

"My work" is not every act a member could do: it is what the rules and the planned
reminders wait for from them. Each entry names its `act` (an item's step by its trigger,
`convene`, `hold`, `agenda`, `record_minutes`, `approve_minutes`, `complete_order`) and
carries a `form` whose choices are only those the rules accept now: every candidate is
decided by `engine.app.offers` with the very pure functions an act runs, on the reader's
snapshot. A step that ends an item outside any meeting at its filer's wish (a withdrawal)
is never work: a face offers it as a secondary act behind a confirmation.

Deadlines come from the planned reminders (R-N3): an item's (for its steps and for
convening the meeting it waits for), an order's (R-T5), a meeting's (its agenda, before the
notice goes out, R-M3). Work no reminder waits on has no deadline and comes last.
"""

import datetime as dt
from typing import Any

from engine.app import offers
from engine.core import authority as au
from engine.core import sittings
from engine.i18n import Msg, trigger_word
from engine.infra.timeutil import iso
from store.records import ItemRecord, MeetingRecord, Planned

_LAST = dt.datetime.max.replace(tzinfo=dt.UTC)


def work_of(q: Any, login: str, lang: str = "en") -> list[dict[str, Any]]:
    """The work `q`'s snapshot asks of `login` now, sorted by deadline (none last), each
    entry `{act, deadline, overdue, item, meeting, order, form, command, ...}` (`command`:
    the CLI's way to do it, as the reminders' `command` says). Only what the reader's
    viewer may see is considered (R-R1)."""
    book = q.book()
    mine = _Roles(q, login)
    out: list[dict[str, Any]] = []
    upcoming: dict[tuple[str, str], bool] = {}  # (kind, body) -> a convened sitting still takes items
    convened = [m for m in q.tx.meetings(status="convened") if q.sees_meeting(m)]
    for m in convened:
        if m.starts_at > q.now:
            upcoming[(m.kind, m.body)] = True
    # the board's light cards say which items may concern them; only those are read whole
    wanted = [c.id for c in q.tx.item_cards() if book.is_open(c.state) and mine.concerned_by(c)]
    for start in range(0, len(wanted), 500):
        for item in q.tx.items(ids=wanted[start:start + 500]):
            if q.sees_item(item):
                out += _item_work(q, login, lang, item, upcoming)
    for m in convened:
        mk = book.meetings.get(m.kind)
        if mk is not None and (mine(mk.agenda_roles, m.body) or mine(mk.recorder_roles, m.body)):
            out += _convened_work(q, login, lang, m)
    for m in q.tx.meetings(status="held"):
        mk = book.meetings.get(m.kind)
        if mk is None or (m.chair != login if m.minutes else not mine(mk.minutes_roles, m.body)):
            continue
        if q.sees_meeting(m):
            out += _held_work(q, login, lang, m)
    for o in q.tx.orders(status="open"):
        if o.to == login and q.sees_item_id(o.item):
            out += _order_work(q, login, lang, o)
    out.sort(key=lambda e: (e["_due"] or _LAST, e.get("item") or 0, _ORDER.index(e["kind"]),
                            e.get("meeting") or 0, e.get("order") or 0))
    for e in out:
        due = e.pop("_due")
        e["deadline"] = iso(due)
        e["overdue"] = due is not None and due <= q.now  # R-N3
    return out


class _Roles:
    """Whether `login` holds any of some roles for a body now: the very test the decisions
    make (`Ctx.holds`), asked first so that the decisions run only where they may pass (a
    page over thousands of items must not decide every step of every one)."""

    def __init__(self, q: Any, login: str) -> None:
        self.q, self.login = q, login
        self.book = q.book()
        self.held = q.holdings(login)
        self.memo: dict[tuple[tuple[str, ...], str], bool] = {}
        self.kinds = q.w.body_kinds()
        self.states: dict[tuple[str, str], bool] = {}  # (state, body) -> some step may be theirs

    def __call__(self, roles: tuple[str, ...] | list[str], body: str) -> bool:
        key = (tuple(roles), body)
        if key not in self.memo:
            self.memo[key] = au.holds(self.q.w, self.held, self.book, key[0], body) is not None
        return self.memo[key]

    def concerned_by(self, item: Any) -> bool:
        """Some step of the item's state (an item or its board card) may be theirs: they
        record the meeting it needs or convene it, or hold a role the step names, or the step
        is its filer's and leads on. A step only its filer may take and that ends it outside
        a meeting (a withdrawal) is not work, and does not count."""
        book = self.book
        key = (item.state, item.body)
        if key in self.states:
            return self.states[key]
        self.states[key] = False
        for t in book.transitions_from(item.state, self.kinds.get(item.body)):
            if t.meeting:
                mk = book.meetings.get(t.meeting)
                if not (mk is not None and (self(mk.recorder_roles, item.body) or self((mk.convener,), item.body))):
                    continue
            elif self(t.roles, item.body):
                pass
            elif t.filer and not ((dest := book.states.get(t.dest)) and dest.final):
                pass  # a filer's step that leads on: whose it is, the decision says
            else:
                continue
            self.states[key] = True
            return True
        return False


_ORDER = ("order", "meeting", "convene", "step")  # of one item at one deadline: the usual path first


# ---------------------------------------------------------------- items
def _item_due(item: ItemRecord) -> dt.datetime | None:
    """The deadline of what the item's state waits for: its planned reminders, orders aside."""
    dues = [p.due_at for p in item.reminders if p.order is None]
    return min(dues) if dues else None


def is_withdrawal(book: Any, item: ItemRecord, kind: str | None, step: dict[str, Any]) -> bool:
    """A step that ends the item outside any meeting and that its filer may take: a
    withdrawal, never work asked of anyone (receiving a station's report and closing it is
    work; taking one's own matter back is not)."""
    if not step.get("ends_outside_meeting"):
        return False
    return any(t.filer for t in book.transitions_from(item.state, kind) if t.trigger == step["trigger"])


def _item_base(q: Any, lang: str, item: ItemRecord) -> dict[str, Any]:
    book = q.book()
    st = book.states.get(item.state)
    return {"item": item.id, "meeting": None, "order": None, "title": item.title, "state": item.state,
            "state_title": st.title.in_(lang) if st else item.state, "body_name": q.body_name(item.body, lang),
            "_due": _item_due(item)}


def _item_work(q: Any, login: str, lang: str, item: ItemRecord, upcoming: dict[tuple[str, str], bool]
               ) -> list[dict[str, Any]]:
    book = q.book()
    kind = q.w.body_kinds().get(item.body)
    steps = [s for s in offers.item_steps(q, login, item) if not is_withdrawal(book, item, kind, s)]
    out: list[dict[str, Any]] = []
    # steps at a sitting: one entry a sitting, its outcomes the choices (decide, return, defer, reject)
    by_meeting: dict[int, list[dict[str, Any]]] = {}
    sat: dict[int, dict[str, Any]] = {}
    outside: list[dict[str, Any]] = []
    for s in steps:
        if s["meetings"]:
            for m in s["meetings"]:
                by_meeting.setdefault(m["id"], []).append(s)
                sat[m["id"]] = m
        else:
            outside.append(s)
    for mid, group in sorted(by_meeting.items()):
        m = sat[mid]
        out.append({**_item_base(q, lang, item), "kind": "step", "act": group[0]["trigger"], "meeting": mid,
                    "act_word": trigger_word(group[0]["trigger"], lang, book),
                    "command": f"kaigi item advance {item.id} {group[0]['trigger']} --meeting {mid}",
                    "meeting_title": _kind_title(book, m["kind"], lang), "starts_at": iso(m["starts_at"]),
                    "sat_at": iso(m["sat_at"]), "form": _step_form(q, lang, item, group, mid)})
    if outside and not by_meeting:  # a sitting that dealt with it records its outcome there
        out.append({**_item_base(q, lang, item), "kind": "step", "act": outside[0]["trigger"],
                    "act_word": trigger_word(outside[0]["trigger"], lang, book),
                    "command": f"kaigi item advance {item.id} {outside[0]['trigger']}",
                    "form": _step_form(q, lang, item, outside, None)})
    out += _convene_work(q, login, lang, item, kind, upcoming)
    return out


def _step_form(q: Any, lang: str, item: ItemRecord, group: list[dict[str, Any]], meeting: int | None
               ) -> dict[str, Any]:
    """`POST /items/{id}/advance`: `trigger` (one, or a choice of the outcomes the sitting
    may record), `meeting` fixed to the sitting it cites, `note`."""
    book = q.book()
    hidden: dict[str, Any] = {}
    choices = []
    if len(group) == 1:
        hidden["trigger"] = group[0]["trigger"]
    else:
        choices.append({"name": "trigger", "type": "select", "label": Msg("work.field.outcome").render(lang),
                        "options": [{"value": s["trigger"], "checked": i == 0,
                                     "label": f"{trigger_word(s['trigger'], lang, book)} → {_state_title(book, s['to'], lang)}"}
                                    for i, s in enumerate(group)]})
    if meeting is not None:
        hidden["meeting"] = meeting
    first = group[0]
    button = (Msg("work.button.step", trigger=trigger_word(first["trigger"], lang, book),
                  to=_state_title(book, first["to"], lang)).render(lang) if len(group) == 1
              else Msg("work.button.record").render(lang))
    return {"method": "post", "action": f"/items/{item.id}/advance", "hidden": hidden, "choices": choices,
            "text": {"name": "note", "label": Msg("work.field.note").render(lang), "required": False,
                     "multiline": False}, "button": button}


def _convene_work(q: Any, login: str, lang: str, item: ItemRecord, kind: str | None,
                  upcoming: dict[tuple[str, str], bool]) -> list[dict[str, Any]]:
    """A meeting the item waits for, that `login` convenes, with no sitting for it yet: no
    convened one it is on, no held one without its outcome, none still taking items."""
    book = q.book()
    ctx = offers._ctx(q, login)
    body = q.w.bodies.get(item.body)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for t in book.transitions_from(item.state, kind):
        if not t.meeting or t.meeting in seen or t.meeting not in book.meetings or body is None:
            continue
        seen.add(t.meeting)
        mk = book.meetings[t.meeting]
        if any(s.kind == t.meeting and (s.status == "convened" or (s.status == "held" and s.outcome is None))
               for s in item.sittings):
            continue
        if upcoming.get((t.meeting, item.body)):
            continue  # the agenda keeper adds it to the sitting already called
        if ctx.holds((mk.convener,), item.body) is None:
            continue
        if not offers._passes(sittings._fits, ctx, mk, body, item):
            continue
        out.append({**_item_base(q, lang, item), "kind": "convene", "act": "convene", "meeting_kind": t.meeting,
                    "command": f"kaigi meeting convene {t.meeting} --at WHEN --item {item.id}",
                    "meeting_title": mk.title.in_(lang),
                    "form": {"method": "get", "action": "/meetings/new", "hidden": {"kind": t.meeting, "item": item.id},
                             "choices": [], "text": None,
                             "button": Msg("work.button.convene", meeting=mk.title.in_(lang)).render(lang)}})
    return out


# ---------------------------------------------------------------- meetings
def _meeting_base(q: Any, lang: str, m: MeetingRecord, due: dt.datetime | None) -> dict[str, Any]:
    return {"kind": "meeting", "item": None, "meeting": m.id, "order": None,
            "meeting_title": _kind_title(q.book(), m.kind, lang), "starts_at": iso(m.starts_at),
            "sat_at": iso(m.sat_at or m.held_at), "body_name": q.body_name(m.body, lang),
            "chair_name": q.name(m.chair, lang), "_due": due}


def _meeting_due(planned: tuple[Planned, ...]) -> dt.datetime | None:
    dues = [p.due_at for p in planned]
    return min(dues) if dues else None


def _convened_work(q: Any, login: str, lang: str, m: MeetingRecord) -> list[dict[str, Any]]:
    """Before the sitting, its agenda (R-M3) for the one who keeps it; once started, the
    sitting to record (R-M1, R-M5) for those who record its business."""
    ctx = offers._ctx(q, login)
    out: list[dict[str, Any]] = []
    if q.now < m.starts_at:
        keep = offers.agenda_ops(q, login, m)
        addable = [i for i in (keep.get("add") or []) if q.sees_item_id(i)]
        if addable:
            opts = []
            for i in addable:
                it = q.w.items.get(i)
                opts.append({"value": i, "label": f"{i}: {it.title if it else ''}", "checked": False})
            out.append({**_meeting_base(q, lang, m, _meeting_due(m.reminders)), "act": "agenda",
                        "command": f"kaigi meeting agenda {m.id} add ITEM",
                        "form": {"method": "post", "action": f"/meetings/{m.id}/agenda", "hidden": {"action": "add"},
                                 "choices": [{"name": "item", "type": "select",
                                              "label": Msg("work.field.agenda_item").render(lang), "options": opts}],
                                 "text": None, "button": Msg("work.button.agenda").render(lang)}})
    elif offers._passes(lambda: sittings.hold(ctx, m, [])):
        called = list(dict.fromkeys([*m.attendees, *m.invited]))
        out.append({**_meeting_base(q, lang, m, None), "act": "hold", "command": f"kaigi meeting hold {m.id}",
                    "form": {"method": "post", "action": f"/meetings/{m.id}/hold", "hidden": {},
                             "choices": [{"name": "present", "type": "checkbox",
                                          "label": Msg("work.field.present").render(lang),
                                          "options": [{"value": x, "label": q.name(x, lang), "checked": True}
                                                      for x in called]}],
                             "text": None, "button": Msg("work.button.hold").render(lang),
                             # R-M5: a sitting recorded afterwards says when it sat (optional)
                             "when": {"name": "sat_at", "label": Msg("work.field.sat_at").render(lang)}}})
    return out


def _held_work(q: Any, login: str, lang: str, m: MeetingRecord) -> list[dict[str, Any]]:
    """Minutes to record where a sitting has none, minutes to approve as its chair (R-M4)."""
    ctx = offers._ctx(q, login)
    if not m.minutes:
        if not offers._passes(lambda: sittings.record_minutes(ctx, m, "-")):
            return []
        return [{**_meeting_base(q, lang, m, None), "act": "record_minutes",
                 "command": f"kaigi meeting minutes {m.id} --file FILE",
                 "form": {"method": "post", "action": f"/meetings/{m.id}/minutes", "hidden": {}, "choices": [],
                          "text": {"name": "text", "label": Msg("work.field.minutes").render(lang), "required": True,
                                   "multiline": True},
                          "button": Msg("work.button.record_minutes").render(lang)}}]
    latest = m.minutes[-1]
    if latest.approved_by is not None or not offers._passes(lambda: sittings.approve_minutes(ctx, m, None)):
        return []
    return [{**_meeting_base(q, lang, m, None), "act": "approve_minutes", "n": latest.n,
             "command": f"kaigi meeting minutes {m.id} --approve --entry {latest.n}",
             "minutes_text": latest.text, "recorded_by_name": q.name(latest.recorded_by, lang),
             "recorded_at": iso(latest.recorded_at),
             "form": {"method": "post", "action": f"/meetings/{m.id}/minutes/approve", "hidden": {}, "choices": [],
                      "text": None, "button": Msg("work.button.approve_minutes").render(lang)}}]


# ---------------------------------------------------------------- orders (R-T5)
def _order_work(q: Any, login: str, lang: str, o: Any) -> list[dict[str, Any]]:
    if not any(a["act"] == "complete_order" for a in offers.order_acts(q, login, o)):
        return []
    item = q.w.items.get(o.item)
    planned = [p.due_at for p in (item.reminders if item else ()) if p.order == o.id]
    due = min(planned) if planned else o.due_at
    return [{"kind": "order", "act": "complete_order", "item": o.item, "meeting": None, "order": o.id,
             "command": f"kaigi order complete {o.id} --finding TEXT",
             "title": item.title if item else "", "note": o.note, "issued_by_name": q.name(o.issued_by, lang),
             "_due": due,
             "form": {"method": "post", "action": f"/orders/{o.id}/complete", "hidden": {}, "choices": [],
                      "text": {"name": "finding", "label": Msg("work.field.finding").render(lang), "required": True,
                               "multiline": True},
                      "button": Msg("work.button.complete_order").render(lang)}}]


def _kind_title(book: Any, key: str, lang: str) -> str:
    mk = book.meetings.get(key)
    return mk.title.in_(lang) if mk else key


def _state_title(book: Any, key: str, lang: str) -> str:
    st = book.states.get(key)
    return st.title.in_(lang) if st else key
