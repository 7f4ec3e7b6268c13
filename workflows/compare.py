"""Rulebook versions side by side: what changed between two (R-V1).

Pure: reads `Rulebook`s and returns text. `diff` compares two versions field by field and
renders every value in both languages, so a reader of either sees the revision;
`successors` says which post took over from which. The item path drawn is
`engine.app.diagrams` (Mermaid needs the state machine library).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from workflows import Rulebook, Title, TransitionDef
from workflows.rulebook import MeetingKind, Position, StateDef

Kind = Literal["added", "removed", "changed"]
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two rulebooks: a rulebook path and its value before and after.

    `before` is None for an added entry, `after` None for a removed one.
    """

    key: str
    kind: Kind
    before: str | None
    after: str | None


# ---------------------------------------------------------------- rendering values

def _both(title: Title) -> str:
    """An entry's own name: `組織犯罪対策第二課長 / Director, Organized Crime Control Division II`."""
    return f"{title.ja} / {title.en}"


def _plain(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Title):
        return _both(value)
    if isinstance(value, tuple):
        return ", ".join(_plain(v) for v in value) or NONE
    return str(value)


def _role(book: Rulebook, key: str) -> str:
    """A role named by another entry: `implementation manager (実施責任者)`."""
    return book.roles[key].title.both() if key in book.roles else key


def _roles(book: Rulebook, keys: tuple[str, ...]) -> str:
    return ", ".join(_role(book, k) for k in keys) or NONE


def _body(book: Rulebook, key: str | None) -> str:
    if key is None:
        return NONE
    return book.body_kinds[key].title.both() if key in book.body_kinds else key


def _meeting(book: Rulebook, key: str | None) -> str:
    if key is None:
        return NONE
    return book.meetings[key].title.both() if key in book.meetings else key


def _state(book: Rulebook, key: str) -> str:
    return f"{key} ({book.states[key].title.ja} / {book.states[key].title.en})" if key in book.states else key


def _post(key: str | None, *books: Rulebook) -> str:
    """A post named by key, with its Japanese title from the first book that has it."""
    if key is None:
        return NONE
    for book in books:
        if key in book.positions:
            return f"{key} ({book.positions[key].title.ja})"
    return key


def _escalate(book: Rulebook, rungs: tuple[Any, ...]) -> str:
    return "; ".join(f"after {r.after}: {_roles(book, r.to)}" for r in rungs) or NONE


# A field: its name, and how to render its value given the book it comes from and the
# other book (a succeeded post may be found only in the older one).
Render = Callable[[Rulebook, Rulebook, Any], str]
Field = tuple[str, Render]


def _f(render: Callable[[Rulebook, Any], str]) -> Render:
    return lambda book, _other, value: render(book, value)


def _text(_book: Rulebook, _other: Rulebook, value: Any) -> str:
    return _plain(value)


_ROLE: Render = _f(_role)
_ROLES: Render = _f(_roles)
_BODY: Render = _f(_body)

_HEADER: tuple[Field, ...] = (("key", _text), ("version", _text), ("effective_from", _text),
                              ("title", _text), ("source", _text), ("office_closure", _text))
_BODY_KIND_FIELDS: tuple[Field, ...] = (("title", _text),)
_ROLE_FIELDS: tuple[Field, ...] = (("title", _text), ("body", _BODY), ("assumed", _text),
                                   ("records_on_behalf_only", _text))
_TEAM_FIELDS: tuple[Field, ...] = (("title", _text),)
_POSITION_FIELDS: tuple[Field, ...] = (
    ("title", _text), ("role", _ROLE),
    ("succeeds", lambda book, other, value: _post(value, other, book)),
    ("rule", _text), ("assumed", _text))
_MEETING_FIELDS: tuple[Field, ...] = (
    ("title", _text), ("body", _BODY), ("convener", _ROLE), ("members", _ROLES),
    ("calls", _ROLES), ("invite", _ROLES), ("recorders", _ROLES), ("agenda", _ROLES), ("minutes", _ROLES),
    ("chair_present", _text), ("recorder_present", _text), ("rule", _text),
    ("member_rule", _text), ("invite_rule", _text))
