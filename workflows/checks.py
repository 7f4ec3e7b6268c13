"""Cross-checks of a parsed rulebook: every name it uses is defined, and the path holds together.

Each `_check_*` returns the problems it found, naming the offending key; all run, so the
author sees every problem at once (python-statemachine's `_check_*` idea).
"""

from collections.abc import Iterator

from workflows.errors import Problem
from workflows.rulebook import Powers, Rulebook

_UNITS = ("days", "working_days")
_PSEUDO_RECIPIENTS = ("ordered", "attendees")
_REQUIREMENTS = ("orders_settled",)
NOTIFY = ("convened", "changed", "cancelled")  # when a meeting's notice goes, besides the day before


MAX_DAYS = 3650          # a deadline or a rung further off than ten years is a typo
MAX_NOTICE_DAYS = 365    # how long before a meeting a notice may go out
FIRST_YEAR, LAST_YEAR = 1900, 2999


# The problems a person can read in Japanese too: the English here is `Problem.expected`; the
# catalog (engine/i18n/messages.toml) holds each as `rbcheck.<code>` in ja and en (a test
# keeps the two English texts the same). Parameters are words of the book, already strings.
MESSAGES = {
    "kind_unknown": "a body kind (one of {known}), got {got!r}",
    "role_unknown": "roles defined under [roles], got unknown {got!r}",
    "role_one_of": "a role (one of {known}), got {got!r}",
    "convener_body": "a role of a {body} body, got {got!r}",
    "power_default_unknown": "roles defined under [roles], got unknown {got!r}: kaigi's default, as [powers] "
                             "does not say {power}; say {power} = {shape} with a role of this book",
    "top_in_body": "\"head\" or \"all\", got {got!r}",
    "top_twice": "at most one body kind with top = true; {other!r} says it too",
    "top_reports": "no reports_to on the top kind (its bodies report to no one), got {got!r}",
    "top_no_role": "at least one role with body = \"{kind}\" under [roles]: the top body's organiser, "
                   "the role `kaigi init --chief` gives the first member",
    "reports_self": "the key of another body kind (the kind its bodies report up to), not {got!r} itself",
    "reports_loop": "a chain of reports_to that ends at the top kind {top!r}, got a loop: {chain}",
    "reports_stops": "a chain of reports_to that ends at the top kind {top!r}: {chain} stops at {last!r}, "
                     "which reports to no one; give {last!r} a reports_to, or make it the top kind",
    "through_alone": "reports_to beside through (through names roles of the kind reported to)",
    "through_body": "roles of the {kind!r} body it reports to, got {got!r} (a role of a {body!r} body)",
    "head_body": "a role whose body is {kind!r}, got {got!r} (a role of a {body!r} body)",
    "head_none": "a role heading a {kind!r} body (R-P1): add head = \"ROLE\" under [body_kinds.{kind}], "
                 "ROLE a role with body = \"{kind}\"; [powers] body_head {got!r} is not a role of this book",
    "head_other": "a role heading a {kind!r} body (R-P1): add head = \"ROLE\" under [body_kinds.{kind}], "
                  "ROLE a role with body = \"{kind}\"; [powers] body_head {got!r} heads a {body!r} body",
    "state_unknown": "a state (one of {known}), got {got!r}",
    "start_final": "an open state (items filed there begin in it), got {got!r}, which is final",
    "trigger_unused": "the trigger of some transition (one of {known}), got {got!r}",
    "organise_top_body": "roles of the top body kind {kind!r}, got {got!r} (a role of a {body!r} body)",
}


# A finding: (where, English text), or (where, English text, message code, its parameters).
Found = tuple[str, str] | tuple[str, str, str, dict[str, str]]


def _say(key: str, code: str, **params: str) -> tuple[str, str, str, dict[str, str]]:
    return key, MESSAGES[code].format_map(params), code, params


def check_rulebook(book: Rulebook, source: str) -> list[Problem]:
    problems: list[Problem] = []
    for check in (_check_header, _check_body_kinds, _check_powers, _check_roles, _check_positions,
                  _check_meetings, _check_states, _check_transitions, _check_triggers, _check_reachable,
                  _check_reminders, _check_pillars):
        for found in check(book):
            if len(found) == 2:
                problems.append(Problem(source, found[0], found[1]))
            else:
                problems.append(Problem(source, *found))
    return problems


def _known(names: object) -> str:
    return ", ".join(sorted(names)) or "-"  # type: ignore[call-overload]


