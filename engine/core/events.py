"""Every event kaigi writes: facts, typed and versioned, in one module.

An event is a frozen dataclass named in the past tense. `item` and `meeting` are what it
is about (they go in the envelope); the other fields are its payload. Each type has a
schema number; an older payload is brought up to date by the upcasters keyed
`(type, schema)` before it is read (eventsourcing's upcasting; SpiffWorkflow's
migrations). Only facts are events: what people did, and what the scheduler did in the
world. What can be derived (the reminders planned for what waits) is a projection.

`ReminderSet` and `ReminderCancelled` were written by kaigi 0.1 as bookkeeping; logs
that hold them still verify, and they are read as no-ops.
"""

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Callable
from sys import intern
from typing import Any, ClassVar, TypeVar, dataclass_transform

import orjson

from engine.core.errors import ReplayMismatch
from store.chain import canonical, instant
from store.frozen import made, record

REGISTRY: dict[str, type["Event"]] = {}
UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}
RENAMED = {"src": "from", "dest": "to"}  # Python names for payload keys that are keywords
_parse = dt.datetime.fromisoformat


@record
class Event:
    """Base of all events. `type` and `schema` are class attributes set by `@event`."""

    type: ClassVar[str] = ""
    schema: ClassVar[int] = 1
    legacy: ClassVar[bool] = False
    roster: ClassVar[bool] = False  # changes who holds what, or the rules (cached by the engine)
    _spec: ClassVar[tuple[tuple[str, str, str, Any], ...]] = ()
    _optional: ClassVar[frozenset[str]] = frozenset()

    def payload(self) -> dict[str, Any]:
        """The payload as JSON primitives (times as `chain.instant` text)."""
        out: dict[str, Any] = {}
        for name, key, kind, default in self._spec:
            value = getattr(self, name)
            if name in self._optional and value == default:
                continue
            if kind == "time":
                value = None if value is None else instant(value)
            elif kind == "tuple":
                value = list(value)
            elif kind == "ints":
                value = {str(k): v for k, v in value.items()}
            out[key] = value
        return out

    def payload_text(self) -> str:
        return canonical(self.payload())

    @property
    def item_ref(self) -> int | None:
        return getattr(self, "item", None)

    @property
    def meeting_ref(self) -> int | None:
        return getattr(self, "meeting", None)


def _kind(annotation: Any) -> str:
    args = typing.get_args(annotation)
    if annotation is dt.datetime or dt.datetime in args:
        return "time"
    origin = typing.get_origin(annotation)
    if origin is tuple or annotation is tuple:
        return "tuple"
    if origin is dict:
        return "ints"
    if isinstance(annotation, types.UnionType) and any(typing.get_origin(a) is tuple for a in args):
        return "tuple"
    return "plain"


E = TypeVar("E", bound=Event)


@dataclass_transform(frozen_default=True)
def event(type_: str, schema: int = 1, *, optional: tuple[str, ...] = (), legacy: bool = False,
          roster: bool = False) -> Callable[[type[E]], type[E]]:
    """Register a frozen event class under `type_`, at payload schema `schema` (a type
    checker sees its annotations as the dataclass's fields: `dataclass_transform`)."""

    def wrap(cls: type[E]) -> type[E]:
        cls = record(cls)
        hints = typing.get_type_hints(cls)
        spec = []
        for f in dataclasses.fields(cls):
            if f.name in ("item", "meeting"):
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
            spec.append((f.name, RENAMED.get(f.name, f.name), _kind(hints[f.name]), default))
        cls.type, cls.schema, cls.legacy, cls.roster = type_, schema, legacy, roster
        cls._spec = tuple(spec)
        cls._optional = frozenset(optional)
        cls.payload = _encoder(cls)  # type: ignore[method-assign,assignment]  # the same dict, in straight-line code
        REGISTRY[type_] = cls
        return cls
    return wrap


def _encoder(cls: type[Event]) -> Callable[[Event], dict[str, Any]]:
    """`Event.payload` for one type as straight-line code: the same keys, values and order
    as the loop over `_spec` (an act encodes its facts once each; the loop's per-field
    lookups were most of the encoding's cost)."""
    lines = ["def payload(self):", "    out = {}"]
    scope: dict[str, Any] = {"_instant": instant}
    for n, (name, key, kind, default) in enumerate(cls._spec):
        lines.append(f"    v = self.{name}")
        if kind == "time":
            value = "None if v is None else _instant(v)"
        elif kind == "tuple":
            value = "list(v)"
        elif kind == "ints":
            value = "{str(k): x for k, x in v.items()}"
        else:
            value = "v"
        if name in cls._optional:
            scope[f"_d{n}"] = default
            lines.append(f"    if not (v == _d{n}):")
            lines.append(f"        out[{key!r}] = {value}")
        else:
            lines.append(f"    out[{key!r}] = {value}")
    lines.append("    return out")
    fn = made("\n".join(lines) + "\n", scope, cls.__module__, "payload")  # compiled once, kept (store.frozen)
    fn.__qualname__ = f"{cls.__qualname__}.payload"
    return fn  # type: ignore[no-any-return]


