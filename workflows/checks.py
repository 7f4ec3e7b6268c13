"""Cross-checks of a parsed rulebook: every name it uses is defined, and the path holds together.

Each `_check_*` returns the problems it found, naming the offending key; all run, so the
author sees every problem at once (python-statemachine's `_check_*` idea).
"""

from collections.abc import Iterator

from workflows.errors import Problem
from workflows.rulebook import Rulebook

_UNITS = ("days", "working_days")
_PSEUDO_RECIPIENTS = ("ordered", "attendees")
_REQUIREMENTS = ("orders_settled",)
NOTIFY = ("convened", "changed", "cancelled")  # when a meeting's notice goes, besides the day before


MAX_DAYS = 3650          # a deadline or a rung further off than ten years is a typo
MAX_NOTICE_DAYS = 365    # how long before a meeting a notice may go out
FIRST_YEAR, LAST_YEAR = 1900, 2999


def check_rulebook(book: Rulebook, source: str) -> list[Problem]:
    problems: list[Problem] = []
    for check in (_check_header, _check_powers, _check_roles, _check_positions, _check_meetings, _check_states,
                  _check_transitions, _check_reachable, _check_reminders, _check_pillars):
        problems.extend(Problem(source, key, expected) for key, expected in check(book))
    return problems


def _one_of(names: object) -> str:
    return "one of " + ", ".join(sorted(names))  # type: ignore[call-overload]


def _month_day(text: str) -> bool:
    import datetime as dt

    try:
        month, day = text.split("-")
        dt.date(2000, int(month), int(day))  # a leap year: 02-29 is a real day
    except ValueError:
        return False
    return len(text) == 5


def _check_pillars(b: Rulebook) -> Iterator[tuple[str, str]]:
    """R-X1: a pillar's key is an identifier an item can name (`fact_finding`), with both titles."""
    import re

    for key, p in b.pillars.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", key):
            yield f"pillars.{key}", "a key of lower-case letters, digits and _ (like fact_finding)"
        if not p.title.ja or not p.title.en:
            yield f"pillars.{key}", "a Japanese and an English title (ja, en)"


def _check_header(b: Rulebook) -> Iterator[tuple[str, str]]:
    if not FIRST_YEAR <= b.effective_from.year <= LAST_YEAR:
        yield "rulebook.effective_from", f"a date from {FIRST_YEAR} to {LAST_YEAR}, got {b.effective_from}"
    for end in b.office_closure:
        if not _month_day(end):
            yield "rulebook.office_closure", f"two real days as \"MM-DD\", got {end!r}"


def _check_powers(b: Rulebook) -> Iterator[tuple[str, str]]:
    for f in b.powers.__slots__:
        value = getattr(b.powers, f)
        if f == "order_state":
            if value not in b.states:
                yield f"powers.{f}", f"a state ({_one_of(b.states)}), got {value!r}"
            continue
        if f == "top_in_body":  # R-P4
            if value not in ("head", "all"):
                yield f"powers.{f}", f"\"head\" or \"all\", got {value!r}"
            continue
        for role in (value,) if isinstance(value, str) else value:
            if role not in b.roles:
                yield f"powers.{f}", f"roles defined under [roles], got unknown {role!r}"


def _check_roles(b: Rulebook) -> Iterator[tuple[str, str]]:
    for key, role in b.roles.items():
        if role.body not in b.body_kinds:
            yield f"roles.{key}.body", f"a body kind ({_one_of(b.body_kinds)}), got {role.body!r}"


def _check_positions(b: Rulebook) -> Iterator[tuple[str, str]]:
    for key, pos in b.positions.items():
        if pos.role not in b.roles:
            yield f"positions.{key}.role", f"a role ({_one_of(b.roles)}), got {pos.role!r}"


def _check_meetings(b: Rulebook) -> Iterator[tuple[str, str]]:
    for key, m in b.meetings.items():
        p = f"meetings.{key}"
        if m.body not in b.body_kinds:
            yield f"{p}.body", f"a body kind ({_one_of(b.body_kinds)}), got {m.body!r}"
        for field, key in (("members", "members"), ("calls", "callable"), ("invite", "invite"),
                           ("recorders", "recorders"), ("agenda", "agenda"), ("minutes", "minutes")):
            for role in getattr(m, field):
                if role not in b.roles:
                    yield f"{p}.{key}", f"roles defined under [roles], got unknown {role!r}"
        if m.convener not in b.roles:
            yield f"{p}.convener", f"a role ({_one_of(b.roles)}), got {m.convener!r}"
        elif b.roles[m.convener].body != m.body:
            yield f"{p}.convener", f"a role of a {m.body} body, got {m.convener!r}"
        if not m.members and not m.calls:
            yield f"{p}.members", "at least one member role, or `callable` roles"


def _check_states(b: Rulebook) -> Iterator[tuple[str, str]]:
    if not b.states:
        yield "states", "at least one state"