_STATE_FIELDS: tuple[Field, ...] = (("title", _text), ("waits", _text), ("final", _text))
_TRANSITION_FIELDS: tuple[Field, ...] = (
    ("dest", _f(_state)), ("meeting", _f(_meeting)), ("roles", _ROLES), ("filer", _text),
    ("requires", _text), ("fired_by", _text), ("spawns", _text), ("rule", _text))
_REMINDER_FIELDS: tuple[Field, ...] = (
    ("waits_on", _text), ("title", _text), ("remind", _ROLES), ("due", _text), ("unit", _text),
    ("escalate", _f(_escalate)), ("cancelled_by", _text), ("command", _text), ("setting", _text),
    ("items", _BODY), ("starts", _text), ("notify", _text))


# ---------------------------------------------------------------- whole entries (added or removed)

def _whole_role(book: Rulebook, _other: Rulebook, r: Any) -> str:
    flags = ", assumed" * r.assumed + ", records on behalf only" * r.records_on_behalf_only
    return f"{_both(r.title)}, of the {_body(book, r.body)}{flags}"


def _whole_position(book: Rulebook, other: Rulebook, p: Position) -> str:
    text = f"{_both(p.title)} → {_role(book, p.role)}"
    if p.succeeds:
        text += f", succeeds {_post(p.succeeds, other, book)}"
    return text + ", assumed" * p.assumed


def _whole_meeting(book: Rulebook, _other: Rulebook, m: MeetingKind) -> str:
    return (f"{_both(m.title)}, of the {_body(book, m.body)}, convened by {_role(book, m.convener)}, "
            f"members: {_roles(book, m.members)}")


def _whole_state(_book: Rulebook, _other: Rulebook, s: StateDef) -> str:
    return _both(s.title) + ", final" * s.final


def _whole_transition(book: Rulebook, _other: Rulebook, t: TransitionDef) -> str:
    return f"{t.source} → {t.dest}, needs {needs(book, t, 'en')} ({needs(book, t, 'ja')})"


def _whole_reminder(book: Rulebook, _other: Rulebook, r: Any) -> str:
    return f"{_both(r.title)}: remind {_roles(book, r.remind)} after {r.due} {r.unit}"


def _whole_titled(_book: Rulebook, _other: Rulebook, entry: Any) -> str:
    return _both(entry.title) + ", assumed" * bool(getattr(entry, "assumed", False))


# ---------------------------------------------------------------- diff

def _fields(prefix: str, a: Rulebook, b: Rulebook, old: Any, new: Any,
            fields: tuple[Field, ...]) -> Iterator[Change]:
    for name, render in fields:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            yield Change(f"{prefix}.{name}", "changed", render(a, b, before), render(b, a, after))


def _order(old: list[str], new: list[str], after: dict[str, str]) -> list[str]:
    """Keys of both versions in one reading order: the old order, each new key placed after
    the key it follows in the new version (or right after the post it succeeds), past any
    removed keys there, so a removal reads before the addition that replaces it."""
    order, prev = list(old), None
    gone = set(old) - set(new)
    for key in new:
        if key in order:
            prev = key
            continue
        anchor = after.get(key) if after.get(key) in order else prev
        i = order.index(anchor) + 1 if anchor is not None else 0
        if anchor != after.get(key):
            while i < len(order) and order[i] in gone:
                i += 1
        order.insert(i, key)
        prev = key
    return order


def _section(prefix: str, a: Rulebook, b: Rulebook, old: dict[str, Any], new: dict[str, Any],
             fields: tuple[Field, ...], whole: Render, after: dict[str, str] | None = None
             ) -> Iterator[Change]:
    for key in _order(list(old), list(new), after or {}):
        path = f"{prefix}.{key}" if not prefix.endswith("[") else f"{prefix}{key}]"
        if key not in new:
            yield Change(path, "removed", whole(a, b, old[key]), None)
        elif key not in old:
            yield Change(path, "added", None, whole(b, a, new[key]))
        else:
            yield from _fields(path, a, b, old[key], new[key], fields)


