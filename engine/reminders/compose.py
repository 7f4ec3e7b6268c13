"""The text of a reminder, in the recipient's language: what waits, the deadline, and
what *this* recipient can do now (R-N1).

What a recipient can do is derived from the rulebook, the way the decisions would judge
it: a step they may take alone, a meeting they may convene, an agenda they keep, an
outcome they record. Each comes with the exact command and, when the web face's address
is known (`base_url`, the KAIGI_BASE_URL setting), first with the link to the page where
it is done. Someone who cannot move the matter on is told, by name, whom to report to and
consult when that person stands above them in the rulebook's chains (`rank`), and whom to
press or ask only when that person does not; nobody is told to press a superior. Pure:
everything comes from the arguments.
"""

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import cast
from urllib.parse import urlencode

from engine.core import authority as au
from engine.core import decide
from engine.core.errors import DomainError
from engine.core.recipients import subject_order
from engine.core.world import World
from engine.i18n import LANGS, A, Msg, Person, Plain, When
from engine.reminders import rank
from engine.reminders.headers import header_text
from engine.reminders.mailparts import Action, Text, _cmd, _render_actions, _tidy
from engine.reminders.notices import meeting_notice
from store.records import ItemRecord, MeetingRecord, MemberRecord, Planned
from workflows import Rulebook
from workflows.rulebook import ReminderRule


def actions_for_item(world: World, book: Rulebook, item: ItemRecord, login: str, at: dt.datetime,
                     prefix: str, open_meetings: tuple[MeetingRecord, ...] = ()) -> list[Action]:
    """The steps `login` may take on `item` now, under `book`."""
    w = world
    held = au.holdings(w, book, login, at)
    kinds = w.body_kinds()
    meetings = w.meetings
    out: list[Action] = []
    seen: set[str] = set()

    def add(what: Msg, command: str, page: str) -> None:
        if command not in seen:
            seen.add(command)
            out.append(Action(what, command, page))

    for t in book.transitions_from(item.state, kinds.get(item.body)):
        if t.fired_by or t.trigger == "withdraw":
            continue
        dest = book.states[t.dest].title if t.dest in book.states else t.dest
        if t.meeting is None:
            if au.holds(w, held, book, t.roles, item.body) or (t.filer and login == item.filed_by):
                add(Msg("do.step", trigger=t.trigger, dest=dest), _cmd(prefix, f"item advance {item.id} {t.trigger}"),
                    f"/items/{item.id}#next")
            continue
        kind = book.meetings[t.meeting]
        station = f" --station {item.body}" if kinds.get(item.body) != book.top_kind else ""
        for s in item.sittings:  # a sitting that has it and sat: record the outcome there
            m = meetings.get(s.meeting) if s.meeting in meetings else None
            if s.kind == kind.key and s.status == "held" and s.outcome is None and m is not None \
                    and au.holds(w, held, book, kind.recorder_roles, item.body) \
                    and _accepted(w, book, login, at, item, t.trigger, m):
                add(Msg("do.record", trigger=t.trigger, meeting=A(kind.title), id=s.meeting),
                    _cmd(prefix, f"item advance {item.id} {t.trigger} --meeting {s.meeting}"),
                    f"/items/{item.id}#next")
        if au.holds(w, held, book, (kind.convener,), item.body):
            attendee = " --attendee LOGIN" if kind.calls else ""
            add(Msg("do.convene", meeting=A(kind.title)),
                _cmd(prefix, f"meeting convene {kind.key} --at WHEN --item {item.id}{attendee}{station}"),
                _convene_page(kind.key, item.id, item.body if station else None))
        for om in (m for m in open_meetings if m.kind == kind.key and m.body == item.body and m.status == "convened"):
            if item.id not in om.items and au.holds(w, held, book, kind.agenda_roles, item.body) \
                    and om.starts_at > at:
                add(Msg("do.agenda", meeting=A(kind.title), id=om.id),
                    _cmd(prefix, f"meeting agenda {om.id} add {item.id}"), f"/meetings/{om.id}#agenda-add")
    return out