def _check_body_kinds(b: Rulebook) -> Iterator[Found]:
    """The organisation's shape (issue 19): one top kind, every other reporting up to it through
    roles of the kind above, each headed by a role of its own kind, starting in an open state."""
    tops = [k for k, bk in b.body_kinds.items() if bk.top]
    for k in tops[1:]:
        yield _say(f"body_kinds.{k}.top", "top_twice", other=tops[0])
    top = b.top_kind
    if top and not any(r.body == top for r in b.roles.values()):
        yield _say(f"body_kinds.{top}", "top_no_role", kind=top)
    for k, bk in b.body_kinds.items():
        p = f"body_kinds.{k}"
        up = bk.reports_to
        if up is not None:
            if k == top:
                yield _say(f"{p}.reports_to", "top_reports", got=up)
            elif up == k:
                yield _say(f"{p}.reports_to", "reports_self", got=up)
            elif up not in b.body_kinds:
                yield _say(f"{p}.reports_to", "kind_unknown", known=_known(b.body_kinds), got=up)
            else:
                chain = [k, *b.reports_up(k)]
                last = b.body_kinds[chain[-1]]
                if last.reports_to and last.reports_to in chain:
                    yield _say(f"{p}.reports_to", "reports_loop", top=top,
                               chain=" -> ".join([*chain, last.reports_to]))
                elif chain[-1] != top and (last.reports_to is None or last.reports_to in b.body_kinds):
                    yield _say(f"{p}.reports_to", "reports_stops", top=top, chain=" -> ".join(chain), last=chain[-1])
        for role in bk.through:
            if role not in b.roles:
                yield _say(f"{p}.through", "role_unknown", got=role)
            elif up is None:
                yield _say(f"{p}.through", "through_alone")
            elif up in b.body_kinds and b.roles[role].body != up:
                yield _say(f"{p}.through", "through_body", kind=up, got=role, body=b.roles[role].body)
        if bk.head is not None:
            if bk.head not in b.roles:
                yield _say(f"{p}.head", "role_unknown", got=bk.head)
            elif b.roles[bk.head].body != k:
                yield _say(f"{p}.head", "head_body", kind=k, got=bk.head, body=b.roles[bk.head].body)
        elif k != top:
            head = b.powers.body_head
            if head not in b.roles:
                yield _say(f"{p}.head", "head_none", kind=k, got=head)
            elif b.roles[head].body != k:
                yield _say(f"{p}.head", "head_other", kind=k, got=head, body=b.roles[head].body)
        if bk.start is not None:
            if bk.start not in b.states:
                yield _say(f"{p}.start", "state_unknown", known=_known(b.states), got=bk.start)
            elif b.states[bk.start].final:
                yield _say(f"{p}.start", "start_final", got=bk.start)


def _check_triggers(b: Rulebook) -> Iterator[Found]:
    """`[triggers.X]` titles an act of the path: X is some transition's trigger."""
    used = {t.trigger for t in b.transitions}
    for key in b.trigger_titles:
        if key not in used:
            yield _say(f"triggers.{key}", "trigger_unused", known=_known(used), got=key)


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


def _check_pillars(b: Rulebook) -> Iterator[Found]:
    """R-X1: a pillar's key is an identifier an item can name (`fact_finding`), with both titles."""
    import re

    for key, p in b.pillars.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", key):
            yield f"pillars.{key}", "a key of lower-case letters, digits and _ (like fact_finding)"
        if not p.title.ja or not p.title.en:
            yield f"pillars.{key}", "a Japanese and an English title (ja, en)"


def _check_header(b: Rulebook) -> Iterator[Found]:
    if not FIRST_YEAR <= b.effective_from.year <= LAST_YEAR:
        yield "rulebook.effective_from", f"a date from {FIRST_YEAR} to {LAST_YEAR}, got {b.effective_from}"
    for end in b.office_closure:
        if not _month_day(end):
            yield "rulebook.office_closure", f"two real days as \"MM-DD\", got {end!r}"


def _check_powers(b: Rulebook) -> Iterator[Found]:
    for f in b.powers.__slots__:
        value = getattr(b.powers, f)
        if f == "order_state":
            if value not in b.states:
                yield f"powers.{f}", f"a state ({_one_of(b.states)}), got {value!r}"
            continue
        if f == "top_in_body":  # R-P4
            if value not in ("head", "all"):
                yield _say(f"powers.{f}", "top_in_body", got=str(value))
            continue
        default = value == getattr(Powers(), f)
        for role in (value,) if isinstance(value, str) else value:
            if role not in b.roles:
                if f == "body_head" and not _body_head_used(b):
                    continue  # every kind below the top names its own head: body_head is not read
                yield (_say(f"powers.{f}", "power_default_unknown", got=role, power=f,
                                  shape='"ROLE"' if isinstance(value, str) else '["ROLE"]') if default
                       else _say(f"powers.{f}", "role_unknown", got=role))
            elif f == "organise_top" and b.top_kind and b.roles[role].body != b.top_kind:
                yield _say(f"powers.{f}", "organise_top_body", kind=b.top_kind, got=role, body=b.roles[role].body)


