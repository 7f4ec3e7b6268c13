"""The text of a reminder, in the recipient's language: what waits, the deadline, and
what *this* recipient can do now (R-N1).

What a recipient can do is derived from the rulebook, the way the decisions would judge
it: a step they may take alone, a meeting they may convene, an agenda they keep, an
outcome they record. Each comes with the exact command. Someone who can do none of it
(an escalation to a superior) is told whom to press, by name, and how to look. Pure:
everything comes from the arguments.
"""

import datetime as dt
from dataclasses import dataclass

from engine.core import authority as au
from engine.i18n import A, Msg, Person, When
from engine.reminders.headers import header_text
from engine.reminders.recipients import subject_order
from store.records import ItemRecord, MeetingRecord, MemberRecord, Planned
from workflows import Rulebook
from workflows.rulebook import ReminderRule


@dataclass(frozen=True, slots=True)
class Action:
    """Something the recipient may do: what (words) and the command that does it."""

    what: Msg
    command: str


@dataclass(frozen=True, slots=True)
class Text:
    subject: str
    body: str
    commands: tuple[str, ...]


def _cmd(prefix: str, rest: str) -> str:
    return f"kaigi {prefix}{rest}"


def actions_for_item(world: object, book: Rulebook, item: ItemRecord, login: str, at: dt.datetime,
                     prefix: str, open_meetings: tuple[MeetingRecord, ...] = ()) -> list[Action]:
    """The steps `login` may take on `item` now, under `book`."""
    w = world
    held = au.holdings(w, book, login, at)  # type: ignore[arg-type]
    kinds = w.body_kinds()  # type: ignore[attr-defined]
    meetings = w.meetings  # type: ignore[attr-defined]
    out: list[Action] = []
    seen: set[str] = set()

    def add(what: Msg, command: str) -> None:
        if command not in seen:
            seen.add(command)
            out.append(Action(what, command))

    for t in book.transitions_from(item.state, kinds.get(item.body)):
        if t.fired_by or t.trigger == "withdraw":
            continue
        dest = book.states[t.dest].title if t.dest in book.states else t.dest
        if t.meeting is None:
            if au.holds(w, held, book, t.roles, item.body) or (t.filer and login == item.filed_by):  # type: ignore[arg-type]
                add(Msg("do.step", trigger=t.trigger, dest=dest), _cmd(prefix, f"item advance {item.id} {t.trigger}"))
            continue
        kind = book.meetings[t.meeting]
        station = f" --station {item.body}" if kinds.get(item.body) != "hq" else ""
        for s in item.sittings:  # a sitting that has it and sat: record the outcome there
            m = meetings.get(s.meeting) if s.meeting in meetings else None
            if s.kind == kind.key and s.status == "held" and s.outcome is None and m is not None \
                    and au.holds(w, held, book, kind.recorder_roles, item.body):  # type: ignore[arg-type]
                add(Msg("do.record", trigger=t.trigger, meeting=A(kind.title), id=s.meeting),
                    _cmd(prefix, f"item advance {item.id} {t.trigger} --meeting {s.meeting}"))
        if au.holds(w, held, book, (kind.convener,), item.body):  # type: ignore[arg-type]
            attendee = " --attendee LOGIN" if kind.calls else ""
            add(Msg("do.convene", meeting=A(kind.title)),
                _cmd(prefix, f"meeting convene {kind.key} --at WHEN --item {item.id}{attendee}{station}"))
        for s in (m for m in open_meetings if m.kind == kind.key and m.body == item.body and m.status == "convened"):
            if item.id not in s.items and au.holds(w, held, book, kind.agenda_roles, item.body) \
                    and s.starts_at > at:  # type: ignore[arg-type]
                add(Msg("do.agenda", meeting=A(kind.title), id=s.id),
                    _cmd(prefix, f"meeting agenda {s.id} add {item.id}"))
    return out


def who_can(world: object, book: Rulebook, item: ItemRecord, at: dt.datetime) -> list[str]:
    """Everyone who could move the item on now (for an escalation: whom to press)."""
    w = world
    kinds = w.body_kinds()  # type: ignore[attr-defined]
    logins: set[str] = set()
    for t in book.transitions_from(item.state, kinds.get(item.body)):
        if t.fired_by or t.trigger == "withdraw":
            continue
        roles = (book.meetings[t.meeting].convener,) if t.meeting else t.roles
        logins |= set(au.holders(w, book, roles, item.body, at))  # type: ignore[arg-type]
    return sorted(logins)