def _accepted(world: World, book: Rulebook, login: str, at: dt.datetime, item: ItemRecord, trigger: str,
              meeting: MeetingRecord) -> bool:
    """R-N1: the act would be accepted citing that sitting — decided by the very function the
    act runs (a sitting before the item's last step, R-M5, is never offered)."""
    ctx = decide.Ctx(book, at, login, login, world)
    try:
        decide.advance(ctx, item, trigger, meeting, "", spawn_id=2**62)
    except DomainError:
        return False
    return True


def who_can_as(world: World, book: Rulebook, item: ItemRecord, at: dt.datetime) -> dict[str, set[str]]:
    """Everyone who could move the item on now, each with the roles that let them."""
    w = world
    kinds = w.body_kinds()
    out: dict[str, set[str]] = {}
    for t in book.transitions_from(item.state, kinds.get(item.body)):
        if t.fired_by or t.trigger == "withdraw":
            continue
        roles = (book.meetings[t.meeting].convener,) if t.meeting else t.roles
        for role in roles:
            for login in au.holders(w, book, [role], item.body, at):
                out.setdefault(login, set()).add(role)
    return out


def who_can(world: World, book: Rulebook, item: ItemRecord, at: dt.datetime) -> list[str]:
    """Everyone who could move the item on now (for an escalation: whom to turn to)."""
    return sorted(who_can_as(world, book, item, at))


_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.\-]*")


def _convene_page(kind: str, item: int, station: str | None) -> str:
    """The page that convenes a meeting of `kind` for `item`. The item's id (digits: nothing
    to escape) goes in as it is, so a pass's shared text (`Shapes`) can hold its place."""
    if _PLAIN_QUERY.fullmatch(kind) and _PLAIN_QUERY.fullmatch(station or ""):  # nothing to escape
        return f"/meetings/new?kind={kind}&item={item}" + (f"&station={station}" if station else "")
    return f"/meetings/new?{urlencode([('kind', kind)])}&item={item}" + \
        (f"&{urlencode([('station', station)])}" if station else "")


def base_of(base_url: str | None) -> str:
    """The web face's address without its trailing slash ("" when there is none)."""
    return (base_url or "").strip().rstrip("/")


@dataclass(frozen=True, slots=True)
class _Named:
    """A person with the role they hold here: 本部長 佐藤 一郎 / Ichiro Sato (HQ chief)."""

    person: Person
    role: object | None

    def render(self, lang: str) -> str:
        name = self.person.render(lang)
        if self.role is None:
            return name
        title = Plain(self.role).render(lang)
        return f"{title} {name}" if lang == "ja" else f"{name} ({title})"


def compose(world: World, book: Rulebook, rule: ReminderRule, p: Planned, rung: int, to: MemberRecord,
            item: ItemRecord | None, meeting: MeetingRecord | None, at: dt.datetime, training: bool,
            open_meetings: tuple[MeetingRecord, ...] = (), base_url: str | None = None,
            shapes: "Shapes | None" = None) -> Text:
    """One message: subject, body, and the commands and links it offers (each one `to` may
    run or open, R-N1).

    With `base_url` every act comes first as the link to its page, then its command for
    those who use the command line; without it, the command alone. The subject is a mail
    header: a title's line breaks, controls and bidi or zero-width characters are folded
    out of it (`headers.header_text`); the body keeps the title as typed.

    `shapes`: the scheduler pass's shared texts (`Shapes`, made for these world, book, time,
    training flag, open meetings and base URL): an item's reminder whose shape was composed
    before in the pass is that text with the item's id, title and deadline put in. The same
    bytes as composing it afresh (tests/unit/test_reminder_texts.py)."""
    if shapes is not None and meeting is None and item is not None \
            and shapes.fits(world, book, at, training, open_meetings, base_url):
        made = shapes.fill(rule, p, rung, to, item)
        if made is not None:
            return made
    return _compose(world, book, rule, p, rung, to, item, meeting, at, training, open_meetings, base_url,
                    When(p.due_at))


