"""What faces show: plain values in the JSON shapes of CLI.md, words in the reader's language.

A `Reader` is one consistent snapshot (`with kaigi.read(viewer=login) as q:`); every query
reads the same moment, so a page never mixes two states. A reader carries its viewer, and
every query answers only what that viewer may see (R-R1, `engine.app.visibility`): lists
leave the rest out, lookups answer it as absent. Nothing here writes or prints.
"""

import dataclasses
import datetime as dt
from typing import Any

from engine.app import visibility as vis
from engine.core import authority as au
from engine.core import plan
from engine.core import recipients as rcp
from engine.core.decide import chair_was_present, describe
from engine.core.errors import NotFound
from engine.core.text import usable
from engine.core.world import Lazy, World
from engine.i18n import A, Msg, Person, Said, When, act_title, event_title, render, status_title, trigger_title, trigger_word
from engine.infra.timeutil import iso
from store.records import EventRecord, ItemCard, ItemQuery, ItemRecord, MeetingRecord, Planned
from workflows import Rulebook, Title


class Reader:
    """Queries over one snapshot of a kaigi database, as `viewer` may see it (None: the
    engine itself or a database reader without a member, who sees everything)."""

    def __init__(self, kaigi: Any, viewer: str | None = None) -> None:
        self.kaigi = kaigi
        self.viewer = viewer
        self.sight: vis.Sight = vis.sight(World(), viewer, dt.datetime.now(dt.UTC))
        self._seen: dict[int, bool] = {}  # item id -> visible, this snapshot
        self._cm: Any = None
        self.tx: Any = None
        self.w: World = World()
        self.now = dt.datetime.now(dt.UTC)
        self._holders: dict[tuple[Any, ...], list[str]] = {}  # who holds which roles where, this snapshot
        self._also: dict[str | None, tuple[int, ...]] = {}  # R-R1: items taken from a viewer's, this snapshot
        self._page_orders: dict[int, list[Any]] = {}  # a page's orders by item, read at once (views_of)
        self._leaves: set[int] = set()  # a page's items taken into nothing (views_of)

    def __enter__(self) -> "Reader":
        self._cm = self.kaigi.store.read()
        self.tx = self._cm.__enter__()
        self.w = self.kaigi.snapshot(self.tx).snapshot_copy()
        self.w.items = Lazy(self.tx.item)
        self.w.meetings = Lazy(self.tx.meeting)
        self.w.orders = Lazy(lambda i: next(iter(self.tx.orders(ids=[i])), None))
        clock = getattr(self.kaigi.store, "clock", None)
        self.now = (clock() if clock else dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        self.sight = vis.sight(self.w, self.viewer, self.now)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)

    # ------------------------------------------------------------ basics
    def book(self, at: dt.datetime | None = None) -> Rulebook:
        return self.w.book(at or self.now)

    def person(self, login: str, with_login: bool = True) -> Person:
        m = self.w.members.get(login)
        return Person(login, m.name, m.name_en, with_login) if m else Person(login, with_login=with_login)

    def name(self, login: str, lang: str) -> str:
        return self.person(login, with_login=False).render(lang)

    def holdings(self, login: str, at: dt.datetime | None = None) -> list[au.Holding]:
        at = at or self.now
        return au.holdings(self.w, self.w.book(at), login, at)

    def body_name(self, key: str, lang: str) -> str:
        b = self.w.bodies.get(key)
        return (b.ja if lang == "ja" else b.en) if b else key

    # ------------------------------------------------------------ people
    def roles(self, login: str, lang: str, at: dt.datetime | None = None) -> list[dict[str, Any]]:
        book = self.book(at)
        return [{"role": h.role, "body": h.body, "team": h.team, "position": h.position, "assignment": h.assignment,
                 "title": book.role_title(h.role).ja if lang == "ja" else book.role_title(h.role).en,
                 "position_title": book.positions[h.position].title.in_(lang),
                 "body_name": self.body_name(h.body, lang)} for h in self.holdings(login, at)]

    def whoami(self, login: str, lang: str = "en") -> dict[str, Any]:
        m = self.w.member(login)
        return {"login": m.login, "name": m.name if lang == "ja" else m.name_en, "name_ja": m.name,
                "name_en": m.name_en, "roles": self.roles(login, lang), "os_user": m.os_user, "db_role": m.db_role,
                "lang": m.lang, "email": m.email}

    def roster(self, at: dt.datetime | None = None, lang: str = "en") -> list[dict[str, Any]]:
        at = at or self.now
        return [{"login": m.login, "name": m.name if lang == "ja" else m.name_en, "name_ja": m.name,
                 "name_en": m.name_en, "os_user": m.os_user, "db_role": m.db_role, "roles": self.roles(m.login, lang, at)}
                for m in sorted(self.w.members.values(), key=lambda x: x.login)]

    def assignments(self) -> list[dict[str, Any]]:
        return [{"id": a.id, "login": a.login, "position": a.position, "body": a.body, "team": a.team,
                 "valid_from": iso(a.valid_from), "valid_until": iso(a.valid_until)}
                for a in sorted(self.w.assignments.values(), key=lambda x: x.id)]

    # ------------------------------------------------------------ what the viewer may see (R-R1)
    @property
    def sees_everything(self) -> bool:
        """The whole log is theirs to read: an HQ member, or a reader without a member."""
        return self.sight.everything

    def sees_item(self, item: Any) -> bool:
        """`item` (a record or a board card) is one the viewer may see."""
        if self.sight.everything:
            return True
        hit = self._seen.get(item.id)
        if hit is None:
            hit = self._seen[item.id] = self.sight.item(item, self._parent)
        return hit

    def _parent(self, item_id: int) -> ItemRecord | None:
        return self.w.items.get(item_id) if vis.in_range(item_id) else None

    def sees_meeting(self, meeting: MeetingRecord) -> bool:
        return self.sight.meeting(meeting)

    def item_record(self, item_id: int | None) -> ItemRecord:  # None: absent, as an id never used
        """The item, or `NotFound` alike for an id never used, out of range, or hidden."""
        rec = self.w.items.get(item_id) if vis.in_range(item_id) else None
        if rec is None or not self.sees_item(rec):
            raise vis.absent("item.none", item_id)
        return rec

    def meeting_record(self, meeting_id: int) -> MeetingRecord:
        rec = self.w.meetings.get(meeting_id) if vis.in_range(meeting_id) else None
        if rec is None or not self.sees_meeting(rec):
            raise vis.absent("meeting.none", meeting_id)
        return rec

    def order_record(self, order_id: int) -> Any:
        rec = self.w.orders.get(order_id) if vis.in_range(order_id) else None
        if rec is None or not self.sees_item_id(rec.item):
            raise vis.absent("order.none", order_id)
        return rec

    def sees_item_id(self, item_id: int | None) -> bool:
        if item_id is None:
            return self.sight.everything
        if self.sight.everything:
            return True
        rec = self._parent(item_id)
        return rec is not None and self.sees_item(rec)

    def sees_meeting_id(self, meeting_id: int | None) -> bool:
        if meeting_id is None:
            return self.sight.everything
        if self.sight.everything:
            return True
        rec = self.w.meetings.get(meeting_id) if vis.in_range(meeting_id) else None
        return rec is not None and self.sees_meeting(rec)

    def _sees_subject(self, item: int | None, meeting: int | None) -> bool:
        """A reminder's or a delivery's subject: its item, else its meeting; one with
        neither is for those who see everything."""
        if item is not None:
            return self.sees_item_id(item)
        return self.sees_meeting_id(meeting)

    def whole_log(self) -> None:
        """The log as a whole (its export, its verdict) is for those who see everything:
        a station's member is answered as if there were none (R-R1)."""
        if not self.sight.everything:
            raise NotFound("log.none")

    # ------------------------------------------------------------ items
    def item(self, item_id: int, lang: str = "en") -> dict[str, Any]:
        return self.item_view(self.item_record(item_id), lang)

    def cards(self, login: str | None = None, *, station: str | None = None, team: str | None = None,
              lang: str = "en") -> list[dict[str, Any]]:
        """The board's view of the items the viewer may see: enough for a card (no deadlines
        or next acts, which `item_view` works out per item). `login` is for a reader without
        a viewer (the engine asking on a member's behalf); a viewer's own sight wins."""
        _filters(station=station, team=team)
        body = self.w.body(station).key if station else None
        book, names = self.book(), {}  # type: ignore[var-annotated]
        q = self.item_query(ItemQuery(body=body, team=team), login)
        return [self._card(c, book, names, lang) for c in self.tx.item_rows(q)]

    def board(self, *, station: str | None = None, team: str | None = None, lang: str = "en",
              shown: int = 60) -> list[dict[str, Any]]:
        """The board's columns, one per state of the rulebook in force: how many items the
        viewer may see there (`count`) and the first `shown` cards, the overdue first (R-N3),
        then the latest changed (the later id first among items one act changed). Each column
        is read from the indexes a page at a time, so the board costs its shown cards and its
        counts, not every item."""
        _filters(station=station, team=team)
        body = self.w.body(station).key if station else None
        book, names = self.book(), {}  # type: ignore[var-annotated]
        q = self.item_query(ItemQuery(body=body, team=team))
        counts = self.tx.count_items(q, by_state=True)
        late = self.tx.count_items(dataclasses.replace(q, overdue_at=self.now), by_state=True) if counts else {}
        out = []
        for key, st in book.states.items():
            rows = []
            if late.get(key):
                rows = self.tx.item_rows(dataclasses.replace(q, state=key, overdue_at=self.now), latest=True,
                                         limit=shown)
            if counts.get(key, 0) > late.get(key, 0) and len(rows) < shown:
                rows += self.tx.item_rows(dataclasses.replace(q, state=key, not_overdue_at=self.now),
                                          latest=True, limit=shown - len(rows))
            out.append({"key": key, "title": st.title.in_(lang), "count": counts.get(key, 0),
                        "cards": [self._card(c, book, names, lang) for c in rows]})
        return out

    def _card(self, c: ItemCard, book: Rulebook, names: dict[str, str], lang: str) -> dict[str, Any]:
        if c.body not in names:
            names[c.body] = self.body_name(c.body, lang)
        return {"id": c.id, "title": c.title, "state": c.state, "body": c.body, "body_name": names[c.body],
                "updated_at": iso(c.updated_at),
                "team_title": book.teams[c.team].title.in_(lang) if c.team in book.teams else None,
                "pillars": [book.pillars[p].title.in_(lang) if p in book.pillars else p for p in c.pillars],
                "overdue": c.earliest_due is not None and c.earliest_due <= self.now}  # R-N3

    def open_sittings(self, item: ItemRecord) -> list[dict[str, Any]]:
        """The meetings a step of `item` may name now: convened ones it is on (a step by
        convening), held ones with no outcome for it yet."""
        return [{"id": s.meeting, "kind": s.kind} for s in item.sittings
                if s.status == "convened" or (s.status == "held" and s.outcome is None)]

    def items(self, *, state: str | None = None, station: str | None = None, overdue: bool = False,
              lang: str = "en", team: str | None = None) -> list[dict[str, Any]]:
        _filters(state=state, station=station, team=team)
        body = self.w.body(station).key if station else None
        q = self.item_query(ItemQuery(state=state, body=body, team=team, overdue_at=self.now if overdue else None))
        return self.views_of([c.id for c in self.tx.item_rows(q)], lang)

    def items_page(self, *, state: str | None = None, station: str | None = None, overdue: bool = False,
                   since: dt.datetime | None = None, after: int = 0, limit: int = 50,
                   lang: str = "en", pillar: str | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """One page of `items` in id order, after id `after`: at most `limit` views, and the
        last id of the page when more follow (the API's cursor), else None. The store picks
        the page from its indexes (`item_rows`: filters and R-R1 in the query), so a page
        costs its own items, not the whole list; `since` keeps items changed at or after
        that time (a poller's cheap read)."""
        _filters(state=state, station=station)
        body = self.w.body(station).key if station else None
        q = self.item_query(ItemQuery(state=state, body=body, pillar=pillar, since=since,
                                      overdue_at=self.now if overdue else None))
        rows = self.tx.item_rows(q, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return self.views_of([r.id for r in rows], lang), (rows[-1].id if more and rows else None)

    def views_of(self, ids: list[int], lang: str = "en") -> list[dict[str, Any]]:
        """`item_view`s of `ids` (already chosen as visible), in that order: a page's records
        read in one query, views built for those alone."""
        if not ids:
            return []
        full = {r.id: r for r in self.tx.items(ids=ids)}
        self.w.items.update(full)  # the recipients of a deadline look its item up: this read, once
        self._page_orders = {i: [] for i in full}
        for o in self.tx.orders(items=ids):
            self._page_orders[o.item].append(o)
        parents = {c.origin for c in self.tx.item_rows(ItemQuery(origins=tuple(full)))}
        self._leaves = {i for i in full if i not in parents}  # taken into nothing: no descendants to read
        try:
            return [self.item_view(full[i], lang) for i in ids if i in full]
        finally:
            self._page_orders, self._leaves = {}, set()

    # ------------------------------------------------------------ lists from the store's indexes
    def item_query(self, q: ItemQuery, login: str | None = None) -> ItemQuery:
        """`q` narrowed to what the viewer (or `login`, for a reader without a viewer) may see
        (R-R1), as the store can ask it: their bodies' items, and the ids of those taken from
        theirs (found among the few items with an origin)."""
        sight = self.sight if self.viewer is not None or login is None else vis.sight(self.w, login, self.now)
        if sight.everything:
            return q
        return dataclasses.replace(q, bodies=tuple(sorted(sight.bodies)), also=self._taken_from(sight))

    def _taken_from(self, sight: vis.Sight) -> tuple[int, ...]:
        """The items outside the viewer's bodies they see as taken from one of theirs (R-R1)."""
        hit = self._also.get(sight.login)
        if hit is not None:
            return hit
        moved = {c.id: c for c in self.tx.item_rows(ItemQuery(origin_only=True))}

        def parent(i: int) -> Any:
            return moved.get(i) or self._parent(i)

        out = self._also[sight.login] = tuple(c.id for c in moved.values()
                                              if c.body not in sight.bodies and sight.item(c, parent))
        return out

    def waiting_for(self, book: Rulebook, item: ItemRecord, lang: str) -> str | None:
        """What the item waits for: the rulebook's words, or its next steps where those words
        were written for items of another kind (a station's item in `filed`)."""
        st = book.states.get(item.state)
        if st is None or st.final:
            return None
        kind = self.w.body_kinds().get(item.body)
        out = book.transitions_from(item.state)
        if st.waits and (not out or out[0].items == kind):
            return st.waits.in_(lang)
        steps = []
        for t in book.transitions_from(item.state, kind):
            if t.meeting:
                mk = book.meetings[t.meeting]
                key = "waits.convened" if t.fired_by else "waits.in_meeting"
                steps.append(Msg(key, meeting=A(mk.title), trigger=t.trigger))
            elif t.trigger != "withdraw":
                steps.append(Msg("waits.own", roles=tuple(book.role_title(r) for r in t.roles), trigger=t.trigger))
        return render(steps, lang) if steps else None

    def next_acts(self, book: Rulebook, item: ItemRecord, lang: str) -> list[dict[str, Any]]:
        out = []
        for t in book.transitions_from(item.state, self.w.body_kinds().get(item.body)):
            roles = list(book.meetings[t.meeting].recorder_roles) if t.meeting else list(t.roles)
            key = (book.version, tuple(roles), item.body)
            if key not in self._holders:
                self._holders[key] = au.holders(self.w, book, roles, item.body, self.now)
            who = list(self._holders[key])
            if t.filer and item.filed_by not in who:
                who.append(item.filed_by)
            out.append({"trigger": t.trigger, "trigger_title": trigger_title(t.trigger, lang, book),
                        "trigger_word": trigger_word(t.trigger, lang, book), "to": t.dest, "roles": roles, "filer": t.filer, "meeting": t.meeting,
                        "who": who, "who_names": [self.name(x, lang) for x in who], "rule": t.rule,
                        "by_convening": bool(t.fired_by),
                        "role_titles": [book.role_title(r).in_(lang) for r in roles],
                        "meeting_title": book.meetings[t.meeting].title.in_(lang) if t.meeting else None,
                        "to_title": book.states[t.dest].title.in_(lang) if t.dest in book.states else t.dest})
        return out

    def deadlines(self, book: Rulebook, planned: tuple[Planned, ...], item: int | None, meeting: int | None,
                  lang: str) -> list[dict[str, Any]]:
        rows = []
        for p in planned:
            rule = plan.rule_of(self.w.version(p.book) if p.book in self.w.adoptions else book, p.key)
            if rule is None:
                continue
            nxt = p.next_at
            rung = p.fired if nxt is not None else len(rule.escalate)
            who, vacant = rcp.recipients(self.w, book, rule, rung, item, meeting, p.ident, self.now)
            status = "done" if nxt is None else ("due" if nxt <= self.now else "pending")
            rows.append({"id": p.ident, "key": p.key, "what": rule.title.in_(lang), "due_at": iso(nxt or p.due_at),
                         "deadline": iso(p.due_at), "started_at": iso(p.started_at), "rung": rung,
                         "fired": p.fired, "recipients": who, "recipient_names": [self.name(x, lang) for x in who],
                         "vacant": vacant, "status": status, "status_title": status_title(status, lang), "overdue": p.due_at <= self.now and item is not None,
                         "item": item, "meeting": meeting, "order": p.order,
                         "role": ", ".join(rcp.roles_of(rule, rung))})
        return rows

    def item_view(self, item: ItemRecord, lang: str = "en") -> dict[str, Any]:
        """`item show`: state, what it waits for, who may act next, deadlines, orders."""
        book = self.book()
        kinds = self.w.body_kinds()
        st = book.states.get(item.state)
        deadlines = self.deadlines(book, item.reminders, item.id, None, lang)
        mine = self._page_orders.get(item.id)
        orders = [self.order_view(o, lang) for o in (self.tx.orders(item=item.id) if mine is None else mine)]
        taken = [self.link_view(book, c, lang) for c in self.descendants(item.id) if self.sees_item(c)]
        origin = self._parent(item.origin) if item.origin is not None else None
        return {"id": item.id, "title": item.title, "body": item.body, "body_name": self.body_name(item.body, lang),
                "station": item.body if kinds.get(item.body) != book.top_kind else None, "team": item.team,
                "team_title": book.teams[item.team].title.in_(lang) if item.team in book.teams else None,
                "pillars": [{"key": p, "title": book.pillars[p].title.in_(lang) if p in book.pillars else p}
                            for p in item.pillars],  # R-X1
                "state": item.state, "state_title": st.title.in_(lang) if st else item.state,
                "final": bool(st and st.final), "version": item.version,
                "waiting_for": self.waiting_for(book, item, lang), "next": self.next_acts(book, item, lang),
                "note": item.note, "filed_by": item.filed_by, "filed_by_name": self.name(item.filed_by, lang),
                "filed_at": iso(item.filed_at), "updated_at": iso(item.updated_at), "origin": item.origin,
                "taken_into": taken, "orders": orders, "deadlines": deadlines,
                "origin_item": self.link_view(book, origin, lang) if origin and self.sees_item(origin) else None,
                "report": self.report_fate(book, item, taken, lang),
                "overdue": plan.overdue(item.reminders, self.now),
                "sittings": [{"meeting": s.meeting, "kind": s.kind, "status": s.status, "starts_at": iso(s.starts_at),
                              "status_title": status_title(s.status, lang),
                              "held_at": iso(s.held_at), "outcome": s.outcome,
                              "outcome_title": trigger_title(s.outcome, lang, book),
                              "title": book.meetings[s.kind].title.in_(lang) if s.kind in book.meetings else s.kind}
                             for s in item.sittings]}

    def link_view(self, book: Rulebook, other: ItemRecord, lang: str) -> dict[str, Any]:
        """Another item this one is linked to (the HQ item a report became, or the station's
        item it came from): enough to name it and say where it stands."""
        st = book.states.get(other.state)
        return {"id": other.id, "state": other.state, "body": other.body, "title": other.title,
                "body_name": self.body_name(other.body, lang),
                "state_title": st.title.in_(lang) if st else other.state, "final": bool(st and st.final)}

    def report_fate(self, book: Rulebook, item: ItemRecord, taken: list[dict[str, Any]],
                    lang: str) -> dict[str, Any] | None:
        """What became of a station's report (R-P3; R-R1 lets the station see it): the report,
        the steps the HQ took on it since (relayed, received, closed or escalated), and the
        HQ items it became with their state. None for an item of a body that reports to no
        one (the HQ's: its kind has no `reports_to`) or one not reported yet.
        The report is the item's last step recorded in a sitting that is not a tabling."""
        if not book.reports_up(self.w.body_kinds().get(item.body, "")):
            return None
        steps = [e for e in self.tx.events(item=item.id) if e.type == "ItemAdvanced"]
        at = max((i for i, e in enumerate(steps) if e.meeting is not None and not e.data.get("tabled")), default=None)
        if at is None:
            return None
        since = [self.event_view(e, lang) for e in steps[at:]]
        return {"reported_at": since[0]["at"], "document": since[0]["document"], "steps": since,
                "taken_into": taken}

    def document(self, sha256: str, lang: str = "en") -> dict[str, Any]:
        """A document a step carries (a station's council result): its name, size, media
        type and the steps that carry it, for a viewer who may see one of their items
        (R-R1); else absent, as a hash nobody stored."""
        doc, carriers = self._document(sha256)
        return {"sha256": doc.sha256, "name": doc.name, "media_type": doc.media_type, "size": len(doc.content),
                "events": [{**self.event_view(e, lang),
                            "item_title": self.item_record(e.item).title} for e in carriers]}

    def document_file(self, sha256: str) -> Any:
        """The document itself (`DocumentRecord`), under the same sight as `document`."""
        return self._document(sha256)[0]

    def _document(self, sha256: str) -> tuple[Any, list[EventRecord]]:
        key = str(sha256).strip().lower()
        doc = self.tx.document(key) if len(key) == 64 else None
        carriers = [e for e in self.tx.document_events(key) if self.sees_item_id(e.item)] if doc else []
        if doc is None or not carriers:
            raise vis.absent("document.none", key)
        return doc, carriers

    def descendants(self, item_id: int) -> list[ItemRecord]:
        if item_id in self._leaves:  # a page read knew it was taken into nothing
            return []
        out, frontier = [], [item_id]
        while frontier:
            kids = self.tx.items(origin=frontier.pop())
            out += kids
            frontier += [k.id for k in kids]
        return out

    def order_view(self, o: Any, lang: str = "en") -> dict[str, Any]:
        return {"id": o.id, "item": o.item, "to": o.to, "to_name": self.name(o.to, lang), "due_at": iso(o.due_at),
                "status": o.status, "status_title": status_title(o.status, lang),
                "issued_by_name": self.name(o.issued_by, lang), "issued_by": o.issued_by, "issued_at": iso(o.issued_at), "note": o.note,
                "finding": o.finding, "reason": o.reason, "settled_at": iso(o.settled_at)}

    def orders(self, item: int | None = None, lang: str = "en") -> list[dict[str, Any]]:
        if item is not None:
            self.item_record(item)
        return [self.order_view(o, lang) for o in self.tx.orders(item=item) if self.sees_item_id(o.item)]

    def order(self, order_id: int, lang: str = "en") -> dict[str, Any]:
        return self.order_view(self.order_record(order_id), lang)

    # ------------------------------------------------------------ history
    def history(self, item_id: int, lang: str = "en") -> list[dict[str, Any]]:
        """Every event of the item and of the items taken from it, oldest first; with the
        sittings that dealt with it (who convened, chaired, was present) and the reminders
        that went out about it (to whom, by which channel). A sitting the viewer may not see
        shows only its acts on the item, never who sat or its minutes (R-R1)."""
        self.item_record(item_id)
        ids = [item_id] + [c.id for c in self.descendants(item_id)]
        events = self.tx.events(items=ids)
        meetings = {e.meeting for e in events if e.meeting is not None and self.sees_meeting_id(e.meeting)}
        seen = {e.seq for e in events}
        for m in sorted(meetings):
            events += [e for e in self.tx.events(meeting=m) if e.seq not in seen and e.type in
                       ("MeetingConvened", "MeetingHeld", "MeetingCancelled", "MeetingMoved", "MinutesRecorded",
                        "MinutesApproved")]
            seen |= {e.seq for e in events}
        return [self.event_view(e, lang) for e in sorted(events, key=lambda e: e.seq)]

    def replay(self, item_id: int, at: dt.datetime | None = None) -> tuple[list[Any], Any]:
        """`audit replay`: the item's acts (and those of the items taken from it) re-decided
        under the rules in force at each (engine.app.audit), for a viewer who may see it."""
        from engine.app.audit import replay_item

        self.item_record(item_id)
        return replay_item(self.kaigi.store, item_id, at)

    def replay_view(self, item_id: int, lang: str = "en", at: dt.datetime | None = None) -> list[dict[str, Any]]:
        """The audit page's replay in words: each step of `replay` with what happened (the
        history's line), who did it (names), under which rulebook version, and whether the
        rules in force then allow it, and why, in the reader's language."""
        from engine.app.audit import step_words

        steps, _ = self.replay(item_id, at)
        ids = [item_id] + [c.id for c in self.descendants(item_id)]
        views = {e.seq: e for e in self.tx.events(items=ids)}
        return [step_words(self, s, views.get(s.seq), lang) for s in steps]

    def export_rows(self, since: dt.datetime | None = None) -> Any:
        """`audit export`: the whole log, one hash chain, for those who see everything. A
        station's member gets none, rather than a chain with holes that verifies nothing."""
        from engine.app.audit import export_rows

        self.whole_log()
        return export_rows(self.kaigi.store, since)

    def verdict(self, **kw: Any) -> Any:
        """`audit verify` (Kaigi.verify) for those who see everything: its counts and its
        first bad event speak of the whole log."""
        self.whole_log()
        return self.kaigi.verify(**kw)

    def event_view(self, e: EventRecord, lang: str = "en") -> dict[str, Any]:
        d = e.data
        out = {"seq": e.seq, "at": iso(e.at), "type": e.type, "actor": e.actor, "authority": e.authority,
               "actor_name": self.name(e.actor, lang), "authority_name": self.name(e.authority, lang),
               "identity": e.identity, "trigger": d.get("trigger"), "from": d.get("from"), "to": d.get("to"),
               "meeting": e.meeting, "item": e.item, "rulebook": e.rulebook, "hash": e.hash,
               "note": d.get("note") or d.get("reason") or d.get("finding") or None,
               "document": d.get("document"), "spawned": d.get("spawned"), "origin": d.get("origin")}
        book = self.book(e.at)
        out.update({"type_title": event_title(e.type, lang), "trigger_title": trigger_title(d.get("trigger"), lang, book),
                    "from_title": _state_title(book, d.get("from"), lang),
                    "to_title": _state_title(book, d.get("to"), lang)})
        if e.type == "ActRefused":  # the reason in the reader's language, as it was written then
            out["note"] = Said(d.get("reason", ""), d.get("reason_ja", "")).render(lang) or None
            out["act_title"] = act_title(d.get("act", ""), lang, book)
        out["summary"] = self.summary(e, d, lang)
        return out

    def summary(self, e: EventRecord, d: dict[str, Any], lang: str) -> str:
        """One line saying what the event was, in words; people by name (their logins are in
        the event's `actor`, `authority` and data)."""
        book = self.book(e.at)
        m = self.w.meetings.get(e.meeting) if e.meeting is not None else None
        kind = book.meetings.get(m.kind) if m is not None else None
        mt: Any = kind.title if kind else (e.meeting or "")
        t = e.type
        if t == "ItemAdvanced":
            key = "history.tabled" if d.get("tabled") else ("history.advanced_in" if e.meeting else "history.advanced")
            return Msg(key, trigger=d["trigger"], src=_state(book, d["from"]), dest=_state(book, d["to"]),
                       meeting=mt, id=e.meeting or "").render(lang)
        if t == "ItemFiled":
            return Msg("history.filed", title=d["title"], body=self.body_name(d["body"], lang)).render(lang)
        if t == "MeetingConvened":
            return Msg("history.convened", meeting=mt, id=e.meeting, chair=self.person(d["chair"], False),
                       starts=When(_t(d["starts_at"])),
                       people=tuple(self.person(x, False) for x in d["attendees"] + d["invited"])).render(lang)
        if t == "MeetingHeld":
            return Msg("history.held", meeting=mt, id=e.meeting, present=tuple(self.person(x, False) for x in d["present"]),
                       chair=Msg("history.chair_present" if m is not None and m.chair in d["present"]
                                 else "history.chair_absent"),
                       sat=When(_t(d["sat_at"])) if d.get("sat_at") else When(e.at)).render(lang)
        if t == "MeetingCancelled":
            return Msg("history.cancelled", meeting=mt, id=e.meeting).render(lang)
        if t == "MeetingMoved":
            where = Msg("history.moved_place", place=d["place"]) if d.get("place") else ""
            return Msg("history.moved", meeting=mt, id=e.meeting, starts=When(_t(d["starts_at"])),
                       where=where).render(lang)
        if t == "ReminderDue":
            rule = plan.rule_of(book, d.get("key") or "")
            return Msg("history.reminder", what=rule.title if rule else d.get("key"), rung=d.get("rung"),
                       to=tuple(self.person(x, False) for x in d.get("recipients", [])) or "-").render(lang)
        if t == "ReminderSent":
            return Msg("history.sent", to=self.person(d["recipient"], False), channel=d.get("channel", "")).render(lang)
        if t == "ReminderFailed":
            return Msg("history.failed", to=self.person(d["recipient"], False), error=d.get("error", "")).render(lang)
        if t == "ActRefused":
            return Msg("history.refused", act=act_title(d.get("act", ""), lang, book),
                       reason=Said(d.get("reason", ""), d.get("reason_ja", ""))).render(lang)
        if t == "OrderIssued":
            return Msg("history.order", id=d["id"], to=self.person(d["to"], False), due=When(_t(d["due_at"]))).render(lang)
        if t in ("OrderCompleted", "OrderWaived"):
            return Msg("history." + t, id=d["id"]).render(lang)
        if t == "AgendaChanged":
            return Msg("history.agenda_" + d["op"], id=e.meeting, position=d.get("position")).render(lang)
        if t in ("MinutesRecorded", "MinutesApproved"):
            return Msg("history." + t, id=e.meeting, n=d["n"]).render(lang)
        if t == "DocumentPrinted":
            return Msg("history.DocumentPrinted", kind=Msg("paper.kind." + d.get("kind", "report")),
                       sha=str(d.get("sha256", ""))[:12]).render(lang)
        return event_title(t, lang)  # an event without a line of its own (engine/core/acts.py): its title

    # ------------------------------------------------------------ meetings
    def meeting(self, meeting_id: int, lang: str = "en") -> dict[str, Any]:
        return self.meeting_view(self.meeting_record(meeting_id), lang)

    def meetings(self, *, status: str | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, lang: str = "en") -> list[dict[str, Any]]:
        _filters(status=status)
        return [self.meeting_view(m, lang) for m in self.tx.meetings(status=status, since=since, until=until)
                if self.sees_meeting(m)]

    def agenda_of(self, m: MeetingRecord) -> list[int]:
        """The meeting's agenda as the viewer may see it: an item they may not see is left
        out, its id and title with it (an invited station chief at the HQ council)."""
        return [i for i in m.items if self.sees_item_id(i)]

    def ics(self, meeting_id: int, now: dt.datetime) -> str:
        """The meeting as an iCalendar invitation, its agenda as the viewer may see it."""
        from engine.reminders.ics import meeting_calendar

        m = self.meeting_record(meeting_id)
        return meeting_calendar(self.book(), m, dict(self.w.members), now, self.tx.meta("log_id"),
                                agenda=self.agenda_of(m))  # the UID the mail carries too (R-N6)

    def meeting_view(self, m: MeetingRecord, lang: str = "en") -> dict[str, Any]:
        book = self.book()
        kind = book.meetings.get(m.kind)
        shown = self.agenda_of(m)
        items = []
        for i in shown:
            it = self.w.items.get(i)
            items.append({"id": i, "title": it.title if it else "", "state": it.state if it else "",
                          "state_title": _state_title(book, it.state, lang) if it else "",
                          "outcome": m.outcomes.get(i), "outcome_title": trigger_title(m.outcomes.get(i), lang, book)})
        return {"id": m.id, "kind": m.kind, "title": kind.title.in_(lang) if kind else m.kind, "body": m.body,
                "body_name": self.body_name(m.body, lang), "status": m.status,
                "status_title": status_title(m.status, lang), "starts_at": iso(m.starts_at),
                "place": m.place,
                "convener": m.convener, "convener_name": self.name(m.convener, lang), "chair": m.chair,
                "chair_name": self.name(m.chair, lang),
                "chair_present": chair_was_present(self.w, m, m.sat_at or m.held_at) if m.status == "held" else None,
                "items": shown, "agenda": items,
                "attendees": list(m.attendees), "invited": list(m.invited), "present": list(m.present),
                "people": [{"login": x, "name": self.name(x, lang), "invited": x in m.invited,
                            "present": x in m.present} for x in (*m.attendees, *m.invited)],
                "outcomes": {str(k): v for k, v in m.outcomes.items() if k in shown},
                "outcome_titles": {str(k): trigger_title(v, lang, book) for k, v in m.outcomes.items() if k in shown},
                "held_at": iso(m.held_at),
                "sat_at": iso(m.sat_at or m.held_at), "convened_at": iso(m.convened_at), "version": m.version,
                "minutes": [{"n": x.n, "sha256": x.sha256, "text": x.text, "recorded_by": x.recorded_by,
                             "recorded_by_name": self.name(x.recorded_by, lang),
                             "approved_by_name": self.name(x.approved_by, lang) if x.approved_by else None,
                             "recorded_at": iso(x.recorded_at), "approved_by": x.approved_by,
                             "approved_at": iso(x.approved_at)} for x in m.minutes],
                "deadlines": self.deadlines(book, m.reminders, None, m.id, lang)}

    # ------------------------------------------------------------ reminders
    def reminders(self, *, due_only: bool = False, item: int | None = None, lang: str = "en") -> list[dict[str, Any]]:
        """Planned reminders (the next rung of each), and messages not yet delivered or failed."""
        book = self.book()
        rows = []
        for i in [self.item_record(item)] if item is not None else self.tx.items():
            if self.sees_item(i):
                rows += self.deadlines(book, i.reminders, i.id, None, lang)
        if item is None:
            for m in self.tx.meetings(status="convened"):
                if self.sees_meeting(m):
                    rows += self.deadlines(book, m.reminders, None, m.id, lang)
        rows = [r for r in rows if r["status"] != "done" and (not due_only or r["status"] == "due")]
        if item is None:
            for d in self.tx.deliveries():
                if d.status == "sent" or (due_only and d.status == "failed"):
                    continue
                if not self._sees_subject(d.item, d.meeting):
                    continue
                key = d.reminder.split("/")[0]
                rule = plan.rule_of(book, key)
                rows.append({"id": d.reminder, "key": key, "what": rule.title.in_(lang) if rule else key,
                             "due_at": iso(d.next_attempt_at), "deadline": None, "item": d.item,
                             "meeting": d.meeting, "order": rcp.subject_order(d.reminder), "rung": d.rung,
                             "role": "", "recipients": [d.recipient], "recipient_names": [self.name(d.recipient, lang)],
                             "status": d.status, "attempts": d.attempts, "error": d.last_error, "vacant": []})
        return sorted(rows, key=lambda r: (r["due_at"] or "", str(r["id"])))

    def forecast(self, until: dt.datetime, lang: str = "en") -> list[dict[str, Any]]:
        """What would be sent, and when, up to `until`: every rung still to fire, recipients as
        the roster will stand then (assignments with future dates count)."""
        rows = []
        subjects: list[tuple[tuple[Planned, ...], int | None, int | None]] = [
            (i.reminders, i.id, None) for i in self.tx.items() if self.sees_item(i)]
        subjects += [(m.reminders, None, m.id) for m in self.tx.meetings(status="convened") if self.sees_meeting(m)]
        for planned, item, meeting in subjects:
            for p in planned:
                book = self.w.version(p.book) if p.book in self.w.adoptions else self.book()
                rule = plan.rule_of(book, p.key)
                if rule is None:
                    continue
                for rung in range(p.fired, len(rule.escalate) + 1):
                    at = plan.rung_at(book, rule, p.due_at, rung)
                    if at is None or at > until:
                        break
                    when = max(at, self.now)
                    who, vacant = rcp.recipients(self.w, self.w.book(when), rule, rung, item, meeting, p.ident, when)
                    rows.append({"id": p.ident, "due_at": iso(at), "item": item, "meeting": meeting, "order": p.order,
                                 "what": rule.title.in_(lang), "key": p.key, "rung": rung,
                                 "role": ", ".join(rcp.roles_of(rule, rung)), "recipients": who,
                                 "recipient_names": [self.name(x, lang) for x in who], "vacant": vacant,
                                 "status": "forecast"})
        return sorted(rows, key=lambda x: (x["due_at"], x["id"], x["rung"]))

    # ------------------------------------------------------------ what waits on a member
    def my_work(self, login: str, lang: str = "en") -> list[dict[str, Any]]:
        """What is asked of `login` now, earliest deadline first, each entry with the one form
        that does it (`engine.app.work`): only acts the rules accept, never a withdrawal."""
        from engine.app.work import work_of

        return work_of(self, login, lang)

    def describe_held(self, login: str, lang: str = "en") -> str:
        return describe(self.w, self.book(), self.holdings(login)).render(lang)


def _state_title(book: Rulebook, key: str | None, lang: str) -> str:
    """A state key in words (`事前審査中`); none is empty, an unknown one stays its key."""
    if not key:
        return ""
    st = book.states.get(key)
    return st.title.in_(lang) if st else key


def _filters(**given: Any) -> None:
    """A query's text filters are keys the store compares: text it can hold (no NUL, no lone
    surrogate: `engine.core.text.usable`), else a refusal naming the character, for every face
    (`?state=%00` made PostgreSQL refuse: HTTP 503)."""
    for name, value in given.items():
        if isinstance(value, str):
            usable(value, name)


def _state(book: Rulebook, key: str) -> Any:
    st = book.states.get(key)
    return st.title if st else key


def _t(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


Title  # noqa: B018 (titles render themselves)
