"""`/api/v1` (alias `/api`): the commands and queries of the CLI as JSON, for the prefecture's
other systems. The contract is docs/api.md; the OpenAPI document (`/api/openapi.json`) says
it exactly: every answer's schema, every error's, bounds and enums of every input.

Authenticated by `Authorization: Bearer <token>` (`kaigi token create`); the token's member
is the actor, exactly as a signed-in page's. Errors are `{"error": {"kind", "message",
"rule"}}` (400/401/403/404/405/409/500/503), the CLI's one line as the message.
"""

import datetime as dt
import hashlib
import re
import sys
import unicodedata
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.app.visibility import MAX_ID
from engine.core.decide import MAX_NOTE, MAX_TITLE
from engine.core.errors import DomainError
from engine.core.sittings import MAX_ATTENDEES, MAX_PLACE
from engine.core.text import BIDI, LINE_BREAKS
from web.respond import error_json

PAGE, MAX_PAGE = 50, 500  # a list's page unless asked, and the most one page may hold
ERROR_KINDS = ["bad_input", "not_permitted", "not_possible", "not_found", "conflict", "integrity", "unavailable",
               "not_allowed", "internal"]


# ---------------------------------------------------------------- what the engine's text rules accept
# The character classes below are the engine's text rules (engine.core.text) spelled as regex ranges
# over every code point, for the OpenAPI document and pydantic. `line` depends on the Unicode
# database (category Cf grows with each version): computed once per version and kept in _LINE_CLASS,
# since asking the category of 1.1 million code points costs 0.2 s at every import (each test
# worker, each `kaigi serve`). A version not kept here is computed at import (correct, only slower);
# tests/web/test_api_text_classes.py holds the table to the computation.
def _ranges(flags: bytes | bytearray) -> str:
    """A regex character class body naming every code point whose flag is 1, as ranges."""
    def esc(cp: int) -> str:  # (no lone surrogate reaches a pattern: JSON text cannot carry one)
        return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"
    out = []
    for run in re.finditer(b"\x01+", flags):
        a, b = run.start(), run.end() - 1
        out.append(esc(a) if a == b else f"{esc(a)}-{esc(b)}")
    return "".join(out)


def _flags(chars: Iterable[str]) -> bytearray:
    chars = list(chars)
    flags = bytearray(max(map(ord, chars)) + 1)
    for ch in chars:
        flags[ord(ch)] = 1
    return flags


def line_class() -> str:
    """engine.core.text.line refuses these: a line break, or category Cc, Cf, Zl or Zp (Cs, the
    surrogates, too, but no lone surrogate reaches a pattern: JSON text cannot carry one)."""
    bad = {"Cc", "Cf", "Zl", "Zp"}
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    flags = bytearray(map(bad.__contains__, map(unicodedata.category, every)))
    for ch in LINE_BREAKS:
        flags[ord(ch)] = 1
    return _ranges(flags)


def prose_class() -> str:
    """engine.core.text.prose refuses these: a bidi control, a C0 control but a line feed, tab or
    carriage return, DEL and the C1 controls."""
    return _ranges(_flags([*BIDI, *(chr(cp) for cp in range(32) if chr(cp) not in "\n\t\r"),
                           *map(chr, range(0x7F, 0xA0))]))


_LINE_CLASS = {  # line_class() by unicodedata.unidata_version
    "14.0.0": ("\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2"
               "\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb"
               "\\U000110bd\\U000110cd\\U00013430-\\U00013438\\U0001bca0-\\U0001bca3\\U0001d173-\\U0001d17a"
               "\\U000e0001\\U000e0020-\\U000e007f"),
}
LINE = _LINE_CLASS.get(unicodedata.unidata_version) or line_class()
PROSE = prose_class()
TITLE_PATTERN = f"^[^{LINE}]*[^{LINE}\\s][^{LINE}]*$"  # one line, something besides spaces
LINE_PATTERN = f"^[^{LINE}]*$"
PROSE_PATTERN = f"^[^{PROSE}]*$"
KEY_PATTERN = "^[^\\u0000]*$"  # a key the store can compare (engine.core.text.usable)

API_MAX_ID = 2**31 - 1  # the ids the API documents: every JSON client's integer holds them exactly
Id = Annotated[int, Field(ge=1, le=API_MAX_ID)]
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE, pattern=TITLE_PATTERN)]
Note = Annotated[str, Field(max_length=MAX_NOTE, pattern=PROSE_PATTERN)]
Key = Annotated[str, Field(min_length=1, max_length=200, pattern=KEY_PATTERN)]
Login = Annotated[str, Field(min_length=1, max_length=200, pattern=KEY_PATTERN)]


