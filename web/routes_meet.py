"""Meetings in the browser: the calendar (a month, or a list on a phone), convening, a
meeting's page with its agenda, sitting, minutes and calling off (WEB.md, "Every act in the
browser").

Every form offers only what the rules accept, decided by the engine (`engine.app.convening`
for convening, `engine.app.offers` for a meeting's acts) on the reader's snapshot; every
post goes through the same act as the CLI, and a refusal is its one line in `#refusal`
with the status of its kind, nothing written. Each route reads through the Reader with its
viewer (R-R1): a meeting or item the member may not see is 404 before any act.
"""

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engine.core.errors import BadInput, DomainError, NotFound
from engine.infra.timeutil import JST, parse_when
from web.pages import _checked, _form_id, _gate, _kaigi, _not_found, _reader, _t, _who
from web.respond import lang, redirect, refusal_status, render

router = APIRouter(include_in_schema=False)

LIST_DAYS = 92  # the list view: this many days from the first of the month shown


# ---------------------------------------------------------------- the calendar
@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, month: str | None = None, view: str | None = None) -> Response:
    """A month as a calendar (a list below ~600 px, CSS only), or `view=list`: the meetings
    of the month and the two after it, one line each, for a phone."""
    if (gate := _gate(request)) is not None:
        return gate
    language = lang(request)
    k = _kaigi(request)
    first = _month_start(month, k.now().astimezone(JST).date())
    nxt = _next_month(first)
    prev = (first - dt.timedelta(days=1)).replace(day=1)
    as_list = view == "list"
    until = first + dt.timedelta(days=LIST_DAYS) if as_list else nxt
    start = dt.datetime.combine(first, dt.time(), JST)
    end = dt.datetime.combine(until, dt.time(), JST)
    with _reader(request) as q:
        rows = q.meetings(since=start.astimezone(dt.UTC), until=end.astimezone(dt.UTC), lang=language)
        from engine.app import convening

        may_convene = bool(convening.kinds(q, _who(request).login))
    for m in rows:
        m["status_word"] = _t(request, f"status.{m['status']}")
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for m in sorted(rows, key=lambda m: m["starts_at"]):
        day = dt.datetime.fromisoformat(m["starts_at"]).astimezone(JST).date()
        by_day.setdefault(day, []).append(m)
    weeks, day = [], first - dt.timedelta(days=first.weekday())
    while not as_list:
        weeks.append([{"date": day + dt.timedelta(days=i), "in_month": (day + dt.timedelta(days=i)).month == first.month,
                       "meetings": by_day.get(day + dt.timedelta(days=i), [])} for i in range(7)])
        day += dt.timedelta(days=7)
        if day >= nxt:
            break
    days = [{"date": d, "meetings": by_day[d]} for d in sorted(by_day)]
    return render(request, "meetings.html", weeks=weeks, days=days, month=first, as_list=as_list,
                  prev=prev.strftime("%Y-%m"), next=nxt.strftime("%Y-%m"), may_convene=may_convene)