def compose(world: object, book: Rulebook, rule: ReminderRule, p: Planned, rung: int, to: MemberRecord,
            item: ItemRecord | None, meeting: MeetingRecord | None, at: dt.datetime, training: bool,
            open_meetings: tuple[MeetingRecord, ...] = ()) -> Text:
    """One message: subject, body, and the commands it offers (each one `to` may run).

    The subject is a mail header: a title's line breaks, controls and bidi or zero-width
    characters are folded out of it (`headers.header_text`); the body keeps the title as typed."""
    lang = to.lang
    prefix = f"--as {to.login} " if training else ""
    members = getattr(world, "members")
    person = lambda login: Person(login, members[login].name, members[login].name_en, False) \
        if login in members else Person(login, with_login=False)  # noqa: E731
    what = rule.title
    late = rung > 0
    deadline = When(p.due_at)
    actions: list[Action] = []
    press: list[Person] = []
    look = ""
    if rule.waits_kind == "meeting" and meeting is not None:  # a meeting's notice (R-N5): engine/reminders/notices.py
        from engine.reminders.notices import meeting_notice

        return meeting_notice(world, book, rule, p, to, meeting, prefix)
    order = subject_order(p.ident)
    if order is not None and item is not None:
        o = world.orders.get(order) if order in world.orders else None  # type: ignore[attr-defined]
        about = Msg("mail.about_order", id=order, item=item.id, title=item.title)
        look = _cmd(prefix, f"order list --item {item.id}")
        if o is not None and to.login == o.to:
            actions = [Action(Msg("do.complete"), _cmd(prefix, f"order complete {order} --finding TEXT"))]
        else:
            if o is not None:
                press = [person(o.to)]
            held = au.holdings(world, book, to.login, at)  # type: ignore[arg-type]
            if au.holds(world, held, book, book.powers.order, item.body):  # type: ignore[arg-type]
                actions = [Action(Msg("do.waive"), _cmd(prefix, f"order waive {order} --reason TEXT"))]
    elif item is not None:
        about = Msg("mail.about_item", id=item.id, title=item.title)
        look = _cmd(prefix, f"item show {item.id}")
        actions = actions_for_item(world, book, item, to.login, at, prefix, open_meetings)
        if not actions or late:
            press = [person(x) for x in who_can(world, book, item, at) if x != to.login]
    else:
        about = Msg("mail.about_nothing")
    head = Msg("mail.overdue_head" if late else "mail.head")
    lines = Msg("mail.late" if late else "mail.waits", about=about, what=what, deadline=deadline)
    body = Msg("mail.body", name=person(to.login), lines=lines, deadline=deadline,
               actions=_render_actions(actions) if actions else Msg("mail.no_action"),
               press=Msg("mail.press", who=tuple(press)) if press else "",
               look=look, escalation=Msg("mail.escalation") if late else "")
    subject = Msg("mail.subject", head=head, about=about, what=what, deadline=deadline)
    return Text(header_text(subject.render(lang)), _tidy(body.render(lang)), tuple(a.command for a in actions) + ((look,) if look else ()))


def _tidy(text: str) -> str:
    """No runs of blank lines where an optional part was empty."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip("\n") + "\n"


class _Actions:
    def __init__(self, actions: list[Action]) -> None:
        self.actions = actions

    def render(self, lang: str) -> str:
        return "\n".join(f"  - {a.what.render(lang)}:\n      {a.command}" for a in self.actions)


def _render_actions(actions: list[Action]) -> _Actions:
    return _Actions(actions)


class _Agenda:
    def __init__(self, world: object, meeting: MeetingRecord) -> None:
        self.items = [(i, world.items[i].title if i in world.items else "") for i in meeting.items]  # type: ignore[attr-defined]

    def render(self, lang: str) -> str:
        if not self.items:
            return Msg("mail.agenda_empty").render(lang)
        return "\n".join(Msg("mail.agenda_item", id=i, title=t).render(lang) for i, t in self.items)


def _agenda(world: object, meeting: MeetingRecord) -> _Agenda:
    return _Agenda(world, meeting)