def _compose(world: World, book: Rulebook, rule: ReminderRule, p: Planned, rung: int, to: MemberRecord,
             item: ItemRecord | None, meeting: MeetingRecord | None, at: dt.datetime, training: bool,
             open_meetings: tuple[MeetingRecord, ...], base_url: str | None, deadline: When | str) -> Text:
    lang = to.lang
    base = base_of(base_url)
    prefix = f"--as {to.login} " if training else ""
    members = world.members

    def person(login: str) -> Person:
        if login in members:
            return Person(login, members[login].name, members[login].name_en, False)
        return Person(login, with_login=False)

    what = rule.title
    late = rung > 0
    actions: list[Action] = []
    turn_to: dict[str, set[str]] = {}  # login -> the roles that let them act
    look = ""
    look_page = ""
    if rule.waits_kind == "meeting" and meeting is not None:  # a meeting's notice (R-N5): engine/reminders/notices.py
        text = meeting_notice(world, book, rule, p, to, meeting, prefix)
        if not base:
            return text
        page = f"{base}/meetings/{meeting.id}"
        return Text(text.subject, text.body.rstrip("\n") + "\n" + Msg("mail.page", url=page).render(lang) + "\n",
                    text.commands, (page,))
    order = subject_order(p.ident)
    if order is not None and item is not None:
        o = world.orders.get(order) if order in world.orders else None
        about = Msg("mail.about_order", id=order, item=item.id, title=item.title)
        look = _cmd(prefix, f"order list --item {item.id}")
        look_page = f"/items/{item.id}#orders"
        where = f"/items/{item.id}#order-{order}"
        if o is not None and to.login == o.to:
            actions = [Action(Msg("do.complete"), _cmd(prefix, f"order complete {order} --finding TEXT"), where)]
        else:
            if o is not None:
                turn_to = {o.to: set(book.powers.ordered)}
            held = au.holdings(world, book, to.login, at)
            if au.holds(world, held, book, book.powers.order, item.body):
                actions = [Action(Msg("do.waive"), _cmd(prefix, f"order waive {order} --reason TEXT"), where)]
    elif item is not None:
        about = Msg("mail.about_item", id=item.id, title=item.title)
        look = _cmd(prefix, f"item show {item.id}")
        look_page = f"/items/{item.id}"
        actions = actions_for_item(world, book, item, to.login, at, prefix, open_meetings)
        if not actions or late:
            turn_to = {x: r for x, r in who_can_as(world, book, item, at).items() if x != to.login}
    else:
        about = Msg("mail.about_nothing")
    mine = {h.role for h in au.holdings(world, book, to.login, at)}
    groups: dict[str, list[_Named]] = {rank.SUPERIOR: [], rank.SUBORDINATE: [], rank.PEER: []}
    for login in sorted(turn_to):
        roles = turn_to[login]
        role = book.roles[sorted(roles)[0]].title if roles and sorted(roles)[0] in book.roles else None
        relation = rank.relation(book, mine, roles)
        if relation == rank.SUPERIOR and actions:
            continue  # they can move it on themselves: no need to take it upstairs
        groups[relation].append(_Named(person(login), role))
    turn = [Msg(key, who=tuple(groups[g])) for g, key in ((rank.SUPERIOR, "mail.report_to"),
                                                          (rank.SUBORDINATE, "mail.press"),
                                                          (rank.PEER, "mail.ask")) if groups[g]]
    head = Msg("mail.overdue_head" if late else "mail.head")
    lines = Msg("mail.late" if late else "mail.waits", about=about, what=what, deadline=deadline)
    body = Msg("mail.body", name=person(to.login), lines=lines, deadline=deadline,
               actions=Msg("mail.todo", actions=_render_actions(actions, base)) if actions else Msg("mail.no_action"),
               press=_Lines(turn),
               look=_Look(look, f"{base}{look_page}" if base and look_page else ""),
               work=Msg("mail.my_work", url=f"{base}/") if base else "",
               escalation=_Lines([Msg("mail.escalation"), *_vacant_below(world, book, rule, rung, item, meeting, at)])
               if late else "")
    subject = Msg("mail.subject", head=head, about=about, what=what, deadline=deadline)
    links = tuple(f"{base}{a.page}" for a in actions if base and a.page)
    links += ((f"{base}{look_page}",) if base and look_page else ()) + ((f"{base}/",) if base else ())
    return Text(header_text(subject.render(lang)), _tidy(body.render(lang)),
                tuple(a.command for a in actions) + ((look,) if look else ()), links)