def upcaster(type_: str, from_schema: int) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Any]:
    def wrap(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
        UPCASTERS[(type_, from_schema)] = fn
        return fn
    return wrap


_DECODERS: dict[str, Callable[[dict[str, Any], int | None, int | None], Event]] = {}


def _name(v: Any) -> Any:
    return intern(v) if type(v) is str and len(v) <= _SHORT else v


_SHORT = 64  # a login, a state, a key, a digest; not a note or a title of any length


def _decoder(cls: type[Event]) -> Callable[[dict[str, Any], int | None, int | None], Event]:
    """Straight-line code turning one type's payload into its event (replay decodes every
    row of the log; a loop over the fields cost as much as the decision itself). Short
    texts (a login, a state, a trigger, a body's key: a few hundred values in a log of a
    million events) are interned: the records a long replay keeps hold one copy of each,
    not one per event (a fifth of a replayed world's objects were such copies)."""
    args = []
    hints = typing.get_type_hints(cls)
    for name, key, kind, _default in cls._spec:
        get = f"d.get({key!r}, _D[{name!r}])" if name in cls._optional else f"d[{key!r}]"
        if kind == "time":
            get = f"_t({get})"
        elif kind == "tuple":
            get = f"_tuple({get})"
        elif kind == "ints":
            get = f"{{int(k): v for k, v in {get}.items()}}"
        elif hints[name] is str or str in typing.get_args(hints[name]):
            get = f"_name({get})"
        args.append(f"{name}={get}")
    fields = cls.__dataclass_fields__
    if "item" in fields:
        args.append("item=item")
    if "meeting" in fields:
        args.append("meeting=meeting")
    src = f"def decode(d, item, meeting):\n    return _cls({', '.join(args)})"
    scope: dict[str, Any] = {"_cls": cls, "_D": {n: dflt for n, _, _, dflt in cls._spec},
                             "_t": lambda v: None if v is None else _parse(v),
                             "_tuple": lambda v: None if v is None else tuple([_name(x) for x in v]), "_name": _name}
    return made(src + "\n", scope, cls.__module__, "decode")  # type: ignore[no-any-return]


def decode(type_: str, schema: int, payload: str | bytes, item: int | None, meeting: int | None) -> Event:
    """The typed event of a stored row, its payload upcast to the current schema."""
    fn = _DECODERS.get(type_)
    if fn is None:
        cls = REGISTRY.get(type_)
        if cls is None:
            raise ReplayMismatch("replay.unknown_type", type=type_)
        fn = _DECODERS[type_] = _decoder(cls)
    else:
        cls = REGISTRY[type_]
    try:
        data = orjson.loads(payload)
        while schema < cls.schema:
            up = UPCASTERS.get((type_, schema))
            if up is None:
                raise ReplayMismatch("replay.no_upcaster", type=type_, schema=schema)
            data = up(data)
            schema += 1
        if schema > cls.schema:
            raise ReplayMismatch("replay.newer_schema", type=type_, schema=schema, known=cls.schema)
        return fn(data, item, meeting)
    except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError) as err:
        raise ReplayMismatch("replay.bad_payload", type=type_, error=repr(err)) from None


# ---------------------------------------------------------------- the rules and the roster
@event("RulebookAdopted", roster=True)
class RulebookAdopted(Event):
    version: str
    effective_from: str
    sha256: str
    text: str


@event("BodyAdded", roster=True)
class BodyAdded(Event):
    key: str
    kind: str
    ja: str
    en: str


@event("MemberAdded", 2, roster=True, optional=("os_user", "db_role"))
class MemberAdded(Event):
    login: str
    name: str
    name_en: str
    email: str | None
    lang: str
    channel: str
    os_user: str | None = None
    db_role: str | None = None


@upcaster("MemberAdded", 1)
def _member_v1(p: dict[str, Any]) -> dict[str, Any]:
    """kaigi 0.1 bound no identity: the member is named by login alone (a training roster)."""
    return {**p, "email": p.get("email"), "lang": p.get("lang", "ja"), "channel": p.get("channel", "email")}


