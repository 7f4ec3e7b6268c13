"""`/api`: the commands and queries of the CLI as JSON, for the prefecture's other systems.

Authenticated by `Authorization: Bearer <token>` (`kaigi token create`); the token's member
is the actor, exactly as a signed-in page's. Errors are `{"error": {"kind", "message",
"rule"}}` with 400/403/404/409, the CLI's one line as the message.
"""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from engine.app.visibility import MAX_ID
from engine.core.errors import DomainError
from web.app import error_json

router = APIRouter(tags=["kaigi"])


def member(request: Request) -> Any:
    """The actor a bearer token stands for."""
    from engine.app import accounts

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    k = request.app.state.kaigi
    login = accounts.token_login(k, token.strip()) if scheme.lower() == "bearer" else None
    if login is None:
        raise HTTPException(status_code=401, detail={"kind": "not_permitted", "message": "a valid bearer token is needed",
                                                     "rule": None}, headers={"WWW-Authenticate": "Bearer"})
    try:
        return k.web_actor(login)
    except DomainError:
        raise HTTPException(status_code=401, detail={"kind": "not_permitted", "message": "the token's member left",
                                                     "rule": None}) from None


def _lang(request: Request) -> str:
    from engine.i18n import lang_of

    return lang_of(request.headers.get("accept-language", "ja")[:2])


def _call(request: Request, fn: Any) -> Any:
    try:
        return fn()
    except DomainError as err:
        return error_json(err, _lang(request))


class FileItem(BaseModel):
    title: str = Field(max_length=2000)
    station: str | None = None
    team: str | None = None
    note: str = Field(default="", max_length=20000)


class Advance(BaseModel):
    trigger: str = Field(max_length=64)
    meeting: int | None = Field(default=None, ge=1, le=2**63 - 1)
    note: str = Field(default="", max_length=20000)


class Convene(BaseModel):
    kind: str = Field(max_length=64)
    starts_at: dt.datetime
    items: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list, max_length=500)
    attendees: list[str] = Field(default_factory=list, max_length=500)
    invited: list[str] = Field(default_factory=list, max_length=500)
    station: str | None = None
    place: str = Field(default="", max_length=200)


class Hold(BaseModel):
    present: list[str] = Field(default_factory=list, max_length=500)


def _event(out: Any) -> dict[str, Any]:
    return {"dry_run": out.dry_run, "events": [{"seq": r.seq, "type": f.type, "item": r.item, "meeting": r.meeting,
                                                "actor": r.actor, "authority": r.authority, "at": r.at.isoformat(),
                                                **f.payload()}
                                               for r, f in zip(out.records, out.facts, strict=True)]}


def _reader(request: Request, who: Any) -> Any:
    """A snapshot read as the token's member: only what they may see (R-R1); the rest is 404."""
    return request.app.state.kaigi.read(viewer=who.login)


@router.get("/items")
def items(request: Request, state: str | None = None, station: str | None = None, overdue: bool = False,
          who: Any = Depends(member)) -> Any:
    def run() -> Any:
        with _reader(request, who) as q:
            return q.items(state=state, station=station, overdue=overdue, lang=_lang(request))
    return _call(request, run)


@router.get("/items/{item_id}")
def item(request: Request, item_id: int, who: Any = Depends(member)) -> Any:
    def run() -> Any:
        with _reader(request, who) as q:
            return q.item(item_id, _lang(request))
    return _call(request, run)


@router.get("/items/{item_id}/history")
def history(request: Request, item_id: int, who: Any = Depends(member)) -> Any:
    def run() -> Any:
        with _reader(request, who) as q:
            return q.history(item_id, _lang(request))
    return _call(request, run)


@router.post("/items", status_code=201)
def file_item(request: Request, body: FileItem, who: Any = Depends(member)) -> Any:
    return _call(request, lambda: _event(request.app.state.kaigi.file_item(
        who, body.title, station=body.station, team=body.team, note=body.note)))


@router.post("/items/{item_id}/advance")
def advance(request: Request, item_id: int, body: Advance, who: Any = Depends(member)) -> Any:
    def run() -> Any:
        k = request.app.state.kaigi
        with _reader(request, who) as q:
            q.item_record(item_id)
            if body.meeting is not None:
                q.meeting_record(body.meeting)
        return _event(k.advance(who, item_id, body.trigger, meeting=body.meeting, note=body.note))
    return _call(request, run)


@router.post("/meetings", status_code=201)
def convene(request: Request, body: Convene, who: Any = Depends(member)) -> Any:
    starts = body.starts_at if body.starts_at.tzinfo else body.starts_at.replace(
        tzinfo=dt.timezone(dt.timedelta(hours=9)))

    def run() -> Any:
        with _reader(request, who) as q:
            for i in body.items:
                q.item_record(i)
        return _event(request.app.state.kaigi.convene(
            who, body.kind, starts, items=body.items, attendees=body.attendees, invited=body.invited,
            station=body.station, place=body.place))
    return _call(request, run)


@router.post("/meetings/{meeting_id}/hold")
def hold(request: Request, meeting_id: int, body: Hold, who: Any = Depends(member)) -> Any:
    def run() -> Any:
        with _reader(request, who) as q:
            q.meeting_record(meeting_id)
        return _event(request.app.state.kaigi.hold(who, meeting_id, present=body.present))
    return _call(request, run)


@router.get("/meetings/{meeting_id}")
def meeting(request: Request, meeting_id: int, who: Any = Depends(member)) -> Any:
    def run() -> Any:
        with _reader(request, who) as q:
            return q.meeting(meeting_id, _lang(request))
    return _call(request, run)


@router.get("/audit/verify")
def verify(request: Request, who: Any = Depends(member)) -> Any:
    def run() -> Any:
        with _reader(request, who) as q:
            return q.verdict().as_dict(_lang(request))
    return _call(request, run)


@router.get("/whoami")
def whoami(request: Request, who: Any = Depends(member)) -> Any:
    def run() -> Any:
        with request.app.state.kaigi.read() as q:
            return q.whoami(who.login, _lang(request))
    return _call(request, run)


__all__ = ["JSONResponse"]
