"""Reminders through a real SMTP server on loopback (aiosmtpd in the test process), and the CLI."""

import datetime as dt
import email
import json
from email import policy

import pytest
from aiosmtpd.controller import Controller

from engine.reminders.senders import SmtpSender, parse_smtp_url
from engine.reminders.dispatch import Dispatcher


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp():
    from tests.unit.test_delivery import free_port

    inbox, port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        ctl.stop()


def test_meeting_invitation_arrives_with_its_calendar(svc, clock, smtp):
    """Recipients, subject, body and the iCalendar attachment, as the SMTP server received them."""
    inbox, url = smtp
    starts = clock.now() + dt.timedelta(days=2)
    svc.convene("sato", "council", starts, invited=["nakamura"])
    clock.advance(minutes=1)  # R-N5: the invitation goes at the next pass after convening
    d = Dispatcher(svc, {"email": SmtpSender(parse_smtp_url(url), "kaigi@police.pref.ibaraki.example")},
                   domain="police.pref.ibaraki.example")
    assert 8 == d.run_once().sent
    rcpts = sorted(r[0] for r, _ in inbox.messages)
    assert "nakamura@police.pref.ibaraki.example" in rcpts and "sato@police.pref.ibaraki.example" in rcpts
    _to, msg = next((r, m) for r, m in inbox.messages if r == ["sato@police.pref.ibaraki.example"])
    assert "【招集】会議1(推進本部対策会議、令和8年11月27日(金) 10:00)のご案内" == msg["subject"]
    assert msg["Message-ID"].startswith("<kaigi.") and msg["Message-ID"].endswith("@police.pref.ibaraki.example>")
    body = msg.get_body(("plain",)).get_content()
    assert "佐藤 一郎 様" in body and "kaigi --as sato meeting show 1" in body
    (cal,) = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    import icalendar

    event = icalendar.Calendar.from_ical(cal.get_content()).walk("VEVENT")[0]
    assert "REQUEST" == str(icalendar.Calendar.from_ical(cal.get_content())["method"])
    assert dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC) == event.decoded("dtstart")
    assert "中村 八郎" in [a.params["CN"] for a in event["attendee"]]


def test_item_reminder_by_mail_names_the_command(svc, clock, smtp):
    inbox, url = smtp
    clock.advance(days=14)
    Dispatcher(svc, {"email": SmtpSender(parse_smtp_url(url), "kaigi@example.org")}).run_once()
    assert 4 == len(inbox.messages)
    rcpt, msg = inbox.messages[0]
    assert ["yamamoto@police.pref.ibaraki.example"] == rcpt
    assert "kaigi --as yamamoto meeting convene staff --at WHEN --item" in msg.get_body(("plain",)).get_content()


class TestCli:
    def test_reminders_list_and_forecast(self, demo_cli):
        rows = json.loads(demo_cli("--json", "--as", "sato", "reminders", "list").stdout)
        assert 4 == len(rows)
        assert {"due_at", "item", "meeting", "order", "what", "rung", "role", "recipients", "status"} <= set(rows[0])
        assert ["yamamoto"] == rows[0]["recipients"] and "pending" == rows[0]["status"]
        assert [] == json.loads(demo_cli("--json", "--as", "sato", "reminders", "list", "--due").stdout)
        far = (dt.date.today() + dt.timedelta(days=40)).isoformat()
        fc = json.loads(demo_cli("--json", "--as", "sato", "reminders", "forecast", "--until", far).stdout)
        assert [0] * 4 + [1] * 4 == [r["rung"] for r in fc]
        assert {"watanabe"} == {r["recipients"][0] for r in fc if r["rung"] == 1}

    def test_meeting_ics(self, demo_cli):
        demo_cli("--as", "sato", "meeting", "convene", "council", "--at", "2026-12-24T14:00")
        r = demo_cli("--as", "sato", "meeting", "ics", "1")
        assert 0 == r.exit_code
        assert r.stdout.startswith("BEGIN:VCALENDAR") and "DTSTART:20261224T050000Z" in r.stdout

    def test_scheduler_once_to_outbox(self, demo_cli, tmp_path):
        """With nothing due, `scheduler run --once` sends nothing; without a channel it refuses."""
        r = demo_cli("scheduler", "run", "--once")
        assert 4 == r.exit_code and "no delivery channel" in r.stderr
        out = tmp_path / "o.jsonl"
        r = demo_cli("--json", "scheduler", "run", "--once", env={"KAIGI_OUTBOX": str(out)})
        assert 0 == r.exit_code and {"fired": 0, "sent": 0}.items() <= json.loads(r.stdout).items()
