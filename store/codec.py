"""Records to rows and back: the nested parts of an item or a meeting as compact JSON.

An item's sittings, open orders and planned reminders, a meeting's people, agenda,
outcomes, minutes and reminders are stored as JSON text beside the plain columns, so
an act reads and writes each record in one statement. Times are UTC text (what SQLite
has always held; PostgreSQL keeps `timestamptz` for the plain columns).
"""

import datetime as dt
from datetime import UTC
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson

from store.chain import stamp
from store.records import ItemRecord, MeetingRecord, Minutes, OpenOrder, Planned, Sitting

_parse = dt.datetime.fromisoformat


@lru_cache(maxsize=8192)  # pure; an act writes the same few instants (now, a deadline) many times over
def t_out(at: dt.datetime | None) -> str | None:
    """An instant as SQLite text: naive UTC with microseconds (as SQLAlchemy stored it in 0.1),
    cut from its `instant` text (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`, fixed width), which the
    act has made already for its event."""
    if at is None:
        return None
    text: str = _ts(at)  # type: ignore[assignment]
    return text[:10] + " " + text[11:26]


def t_in(value: Any) -> dt.datetime | None:
    """A stored instant back to an aware UTC datetime (SQLite text or PostgreSQL timestamptz)."""
    if value is None:
        return None
    when: dt.datetime = _parse(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


_ts = stamp  # an instant as the text inside JSON columns: `chain.instant`, remembered


def _td(text: str | None) -> dt.datetime | None:
    return None if text is None else _parse(text)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


# ---------------------------------------------------------------- nested parts
def sittings_out(xs: tuple[Sitting, ...]) -> str:
    if not xs:
        return "[]"  # what dumps gives an empty list, without the call (most items have none)
    return dumps([[s.meeting, s.kind, s.status, _ts(s.starts_at), _ts(s.held_at), s.outcome] for s in xs])


def sittings_in(text: str | None) -> tuple[Sitting, ...]:
    if not text or text == "[]":
        return ()
    return tuple(Sitting(m, k, st, _td(a), _td(h), o) for m, k, st, a, h, o in orjson.loads(text))  # type: ignore[arg-type]


def orders_out(xs: tuple[OpenOrder, ...]) -> str:
    if not xs:
        return "[]"
    return dumps([[o.id, o.to, _ts(o.issued_at), _ts(o.due_at)] for o in xs])


def orders_in(text: str | None) -> tuple[OpenOrder, ...]:
    if not text or text == "[]":
        return ()
    return tuple(OpenOrder(i, to, _td(a), _td(d)) for i, to, a, d in orjson.loads(text))  # type: ignore[arg-type]


def planned_out(xs: tuple[Planned, ...]) -> str:
    if not xs:
        return "[]"
    return dumps([[p.key, p.subject, p.book, _ts(p.started_at), _ts(p.due_at), p.fired, _ts(p.next_at), p.order]
                  for p in xs])


def planned_in(text: str | None) -> tuple[Planned, ...]:
    if not text or text == "[]":
        return ()
    return tuple(Planned(k, s, b, _td(st), _td(d), f, _td(n), o)  # type: ignore[arg-type]
                 for k, s, b, st, d, f, n, o in orjson.loads(text))


def minutes_out(xs: tuple[Minutes, ...]) -> str:
    if not xs:
        return "[]"
    return dumps([[m.n, m.sha256, m.text, m.recorded_by, _ts(m.recorded_at), m.approved_by, _ts(m.approved_at)]
                  for m in xs])


def minutes_in(text: str | None) -> tuple[Minutes, ...]:
    if not text or text == "[]":
        return ()
    return tuple(Minutes(n, h, tx, by, _td(at), ab, _td(aa))  # type: ignore[arg-type]
                 for n, h, tx, by, at, ab, aa in orjson.loads(text))


# ---------------------------------------------------------------- items and meetings
ITEM_COLS = ("id", "title", "body", "team", "state", "version", "filed_by", "filed_at", "updated_at", "note",
             "origin", "sittings", "orders", "reminders", "fired", "pillars", "next_due_at", "deadline_at")
ITEM_READ = ITEM_COLS[:-2]  # what a record is read from (the two times are derived from its reminders)
MEETING_COLS = ("id", "kind", "body", "convener", "chair", "starts_at", "status", "version", "convened_at",
                "held_at", "sat_at", "attendees", "invited", "present", "items", "outcomes", "minutes",
                "reminders", "fired", "place", "changed_at", "next_due_at")


def fired_out(xs: tuple[tuple[str, int], ...]) -> str:
    if not xs:
        return "[]"
    return dumps([list(x) for x in xs])


def fired_in(text: str | None) -> tuple[tuple[str, int], ...]:
    if not text or text == "[]":
        return ()
    return tuple((k, n) for k, n in orjson.loads(text))


def item_row(i: ItemRecord, t: Any = t_out) -> dict[str, Any]:
    return {"id": i.id, "title": i.title, "body": i.body, "team": i.team, "state": i.state, "version": i.version,
            "filed_by": i.filed_by, "filed_at": t(i.filed_at), "updated_at": t(i.updated_at), "note": i.note,
            "origin": i.origin, "sittings": sittings_out(i.sittings), "orders": orders_out(i.orders),
            "reminders": planned_out(i.reminders), "fired": fired_out(i.fired),
            "pillars": dumps(list(i.pillars)) if i.pillars else "[]",
            "next_due_at": t(i.next_due_at), "deadline_at": t(i.deadline_at)}


def item_in(r: Any) -> ItemRecord:
    return ItemRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], t_in(r[7]), t_in(r[8]), r[9], r[10],  # type: ignore[arg-type]
                      sittings_in(r[11]), orders_in(r[12]), planned_in(r[13]), fired_in(r[14]),
                      () if not r[15] or r[15] == "[]" else tuple(orjson.loads(r[15])))


