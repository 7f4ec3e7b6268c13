"""Text to `Rulebook`: parse TOML, read every key with its expected shape, then run the checks.

Problems are collected, never raised one at a time: a malformed rulebook fails with
every problem listed, each naming the file, the key and what was expected.
"""

import datetime as dt
import hashlib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflows.checks import check_rulebook
from workflows.errors import Problem, RulebookInvalid
from workflows.rulebook import (BodyKind, MeetingKind, Position, Powers, ReminderRule, Role, Rulebook,
                                Pillar, Rung, StateDef, Team, Title, TransitionDef)


class _Reader:
    """Reads typed values out of nested dicts, noting a Problem for each bad or missing key."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def note(self, key: str, expected: str) -> None:
        self.problems.append(Problem(self.source, key, expected))

    def get(self, d: dict[str, Any], name: str, path: str, kind: type, default: Any = ...) -> Any:
        key = f"{path}.{name}" if path else name
        if name not in d:
            if default is ...:
                self.note(key, f"missing; expected {_kind_name(kind)}")
                return _empty(kind)
            return default
        value = d[name]
        if kind is tuple:
            if isinstance(value, str):
                return (value,)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return tuple(value)
            self.note(key, f"expected a list of strings, got {value!r}")
            return ()
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            self.note(key, f"expected {_kind_name(kind)}, got {value!r}")
            return _empty(kind)
        return value

    def title(self, d: dict[str, Any], path: str) -> Title:
        return Title(self.get(d, "ja", path, str), self.get(d, "en", path, str))

    def table(self, doc: dict[str, Any], name: str, build: Callable[[str, dict[str, Any], str], Any]
              ) -> dict[str, Any]:
        raw = self.get(doc, name, "", dict)
        out = {}
        for key, value in raw.items():
            path = f"{name}.{key}"
            if not isinstance(value, dict):
                self.note(path, f"expected a table, got {value!r}")
                continue
            out[key] = build(key, value, path)
        return out


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", dict: "a table",
            list: "a list", tuple: "a list of strings"}.get(kind, kind.__name__)


def _empty(kind: type) -> Any:
    return {str: "", int: 0, bool: False, dict: {}, list: [], tuple: ()}.get(kind)


def parse_rulebook(text: str, source: str = "<rulebook>") -> Rulebook:
    """Build and check a rulebook from TOML text; raise RulebookInvalid listing every problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RulebookInvalid([Problem(source, "(file)", f"valid TOML: {err}")]) from err
    r = _Reader(source)
    book = _build(r, doc, text, source)
    problems = r.problems + check_rulebook(book, source) if not r.problems else r.problems
    if problems:
        raise RulebookInvalid(problems)
    return book