def _check_transitions(b: Rulebook) -> Iterator[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    if not b.transitions:
        yield "transitions", "at least one transition"
    for i, t in enumerate(b.transitions):
        p = f"transitions[{i}]"
        for end, name in (("from", t.source), ("to", t.dest)):
            if name not in b.states:
                yield f"{p}.{end}", f"a state ({_one_of(b.states)}), got {name!r}"
        if t.items not in b.body_kinds:
            yield f"{p}.items", f"a body kind ({_one_of(b.body_kinds)}), got {t.items!r}"
        if t.meeting is not None and t.meeting not in b.meetings:
            yield f"{p}.meeting", f"a meeting kind ({_one_of(b.meetings)}), got {t.meeting!r}"
        for role in t.roles:
            if role not in b.roles:
                yield f"{p}.roles", f"roles defined under [roles], got unknown {role!r}"
        if (t.trigger, t.source, t.items) in seen:
            yield f"{p}.trigger", f"one transition per trigger and state; {t.trigger!r} from {t.source!r} twice"
        seen.add((t.trigger, t.source, t.items))
        for need in t.requires:
            if need not in _REQUIREMENTS:
                yield f"{p}.requires", f"{_one_of(_REQUIREMENTS)}, got {need!r}"
        if t.fired_by not in (None, "convene") or (t.fired_by and not t.meeting):
            yield f"{p}.fired_by", "\"convene\" on a transition that names its meeting"
        if t.spawns is not None:
            kind, _, state = t.spawns.partition(":")
            if kind not in b.body_kinds or state not in b.states:
                yield f"{p}.spawns", f"<body kind>:<state>, e.g. hq:pre_review; got {t.spawns!r}"
        if t.source in b.states and b.states[t.source].final:
            yield f"{p}.from", f"an open state; {t.source!r} is final"


def _check_reachable(b: Rulebook) -> Iterator[tuple[str, str]]:
    if not b.transitions:
        return
    initials = {t.source for t in b.transitions} - {t.dest for t in b.transitions}
    initials.add(b.initial)
    reached, frontier = set(initials), list(initials)
    while frontier:
        s = frontier.pop()
        for t in b.transitions:
            if t.source == s and t.dest not in reached:
                reached.add(t.dest)
                frontier.append(t.dest)
    for key, st in b.states.items():
        if key not in reached:
            yield f"states.{key}", "a state some transition leads to (it is unreachable)"
        elif not st.final and not any(t.source == key for t in b.transitions):
            yield f"states.{key}", "a way out (an open state with no transition), or `final = true`"


def _check_reminders(b: Rulebook) -> Iterator[tuple[str, str]]:
    keys: set[str] = set()
    for i, rr in enumerate(b.reminders):
        p = f"reminders[{i}]"
        if rr.key in keys:
            yield f"{p}.key", f"a unique key; {rr.key!r} twice"
        keys.add(rr.key)
        if rr.unit not in _UNITS:
            yield f"{p}.unit", f"{_one_of(_UNITS)}, got {rr.unit!r}"
        kind, _, name = rr.waits_on.partition(":")
        if kind == "state" and name not in b.states:
            yield f"{p}.waits_on", f"state:<a state> ({_one_of(b.states)}), got {rr.waits_on!r}"
        elif kind not in ("state", "meeting", "order"):
            yield f"{p}.waits_on", f"state:<state>, meeting, or order; got {rr.waits_on!r}"
        for role in rr.remind + tuple(r for rung in rr.escalate for r in rung.to):
            if role not in b.roles and role not in _PSEUDO_RECIPIENTS:
                yield f"{p}.remind", f"roles defined under [roles], got unknown {role!r}"
        if rr.restarts not in ("sitting", "outcome"):  # R-C7
            yield f"{p}.restarts", f"\"sitting\" or \"outcome\", got {rr.restarts!r}"
        if rr.starts is not None:
            sk, _, sname = rr.starts.partition(":")
            if sk != "held" or sname not in b.meetings:
                yield f"{p}.starts", f"held:<a meeting kind> ({_one_of(b.meetings)}), got {rr.starts!r}"
        if rr.items is not None and rr.items not in b.body_kinds:
            yield f"{p}.items", f"a body kind ({_one_of(b.body_kinds)}), got {rr.items!r}"
        if rr.cancelled_by is not None:
            ck, _, cname = rr.cancelled_by.partition(":")
            if ck != "meeting" or cname not in b.meetings:
                yield f"{p}.cancelled_by", f"meeting:<a meeting kind> ({_one_of(b.meetings)}), got {rr.cancelled_by!r}"
        for n in rr.notify:
            if kind != "meeting" or n not in NOTIFY:
                yield f"{p}.notify", f"on a meeting's reminder, {_one_of(NOTIFY)}; got {n!r}"
        if kind == "meeting":
            if not -MAX_NOTICE_DAYS <= rr.due <= 0:
                yield f"{p}.due", f"a notice goes out 0 to {MAX_NOTICE_DAYS} days before the meeting: " \
                                  f"0 to -{MAX_NOTICE_DAYS}, got {rr.due}"
        elif not 0 < rr.due <= MAX_DAYS:
            yield f"{p}.due", f"a positive number of {rr.unit} up to {MAX_DAYS}, got {rr.due}"
        for j, rung in enumerate(rr.escalate):
            if not 0 < rung.after <= MAX_DAYS:
                yield f"{p}.escalate[{j}].after", f"a positive number of {rr.unit} up to {MAX_DAYS}, got {rung.after}"
