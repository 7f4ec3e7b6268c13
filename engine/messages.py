"""The text of a reminder, in the recipient's language: what waits, the deadline, who may
act, and the exact `kaigi` command to run. Titles come from the rulebook. Pure."""

import datetime as dt
from dataclasses import dataclass

from engine.timeutil import jst
from store.records import ItemRecord, MeetingRecord, MemberRecord, ReminderRecord
from workflows import Rulebook
from workflows.rulebook import ReminderRule


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def compose(book: Rulebook, rule: ReminderRule, reminder: ReminderRecord, rung: int, to: MemberRecord,
            deadline: dt.datetime, item: ItemRecord | None, meeting: MeetingRecord | None,
            may_act: list[str]) -> Text:
    ja = to.lang == "ja"
    what = rule.title.in_(to.lang)
    roles = " / ".join(book.role_title(r).in_(to.lang) for r in rule.recipients(0))
    command = f"kaigi --as {to.login} " + rule.command.removeprefix("kaigi ").format(
        item=reminder.item, meeting=reminder.meeting, order=reminder.order)
    about = _about(book, item, meeting, ja)
    late = rung > 0
    if rule.waits_kind == "meeting" and meeting is not None:
        return _notice(book, rule, meeting, to, command)
    if ja:
        head = "【督促】" if late else "【kaigi】"
        subject = f"{head}{about}: {what}({jst(deadline)}まで)"
        lines = [f"{to.name} 様", "",
                 f"{about} について、{what}が待たれています。" if not late else
                 f"{about} について、{what}が期限({jst(reminder.due_at)})を過ぎても行われていません。",
                 f"期限: {jst(deadline)}", f"対応できる人: {roles}({', '.join(may_act) or '現在不在'})",
                 "", "コマンド:", f"  {command}"]
    else:
        head = "[overdue] " if late else "[kaigi] "
        subject = f"{head}{about}: {what} by {jst(deadline)}"
        lines = [f"Dear {to.name_en},", "",
                 f"{about} waits for {what}." if not late else
                 f"{about} still waits for {what}; it was due {jst(reminder.due_at)}.",
                 f"Deadline: {jst(deadline)}", f"Who may act: {roles} ({', '.join(may_act) or 'nobody now'})",
                 "", "Command:", f"  {command}"]
    if late:
        lines += ["", "この督促は上位者への報告です。" if ja else "You receive this as the next rung of the chain."]
    return Text(subject, "\n".join(lines) + "\n")


def _notice(book: Rulebook, rule: ReminderRule, meeting: MeetingRecord, to: MemberRecord, command: str) -> Text:
    """A meeting invitation: when it starts, who chairs, what is on the agenda."""
    ja = to.lang == "ja"
    about = _about(book, None, meeting, ja)
    items = ", ".join(map(str, meeting.items)) or "-"
    if ja:
        return Text(f"【kaigi】{about}のご案内", f"{to.name} 様\n\n{about}に招集されています。\n"
                    f"開始: {jst(meeting.starts_at)}\n議長: {meeting.chair}\n付議案件: {items}\n\nコマンド:\n  {command}\n")
    return Text(f"[kaigi] invitation: {about}", f"Dear {to.name_en},\n\nYou are called to {about}.\n"
                f"Starts: {jst(meeting.starts_at)}\nChair: {meeting.chair}\nAgenda: items {items}\n\n"
                f"Command:\n  {command}\n")


def _about(book: Rulebook, item: ItemRecord | None, meeting: MeetingRecord | None, ja: bool) -> str:
    if item is not None:
        return f"案件{item.id}「{item.title}」" if ja else f"item {item.id} “{item.title}”"
    if meeting is not None:
        kind = book.meetings.get(meeting.kind)
        title = kind.title.ja if kind and ja else (kind.title.en if kind else meeting.kind)
        return f"会議{meeting.id}({title}, {jst(meeting.starts_at)})" if ja else \
            f"meeting {meeting.id} ({title}, {jst(meeting.starts_at)})"
    return "kaigi"


def meeting_calendar(book: Rulebook, meeting: MeetingRecord, members: dict[str, MemberRecord],
                     now: dt.datetime, domain: str = "kaigi.local") -> str:
    """The meeting as an iCalendar invitation (cancelled meetings as METHOD:CANCEL)."""
    from engine.ics import meeting_ics

    kind = book.meetings.get(meeting.kind)
    title = f"{kind.title.ja} / {kind.title.en}" if kind else meeting.kind

    def person(login: str) -> tuple[str, str | None]:
        m = members.get(login)
        return (m.name if m else login, m.email if m else None)

    cancelled = meeting.status == "cancelled"
    return meeting_ics(uid=f"kaigi-meeting-{meeting.id}@{domain}", summary=title, starts_at=meeting.starts_at,
                       organizer=person(meeting.chair),
                       attendees=[person(x) for x in (*meeting.attendees, *meeting.invited)],
                       description=f"kaigi meeting {meeting.id}; agenda: items "
                                   f"{', '.join(map(str, meeting.items)) or '-'}",
                       sequence=meeting.version - 1, method="CANCEL" if cancelled else "REQUEST",
                       stamp=now)