def load_rulebook(path: Path) -> Rulebook:
    """Read a rulebook file; the path is named in every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise RulebookInvalid([Problem(str(path), "(file)", f"a readable file: {err.strerror}")]) from err
    return parse_rulebook(text, str(path))


def _build(r: _Reader, doc: dict[str, Any], text: str, source: str) -> Rulebook:
    head = r.get(doc, "rulebook", "", dict)
    eff = r.get(head, "effective_from", "rulebook", str, "")
    try:
        effective = dt.date.fromisoformat(eff)
    except ValueError:
        r.note("rulebook.effective_from", f"a date YYYY-MM-DD, got {eff!r}")
        effective = dt.date.min
    closure = r.get(head, "office_closure", "rulebook", tuple, ("12-29", "01-03"))
    if len(closure) != 2:
        r.note("rulebook.office_closure", "two dates [\"MM-DD\", \"MM-DD\"]")
        closure = ("12-29", "01-03")
    return Rulebook(
        key=r.get(head, "key", "rulebook", str),
        version=r.get(head, "version", "rulebook", str),
        effective_from=effective,
        title=r.title(head, "rulebook"),
        source=r.get(head, "source", "rulebook", str, ""),
        office_closure=(closure[0], closure[1]),
        body_kinds=r.table(doc, "body_kinds", lambda k, d, p: BodyKind(
            k, r.title(d, p), r.get(d, "top", p, bool, False), r.get(d, "reports_to", p, str, None),
            r.get(d, "through", p, tuple, ()), r.get(d, "head", p, str, None), r.get(d, "start", p, str, None))),
        roles=r.table(doc, "roles", lambda k, d, p: Role(
            k, r.title(d, p), r.get(d, "body", p, str), r.get(d, "assumed", p, bool, False),
            r.get(d, "records_on_behalf_only", p, bool, False))),
        teams=r.table(doc, "teams", lambda k, d, p: Team(k, r.title(d, p))),
        positions=r.table(doc, "positions", lambda k, d, p: Position(
            k, r.title(d, p), r.get(d, "role", p, str), r.get(d, "succeeds", p, str, None),
            r.get(d, "rule", p, str, None), r.get(d, "assumed", p, bool, False))),
        meetings=r.table(doc, "meetings", lambda k, d, p: MeetingKind(
            k, r.title(d, p), r.get(d, "body", p, str), r.get(d, "convener", p, str),
            r.get(d, "members", p, tuple), r.get(d, "callable", p, tuple, ()),
            r.get(d, "invite", p, tuple, ()), r.get(d, "recorders", p, tuple, ()),
            r.get(d, "rule", p, str), r.get(d, "member_rule", p, str, ""),
            r.get(d, "invite_rule", p, str, ""), r.get(d, "agenda", p, tuple, ()),
            r.get(d, "minutes", p, tuple, ()), r.get(d, "chair_present", p, bool, False),
            r.get(d, "recorder_present", p, bool, False), r.get(d, "clause", p, str, ""))),
        states=r.table(doc, "states", lambda k, d, p: StateDef(
            k, r.title(d, p),
            Title(d["waits_ja"], d["waits_en"]) if "waits_ja" in d and "waits_en" in d else None,
            r.get(d, "final", p, bool, False))),
        transitions=tuple(_transitions(r, doc)),
        reminders=tuple(_reminders(r, doc)),
        powers=_powers(r, doc),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        origin=source,
        pillars=r.table(doc, "pillars", lambda k, d, p: Pillar(k, r.title(d, p))) if "pillars" in doc else {},
        trigger_titles=r.table(doc, "triggers", lambda k, d, p: r.title(d, p)) if "triggers" in doc else {},
        filing=r.title(r.get(doc, "filing", "", dict), "filing") if "filing" in doc else None,
    )


def _transitions(r: _Reader, doc: dict[str, Any]) -> list[TransitionDef]:
    out = []
    for i, d in enumerate(r.get(doc, "transitions", "", list)):
        p = f"transitions[{i}]"
        if not isinstance(d, dict):
            r.note(p, "a table")
            continue
        trigger = r.get(d, "trigger", p, str)
        for source in r.get(d, "from", p, tuple):
            out.append(TransitionDef(
                trigger=trigger, source=source, dest=r.get(d, "to", p, str),
                items=r.get(d, "items", p, str), rule=r.get(d, "rule", p, str),
                meeting=r.get(d, "meeting", p, str, None), roles=r.get(d, "roles", p, tuple, ()),
                filer=r.get(d, "filer", p, bool, False), requires=r.get(d, "requires", p, tuple, ()),
                fired_by=r.get(d, "fired_by", p, str, None), spawns=r.get(d, "spawns", p, str, None)))
        r.get(d, "assumed", p, bool, False)
        if "meeting" in d and "roles" in d:
            r.note(p, "either `meeting` or `roles`, not both")
        if "meeting" not in d and "roles" not in d and not d.get("filer"):
            r.note(p, "`meeting` (the meeting kind it needs) or `roles` (who acts alone)")
    return out


# the names `[powers]` had before kaigi 0.3 (logs adopted then keep their text)
OLD_POWERS = {"organise_hq": "organise_top", "organise_station": "organise_body",
              "station_head": "body_head", "hq_at_station": "top_in_body"}


def _powers(r: _Reader, doc: dict[str, Any]) -> Powers:
    d = dict(r.get(doc, "powers", "", dict, {}))
    for old, new in OLD_POWERS.items():
        if old in d:
            if new in d:
                r.note(f"powers.{old}", f"one name: `{new}` (its name since kaigi 0.3) is given too")
            d.setdefault(new, d.pop(old))
    for name in d:
        if name not in Powers.__slots__:
            r.note(f"powers.{name}", f"a power kaigi knows ({', '.join(Powers.__slots__)})")
    base = Powers()
    return Powers(**{f: r.get(d, f, "powers", tuple if isinstance(getattr(base, f), tuple) else str,
                              getattr(base, f)) for f in Powers.__slots__})


def _reminders(r: _Reader, doc: dict[str, Any]) -> list[ReminderRule]:
    out = []
    for i, d in enumerate(r.get(doc, "reminders", "", list, [])):
        p = f"reminders[{i}]"
        if not isinstance(d, dict):
            r.note(p, "a table")
            continue
        rungs = []
        for j, e in enumerate(r.get(d, "escalate", p, list, [])):
            q = f"{p}.escalate[{j}]"
            if not isinstance(e, dict):
                r.note(q, "a table {after = DAYS, to = [ROLES]}")
                continue
            rungs.append(Rung(r.get(e, "after", q, int), r.get(e, "to", q, tuple)))
        out.append(ReminderRule(
            key=r.get(d, "key", p, str), waits_on=r.get(d, "waits_on", p, str), title=r.title(d, p),
            remind=r.get(d, "remind", p, tuple), due=r.get(d, "due", p, int),
            unit=r.get(d, "unit", p, str, "days"), escalate=tuple(rungs),
            cancelled_by=r.get(d, "cancelled_by", p, str, None), command=r.get(d, "command", p, str, ""),
            setting=r.get(d, "setting", p, bool, False), items=r.get(d, "items", p, str, None),
            starts=r.get(d, "starts", p, str, None), notify=r.get(d, "notify", p, tuple, ()),
            restarts=r.get(d, "restarts", p, str, "sitting")))
        r.get(d, "assumed", p, bool, False)
    return out
