"""Finding and overseeing: search, filters, the overdue view, rows for a spreadsheet.

Every function takes a `Reader` (`kaigi.read(viewer=login)`) and answers only what its
viewer may see (R-R1): an item is dropped before its words are looked at, so a search can
never tell that a hidden item matched. The faces (`/items`, `/overdue`, `/items.csv|xlsx`,
`kaigi item list|export`) all come here, so a filter means the same everywhere.

Reads are light: the store's query (`item_rows`, `count_items`: the filters and R-R1 asked
of its columns and indexes, overdue by `ix_item_deadline`) chooses, counts and pages the
items as cards (id, title, state, body, team, origin, updated time, earliest deadline; no
history decoded); a search's words alone are compared here, over those cards; full records are
read only where a card cannot answer (an item's note, for a search whose words are not all
in its title; who filed it and when, for an export; the reminders of an overdue item), and
never an item's whole view (deadlines, next acts, orders), which a list does not show.

Search: Japanese has no spaces between words, so a word is a substring. The query and the
text are both NFKC-normalised (full-width ＡＢＣ and half-width ｶﾀｶﾅ are the letters they
stand for) and case-folded (Latin); a query of several words separated by spaces (an
ideographic space too) matches an item whose title or note holds every one.
"""

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from engine.core import authority as au
from engine.core import plan
from engine.core.errors import BadInput
from engine.infra.timeutil import iso
from store.records import ItemCard, ItemQuery, ItemRecord

PAGE = 50  # results a page shows unless asked otherwise
OVERDUE_PAGE = 200  # overdue items the overdue view groups a page at a time
MAX_PAGE = 200  # the most one page may ask for: a list is read by a person
MAX_QUERY = 200  # characters of a search; more is bad input, not a slow scan
BATCH = 500  # records read at once where a card is not enough


@dataclass(frozen=True)
class Filters:
    """What the member asked for; empty means any."""

    q: str = ""
    state: str | None = None
    station: str | None = None
    team: str | None = None
    overdue: bool = False
    pillar: str | None = None  # R-X1: items serving this pillar of 第3

    def as_query(self) -> dict[str, str]:
        """The filters as URL query parameters (for the page's links and exports)."""
        out = {"q": self.q, "state": self.state or "", "station": self.station or "", "team": self.team or "",
               "overdue": "1" if self.overdue else "", "pillar": self.pillar or ""}
        return {k: v for k, v in out.items() if v}


@dataclass
class Found:
    """One page of results: `rows` (light), how many matched in all, where the page starts."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def normal(text: str) -> str:
    """Text as a search compares it: NFKC (full-width and half-width alike), case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def words(query: str) -> list[str]:
    """The words of a search: separated by spaces of any width (NFKC makes U+3000 a space)."""
    if len(query) > MAX_QUERY:
        raise BadInput("find.query_too_long", n=MAX_QUERY)
    return normal(query).split()


def check(reader: Any, f: Filters) -> tuple[str | None, str | None]:
    """The filters made keys (a station by key or name), or bad input naming the choices."""
    book = reader.book()
    words(f.q)
    if f.state and f.state not in book.states:
        raise BadInput("find.bad_state", value=f.state[:40], known=", ".join(book.states))
    if f.team and f.team not in book.teams:
        raise BadInput("find.bad_team", value=f.team[:40], known=", ".join(book.teams))
    if f.pillar and f.pillar not in book.pillars:
        raise BadInput("pillar.none", pillar=f.pillar[:40], known=", ".join(book.pillars) or "-")
    body = reader.w.body(f.station).key if f.station else None
    return body, f.team or None


def query(reader: Any, f: Filters) -> ItemQuery:
    """The filters but the words as the store's query, narrowed to what the viewer may see
    (R-R1): the store answers it from its indexes, overdue by `ix_item_deadline` (R-N3)."""
    body, team = check(reader, f)
    q: ItemQuery = reader.item_query(ItemQuery(state=f.state, body=body, team=team, pillar=f.pillar,  # R-X1
                                       overdue_at=reader.now if f.overdue else None))
    return q


def _cards(reader: Any, f: Filters) -> list[ItemCard]:
    """The cards the viewer may see that pass every filter but the words, in id order."""
    return list(reader.tx.item_rows(query(reader, f)))


