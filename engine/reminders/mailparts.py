"""The pieces of a reminder's text that the reminder (`compose`) and a meeting's notice
(`notices`) both put together: an act the recipient may do, the finished text, the
command line, the agenda. Pure.
"""

from dataclasses import dataclass

from engine.i18n import Msg
from store.frozen import record
from store.records import MeetingRecord


@dataclass(frozen=True, slots=True)
class Action:
    """Something the recipient may do: what (words), the command that does it, and the
    path of the web page where it is done (joined to the base URL when there is one)."""

    what: Msg
    command: str
    page: str = ""


@record  # (a frozen slots dataclass whose constructor is cheap: one per message of a pass)
class Text:
    subject: str
    body: str
    commands: tuple[str, ...]
    links: tuple[str, ...] = ()


def _cmd(prefix: str, rest: str) -> str:
    return f"kaigi {prefix}{rest}"


def _tidy(text: str) -> str:
    """No runs of blank lines where an optional part was empty."""
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip("\n") + "\n"


class _Actions:
    """Each act: its words, then its page's link and the command for those who use the
    command line, or (without a base URL, or an act without a page) the command alone."""

    def __init__(self, actions: list[Action], base: str = "") -> None:
        self.actions, self.base = actions, base

    def render(self, lang: str) -> str:
        out = []
        for a in self.actions:
            if self.base and a.page:
                out.append(f"  - {a.what.render(lang)}:\n      {self.base}{a.page}\n      "
                           + Msg("mail.by_command", command=a.command).render(lang))
            else:
                out.append(f"  - {a.what.render(lang)}:\n      {a.command}")
        return "\n".join(out)


def _render_actions(actions: list[Action], base: str = "") -> _Actions:
    return _Actions(actions, base)


class _Agenda:
    def __init__(self, world: object, meeting: MeetingRecord) -> None:
        self.items = [(i, world.items[i].title if i in world.items else "") for i in meeting.items]  # type: ignore[attr-defined]

    def render(self, lang: str) -> str:
        if not self.items:
            return Msg("mail.agenda_empty").render(lang)
        return "\n".join(Msg("mail.agenda_item", id=i, title=t).render(lang) for i, t in self.items)


def _agenda(world: object, meeting: MeetingRecord) -> _Agenda:
    return _Agenda(world, meeting)