@event("MemberBound", roster=True)
class MemberBound(Event):
    """A member's authenticated identity set or changed (an OS account, a database role)."""

    login: str
    os_user: str | None
    db_role: str | None


@event("RoleAssigned", roster=True)
class RoleAssigned(Event):
    id: int
    login: str
    position: str
    body: str
    team: str | None
    valid_from: dt.datetime
    valid_until: dt.datetime | None


@event("AssignmentEnded", roster=True)
class AssignmentEnded(Event):
    id: int
    valid_until: dt.datetime


@event("RecordingDelegated", roster=True)
class RecordingDelegated(Event):
    id: int
    clerk: str
    valid_from: dt.datetime
    valid_until: dt.datetime


@event("DelegationEnded", roster=True)
class DelegationEnded(Event):
    id: int
    valid_until: dt.datetime


# ---------------------------------------------------------------- items
@event("ItemFiled", optional=("pillars",))
class ItemFiled(Event):
    """An item filed; `pillars`: the pillars of 第3 it serves (R-X1), optional so that items
    filed before kaigi knew pillars keep their event's payload and hash."""

    item: int
    title: str
    body: str
    team: str | None
    note: str
    state: str
    origin: int | None
    pillars: tuple[str, ...] = ()


@event("ItemAdvanced", optional=("tabled", "spawned", "document"))
class ItemAdvanced(Event):
    """An item moved along its path; `tabled`: put before a meeting by convening it;
    `spawned`: the item this step opened in another path; `document`: the sha256 of a
    document the step carries (a station's council result)."""

    item: int
    meeting: int | None
    trigger: str
    src: str
    dest: str
    note: str
    tabled: bool = False
    spawned: int | None = None
    document: str | None = None


# ---------------------------------------------------------------- meetings
@event("MeetingConvened", optional=("place",))
class MeetingConvened(Event):
    """A meeting called; `place` (場所), where it sits, is optional: a meeting convened
    before kaigi knew places has none, and its event's payload and hash stay as they were."""

    meeting: int
    kind: str
    body: str
    chair: str
    starts_at: dt.datetime
    attendees: tuple[str, ...]
    invited: tuple[str, ...]
    items: tuple[int, ...]
    place: str = ""


@event("AgendaChanged")
class AgendaChanged(Event):
    """The agenda kept before the sitting (R-M3): `add`, `remove` or `move` an item."""

    meeting: int
    item: int
    op: str
    position: int


@event("MeetingHeld", optional=("sat_at",))
class MeetingHeld(Event):
    """A meeting sat; who was present (R-M1); `sat_at`, when it says it sat if that is
    before it was recorded (R-M5); the event's own time is when it was recorded."""

    meeting: int
    present: tuple[str, ...]
    sat_at: dt.datetime | None = None


@event("MeetingCancelled")
class MeetingCancelled(Event):
    meeting: int
    reason: str


@event("MeetingMoved", optional=("reason",))
class MeetingMoved(Event):
    """A convened meeting moved before it starts (R-M6): its time and place as they now
    stand (both, even if one did not change), and why, if the convener said."""

    meeting: int
    starts_at: dt.datetime
    place: str
    reason: str = ""


@event("MinutesRecorded")
class MinutesRecorded(Event):
    """An entry of a sitting's minutes (議事録, R-M4); a correction is a new entry."""

    meeting: int
    n: int
    sha256: str
    text: str


@event("MinutesApproved")
class MinutesApproved(Event):
    meeting: int
    n: int
    sha256: str


# ---------------------------------------------------------------- investigation orders (R-T5)
@event("OrderIssued")
class OrderIssued(Event):
    item: int
    id: int
    to: str
    due_at: dt.datetime
    note: str


@event("OrderCompleted")
class OrderCompleted(Event):
    item: int
    id: int
    finding: str


@event("OrderWaived")
class OrderWaived(Event):
    item: int
    id: int
    reason: str


# ---------------------------------------------------------------- what the scheduler did
@event("ReminderDue", 2, optional=("vacant", "digests", "legacy_id", "routes"))
class ReminderDue(Event):
    """A rung of a planned reminder went out: to whom (decided when it was sent, from who
    held the roles then), with a sha256 of each message queued, and which roles were vacant."""

    item: int | None
    meeting: int | None
    reminder: str | None
    key: str
    rung: int
    recipients: tuple[str, ...]
    deadline: dt.datetime
    vacant: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    legacy_id: int | None = None
    routes: tuple[str, ...] = ()  # sha256 of each message's channel, address and calendar: where it went


@upcaster("ReminderDue", 1)
def _due_v1(p: dict[str, Any]) -> dict[str, Any]:
    """0.1 named reminders by row id; replay maps it through the legacy ReminderSet events."""
    return {"reminder": None, "legacy_id": p["id"], "key": p["key"], "rung": p["rung"],
            "recipients": p["recipients"], "deadline": p["deadline"]}