def meeting_row(m: MeetingRecord, t: Any = t_out) -> dict[str, Any]:
    return {"id": m.id, "kind": m.kind, "body": m.body, "convener": m.convener, "chair": m.chair,
            "starts_at": t(m.starts_at), "status": m.status, "version": m.version, "convened_at": t(m.convened_at),
            "held_at": t(m.held_at), "sat_at": t(m.sat_at), "attendees": dumps(list(m.attendees)),
            "invited": dumps(list(m.invited)), "present": dumps(list(m.present)), "items": dumps(list(m.items)),
            "outcomes": dumps({str(k): v for k, v in m.outcomes.items()}), "minutes": minutes_out(m.minutes),
            "reminders": planned_out(m.reminders), "fired": fired_out(m.fired), "place": m.place,
            "changed_at": t(m.changed_at), "next_due_at": t(m.next_due_at)}


def meeting_in(r: Any) -> MeetingRecord:
    loads = orjson.loads
    return MeetingRecord(r[0], r[1], r[2], r[3], r[4], t_in(r[5]), r[6], r[7], t_in(r[8]),  # type: ignore[arg-type]
                         tuple(loads(r[11])), tuple(loads(r[12])), tuple(loads(r[13])), tuple(loads(r[14])),
                         {int(k): v for k, v in loads(r[15]).items()}, t_in(r[9]), t_in(r[10]),
                         minutes_in(r[16]), planned_in(r[17]), fired_in(r[18]), r[19] or "", t_in(r[20]))


# ---------------------------------------------------------------- what an update writes
def _t_field(value: Any, t: Any) -> Any:
    return t(value)


def _plain_field(value: Any, t: Any) -> Any:
    return value


def _list_field(value: Any, t: Any) -> str:
    return dumps(list(value)) if value else "[]"


def _outcomes_field(value: dict[int, str], t: Any) -> str:
    return dumps({str(k): v for k, v in value.items()})


def _nested(out: Any) -> Any:
    return lambda value, t: out(value)


_ITEM_FIELDS: tuple[tuple[str, Any], ...] = (
    ("title", _plain_field), ("body", _plain_field), ("team", _plain_field), ("state", _plain_field),
    ("version", _plain_field), ("filed_by", _plain_field), ("filed_at", _t_field), ("updated_at", _t_field),
    ("note", _plain_field), ("origin", _plain_field), ("sittings", _nested(sittings_out)),
    ("orders", _nested(orders_out)), ("reminders", _nested(planned_out)), ("fired", _nested(fired_out)),
    ("pillars", _list_field))
_MEETING_FIELDS: tuple[tuple[str, Any], ...] = (
    ("kind", _plain_field), ("body", _plain_field), ("convener", _plain_field), ("chair", _plain_field),
    ("starts_at", _t_field), ("status", _plain_field), ("version", _plain_field), ("convened_at", _t_field),
    ("held_at", _t_field), ("sat_at", _t_field), ("attendees", _list_field), ("invited", _list_field),
    ("present", _list_field), ("items", _list_field), ("outcomes", _outcomes_field),
    ("minutes", _nested(minutes_out)), ("reminders", _nested(planned_out)), ("fired", _nested(fired_out)),
    ("place", _plain_field), ("changed_at", _t_field))


def _changes_for(fields: tuple[tuple[str, Any], ...], derived: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """Straight-line code comparing each field of two records (`is`, then `!=`) and encoding
    the changed ones; with the reminders, the times derived from them (`derived`)."""
    scope: dict[str, Any] = {"_plain": _plain_field}
    lines = ["def changes(new, old, t=_t_out):", "    row = {'id': new.id}"]
    scope["_t_out"] = t_out
    for name, enc in fields:
        lines.append(f"    a = new.{name}")
        lines.append(f"    b = old.{name}")
        lines.append("    if a is not b and a != b:")
        if enc is _plain_field:
            lines.append(f"        row[{name!r}] = a")
        elif enc is _t_field:
            lines.append(f"        row[{name!r}] = t(a)")
        else:
            scope[f"_enc_{name}"] = enc
            lines.append(f"        row[{name!r}] = _enc_{name}(a, t)")
        if name == "reminders":
            for d in derived:
                lines.append(f"        row[{d!r}] = t(new.{d})")
    lines.append("    return row")
    exec("\n".join(lines), scope)  # noqa: S102 (code made here from the records' own field names)
    return scope["changes"]  # type: ignore[no-any-return]


_item_changes = _changes_for(_ITEM_FIELDS, ("next_due_at", "deadline_at"))
_meeting_changes = _changes_for(_MEETING_FIELDS, ("next_due_at",))


def item_changes(new: ItemRecord, old: ItemRecord, t: Any = t_out) -> dict[str, Any]:
    """The columns of `new`'s row that differ from `old`'s, encoded as `item_row` encodes them,
    with its `id`: what an UPDATE must write (an act changes a few of an item's columns; the
    rest, the JSON ones most of all, were encoded again only to write what was there)."""
    return _item_changes(new, old, t)


def meeting_changes(new: MeetingRecord, old: MeetingRecord, t: Any = t_out) -> dict[str, Any]:
    """`item_changes` for a meeting (its `next_due_at` follows its reminders)."""
    return _meeting_changes(new, old, t)
