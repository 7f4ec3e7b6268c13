"""What commands show: plain dicts in the JSON shapes of CLI.md, titles from the rulebook.

The CLI renders these for people (tables) or scripts (`--json`); nothing here prints.
"""

import datetime as dt
from typing import Any

from engine import authority as au
from engine.service import Service, StoreRoster
from engine.timeutil import iso
from store.records import EventRecord, ItemRecord, MeetingRecord
from workflows import Rulebook


def item_view(svc: Service, item: ItemRecord, lang: str = "en", at: dt.datetime | None = None) -> dict[str, Any]:
    """`item show`: state, what it waits for, who may act next."""
    at = at or svc.clock.now()
    book = svc.book(at)
    kinds = svc.body_kinds()
    st = book.states.get(item.state)
    roster = StoreRoster(svc.store)
    nxt = []
    for t in book.transitions_from(item.state, kinds.get(item.body)):
        roles = list(book.meetings[t.meeting].recorder_roles) if t.meeting else list(t.roles)
        who = au.holders(roster, book, roles, item.body, at)
        if t.filer and item.filed_by not in who:
            who.append(item.filed_by)
        nxt.append({"trigger": t.trigger, "to": t.dest, "roles": roles, "filer": t.filer, "meeting": t.meeting,
                    "who": who, "rule": t.rule})
    waits = st.waits.in_(lang) if st and st.waits else None
    deadlines = [{"what": r["what"], "due_at": r["due_at"], "deadline": r["deadline"], "rung": r["rung"],
                  "recipients": r["recipients"], "status": r["status"]}
                 for r in reminder_rows(svc, lang=lang, item=item.id)]
    body = next((b for b in svc.store.bodies() if b.key == item.body), None)
    overdue = any(r["status"] == "due" or r["rung"] > 0 for r in deadlines)
    orders = [order_view(o) for o in svc.store.orders(item=item.id)]
    taken_into = [{"id": c.id, "state": c.state, "body": c.body} for c in svc.descendants(item.id)]
    return {"deadlines": deadlines, "overdue": overdue, "orders": orders, "taken_into": taken_into,
            "body_name": (body.ja if lang == "ja" else body.en) if body else item.body,
            "station": item.body if kinds.get(item.body) == "station" else None, "id": item.id, "title": item.title, "body": item.body, "state": item.state,
            "state_title": st.title.in_(lang) if st else item.state, "version": item.version,
            "waiting_for": waits, "next": nxt, "team": item.team, "note": item.note,
            "filed_by": item.filed_by, "filed_at": iso(item.filed_at), "updated_at": iso(item.updated_at),
            "origin": item.origin}


def order_view(o: Any) -> dict[str, Any]:
    return {"id": o.id, "item": o.item, "to": o.to, "due_at": iso(o.due_at), "status": o.status,
            "issued_by": o.issued_by, "issued_at": iso(o.issued_at), "note": o.note, "finding": o.finding,
            "reason": o.reason, "settled_at": iso(o.settled_at)}


def meeting_view(svc: Service, m: MeetingRecord, lang: str = "en") -> dict[str, Any]:
    book = svc.book()
    kind = book.meetings.get(m.kind)
    return {"id": m.id, "kind": m.kind, "title": kind.title.in_(lang) if kind else m.kind, "body": m.body,
            "status": m.status, "starts_at": iso(m.starts_at), "convener": m.convener, "chair": m.chair,
            "items": list(m.items), "attendees": list(m.attendees), "invited": list(m.invited),
            "present": list(m.present), "outcomes": {str(k): v for k, v in m.outcomes.items()},
            "held_at": iso(m.held_at), "version": m.version}


def event_view(ev: EventRecord) -> dict[str, Any]:
    p = ev.payload if ev.type == "ItemAdvanced" else {}
    return {"seq": ev.seq, "at": iso(ev.at), "type": ev.type, "actor": ev.actor, "authority": ev.authority,
            "trigger": p.get("trigger"), "from": p.get("from"), "to": p.get("to"), "meeting": ev.meeting,
            "item": ev.item, "rulebook": ev.rulebook,
            "note": ev.payload.get("note") or ev.payload.get("reason") or ev.payload.get("finding") or None,
            "hash": ev.hash}


def roles_view(book: Rulebook, held: list[au.Holding], lang: str) -> list[dict[str, Any]]:
    return [{"role": h.role, "body": h.body, "team": h.team, "position": h.position, "assignment": h.assignment,
             "title": book.role_title(h.role).in_(lang),
             "position_title": book.positions[h.position].title.in_(lang)} for h in held]