def _matching(reader: Any, f: Filters) -> list[ItemCard]:
    """Every card that passes the filters and whose title, or else note, holds every word."""
    wanted = words(f.q)
    cards = _cards(reader, f)
    if not wanted:
        return cards
    hit: set[int] = set()
    rest: list[int] = []
    for c in cards:
        title = normal(c.title)
        if all(w in title for w in wanted):
            hit.add(c.id)
        else:
            rest.append(c.id)
    for start in range(0, len(rest), BATCH):  # the note only where the title was not enough
        for rec in reader.tx.items(ids=rest[start:start + BATCH]):
            text = normal(rec.title + "\n" + rec.note)
            if all(w in text for w in wanted):
                hit.add(rec.id)
    return [c for c in cards if c.id in hit]


def find(reader: Any, f: Filters, *, limit: int = PAGE, offset: int = 0, lang: str = "en") -> Found:
    """One page of the items the viewer may see that match `f`, in id order. `limit` is
    bounded by `MAX_PAGE` whatever is asked. Without words the store counts the matches and
    reads the page alone from its indexes; words are compared over the filtered cards."""
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    if not words(f.q):
        q = query(reader, f)
        total = reader.tx.count_items(q)
        page = reader.tx.item_rows(q, offset=offset, limit=limit) if offset < total else []
        return Found([_row(reader, c, lang) for c in page], total, offset, limit)
    cards = _matching(reader, f)
    page = cards[offset:offset + limit]
    return Found([_row(reader, c, lang) for c in page], len(cards), offset, limit)


def _row(reader: Any, c: ItemCard, lang: str) -> dict[str, Any]:
    book = reader.book()
    st = book.states.get(c.state)
    return {"id": c.id, "title": c.title, "state": c.state, "state_title": st.title.in_(lang) if st else c.state,
            "body": c.body, "body_name": reader.body_name(c.body, lang), "team": c.team,
            "team_title": book.teams[c.team].title.in_(lang) if c.team in book.teams else None,
            "pillars": [p for p in c.pillars],
            "updated_at": iso(c.updated_at), "earliest_deadline": iso(c.earliest_due),
            "overdue": c.earliest_due is not None and c.earliest_due <= reader.now}


def records(reader: Any, ids: list[int]) -> dict[int, ItemRecord]:
    """Full records of `ids` (already visible), read in batches."""
    out: dict[int, ItemRecord] = {}
    for start in range(0, len(ids), BATCH):
        out.update((r.id, r) for r in reader.tx.items(ids=ids[start:start + BATCH]))
    return out


def export_rows(reader: Any, f: Filters, lang: str = "en") -> list[dict[str, Any]]:
    """Every matching item as a spreadsheet row (no page: an export is the whole answer),
    with who filed it and when, times as datetimes (UTC) for the writer to put in Japan time."""
    cards = _matching(reader, f)
    full = records(reader, [c.id for c in cards])
    book = reader.book()
    sep = "、" if lang == "ja" else "; "
    rows = []
    for c in cards:
        rec = full.get(c.id)
        row = _row(reader, c, lang)
        row.update({"pillar_titles": sep.join(book.pillars[p].title.in_(lang) if p in book.pillars else p
                                              for p in c.pillars),  # R-X1"filed_by": rec.filed_by if rec else None,
                    "filed_by_name": reader.name(rec.filed_by, lang) if rec else "",
                    "filed_at": rec.filed_at if rec else None, "updated": c.updated_at, "deadline": c.earliest_due})
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the overdue view (R-N3)
def overdue_total(reader: Any, station: str | None = None) -> int:
    """How many items the viewer may see are overdue (R-N3): the overdue view's pages."""
    return int(reader.tx.count_items(query(reader, Filters(station=station, overdue=True))))