def path_id(what: str) -> Any:
    """A path's id: documented as 1..2^31-1; one out of range (past what the store holds too)
    is answered as an id never used (404, R-R1: absent and hidden alike), never a 500."""
    return Path(description=f"the {what}'s id", json_schema_extra={"minimum": 1, "maximum": API_MAX_ID})


# ---------------------------------------------------------------- schemas: errors
class ErrorBody(BaseModel):
    kind: Literal["bad_input", "not_permitted", "not_possible", "not_found", "conflict", "integrity",
                  "unavailable", "not_allowed", "internal"]
    message: str = Field(description="one line, in the Accept-Language (ja or en), as the CLI says it")
    rule: str | None = Field(description="the rule (docs/rules.md) the refusal names, if any")


class Error(BaseModel):
    """Every error of `/api`, whatever refused the request."""
    error: ErrorBody


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {400: "bad input: a value the schema or the engine refuses", 401: "no valid bearer token",
             403: "the member may not do this (the rule is named)", 404: "no such object, or hidden from the member",
             409: "not possible now (the item's state, the meeting's status)",
             503: "the database cannot be reached: retry after Retry-After"}
    return {c: {"model": Error, "description": words[c]} for c in codes}


# ---------------------------------------------------------------- schemas: answers (docs/cli.md's shapes)
class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class NextAct(Open):
    trigger: str
    roles: list[str]
    meeting: str | None = Field(description="the meeting kind the step needs, if any")


class Item(Open):
    """`item show`."""
    id: int
    title: str
    body: str
    state: str
    version: int
    waiting_for: str | None
    next: list[NextAct]
    overdue: bool
    updated_at: str | None


class HistoryEvent(Open):
    """One line of `item history`."""
    seq: int
    at: str | None
    type: str
    actor: str | None
    authority: str | None
    meeting: int | None
    item: int | None
    rulebook: str | None


class Meeting(Open):
    """`meeting show`."""
    id: int
    kind: str
    body: str
    status: str
    starts_at: str | None
    place: str
    convener: str
    chair: str | None
    items: list[int]
    attendees: list[str]
    invited: list[str]


class Role(Open):
    role: str
    body: str


class Whoami(Open):
    login: str
    name: str
    roles: list[Role]


class Verdict(Open):
    """`audit verify`."""
    ok: bool
    events: int
    items: int
    first_bad_seq: int | None
    problem: str | None


class Recorded(Open):
    """An event an act appended."""
    seq: int
    type: str
    item: int | None
    meeting: int | None
    actor: str
    authority: str | None
    at: str


class Acted(BaseModel):
    """What an act appended; `id` is the object it made or moved (`Location` on 201)."""
    id: int = Field(description="the item filed or advanced, the meeting convened or held")
    dry_run: bool
    events: list[Recorded]


# ---------------------------------------------------------------- schemas: requests
class FileItem(BaseModel):
    title: Title
    station: Key | None = Field(default=None, description="a station's key or name; none: the HQ")
    team: Key | None = Field(default=None, description="a team of the rulebook in force")
    note: Note = ""
    pillars: list[Annotated[str, Field(min_length=1, max_length=32, pattern=KEY_PATTERN)]] = Field(
        default_factory=list, max_length=8, description="R-X1: the pillars of 第3 it serves (keys of the rulebook in force)")


class Advance(BaseModel):
    trigger: str = Field(max_length=64, description="a trigger of the rulebook in force")
    meeting: Id | None = None
    note: Note = ""