def _next_month(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_start(month: str | None, today: dt.date) -> dt.date:
    """The first day of `YYYY-MM`, or of this month for anything else: a month whose
    neighbours or Japan-time bounds fall outside the calendar (0001-01, 9999-12) too."""
    if month and re.fullmatch(r"[0-9]{4}-[0-9]{2}", month):
        year, mon = int(month[:4]), int(month[5:])
        if 1 < year < 9999 and 1 <= mon <= 12:
            return dt.date(year, mon, 1)
    return today.replace(day=1)


# ---------------------------------------------------------------- convening
def _convene_page(request: Request, kind: str | None, typed: dict[str, Any], status: int = 200,
                  refusal: str | None = None) -> Response:
    """The convening form for `kind` (one of those this member may convene), prefilled from
    `typed` (the query, or what was posted and refused)."""
    from engine.app import convening

    language = lang(request)
    who = _who(request)
    with _reader(request) as q:
        offers = convening.kinds(q, who.login)
        choices = [{"key": o.kind.key, "station": o.station, "value": _kind_value(o),
                    "title": _kind_title(q, o, language)} for o in offers]
        chosen = next((o for o in offers if _kind_value(o) == kind), None)
        if chosen is None:  # `kind=station_council` (with `station=` or one station of theirs), or none asked
            station = typed.get("station")
            fits = [o for o in offers if kind is None or (o.kind.key == kind and station in (None, o.station))]
            chosen = fits[0] if len(fits) == 1 else None
        form: dict[str, Any] = {}
        if chosen is not None:
            book = q.book()
            items = convening.items(q, who.login, chosen)
            ticked_items = set(typed.get("item", []))
            form = {
                "kind": chosen.kind.key, "value": _kind_value(chosen), "station": chosen.station,
                "title": _kind_title(q, chosen, language),
                "items": [{"id": i.id, "title": i.title, "state": book.states[i.state].title.in_(language)
                           if i.state in book.states else i.state, "ticked": str(i.id) in ticked_items}
                          for i in items],
                "groups": convening.groups(q, chosen, language),
                "guests": convening.guests(q, who.login, chosen, language),
                "rule": chosen.kind.rule,
            }
            if "attendee" in typed:  # what was posted and refused: as it was ticked
                ticked = set(typed["attendee"])
                for g in form["groups"]:
                    for p in g["people"]:
                        p["ticked"] = p["login"] in ticked
            invited = set(typed.get("invite", []))
            for g in form["guests"]:
                for p in g["people"]:
                    p["ticked"] = p["login"] in invited
    starts = typed.get("starts_at") or _convening_soon(request)
    return render(request, "meeting_new.html", status=status, choices=choices, form=form, kind=kind,
                  starts_at=starts, place=typed.get("place", ""), refusal=refusal)


def _kind_value(o: Any) -> str:
    """The `kind` a form posts: the kind's key, with its station where it names one
    (`station_council:mito`), so one select picks both."""
    return o.kind.key if o.station is None else f"{o.kind.key}:{o.station}"


def _kind_title(q: Any, o: Any, language: str) -> str:
    title = o.kind.title.in_(language)
    if o.station is None:
        return str(title)
    return f"{title}（{q.body_name(o.station, language)}）" if language == "ja" else \
        f"{title} ({q.body_name(o.station, language)})"


def _convening_soon(request: Request) -> str:
    from engine.app.convening import soon

    return soon(_kaigi(request).now()).strftime("%Y-%m-%dT%H:%M")


@router.get("/meetings/new", response_class=HTMLResponse)
def meeting_new(request: Request, kind: str | None = None) -> Response:
    """`/meetings/new?kind=K&item=I…`: the convening form, prefilled from the query (the
    "my work" helper links here with the kind and items)."""
    if (gate := _gate(request)) is not None:
        return gate
    typed = {"item": [str(x) for x in request.query_params.getlist("item")],
             "station": request.query_params.get("station") or None}
    return _convene_page(request, kind or None, typed)


@router.post("/meetings", response_class=HTMLResponse)
async def meeting_convene(request: Request) -> Response:
    """Convene: `kind`, `starts_at` (Japan time), `place`, `item`, `attendee`, `invite`
    (each repeated), `station` where the kind is a station's (or in `kind` as `K:station`)."""
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    k, language = _kaigi(request), lang(request)
    raw_kind = str(form.get("kind") or "")
    kind, _, in_kind = raw_kind.partition(":")
    station = str(form.get("station") or "") or in_kind or None
    typed: dict[str, Any] = {"starts_at": str(form.get("starts_at") or ""), "place": str(form.get("place") or ""),
             "item": [str(x) for x in form.getlist("item")], "attendee": [str(x) for x in form.getlist("attendee")],
             "invite": [str(x) for x in form.getlist("invite")]}
    try:
        starts = parse_when(typed["starts_at"], k.now())
        items = [n for x in form.getlist("item") if (n := _form_id(x, "item.none")) is not None]
        with _reader(request) as q:
            for n in items:
                q.item_record(n)
        out = k.convene(_who(request), kind, starts, items=items,
                        attendees=[x for x in typed["attendee"] if x], invited=[x for x in typed["invite"] if x],
                        station=station, place=typed["place"])
    except NotFound as err:
        return render(request, "error.html", status=404, message=err.render(language), refusal=True)
    except DomainError as err:
        again = f"{kind}:{station}" if station else kind
        return _convene_page(request, again or None, typed, status=refusal_status(err),
                             refusal=err.render(language))
    return redirect(f"/meetings/{out.fact.meeting}")


# ---------------------------------------------------------------- a meeting
@router.get("/meetings/{meeting_id}.ics")
def meeting_ics(request: Request, meeting_id: int) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    with _reader(request) as q:
        try:
            text = q.ics(meeting_id, _kaigi(request).now())
        except NotFound as err:
            return _not_found(request, err)
    return Response(text, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="kaigi-meeting-{meeting_id}.ics"'})


def _meeting_page(request: Request, meeting_id: int, status: int = 200, refusal: str | None = None) -> Response:
    """The meeting in words, with the forms of the acts `offers.meeting_acts` offers the
    signed-in member now (and only those)."""
    from engine.app import offers
    from engine.core.decide import chairs
    from engine.i18n import trigger_word

    language = lang(request)
    who = _who(request)
    with _reader(request) as q:
        try:
            rec = q.meeting_record(meeting_id)
        except NotFound as err:
            return _not_found(request, err)
        view = q.meeting_view(rec, language)
        acts = {a["act"]: a for a in offers.meeting_acts(q, who.login, rec)}
        book = q.book()
        view["status_word"] = _t(request, f"status.{rec.status}")
        for a in view["agenda"]:
            st = book.states.get(a["state"])
            a["state_title"] = st.title.in_(language) if st else a["state"]
            a["outcome_word"] = trigger_word(a["outcome"], language, book) if a["outcome"] else None
        for x in view["minutes"]:
            x["recorded_name"] = q.name(x["recorded_by"], language) if x["recorded_by"] else ""
            x["approved_name"] = q.name(x["approved_by"], language) if x["approved_by"] else ""
        view["convener_name"] = q.name(rec.convener, language)
        agenda = acts.get("agenda")
        addable = []
        if agenda:
            for i in agenda["add"]:
                it = q.w.items.get(i)
                if it is not None and q.sees_item(it):
                    st = book.states.get(it.state)
                    addable.append({"id": it.id, "title": it.title, "state": st.title.in_(language) if st else it.state})
        callees: list[dict[str, Any]] = []
        if "hold" in acts:
            kind = book.meetings.get(rec.kind)
            presiding = set(chairs(q.w, rec, q.now)) if kind is not None and kind.chair_present else set()
            for login in dict.fromkeys([*rec.attendees, *rec.invited, *sorted(presiding)]):
                callees.append({"login": login, "name": q.name(login, language), "invited": login in rec.invited})
        latest = view["minutes"][-1] if view["minutes"] else None
        waiting = latest if latest is not None and not latest["approved_by"] else None
    return render(request, "meeting.html", status=status, meeting=view, refusal=refusal, acts=acts,
                  addable=addable, callees=callees, waiting=waiting,
                  removable=set(agenda["remove"]) if agenda else set(), movable=bool(agenda and agenda["move"]),
                  now_local=_kaigi(request).now().astimezone(JST).strftime("%Y-%m-%dT%H:%M"),
                  starts_local=rec.starts_at.astimezone(JST).strftime("%Y-%m-%dT%H:%M"))


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(request: Request, meeting_id: int) -> Response:
    if (gate := _gate(request)) is not None:
        return gate
    return _meeting_page(request, meeting_id)


async def _meeting_act(request: Request, meeting_id: int, run: Any) -> Response:
    """One act on a meeting from its page: the form with this session's token, the meeting
    visible to the member (404 before anything else, R-R1), then the act; a refusal is the
    page again with its line in `#refusal`, nothing written."""
    form = await _checked(request)
    if isinstance(form, Response):
        return form
    try:
        with _reader(request) as q:
            q.meeting_record(meeting_id)
        run(form)
    except NotFound as err:
        return _not_found(request, err)
    except DomainError as err:
        return _meeting_page(request, meeting_id, status=refusal_status(err), refusal=err.render(lang(request)))
    return redirect(f"/meetings/{meeting_id}")


AGENDA_ACTIONS = ("add", "remove", "up", "down")


@router.post("/meetings/{meeting_id}/agenda", response_class=HTMLResponse)
async def meeting_agenda(request: Request, meeting_id: int) -> Response:
    """Keep the agenda before the sitting (R-M3): `item`, `action` = add, remove, up, down."""
    def run(form: Any) -> None:
        action = str(form.get("action") or "")
        if action not in AGENDA_ACTIONS:
            raise BadInput("agenda.op", op=action[:20])
        item = _form_id(form.get("item"), "item.none")
        if item is None:
            raise BadInput("input.empty", what="item")
        with _reader(request) as q:
            q.item_record(item)
            m = q.meeting_record(meeting_id)
        k, who = _kaigi(request), _who(request)
        if action in ("add", "remove"):
            k.agenda(who, meeting_id, action, item)
            return
        at = m.items.index(item) + 1 if item in m.items else 1  # not on it: the engine says so
        # the first cannot go up nor the last down: the engine refuses a place off the list
        k.agenda(who, meeting_id, "move", item, position=at - 1 if action == "up" else at + 1)
    return await _meeting_act(request, meeting_id, run)


@router.post("/meetings/{meeting_id}/hold", response_class=HTMLResponse)
async def meeting_hold(request: Request, meeting_id: int) -> Response:
    """Record the sitting: `present` (those called who were there), `sat_at` (Japan time,
    when it sat, for a sitting recorded after the fact, R-M5)."""
    def run(form: Any) -> None:
        k = _kaigi(request)
        raw = str(form.get("sat_at") or "").strip()
        sat = parse_when(raw, k.now()) if raw else None
        present = [str(x) for x in form.getlist("present") if x]
        if not present and form.get("listed"):  # every box unticked: no one sat (the engine reads none as all)
            raise BadInput("sitting.nobody_present", id=meeting_id)
        k.hold(_who(request), meeting_id, present=present, sat_at=sat)
    return await _meeting_act(request, meeting_id, run)


@router.post("/meetings/{meeting_id}/minutes", response_class=HTMLResponse)
async def meeting_minutes(request: Request, meeting_id: int) -> Response:
    """An entry of the minutes (R-M4): a draft, or a correction as a new entry."""
    def run(form: Any) -> None:
        _kaigi(request).record_minutes(_who(request), meeting_id, str(form.get("text") or ""))
    return await _meeting_act(request, meeting_id, run)


@router.post("/meetings/{meeting_id}/minutes/approve", response_class=HTMLResponse)
async def meeting_minutes_approve(request: Request, meeting_id: int) -> Response:
    """The chair approves the latest entry (R-M4); `n` names it, so an entry recorded since
    the page was read is not approved unseen."""
    def run(form: Any) -> None:
        n = _form_id(form.get("n"), "minutes.none")
        k = _kaigi(request)
        with _reader(request) as q:
            m = q.meeting_record(meeting_id)
        if n is not None and m.minutes and m.minutes[-1].n != n:
            from engine.core.errors import Conflict

            raise Conflict("minutes.newer", id=meeting_id, n=n, latest=m.minutes[-1].n)
        k.approve_minutes(_who(request), meeting_id, n=n)
    return await _meeting_act(request, meeting_id, run)


@router.post("/meetings/{meeting_id}/cancel", response_class=HTMLResponse)
async def meeting_cancel(request: Request, meeting_id: int) -> Response:
    """Call the sitting off (the convener's power: R-C3, R-T3, R-S1, R-P2), behind a
    confirmation: the form's `confirm` box must be ticked, else nothing is done."""
    def run(form: Any) -> None:
        if str(form.get("confirm") or "") != "yes":
            raise BadInput("meeting.cancel_unconfirmed", id=meeting_id)
        _kaigi(request).cancel(_who(request), meeting_id, reason=str(form.get("reason") or ""))
    return await _meeting_act(request, meeting_id, run)


@router.post("/meetings/{meeting_id}/move", response_class=HTMLResponse)
async def meeting_move(request: Request, meeting_id: int) -> Response:
    """Move the meeting before it starts (R-M6, the convener's power): `at` (Japan time; empty
    keeps the time), `place` (as posted: the form shows the present one), `reason`."""
    def run(form: Any) -> None:
        k = _kaigi(request)
        with _reader(request) as q:
            shown = q.meeting_record(meeting_id).starts_at.astimezone(JST).strftime("%Y-%m-%dT%H:%M")
        raw = str(form.get("at") or "").strip()
        starts = parse_when(raw, k.now()) if raw and raw != shown else None  # as the form showed it: kept
        place = str(form["place"]) if "place" in form else None
        k.move(_who(request), meeting_id, starts_at=starts, place=place, reason=str(form.get("reason") or ""))
    return await _meeting_act(request, meeting_id, run)
