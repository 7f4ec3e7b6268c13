"""A meeting's notice (招集通知) in the recipient's language (R-N5).

Under a rule with `notify` a meeting's people get, as the meeting stands when it goes:
the invitation (at convening), an update (its agenda, time or place changed after a
notice went out), the reminder the day before, and a cancellation. Which one a rung is
follows from the record alone, as its plan does (`plan._notices`): a cancelled meeting's
is the cancellation; the one due after the time it is about (`started_at`) is the
day-before reminder; otherwise an update when another notice of it went out, else the
invitation. A rule without `notify` gives kaigi 0.2's notice. Each offers the meeting's
calendar (its METHOD is REQUEST, or CANCEL for the cancellation: `ics.meeting_calendar`).
Pure.
"""

from engine.core.plan import notified
from engine.core.world import World
from engine.i18n import Msg, Person, When
from engine.reminders.headers import header_text
from engine.reminders.mailparts import Action, Text, _agenda, _cmd, _render_actions, _tidy
from store.records import MeetingRecord, MemberRecord, Planned
from workflows import Rulebook
from workflows.rulebook import ReminderRule

KINDS = ("invitation", "update", "day_before", "cancellation")


def notice_kind(rule: ReminderRule, p: Planned, meeting: MeetingRecord) -> str:
    """Which notice the planned reminder `p` of `meeting` is (one of KINDS)."""
    if meeting.status == "cancelled":
        return "cancellation"
    if p.due_at > p.started_at:
        return "day_before"
    return "update" if notified(rule, meeting, but=p.ident) else "invitation"


def meeting_notice(world: World, book: Rulebook, rule: ReminderRule, p: Planned, to: MemberRecord,
                   meeting: MeetingRecord, prefix: str) -> Text:
    """One meeting notice to `to`: subject, body and the commands it offers."""
    lang = to.lang
    members = world.members

    def person(login: str) -> Person:
        m = members.get(login) if login in members else None
        return Person(login, m.name, m.name_en, False) if m is not None else Person(login, with_login=False)

    kind = book.meetings.get(meeting.kind)
    about = Msg("mail.about_meeting", id=meeting.id, meeting=kind.title if kind else meeting.kind,
                starts=When(meeting.starts_at))
    look = _cmd(prefix, f"meeting show {meeting.id}")
    which = notice_kind(rule, p, meeting) if rule.notify else "notice"
    calendar = "do.calendar_cancel" if which == "cancellation" else "do.calendar"
    actions = [Action(Msg(calendar), _cmd(prefix, f"meeting ics {meeting.id}"))]
    commands = tuple(a.command for a in actions) + (look,)
    if not rule.notify:  # kaigi 0.2: the day before, one wording
        body = Msg("mail.notice", name=person(to.login), about=about, starts=When(meeting.starts_at),
                   chair=person(meeting.chair), agenda=_agenda(world, meeting),
                   actions=_render_actions(actions), look=look)
        subject = Msg("mail.subject_notice", about=about)
        return Text(header_text(subject.render(lang)), body.render(lang) + "\n", commands)
    head = Msg(f"notice.{which}", name=person(to.login), about=about)
    where = Msg("notice.where", place=meeting.place) if meeting.place else ""
    details = "" if which == "cancellation" else Msg(
        "notice.details", starts=When(meeting.starts_at), where=where, chair=person(meeting.chair),
        agenda=_agenda(world, meeting))
    body = Msg("notice.body", head=head, details=details, actions=_render_actions(actions), look=look)
    subject = Msg(f"notice.subject_{which}", about=about)
    return Text(header_text(subject.render(lang)), _tidy(body.render(lang)), commands)