class Convene(BaseModel):
    kind: str = Field(max_length=64, description="a meeting kind of the rulebook in force")
    starts_at: dt.datetime = Field(description="RFC 3339, a year 1900-2999; no offset: Japan time",
                                   json_schema_extra={"pattern": "^(19|2[0-9])[0-9]{2}-"})

    @field_validator("starts_at", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        """RFC 3339 text, not a number of seconds (which pydantic would take)."""
        if not isinstance(v, str):
            raise ValueError("a date and time as RFC 3339 text")
        return v

    @field_validator("starts_at")
    @classmethod
    def _in_reach(cls, v: dt.datetime) -> dt.datetime:
        """A year whose deadlines a calendar holds (9999-12-31 plus a week overflowed: 500)."""
        if not 1900 <= v.year <= 2999:
            raise ValueError("a year from 1900 to 2999")
        return v
    items: list[Id] = Field(default_factory=list, max_length=500)
    attendees: list[Login] = Field(default_factory=list, max_length=MAX_ATTENDEES)
    invited: list[Login] = Field(default_factory=list, max_length=MAX_ATTENDEES)
    station: Key | None = None
    place: Annotated[str, Field(max_length=MAX_PLACE, pattern=LINE_PATTERN)] = ""


class Hold(BaseModel):
    present: list[Login] = Field(default_factory=list, max_length=MAX_ATTENDEES)


# ---------------------------------------------------------------- the token, the language, refusals
def member(request: Request) -> Any:
    """The actor a bearer token stands for."""
    from engine.app import accounts

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    k = request.app.state.kaigi
    login, found = accounts.token_member(k, token.strip()) if scheme.lower() == "bearer" else (None, None)
    if login is None or found is None:
        raise HTTPException(status_code=401, detail={"kind": "not_permitted", "message": "a valid bearer token is needed",
                                                     "rule": None}, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(found, DomainError):
        raise HTTPException(status_code=401, detail={"kind": "not_permitted", "message": "the token's member left",
                                                     "rule": None}, headers={"WWW-Authenticate": "Bearer"})
    return found[0]


def _lang(request: Request) -> str:
    from engine.i18n import lang_of

    return lang_of(request.headers.get("accept-language", "ja")[:2])


def _call(request: Request, fn: Any) -> Any:
    try:
        return fn()
    except DomainError as err:
        return error_json(err, _lang(request))


def _reader(request: Request, who: Any) -> Any:
    """A snapshot read as the token's member: only what they may see (R-R1); the rest is 404."""
    return request.app.state.kaigi.read(viewer=who.login)


def _fresh(request: Request, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A read's answer with its ETag; `If-None-Match` naming it is 304 with no body."""
    data = orjson.dumps(body)
    tag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    out = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Authorization, Accept-Language",
           **(headers or {})}
    asked = [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]
    if tag in asked or "*" in asked:
        return Response(status_code=304, headers=out)
    return Response(data, media_type="application/json", headers=out)


def _read(request: Request, who: Any, fn: Any) -> Any:
    def run() -> Any:
        with _reader(request, who) as q:
            return _fresh(request, fn(q))
    return _call(request, run)


def _acted(out: Any, ident: int | None) -> dict[str, Any]:
    events = [{"seq": r.seq, "type": f.type, "item": r.item, "meeting": r.meeting, "actor": r.actor,
               "authority": r.authority, "at": r.at.isoformat(), **f.payload()}
              for r, f in zip(out.records, out.facts, strict=True)]
    return {"id": ident, "dry_run": out.dry_run, "events": events}


def _created(request: Request, body: dict[str, Any], where: str) -> Response:
    base = request.url.path.rsplit("/", 1)[0]
    return JSONResponse(body, status_code=201, headers={"Location": f"{base}/{where}/{body['id']}"})


# ---------------------------------------------------------------- the cursor
CURSOR = "^[0-9a-z]{1,16}$"
SINCE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?$"


def _since(text: str | None) -> dt.datetime | None:
    """RFC 3339 (a leap second as the second before; no offset: Japan time), else 400."""
    if text is None:
        return None
    t = text.upper().replace(" ", "T").replace(":60", ":59")
    try:
        when = dt.datetime.fromisoformat(t)
    except ValueError:
        raise HTTPException(400, {"kind": "bad_input", "message": "since: not a date and time (RFC 3339)",
                                  "rule": None}) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone(dt.timedelta(hours=9)))


def _cursor(text: str | None) -> int:
    """The cursor `Next-Cursor` gave: opaque to a client (any text of its pattern is one;
    one past the last item is a page with none)."""
    if not text:
        return 0
    import re

    if not re.fullmatch(CURSOR[1:-1], text):
        raise HTTPException(400, {"kind": "bad_input", "message": "cursor: not a cursor this API gave", "rule": None})
    return min(int(text, 36), MAX_ID)


def _next(after: int) -> str:
    return _base36(after)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


# ---------------------------------------------------------------- routes
router = APIRouter(tags=["kaigi"])
READ = errors(400, 401, 404, 503)
ETAG = {"ETag": {"description": "the answer's tag: send it as If-None-Match to be answered 304",
                 "schema": {"type": "string"}}}


LINK_FILED = {"GetItem": {"operationId": "item_api_v1_items__item_id__get",
                          "parameters": {"item_id": "$response.body#/id"}},
              "ItemHistory": {"operationId": "history_api_v1_items__item_id__history_get",
                              "parameters": {"item_id": "$response.body#/id"}}}
LINK_ITEM = {"GetItem": {"operationId": "item_api_v1_items__item_id__get",
                         "parameters": {"item_id": "$response.body#/id"}},
             "AdvanceItem": {"operationId": "advance_api_v1_items__item_id__advance_post",
                             "parameters": {"item_id": "$response.body#/id"}},
             "ItemHistory": {"operationId": "history_api_v1_items__item_id__history_get",
                             "parameters": {"item_id": "$response.body#/id"}}}
LINK_MEETING = {"GetMeeting": {"operationId": "meeting_api_v1_meetings__meeting_id__get",
                               "parameters": {"meeting_id": "$response.body#/id"}},
                "HoldMeeting": {"operationId": "hold_api_v1_meetings__meeting_id__hold_post",
                                "parameters": {"meeting_id": "$response.body#/id"}}}
LOCATION = {"Location": {"description": "the new object's URL", "schema": {"type": "string"}}}


@router.get("/items", response_model=list[Item], responses={
    200: {"headers": {**ETAG, "Link": {"description": '`<…?cursor=…>; rel="next"` while more follow',
                                       "schema": {"type": "string"}},
                      "Next-Cursor": {"description": "the cursor of the next page, absent on the last",
                                      "schema": {"type": "string"}}}},
    304: {"description": "not modified (If-None-Match)"}, **READ})
def items(request: Request, who: Annotated[Any, Depends(member)],
          state: Annotated[Key | None, Query(description="a state of the rulebook in force")] = None,
          station: Annotated[Key | None, Query(description="a station's key or name")] = None,
          overdue: bool = False,
          pillar: Annotated[Key | None, Query(description="R-X1: items serving this pillar of 第3")] = None,
          since: Annotated[str | None, Query(pattern=SINCE, json_schema_extra={"format": "date-time"},
                                             description="items changed at or after (RFC 3339)")] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE,
          cursor: Annotated[str | None, Query(pattern=CURSOR, description="`Next-Cursor` of the page before")] = None,
          ) -> Any:
    """The items the member may see (R-R1), in id order, a page at a time: the array of
    `item show`s; `Next-Cursor` (and `Link: rel="next"`) while more follow."""
    def run() -> Any:
        after = _cursor(cursor)
        if state is not None and state not in _vocabulary(request.app)["states"]:
            raise HTTPException(400, {"kind": "bad_input", "message": f"state: no state {state[:40]!r} in the rulebooks",
                                      "rule": None})
        if pillar is not None and pillar not in _vocabulary(request.app)["pillars"]:
            raise HTTPException(400, {"kind": "bad_input", "rule": "R-X1",
                                      "message": f"pillar: no pillar {pillar[:40]!r} in the rulebooks"})
        when = _since(since)
        with _reader(request, who) as q:
            page, last = q.items_page(state=state, station=station, overdue=overdue, since=when, after=after,
                                      limit=limit, lang=_lang(request), pillar=pillar)
        headers = {}
        if last is not None:
            nxt = _next(last)
            from urllib.parse import urlencode

            known = ("state", "station", "overdue", "pillar", "since", "limit")
            query = urlencode({k: v for k, v in request.query_params.items() if k in known} | {"cursor": nxt})
            headers = {"Next-Cursor": nxt, "Link": f'<{request.url.path}?{query}>; rel="next"'}
        return _fresh(request, page, headers)
    return _call(request, run)


@router.get("/items/{item_id}", response_model=Item, responses={200: {"headers": ETAG, "links": LINK_ITEM}, **READ})
def item(request: Request, item_id: Annotated[int, path_id("item")], who: Annotated[Any, Depends(member)]) -> Any:
    return _read(request, who, lambda q: q.item(item_id, _lang(request)))


@router.get("/items/{item_id}/history", response_model=list[HistoryEvent], responses={
    200: {"headers": {**ETAG, "Link": {"description": '`<…?cursor=…>; rel="next"` while more follow',
                                       "schema": {"type": "string"}},
                      "Next-Cursor": {"description": "the cursor of the next page, absent on the last",
                                      "schema": {"type": "string"}}}},
    304: {"description": "not modified (If-None-Match)"}, **READ})
def history(request: Request, item_id: Annotated[int, path_id("item")], who: Annotated[Any, Depends(member)],
            limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = PAGE,
            cursor: Annotated[str | None, Query(pattern=CURSOR, description="`Next-Cursor` of the page before")] = None,
            ) -> Any:
    """The item's events in log order (R-R1 as `item history`), a page at a time by
    sequence number: `Next-Cursor` (and `Link: rel="next"`) while more follow."""
    def run() -> Any:
        after = _cursor(cursor)
        with _reader(request, who) as q:
            events = [e for e in q.history(item_id, _lang(request)) if e["seq"] > after]
        page, more = events[:limit], len(events) > limit
        headers = {}
        if more:
            nxt = _next(page[-1]["seq"])
            from urllib.parse import urlencode

            query = urlencode({"limit": limit, "cursor": nxt})
            headers = {"Next-Cursor": nxt, "Link": f'<{request.url.path}?{query}>; rel="next"'}
        return _fresh(request, page, headers)
    return _call(request, run)




@router.post("/items", status_code=201, response_model=Acted,
             responses={201: {"headers": LOCATION, "links": LINK_FILED}, **errors(400, 401, 403, 404, 409, 503)})
def file_item(request: Request, body: FileItem, who: Annotated[Any, Depends(member)]) -> Any:
    """File an item (`item file`); `id` is the new item's."""
    def run() -> Any:
        out = request.app.state.kaigi.file_item(who, body.title, station=body.station, team=body.team, note=body.note,
                                                pillars=tuple(body.pillars))
        return _created(request, _acted(out, out.records[0].item), "items")
    return _call(request, run)


@router.post("/items/{item_id}/advance", response_model=Acted,
             responses={200: {"links": LINK_ITEM}, **errors(400, 401, 403, 404, 409, 503)})
def advance(request: Request, item_id: Annotated[int, path_id("item")], body: Advance,
            who: Annotated[Any, Depends(member)]) -> Any:
    """Move the item along its path (`item advance`); `id` is the item's."""
    def run() -> Any:
        k = request.app.state.kaigi
        with _reader(request, who) as q:
            q.item_record(item_id)
            if body.meeting is not None:
                q.meeting_record(body.meeting)
        return _acted(k.advance(who, item_id, body.trigger, meeting=body.meeting, note=body.note), item_id)
    return _call(request, run)


@router.post("/meetings", status_code=201, response_model=Acted,
             responses={201: {"headers": LOCATION, "links": LINK_MEETING}, **errors(400, 401, 403, 404, 409, 503)})
def convene(request: Request, body: Convene, who: Annotated[Any, Depends(member)]) -> Any:
    """Convene a meeting (`meeting convene`); `id` is the new meeting's."""
    starts = body.starts_at if body.starts_at.tzinfo else body.starts_at.replace(
        tzinfo=dt.timezone(dt.timedelta(hours=9)))

    def run() -> Any:
        with _reader(request, who) as q:  # the rulebooks' words read in the same snapshot
            for i in body.items:
                q.item_record(i)
            if body.station is None and body.kind not in _vocabulary(request.app)["hq_kinds"]:
                raise HTTPException(400, {"kind": "bad_input", "rule": None,
                                          "message": f"station: a {body.kind[:40]} meeting names its station"})
        out = request.app.state.kaigi.convene(who, body.kind, starts, items=body.items, attendees=body.attendees,
                                              invited=body.invited, station=body.station, place=body.place)
        return _created(request, _acted(out, out.records[0].meeting), "meetings")
    return _call(request, run)


@router.post("/meetings/{meeting_id}/hold", response_model=Acted,
             responses={200: {"links": LINK_MEETING}, **errors(400, 401, 403, 404, 409, 503)})
def hold(request: Request, meeting_id: Annotated[int, path_id("meeting")], body: Hold,
         who: Annotated[Any, Depends(member)]) -> Any:
    """Record that the meeting sat (`meeting hold`); `id` is the meeting's."""
    def run() -> Any:
        with _reader(request, who) as q:
            q.meeting_record(meeting_id)
        return _acted(request.app.state.kaigi.hold(who, meeting_id, present=body.present), meeting_id)
    return _call(request, run)


@router.get("/meetings/{meeting_id}", response_model=Meeting, responses={200: {"headers": ETAG}, **READ})
def meeting(request: Request, meeting_id: Annotated[int, path_id("meeting")],
            who: Annotated[Any, Depends(member)]) -> Any:
    return _read(request, who, lambda q: q.meeting(meeting_id, _lang(request)))


@router.get("/audit/verify", response_model=Verdict, responses=READ)
def verify(request: Request, who: Annotated[Any, Depends(member)]) -> Any:
    """The log's verdict (`audit verify`): for those who see everything, else 404."""
    return _read(request, who, lambda q: q.verdict().as_dict(_lang(request)))


@router.get("/whoami", response_model=Whoami, responses=READ)
def whoami(request: Request, who: Annotated[Any, Depends(member)]) -> Any:
    def run() -> Any:
        with request.app.state.kaigi.read() as q:
            return _fresh(request, q.whoami(who.login, _lang(request)))
    return _call(request, run)


# ---------------------------------------------------------------- the OpenAPI document
def _vocabulary(app: Any) -> dict[str, list[str]]:
    """The rulebooks' words this database adopted: meeting kinds, triggers, teams, states."""
    from engine.app.rulebooks import adopted

    books = adopted(app.state.kaigi).books
    return {"kinds": sorted({k for b in books for k in b.meetings}),
            "triggers": sorted({t.trigger for b in books for t in b.transitions}),
            "teams": sorted({t for b in books for t in b.teams}),
            "pillars": sorted({p for b in books for p in b.pillars}),
            "hq_kinds": sorted({k for b in books for k, m in b.meetings.items() if m.body == b.top_kind}),
            "states": sorted({s for b in books for s in b.states}),
            "versions": [b.version for b in books]}


def openapi(app: Any) -> dict[str, Any]:
    """The document FastAPI writes, made true: the bearer scheme on every operation, no 422
    (validation errors are 400 in the error shape), and the rulebook's enums (kinds,
    triggers, teams, states) from the rules this database adopted."""
    from fastapi.openapi.utils import get_openapi

    words = _vocabulary(app)
    key = tuple(words["versions"])
    cached = getattr(app.state, "openapi_doc", None)
    if cached and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    doc = get_openapi(title="kaigi", version="1", description=__doc__, routes=app.routes)
    doc["paths"] = {p: v for p, v in doc["paths"].items() if p.startswith("/api/v1/")}
    doc["components"].setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "`kaigi token create`"}
    doc["security"] = [{"bearer": []}]
    schemas = doc["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for ops in doc["paths"].values():
        for op in ops.values():
            op.setdefault("security", [{"bearer": []}])
            resp = op.get("responses", {})
            resp.pop("422", None)
            if ("400" not in resp and op.get("parameters")) or "requestBody" in op:
                resp.setdefault("400", {"description": "bad input", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
            resp.setdefault("500", {"description": "a fault of the server", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    kinds, triggers, teams, states = words["kinds"], words["triggers"], words["teams"], words["states"]
    schemas["Convene"]["properties"]["kind"]["enum"] = kinds
    schemas["Convene"]["anyOf"] = [  # a lower body's meeting names its body (`station`)
        {"properties": {"kind": {"enum": words["hq_kinds"]}}},
        {"required": ["station"], "properties": {"station": {"type": "string"}}}]
    schemas["Advance"]["properties"]["trigger"]["enum"] = triggers
    if teams:
        schemas["FileItem"]["properties"]["team"]["anyOf"][0] = {"type": "string", "enum": teams}
    if words["pillars"]:  # R-X1
        schemas["FileItem"]["properties"]["pillars"]["items"] = {"type": "string", "enum": words["pillars"]}
    for ops in doc["paths"].values():
        for p in ops.get("get", {}).get("parameters", []):
            if p["in"] == "query" and "anyOf" in p["schema"]:  # a query's absent value is no `null`
                p["schema"] = {**p["schema"]["anyOf"][0], **{k: v for k, v in p["schema"].items() if k != "anyOf"}}
            if p["name"] == "state":
                p["schema"] = {"type": "string", "enum": states}
            if p["name"] == "pillar" and words["pillars"]:
                p["schema"] = {"type": "string", "enum": words["pillars"]}
    app.state.openapi_doc = (key, doc)
    return doc


__all__ = ["JSONResponse", "openapi", "router"]