def overdue(reader: Any, lang: str = "en", station: str | None = None, *, limit: int | None = None,
            offset: int = 0) -> list[dict[str, Any]]:
    """The overdue items the viewer may see, by station and by the role that must act: the
    roles a planned reminder whose deadline has passed reminds first (its rule's `remind`;
    the rungs it escalates to are supervisors, not those who act). An item waiting on two
    roles is under each. Each role's group names who holds it there now (the people reminded
    first). Groups come HQ first, then by body, with counts of distinct items. `limit` and
    `offset`: one page of the overdue items in id order (the store's `ix_item_deadline`),
    grouped; only that page's records are read."""
    f = Filters(station=station, overdue=True)
    cards = (_cards(reader, f) if limit is None
             else reader.tx.item_rows(query(reader, f), limit=max(1, int(limit)), offset=max(0, int(offset))))
    full = records(reader, [c.id for c in cards])
    book = reader.book()
    now = reader.now
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for c in cards:
        rec = full.get(c.id)
        if rec is None:
            continue
        reader.w.items[rec.id] = rec  # the recipients below look the item up: this read, once
        for p in rec.reminders:
            if p.due_at > now:
                continue
            rule = plan.rule_of(reader.w.version(p.book) if p.book in reader.w.adoptions else book, p.key)
            if rule is None:
                continue
            for role in rule.remind or ("",):
                by_role = groups.setdefault(c.body, {})
                g = by_role.setdefault(role, {"role": role, "role_title": book.role_title(role).in_(lang)
                                              if role else "", "items": {}})
                row = g["items"].get(c.id)
                if row is None or p.due_at < row["deadline_at"]:
                    g["items"][c.id] = {**_row(reader, c, lang), "what": rule.title.in_(lang),
                                        "deadline": iso(p.due_at), "deadline_at": p.due_at,
                                        "days": (now - p.due_at).days}
    out = []
    for body in sorted(groups, key=lambda b: (b != reader.w.top(), b)):
        roles = []
        for g in sorted(groups[body].values(), key=lambda g: g["role"]):
            items = sorted(g["items"].values(), key=lambda r: (r["deadline_at"], r["id"]))
            for r in items:
                r.pop("deadline_at")
            who = au.holders(reader.w, book, [g["role"]], body, now) if g["role"] in book.roles else []
            roles.append({"role": g["role"], "role_title": g["role_title"], "count": len(items), "items": items,
                          "who": who, "who_names": [reader.name(x, lang) for x in who]})
        out.append({"body": body, "body_name": reader.body_name(body, lang),
                    "count": len({r["id"] for g in roles for r in g["items"]}), "roles": roles})
    return out


# ---------------------------------------------------------------- spreadsheets
COLUMNS = ("find.col.id", "find.col.title", "find.col.state", "find.col.station", "find.col.team",
           "find.col.filed_by", "find.col.filed_at", "find.col.updated_at", "find.col.overdue", "find.col.deadline",
           "find.col.pillars")  # R-X1, last: the columns before it stay where spreadsheets expect them


def _cells(row: dict[str, Any], lang: str) -> list[Any]:
    from engine.i18n import t

    return [row["id"], row["title"], row["state_title"], row["body_name"], row["team_title"] or "",
            row["filed_by_name"], row["filed_at"], row["updated"], t("find.yes" if row["overdue"] else "find.no", lang),
            row["deadline"], row["pillar_titles"]]


def _jst_text(at: dt.datetime | None) -> str:
    from engine.infra.timeutil import JST

    return at.astimezone(JST).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def csv_bytes(rows: list[dict[str, Any]], lang: str) -> bytes:
    """UTF-8 with a BOM (Excel reads it as UTF-8, not Shift_JIS), times in Japan time."""
    import csv
    import io

    from engine.i18n import t

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([t(c, lang) for c in COLUMNS])
    for row in rows:
        w.writerow([_jst_text(v) if isinstance(v, dt.datetime) else v for v in _cells(row, lang)])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[dict[str, Any]], lang: str) -> bytes:
    """An Excel workbook: a header row, Japan-time dates as Excel dates with a number format,
    column widths set, the header frozen. Written in openpyxl's streaming mode: an export of
    the whole HQ is written row by row, not held as a sheet of cell objects."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from engine.i18n import t
    from engine.infra.timeutil import JST

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("案件" if lang == "ja" else "Items")
    for col, width in zip("ABCDEFGHIJK", (8, 48, 16, 16, 16, 16, 18, 18, 10, 18, 32), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def head(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        return cell

    def cell(value: Any) -> Any:
        if not isinstance(value, dt.datetime):
            return value
        out = WriteOnlyCell(ws, value=value.astimezone(JST).replace(tzinfo=None))
        out.number_format = "yyyy-mm-dd hh:mm"
        return out

    ws.append([head(t(c, lang)) for c in COLUMNS])
    for row in rows:
        ws.append([cell(v) for v in _cells(row, lang)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