class _Look:
    """Where to look: the page, then the command; or the command alone."""

    def __init__(self, command: str, url: str) -> None:
        self.command, self.url = command, url

    def render(self, lang: str) -> str:
        if not self.command:
            return ""
        if not self.url:
            return Msg("mail.look", where=self.command).render(lang)
        return Msg("mail.look", where=self.url).render(lang) + "\n  " + \
            Msg("mail.by_command", command=self.command).render(lang)


def _vacant_below(world: World, book: Rulebook, rule: ReminderRule, rung: int, item: ItemRecord | None,
                  meeting: MeetingRecord | None, at: dt.datetime) -> list[Msg]:
    """R-N2: the roles reminded at the earlier rungs that nobody holds now, said as vacant."""
    body = item.body if item is not None else meeting.body if meeting is not None else None
    if body is None:
        return []
    roles = dict.fromkeys(role for r in range(rung) for role in rule.recipients(r) if role in book.roles)
    return [Msg("mail.vacant_below", role=book.roles[role].title) for role in roles
            if not au.holders(world, book, [role], body, at)]


class _Lines:
    def __init__(self, msgs: list[Msg]) -> None:
        self.msgs = msgs

    def render(self, lang: str) -> str:
        return "\n".join(m.render(lang) for m in self.msgs)


# The places a shared text (`Shapes`) holds for an item's own words: private-use characters,
# which no catalog text, rulebook title or clean item title carries (a text that does is
# composed afresh).
_MARK = "\ue000"
_ID, _TITLE, _DEADLINE = _MARK + "\ue001", _MARK + "\ue002", _MARK + "\ue003"
_UNMADE = object()
_SEP = "\x00"  # between the parts of a shared text: a control character, which no clean title holds


def _clean(title: str) -> bool:
    """A title that can be put into a shared text as it is: what `header_text` (the subject)
    and `_tidy` (the body) would do to the whole message they do not do to it or around it:
    one line, nothing folded or dropped, no runs of spaces, no white space at either end,
    not empty, and no place-holder character."""
    return bool(title) and title == title.strip() and header_text(title) == title and _MARK not in title