def _transition_key(t: TransitionDef) -> str:
    return f"{t.trigger} from {t.source} ({t.items})"


def diff(a: Rulebook, b: Rulebook) -> list[Change]:
    """What changed from rulebook `a` to rulebook `b`, section by section, in reading order.

    Keys are rulebook paths (`positions.soshiki2_kacho`, `meetings.council.members`,
    `transitions[refer from pre_review (hq)]`, `reminders.staff_meeting.due`); values are
    rendered in Japanese and English wherever the rulebook gives titles.
    """
    succ = {p.key: p.succeeds for p in b.positions.values() if p.succeeds}
    return [
        *_fields("rulebook", a, b, a, b, _HEADER),
        *_section("body_kinds", a, b, a.body_kinds, b.body_kinds, _BODY_KIND_FIELDS, _whole_titled),
        *_section("roles", a, b, a.roles, b.roles, _ROLE_FIELDS, _whole_role),
        *_section("teams", a, b, a.teams, b.teams, _TEAM_FIELDS, _whole_titled),
        *_section("pillars", a, b, a.pillars, b.pillars, _TEAM_FIELDS, _whole_titled),
        *_section("positions", a, b, a.positions, b.positions, _POSITION_FIELDS, _whole_position, succ),
        *_section("meetings", a, b, a.meetings, b.meetings, _MEETING_FIELDS, _whole_meeting),
        *_section("states", a, b, a.states, b.states, _STATE_FIELDS, _whole_state),
        *_section("transitions[", a, b, {_transition_key(t): t for t in a.transitions},
                  {_transition_key(t): t for t in b.transitions}, _TRANSITION_FIELDS, _whole_transition),
        *_section("reminders", a, b, {r.key: r for r in a.reminders}, {r.key: r for r in b.reminders},
                  _REMINDER_FIELDS, _whole_reminder),
    ]


_NO_DIFFERENCES = {"ja": "差異なし", "en": "no differences"}


def render_diff(changes: list[Change], lang: str = "en") -> str:
    """One line per change: `+ key: after`, `- key: before`, `~ key: before → after`.

    The values already carry both languages; `lang` words the empty diff.
    """
    if not changes:
        return _NO_DIFFERENCES.get(lang, _NO_DIFFERENCES["en"])
    lines = []
    for c in changes:
        if c.kind == "added":
            lines.append(f"+ {c.key}: {c.after}")
        elif c.kind == "removed":
            lines.append(f"- {c.key}: {c.before}")
        else:
            lines.append(f"~ {c.key}: {c.before} → {c.after}")
    return "\n".join(lines)


def successors(old: Rulebook, new: Rulebook) -> dict[str, str]:
    """Each post of `old` that a post of `new` succeeds (R-V1): old key → new key."""
    return {p.succeeds: p.key for p in new.positions.values()
            if p.succeeds is not None and p.succeeds in old.positions}


_OR = {"ja": "又は", "en": " or "}
_FILER = {"ja": "起案者", "en": "the filer"}


def needs(book: Rulebook, t: TransitionDef, lang: str, edge: bool = False) -> str:
    """What an edge needs, as a phrase: `a held HQ council` (as an edge label: `in a held HQ
    council`), `a station council convened` (`on convening a station council`), or the roles
    that act alone: `implementation manager`, `general manager or the filer`."""
    ja = lang == "ja"
    if t.meeting is None:
        who = [book.role_title(r).in_(lang) for r in t.roles] + [_FILER["ja" if ja else "en"]] * t.filer
        return _OR["ja" if ja else "en"].join(who)
    name = book.meetings[t.meeting].title.in_(lang)
    if ja:
        text = f"{name}の招集" if t.fired_by == "convene" else f"開催された{name}"
        text += "で" if edge else ""
    elif t.fired_by == "convene":
        text = f"on convening a {name}" if edge else f"a {name} convened"
    else:
        text = f"in a held {name}" if edge else f"a held {name}"
    if "orders_settled" in t.requires:
        text += ("、調査・検討命令の完了後" if edge else "、調査・検討命令の完了") if ja else \
            ", investigation orders settled"
    return text