def _body_head_used(b: Rulebook) -> bool:
    return any(k != b.top_kind and not bk.head for k, bk in b.body_kinds.items())


def _check_roles(b: Rulebook) -> Iterator[Found]:
    for key, role in b.roles.items():
        if role.body not in b.body_kinds:
            yield _say(f"roles.{key}.body", "kind_unknown", known=_known(b.body_kinds), got=role.body)


def _check_positions(b: Rulebook) -> Iterator[Found]:
    for key, pos in b.positions.items():
        if pos.role not in b.roles:
            yield _say(f"positions.{key}.role", "role_one_of", known=_known(b.roles), got=pos.role)


def _check_meetings(b: Rulebook) -> Iterator[Found]:
    for key, m in b.meetings.items():
        p = f"meetings.{key}"
        if m.body not in b.body_kinds:
            yield _say(f"{p}.body", "kind_unknown", known=_known(b.body_kinds), got=m.body)
        for field, key in (("members", "members"), ("calls", "callable"), ("invite", "invite"),
                           ("recorders", "recorders"), ("agenda", "agenda"), ("minutes", "minutes")):
            for role in getattr(m, field):
                if role not in b.roles:
                    yield _say(f"{p}.{key}", "role_unknown", got=role)
        if m.convener not in b.roles:
            yield _say(f"{p}.convener", "role_one_of", known=_known(b.roles), got=m.convener)
        elif b.roles[m.convener].body != m.body:
            yield _say(f"{p}.convener", "convener_body", body=m.body, got=m.convener)
        if not m.members and not m.calls:
            yield f"{p}.members", "at least one member role, or `callable` roles"


def _check_states(b: Rulebook) -> Iterator[Found]:
    if not b.states:
        yield "states", "at least one state"


def _check_transitions(b: Rulebook) -> Iterator[Found]:
    seen: set[tuple[str, str, str | None]] = set()
    if not b.transitions:
        yield "transitions", "at least one transition"
    numbers: list[int] = []

    def where(i: int) -> str:
        """`transitions[N]` as the author numbered the entries; the file is read again for
        that only when there is a problem to name (a valid book is parsed once)."""
        if not numbers:
            numbers.extend(_file_numbers(b) or [-1])
        return f"transitions[{numbers[i] if 0 <= i < len(numbers) and numbers[i] >= 0 else i}]"

    for i, t in enumerate(b.transitions):
        for end, name in (("from", t.source), ("to", t.dest)):
            if name not in b.states:
                yield _say(f"{where(i)}.{end}", "state_unknown", known=_known(b.states), got=name)
        if t.items not in b.body_kinds:
            yield _say(f"{where(i)}.items", "kind_unknown", known=_known(b.body_kinds), got=t.items)
        if t.meeting is not None and t.meeting not in b.meetings:
            yield f"{where(i)}.meeting", f"a meeting kind ({_one_of(b.meetings)}), got {t.meeting!r}"
        for role in t.roles:
            if role not in b.roles:
                yield _say(f"{where(i)}.roles", "role_unknown", got=role)
        if (t.trigger, t.source, t.items) in seen:
            yield f"{where(i)}.trigger", f"one transition per trigger and state; {t.trigger!r} from {t.source!r} twice"
        seen.add((t.trigger, t.source, t.items))
        for need in t.requires:
            if need not in _REQUIREMENTS:
                yield f"{where(i)}.requires", f"{_one_of(_REQUIREMENTS)}, got {need!r}"
        if t.fired_by not in (None, "convene") or (t.fired_by and not t.meeting):
            yield f"{where(i)}.fired_by", "\"convene\" on a transition that names its meeting"
        if t.spawns is not None:
            kind, _, state = t.spawns.partition(":")
            if kind not in b.body_kinds or state not in b.states:
                yield f"{where(i)}.spawns", f"<body kind>:<state>, e.g. hq:pre_review; got {t.spawns!r}"
        if t.source in b.states and b.states[t.source].final:
            yield f"{where(i)}.from", f"an open state; {t.source!r} is final"


def _file_numbers(b: Rulebook) -> list[int]:
    """The `[[transitions]]` entry of the file each transition comes from: an entry `from` a
    list of states is one transition a state, and a problem names the entry the author wrote."""
    import tomllib

    try:
        entries = tomllib.loads(b.text).get("transitions", [])
    except tomllib.TOMLDecodeError:
        return []
    out: list[int] = []
    for n, d in enumerate(entries):
        sources = d.get("from", ()) if isinstance(d, dict) else ()
        out.extend([n] * (1 if isinstance(sources, str) else len(sources)))
    return out if len(out) == len(b.transitions) else []


def _check_reachable(b: Rulebook) -> Iterator[Found]:
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


def _check_reminders(b: Rulebook) -> Iterator[Found]:
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
                yield _say(f"{p}.remind", "role_unknown", got=role)
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