@event("ReminderSent", 2, optional=("legacy_id",))
class ReminderSent(Event):
    item: int | None
    meeting: int | None
    reminder: str | None
    rung: int
    recipient: str
    channel: str
    message_id: str
    legacy_id: int | None = None


@upcaster("ReminderSent", 1)
def _sent_v1(p: dict[str, Any]) -> dict[str, Any]:
    return {"reminder": None, "legacy_id": p["id"], "rung": p["rung"], "recipient": p["recipient"],
            "channel": p["channel"], "message_id": p["message_id"]}


@event("ReminderFailed", 2, optional=("legacy_id",))
class ReminderFailed(Event):
    item: int | None
    meeting: int | None
    reminder: str | None
    rung: int
    recipient: str
    attempts: int
    error: str
    legacy_id: int | None = None


@upcaster("ReminderFailed", 1)
def _failed_v1(p: dict[str, Any]) -> dict[str, Any]:
    return {"reminder": None, "legacy_id": p["id"], "rung": p["rung"], "recipient": p["recipient"],
            "attempts": p["attempts"], "error": p["error"]}


# ---------------------------------------------------------------- refusals kept for the auditor
@event("ActRefused", optional=("reason_ja",))
class ActRefused(Event):
    """An attempt the rules refused; it changes no state, and shows who tried what."""

    item: int | None
    meeting: int | None
    act: str
    kind: str
    rule: str | None
    reason: str
    reason_ja: str = ""


# ---------------------------------------------------------------- web sign-in (hashes only in the log, R-I5)
@event("CredentialSet", 2, optional=("commitment",))
class CredentialSet(Event):
    """A member set their own web password (R-I5). `commitment` is the sha256 of the stored
    argon2 hash string: verify checks the credential table against it, while the log, which
    members read, never holds the argon2 hash itself."""

    login: str
    commitment: str | None = None


@upcaster("CredentialSet", 1)
def _credential_v1(p: dict[str, Any]) -> dict[str, Any]:
    """Before R-I5 no commitment was kept: that password cannot be checked against the log."""
    return {"login": p["login"]}


@event("TokenCreated", 2, optional=("digest",))
class TokenCreated(Event):
    """A member made an API token for themselves; `digest` is the token's sha256 (the token
    itself is shown once and kept nowhere): the api_token table is folded from these."""

    id: int
    login: str
    name: str
    expires_at: dt.datetime | None
    digest: str | None = None


@upcaster("TokenCreated", 1)
def _token_v1(p: dict[str, Any]) -> dict[str, Any]:
    """Before R-I5 the digest was not logged: such a token's stored digest cannot be checked."""
    return {**p}


@event("TokenRevoked", 2, optional=("by",))
class TokenRevoked(Event):
    """A token revoked: `login` is its owner (for whom), `by` who revoked it, the owner or
    the chief (R-I5)."""

    id: int
    login: str
    by: str | None = None


@upcaster("TokenRevoked", 1)
def _untoken_v1(p: dict[str, Any]) -> dict[str, Any]:
    """Before R-I5 only a token's owner could revoke it."""
    return {"id": p["id"], "login": p["login"], "by": p["login"]}


# ---------------------------------------------------------------- kaigi 0.1 bookkeeping, read as no-ops
@event("ReminderSet", legacy=True)
class ReminderSet(Event):
    item: int | None
    meeting: int | None
    id: int
    key: str
    body: str
    order: int | None
    started_at: dt.datetime
    due_at: dt.datetime


@event("ReminderCancelled", legacy=True)
class ReminderCancelled(Event):
    item: int | None
    meeting: int | None
    id: int
    reason: str


# ---------------------------------------------------------------- papers (kaigi document)
@event("DocumentPrinted")
class DocumentPrinted(Event):
    """A paper printed (a notice, an agenda, minutes, an item's report, the progress
    report): `kind`, what it documents (`item` or `meeting`, neither for the progress
    report), its language, the sha256 of the PDF, and its anchor: `of_seq`, the event it
    documents, and `head_seq`, the log's head when it was printed (this event follows it)."""

    item: int | None
    meeting: int | None
    kind: str
    lang: str
    sha256: str
    of_seq: int
    head_seq: int


ROSTER_TYPES = frozenset(k for k, c in REGISTRY.items() if c.roster)
ENVELOPE_ROW = ("seq", "at", "actor", "authority", "rulebook", "item", "meeting", "type", "payload", "prev_hash",
                "hash", "identity", "schema", "v")
