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
    return {"id": item.id, "title": item.title, "body": item.body, "state": item.state,
            "state_title": st.title.in_(lang) if st else item.state, "version": item.version,
            "waiting_for": waits, "next": nxt, "team": item.team, "note": item.note,
            "filed_by": item.filed_by, "filed_at": iso(item.filed_at), "updated_at": iso(item.updated_at),
            "origin": item.origin}


def meeting_view(svc: Service, m: MeetingRecord, lang: str = "en") -> dict[str, Any]:
    book = svc.book()
    kind = book.meetings.get(m.kind)
    return {"id": m.id, "kind": m.kind, "title": kind.title.in_(lang) if kind else m.kind, "body": m.body,
            "status": m.status, "starts_at": iso(m.starts_at), "convener": m.convener, "chair": m.chair,
            "items": list(m.items), "attendees": list(m.attendees), "invited": list(m.invited),
            "present": list(m.present), "outcomes": {str(k): v for k, v in m.outcomes.items()},
            "held_at": iso(m.held_at), "version": m.version}


def event_view(ev: EventRecord) -> dict[str, Any]:
    p = ev.payload
    return {"seq": ev.seq, "at": iso(ev.at), "type": ev.type, "actor": ev.actor, "authority": ev.authority,
            "trigger": p.get("trigger"), "from": p.get("from"), "to": p.get("to"), "meeting": ev.meeting,
            "item": ev.item, "rulebook": ev.rulebook, "note": p.get("note") or p.get("reason") or None,
            "hash": ev.hash}


def roles_view(book: Rulebook, held: list[au.Holding], lang: str) -> list[dict[str, Any]]:
    return [{"role": h.role, "body": h.body, "team": h.team, "position": h.position,
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