def roster_view(svc: Service, at: dt.datetime, lang: str = "en") -> list[dict[str, Any]]:
    book = svc.book(at)
    roster = StoreRoster(svc.store)
    out = []
    for m in svc.store.members():
        held = au.holdings(roster, book, m.login, at)
        out.append({"login": m.login, "name": m.name if lang == "ja" else m.name_en, "name_ja": m.name,
                    "name_en": m.name_en, "roles": roles_view(book, held, lang)})
    return out


def _rung_roles(rule: Any, rung: int) -> list[str]:
    return list(rule.recipients(rung)) if rule is not None and rung <= len(rule.escalate) else []


def _recipients_at(svc: Service, book: Rulebook, rule: Any, rung: int, r: Any, at: dt.datetime,
                   roster: StoreRoster) -> list[str]:
    roles = [x for x in _rung_roles(rule, rung) if x in book.roles]
    who = set(au.holders(roster, book, roles, r.body, at))
    if "attendees" in _rung_roles(rule, rung) and r.meeting is not None:
        m = svc.store.meeting(r.meeting)
        who |= set(m.attendees) | set(m.invited)
    if "ordered" in _rung_roles(rule, rung) and r.order is not None:
        who |= {o.to for o in svc.store.orders(ids=[r.order])}
    return sorted(who)


def reminder_rows(svc: Service, due_only: bool = False, lang: str = "en",
                  item: int | None = None) -> list[dict[str, Any]]:
    """Pending reminders (the next rung of each), and messages not yet delivered or failed."""
    from engine import reminders as rem

    now = svc.clock.now()
    book = svc.book(now)
    roster = StoreRoster(svc.store)
    rows = []
    for r in svc.store.reminders(items=[item] if item is not None else None):
        if due_only and (r.next_at is None or r.next_at > now):
            continue
        rule = rem.rule_of(book, r.key)
        rows.append({"id": r.id, "due_at": iso(r.next_at), "deadline": iso(r.due_at), "item": r.item,
                     "meeting": r.meeting, "order": r.order, "what": rule.title.in_(lang) if rule else r.key,
                     "key": r.key, "rung": r.next_rung, "role": ", ".join(_rung_roles(rule, r.next_rung)),
                     "recipients": _recipients_at(svc, book, rule, r.next_rung, r, now, roster),
                     "status": "due" if r.next_at and r.next_at <= now else "pending"})
    if item is None:
        reminders = {}
        for d in svc.store.deliveries():
            if d.status == "sent" or (due_only and d.status == "failed"):
                continue
            if d.reminder not in reminders:
                reminders[d.reminder] = svc.store.reminders(status=None, ids=[d.reminder])[0]
            r = reminders[d.reminder]
            rule = rem.rule_of(book, r.key)
            rows.append({"id": r.id, "due_at": iso(d.next_attempt_at), "deadline": iso(r.due_at), "item": r.item,
                         "meeting": r.meeting, "order": r.order, "what": rule.title.in_(lang) if rule else r.key,
                         "key": r.key, "rung": d.rung, "role": ", ".join(_rung_roles(rule, d.rung)),
                         "recipients": [d.recipient], "status": d.status, "attempts": d.attempts,
                         "error": d.last_error})
    return rows


def forecast_rows(svc: Service, until: dt.datetime, lang: str = "en") -> list[dict[str, Any]]:
    """What would be sent, and when, up to `until`: every rung still to fire, recipients as the
    roster will stand then (assignments with future dates count)."""
    from engine import reminders as rem

    rows = []
    roster = StoreRoster(svc.store)
    for r in svc.store.reminders():
        book = svc.book()
        rule = rem.rule_of(book, r.key)
        if rule is None:
            continue
        for rung in range(r.next_rung, len(rule.escalate) + 1):
            at = rem.rung_at(book, rule, r.due_at, rung)
            if at is None or at > until:
                break
            when = max(at, svc.clock.now())
            rows.append({"id": r.id, "due_at": iso(at), "item": r.item, "meeting": r.meeting, "order": r.order,
                         "what": rule.title.in_(lang), "key": r.key, "rung": rung,
                         "role": ", ".join(_rung_roles(rule, rung)),
                         "recipients": _recipients_at(svc, svc.book(when), rule, rung, r, when, roster),
                         "status": "forecast"})
    return sorted(rows, key=lambda x: (x["due_at"], x["id"], x["rung"]))