class Shapes:
    """The texts of one scheduler pass by shape (R-N1's words computed once, not per message).

    An item's reminder says the same to the same recipient for every item of one shape: its
    rule and rung, the item's state and body, whether the recipient filed it; what the
    recipient may do (their roles under the book at the pass's time), whom they are told to
    turn to and which roles are vacant follow from those alone. Only the item's id, its
    title and the deadline differ. So the first message of a shape is composed with
    place-holders for those three (`_compose`, the very code of every other message), and
    each later one is that text with its own put in: a few string replacements where
    composing took the rulebook's transitions, everyone's holdings and a dozen catalog
    messages in two languages.

    The convened meetings of the item's body whose agenda already has it are part of the
    shape (the others are offered to add it to, R-N1). Only where filling gives the same
    bytes: no sitting of the item sat without its outcome recorded (an outcome to record
    there is judged on the item itself), about no order, a clean title (`_clean`; the
    subject folds a header's text and the body trims its lines); otherwise the message is
    composed afresh. The first message of each shape is also composed afresh and compared:
    a shape whose filled text differs is never used.

    Made for one pass (`fits`: the same world, book, time, training flag, open meetings and
    base URL); the world's roster must not change while it is used."""

    __slots__ = ("_agendas", "_made", "at", "base_url", "book", "open_meetings", "training", "world")

    def __init__(self, world: World, book: Rulebook, at: dt.datetime, training: bool,
                 open_meetings: tuple[MeetingRecord, ...] = (), base_url: str | None = None) -> None:
        self.world, self.book, self.at, self.training = world, book, at, training
        self.open_meetings, self.base_url = open_meetings, base_url
        self._agendas: dict[str, list[MeetingRecord]] = {}
        for m in open_meetings:
            if m.status == "convened":
                self._agendas.setdefault(m.body, []).append(m)
        self._made: dict[tuple[object, ...], tuple[ReminderRule, str, int] | None] = {}

    def fits(self, world: World, book: Rulebook, at: dt.datetime, training: bool,
             open_meetings: tuple[MeetingRecord, ...], base_url: str | None) -> bool:
        return world is self.world and book is self.book and at == self.at and training == self.training \
            and (open_meetings is self.open_meetings or open_meetings == self.open_meetings) \
            and base_url == self.base_url

    def fill(self, rule: ReminderRule, p: Planned, rung: int, to: MemberRecord, item: ItemRecord) -> Text | None:
        """The message, from the shared text of its shape; None where it must be composed afresh."""
        if not _clean(item.title) or any(s.status == "held" and s.outcome is None for s in item.sittings) \
                or subject_order(p.ident) is not None:
            return None
        agendas = self._agendas.get(item.body)
        on = tuple(m.id for m in agendas if item.id in m.items) if agendas else ()
        key = (to.login, to.lang, id(rule), rung, item.state, item.body, item.filed_by == to.login, on)
        made = self._made.get(key, _UNMADE)
        if made is _UNMADE:
            made = self._made[key] = self._make(rule, p, rung, to, item, on)
        if not isinstance(made, tuple) or made[0] is not rule:
            return None
        whole: str = made[1]
        n: int = made[2]
        deadline = When(p.due_at).render(to.lang if to.lang in LANGS else "en")
        # the title last, so nothing in it is taken for a place-holder (as `_filled`)
        parts = whole.replace(_ID, str(item.id)).replace(_DEADLINE, deadline).replace(_TITLE, item.title).split(_SEP)
        return Text(parts[0], parts[1], tuple(parts[2:n]), tuple(parts[n:]))

    def _make(self, rule: ReminderRule, p: Planned, rung: int, to: MemberRecord, item: ItemRecord,
              on: tuple[int, ...]) -> tuple[ReminderRule, str, int] | None:
        """The shape's text with place-holders, if filling it gives what composing `item` gives
        (`on`: the convened meetings whose agenda has it: the place-holder is on theirs).

        Kept as one string, its parts (subject, body, commands, links) joined by `_SEP`, with
        where the links start: a message is then three replacements and a split, not three
        per part (a pass fills one per message)."""
        w, book, at, training, om, base = (self.world, self.book, self.at, self.training, self.open_meetings,
                                           self.base_url)
        shape = replace(item, id=cast(int, _ID), title=_TITLE, sittings=())
        with_shape = tuple(replace(m, items=(*m.items, cast(int, _ID))) if m.id in on else m for m in om)
        text = _compose(w, book, rule, p, rung, to, shape, None, at, training, with_shape, base, _DEADLINE)
        for part in (text.subject, text.body, *text.commands, *text.links):
            if part.count(_MARK) != part.count(_ID) + part.count(_TITLE) + part.count(_DEADLINE):
                return None  # a place-holder was changed on its way into the text
        lang = to.lang if to.lang in LANGS else "en"
        fresh = _compose(w, book, rule, p, rung, to, item, None, at, training, om, base, When(p.due_at))
        if _filled(text, str(item.id), item.title, When(p.due_at).render(lang)) != fresh:
            return None
        parts = (text.subject, text.body, *text.commands, *text.links)
        if any(_SEP in part for part in parts):
            return None  # (no catalog text carries one; a title that did would not be clean)
        return rule, _SEP.join(parts), 2 + len(text.commands)


def _filled(text: Text, ident: str, title: str, deadline: str) -> Text:
    """A shared text with one item's id, title and deadline in their places (the title last,
    so nothing in it is taken for a place-holder)."""
    def put(s: str) -> str:
        if _MARK not in s:
            return s
        return s.replace(_ID, ident).replace(_DEADLINE, deadline).replace(_TITLE, title)

    return Text(put(text.subject), put(text.body), tuple(put(c) for c in text.commands),
                tuple(put(x) for x in text.links))
