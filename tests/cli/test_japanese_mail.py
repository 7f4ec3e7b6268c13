"""Mail any Japanese client shows right, through a server without SMTPUTF8 (issue 17 items 3, 5).

Measured on main 8907da9 against a real SMTP server: `KAIGI_MAIL_FROM='推進本部 事務局
<kaigi@example.jp>'` went whole to smtplib as the envelope sender, so smtplib asked for
SMTPUTF8 and sent From and Subject as raw UTF-8; a server without SMTPUTF8 refused every
message and each was marked failed after one try. To had no name, there was no HTML part,
and the calendar always said method=REQUEST.

Here the server is aiosmtpd started in the test with `enable_SMTPUTF8=False`, and what it
received is read with Python's own `email` parser, as a receiving program would: the
envelope sender is the bare address, From keeps `推進本部 事務局`, To names the member as
the roster does, the Subject decodes to the Japanese text, the body comes as text/plain and
as text/html with the same words, a meeting's invitation carries its .ics, and every byte on
the wire is 7-bit. The clock is the tests' FrozenClock: the dispatcher's backoff is passed by
advancing it.
"""

import datetime as dt
import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from engine.infra.clock import FrozenClock
from engine.reminders.dispatch import Dispatcher, backoff, message_id
from engine.reminders.senders import (
    Attachment,
    DeliveryError,
    Message,
    SmtpConfig,
    SmtpSender,
    build_email,
    envelope_sender,
    html_body,
)
from store.records import DocumentRecord
from tests.conftest import make_svc
from tests.unit.test_delivery import free_port

UTC = dt.UTC
MAIL_FROM = "推進本部 事務局 <kaigi@example.jp>"
SECRET = "Pa55:w0rd/s3cret"
URL_RE = re.compile(r"https?://[!-~]+")


# ------------------------------------------------------------------ the server
@dataclass
class Got:
    mail_from: str
    mail_options: list[str]
    rcpt_tos: list[str]
    content: bytes

    def parsed(self) -> EmailMessage:
        mail = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        return mail

    @property
    def message_id(self) -> str:
        return str(self.parsed()["Message-ID"])


@dataclass
class Server:
    """An aiosmtpd handler: keeps what it accepts; `answer` decides the reply to each DATA
    from the Message-ID and how many times that Message-ID came before."""

    got: list[Got] = field(default_factory=list)
    tries: Counter[str] = field(default_factory=Counter)
    answer: Callable[[str, int], str] = lambda _mid, _n: "250 OK"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        mid = str(message_from_bytes(content, policy=policy.default)["Message-ID"])
        with self.lock:
            self.tries[mid] += 1
            reply = self.answer(mid, self.tries[mid])
            if reply.startswith("250"):
                self.got.append(Got(str(envelope.mail_from), list(envelope.mail_options), list(envelope.rcpt_tos),
                                    content))
        return reply


@contextmanager
def serve(server: Server, **params: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False, **params)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def refuse_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=False, handled=False)  # aiosmtpd answers 535


# ------------------------------------------------------------------ reading a mail
class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hrefs: list[str] = []
        self.lang: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")
        if tag in ("head", "title"):
            self._skip += 1
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data.replace("\n", ""))


def html_text(page: str) -> _Text:
    reader = _Text()
    reader.feed(page)
    return reader


def words(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


def assert_text_and_html_agree(mail: EmailMessage, lang: str = "ja") -> str:
    """A text/plain and a text/html alternative with the same words; every URL a link."""
    alternative = next(p for p in mail.walk() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    plain = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    page = html_text(mail.get_body(("html",)).get_content())
    assert page.lang == lang
    assert words("".join(page.parts)) == words(plain)
    assert page.hrefs == [url.rstrip(".,;:!?)]'") for url in URL_RE.findall(plain)]
    return plain


def roster_names(svc: Any) -> dict[str, tuple[str, str]]:
    """address -> (name, lang) of every member."""
    with svc.store.read() as tx:
        return {m.email: (m.name if m.lang != "en" else (m.name_en or m.name), m.lang) for m in tx.roster()[1]}


def reminder_events(svc: Any) -> Counter[str]:
    return Counter(e.type for e in svc.peek.stream() if e.type.startswith("Reminder"))


# ------------------------------------------------------------------ a real scheduler pass, through the CLI
def due_at_real_time(db_url: str) -> Any:
    """The demo roster with its HQ items filed 20 days ago (their first reminder overdue now)
    and the council convened 3 days ago for 12 hours from now (its invitation overdue)."""
    now = dt.datetime.now(UTC)
    clock = FrozenClock(now - dt.timedelta(days=20))
    svc = make_svc(db_url, clock)
    clock.set(now - dt.timedelta(days=3))
    svc.convene("sato", "council", now + dt.timedelta(hours=12), invited=["nakamura"])
    return svc


def test_a_scheduler_pass_reaches_a_server_without_smtputf8_in_mail_any_client_shows(db_url: str,
                                                                                    tmp_path: Path) -> None:
    """`kaigi scheduler run --once` with `KAIGI_MAIL_FROM='推進本部 事務局 <kaigi@example.jp>'`:
    every message accepted (none failed), 7-bit, named sender and recipients, text and HTML."""
    from cli import cli

    svc = due_at_real_time(db_url)
    names = roster_names(svc)
    server = Server()
    try:
        with serve(server) as port:
            env = {"KAIGI_LANG": "en", "KAIGI_SMTP_URL": f"smtp://127.0.0.1:{port}", "KAIGI_MAIL_FROM": MAIL_FROM,
                   "KAIGI_LOG": str(tmp_path / "kaigi.log")}
            r = CliRunner().invoke(cli, ["--db", db_url, "--json", "scheduler", "run", "--once"], env=env,
                                   catch_exceptions=False)
        assert r.exit_code == 0, r.output
        stats = json.loads(r.stdout)
        rows = svc.peek.deliveries()
        assert rows and stats["failed"] == 0 and stats["retried"] == 0 and stats["sent"] == len(rows), stats
        assert all(d.status == "sent" for d in rows), [(d.status, d.last_error) for d in rows]
        assert len(server.got) == len(rows)
        assert {g.message_id for g in server.got} == {d.message_id for d in rows}
        invitations = 0
        for got in server.got:
            assert got.content.isascii()  # nothing raw 8-bit, headers or body
            assert got.mail_from == "kaigi@example.jp" and "SMTPUTF8" not in got.mail_options
            mail = got.parsed()
            row = next(d for d in rows if d.message_id == mail["Message-ID"])
            (sender,) = mail["From"].addresses
            assert (sender.display_name, sender.addr_spec) == ("推進本部 事務局", "kaigi@example.jp")
            (to,) = mail["To"].addresses
            name, lang = names[row.address]
            assert (to.display_name, to.addr_spec) == (name, row.address) and got.rcpt_tos == [row.address]
            assert name and re.search("[\u3040-\u30ff\u4e00-\u9fff]", name)
            assert mail["Subject"] == row.subject and re.search("[\u3040-\u30ff\u4e00-\u9fff]", mail["Subject"])
            assert re.fullmatch(r"<kaigi\.[^@\s]+@example\.jp>", mail["Message-ID"])
            plain = assert_text_and_html_agree(mail, lang)
            assert plain.strip() == row.body.replace("\r\n", "\n").strip()
            calendars = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
            if row.meeting is not None:
                invitations += 1
                (cal,) = calendars
                assert cal.get_filename() == "invite.ics" and cal.get_param("method") == "REQUEST"
                assert cal.get_content().replace("\r\n", "\n") == (row.ics or "").replace("\r\n", "\n")
            else:
                assert calendars == []
        assert invitations >= 2  # the council's members and the invited member
        assert reminder_events(svc)["ReminderFailed"] == 0
    finally:
        svc.store.close()


def test_a_refused_login_names_no_password_in_output_log_rows_or_events(db_url: str, tmp_path: Path) -> None:
    """535 for the login: each message failed once (a setting to fix, not to retry), and the
    password is nowhere: not on stdout or stderr, not in the log file, the rows or the log of facts."""
    from cli import cli

    svc = due_at_real_time(db_url)
    server = Server()
    log = tmp_path / "kaigi.log"
    try:
        with serve(server, authenticator=refuse_login, auth_require_tls=False) as port:
            quoted = "Pa55%3Aw0rd%2Fs3cret"
            env = {"KAIGI_LANG": "en", "KAIGI_SMTP_URL": f"smtp://kaigi:{quoted}@127.0.0.1:{port}",
                   "KAIGI_MAIL_FROM": MAIL_FROM, "KAIGI_LOG": str(log)}
            r = CliRunner().invoke(cli, ["--db", db_url, "--json", "scheduler", "run", "--once"], env=env,
                                   catch_exceptions=False)
        rows = svc.peek.deliveries()
        assert rows and all(d.status == "failed" and d.attempts == 1 for d in rows)
        assert all(d.last_error and "535" in d.last_error for d in rows), rows[0].last_error
        assert server.got == []
        seen = [r.stdout, r.stderr, log.read_text(encoding="utf-8") if log.exists() else ""]
        seen += [d.last_error or "" for d in rows]
        seen += [json.dumps(e.data, ensure_ascii=False) for e in svc.peek.stream()]
        for text in seen:
            assert SECRET not in text and quoted not in text and "Pa55" not in text
    finally:
        svc.store.close()


def test_a_mail_from_whose_local_part_is_not_ascii_is_refused_once_before_anything_is_claimed(
        demo_cli: Any, db_url: str) -> None:
    """`すいしん@example.jp` cannot go to a server without SMTPUTF8: one line, exit 2, nothing claimed."""
    from store import open_store

    r = demo_cli("scheduler", "run", "--once", env={"KAIGI_SMTP_URL": "smtp://127.0.0.1:2525",
                                                     "KAIGI_MAIL_FROM": "推進本部 <すいしん@example.jp>"})
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.splitlines()
    assert line.startswith("KAIGI_MAIL_FROM: the sender address 'すいしん@example.jp' has letters other than ASCII")
    store = open_store(db_url)
    try:
        with store.read() as tx:
            assert tx.deliveries() == [] and not [e for e in tx.stream() if e.type.startswith("Reminder")]
    finally:
        store.close()


# ------------------------------------------------------------------ retries, in process, on the frozen clock
def dispatcher(svc: Any, port: int, **kw: Any) -> Dispatcher:
    sender = SmtpSender(SmtpConfig("127.0.0.1", port, timeout=5.0), MAIL_FROM, now=svc.clock.now)
    return Dispatcher(svc, {"email": sender}, **kw)


def test_451_is_retried_with_backoff_until_the_server_takes_it(svc: Any, clock: FrozenClock) -> None:
    """Each message answered 451 twice, then 250: not tried again before its backoff, then
    delivered on the third attempt with the same Message-ID; no ReminderFailed."""
    server = Server(answer=lambda _mid, n: "451 4.3.0 try again later" if n <= 2 else "250 OK")
    clock.advance(days=14)
    with serve(server) as port:
        d = dispatcher(svc, port)
        first = d.run_once()
        assert first.sent == 0 and first.failed == 0 and first.retried == 4, first
        assert d.run_once().retried == 0 and sum(server.tries.values()) == 4  # before the backoff: nothing
        clock.advance(seconds=backoff(1).total_seconds() + 1)
        second = d.run_once()
        assert (second.sent, second.retried, second.failed) == (0, 4, 0), second
        clock.advance(seconds=backoff(2).total_seconds() - 2)
        assert d.run_once().retried == 0 and sum(server.tries.values()) == 8  # 2 minutes not yet over
        clock.advance(seconds=3)
        third = d.run_once()
    assert (third.sent, third.retried, third.failed) == (4, 0, 0), third
    rows = svc.peek.deliveries()
    assert all(r.status == "sent" and r.attempts == 3 for r in rows)
    assert set(server.tries.values()) == {3} and {g.message_id for g in server.got} == {r.message_id for r in rows}
    events = reminder_events(svc)
    assert events["ReminderSent"] == 4 and events["ReminderFailed"] == 0


def test_a_server_that_keeps_answering_451_fails_a_message_once_after_max_attempts(svc: Any,
                                                                                  clock: FrozenClock) -> None:
    server = Server(answer=lambda _mid, _n: "451 4.3.0 try again later")
    clock.advance(days=14)
    with serve(server) as port:
        d = dispatcher(svc, port, max_attempts=3)
        totals = Counter[str]()
        for _ in range(6):
            s = d.run_once()
            totals.update(sent=s.sent, retried=s.retried, failed=s.failed)
            clock.advance(hours=1)
    assert totals == Counter(retried=8, failed=4), totals
    assert set(server.tries.values()) == {3}  # three tries each, never a fourth
    failed = [e for e in svc.peek.stream() if e.type == "ReminderFailed"]
    assert len(failed) == 4 and all(e.data["attempts"] == 3 and "451" in e.data["error"] for e in failed)


def test_a_server_down_is_retried_after_the_backoff_and_then_gets_every_mail(svc: Any, clock: FrozenClock) -> None:
    """Connection refused: every message of the pass waits (transient), none failed; once the
    server listens and the backoff is over, each arrives once."""
    server = Server()
    port = free_port()
    clock.advance(days=14)
    sender = SmtpSender(SmtpConfig("127.0.0.1", port, timeout=2.0), MAIL_FROM, now=clock.now)
    d = Dispatcher(svc, {"email": sender})
    down = d.run_once()
    assert (down.sent, down.retried, down.failed) == (0, 4, 0), down
    assert all("127.0.0.1" in (r.last_error or "") for r in svc.peek.deliveries())
    controller = Controller(server, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        clock.advance(minutes=1, seconds=1)
        up = d.run_once()
    finally:
        controller.stop()
    assert (up.sent, up.retried, up.failed) == (4, 0, 0), up
    assert set(server.tries.values()) == {1} and len(server.got) == 4
    assert reminder_events(svc)["ReminderFailed"] == 0


def test_550_is_one_failure_and_no_further_attempt(svc: Any, clock: FrozenClock) -> None:
    server = Server(answer=lambda _mid, _n: "550 5.1.1 mailbox unavailable")
    clock.advance(days=14)
    with serve(server) as port:
        d = dispatcher(svc, port)
        first = d.run_once()
        clock.advance(hours=3)
        later = d.run_once()
    assert (first.sent, first.retried, first.failed) == (0, 0, 4), first
    assert (later.sent, later.retried, later.failed) == (0, 0, 0), later
    assert set(server.tries.values()) == {1} and len(server.tries) == 4
    rows = svc.peek.deliveries()
    assert all(r.status == "failed" and r.attempts == 1 and "550" in (r.last_error or "") for r in rows)
    assert reminder_events(svc)["ReminderFailed"] == 4


def test_a_delivery_carrying_a_stored_paper_arrives_with_it_after_the_calendar(svc: Any, clock: FrozenClock) -> None:
    """A delivery row naming a stored document (its sha256) is mailed with that document
    attached after the invitation's .ics; its Japanese file name survives."""
    pdf = b"%PDF-1.4\n% kaigi test\n%%EOF\n"
    sha = hashlib.sha256(pdf).hexdigest()
    with svc.store.act(head=False) as tx:
        tx.put_document(DocumentRecord(sha, "会議通知.pdf", "application/pdf", pdf))

    class WithPaper(Dispatcher):  # as the meeting notice will: its rows carry the paper
        def _fire(self, *args: Any, **kw: Any) -> Any:
            fact, msgs = super()._fire(*args, **kw)
            return fact, [replace(m, attachment=sha) if m.meeting is not None else m for m in msgs]

    server = Server()
    starts = clock.now() + dt.timedelta(days=2)
    svc.convene("sato", "council", starts, invited=["nakamura"])
    clock.advance(days=1, minutes=1)
    with serve(server) as port:
        sender = SmtpSender(SmtpConfig("127.0.0.1", port, timeout=5.0), MAIL_FROM, now=clock.now)
        stats = WithPaper(svc, {"email": sender}).run_once()
    assert stats.sent == len(server.got) > 0 and stats.failed == 0, stats
    for got in server.got:
        mail = got.parsed()
        assert mail.get_content_type() == "multipart/mixed"
        parts = [p.get_content_type() for p in mail.iter_parts()]
        assert parts == ["multipart/alternative", "text/calendar", "application/pdf"], parts
        paper = list(mail.iter_attachments())[-1]
        assert paper.get_filename() == "会議通知.pdf" and paper.get_content() == pdf


# ------------------------------------------------------------------ the sender alone
def test_the_outbox_line_names_the_attachments_without_copying_them(tmp_path: Path) -> None:
    from engine.reminders.senders import OutboxSender

    out = tmp_path / "outbox.jsonl"
    OutboxSender(out).send(Message("<a@b>", ("sato",), "件名", "本文",
                                   attachments=(Attachment("会議通知.pdf", "application/pdf", b"%PDF"),)))
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["attachments"] == [{"filename": "会議通知.pdf", "media_type": "application/pdf",
                                      "sha256": hashlib.sha256(b"%PDF").hexdigest(), "size": 4}]


def test_the_html_part_escapes_links_urls_and_keeps_line_breaks_and_language() -> None:
    body = "Mr Sato\n\n  <b>R&D</b> \"quoted\"\nSee https://kaigi.example.jp/meetings/1?a=1&b=2.\n詳細は https://kaigi.example.jp/m/2。"
    page = html_body(body, "Subject <x>", "en")
    assert '<html lang="en">' in page and "<b>" not in page and "&lt;b&gt;R&amp;D&lt;/b&gt;" in page
    assert '<a href="https://kaigi.example.jp/meetings/1?a=1&amp;b=2">' in page
    assert '<a href="https://kaigi.example.jp/m/2">' in page  # the Japanese full stop is not part of it
    assert page.count("<br>") == body.count("\n")
    reader = html_text(page)
    assert words("".join(reader.parts)) == words(body)
    assert reader.hrefs == ["https://kaigi.example.jp/meetings/1?a=1&b=2", "https://kaigi.example.jp/m/2"]
    assert '<html lang="ja">' in html_body("x", "s", "ja")


def test_a_japanese_mail_is_7bit_and_names_everyone_in_encoded_words() -> None:
    msg = Message("<kaigi.1@example.jp>", ("sato@example.jp", "kato@例え.jp"), "【kaigi】会議1のご案内",
                  "佐藤 様\n\n会議のご案内です。\nhttps://kaigi.example.jp/meetings/1\n",
                  ics="BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n", ics_method="CANCEL",
                  names=("佐藤 一郎", "加藤, 二郎"), attachments=(Attachment("資料.pdf", "application/pdf", b"%PDF"),))
    raw = build_email(msg, MAIL_FROM, dt.datetime(2026, 12, 1, tzinfo=UTC)).as_bytes()
    assert raw.isascii()
    header_block = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" in header_block and "推進" not in header_block
    mail = message_from_bytes(raw, policy=policy.default)
    assert [(a.display_name, a.addr_spec) for a in mail["To"].addresses] == [
        ("佐藤 一郎", "sato@example.jp"), ("加藤, 二郎", "kato@xn--r8jz45g.jp")]
    assert mail["Subject"] == "【kaigi】会議1のご案内"
    assert_text_and_html_agree(mail)
    (cal, paper) = mail.iter_attachments()
    assert cal.get_param("method") == "CANCEL" and paper.get_filename() == "資料.pdf"


def test_the_envelope_sender_is_the_bare_address_and_an_idn_domain_is_idna() -> None:
    assert envelope_sender(MAIL_FROM) == "kaigi@example.jp"
    assert envelope_sender("kaigi@example.jp") == "kaigi@example.jp"
    assert envelope_sender("会議 <kaigi@例え.jp>") == "kaigi@xn--r8jz45g.jp"
    with pytest.raises(ValueError, match="other than ASCII before the @"):
        SmtpSender(SmtpConfig("127.0.0.1", 25), "推進本部 <すいしん@example.jp>")


def test_a_recipient_whose_local_part_is_not_ascii_fails_that_message_for_good() -> None:
    smtp = SmtpSender(SmtpConfig("127.0.0.1", free_port(), timeout=1.0), MAIL_FROM)
    with pytest.raises(DeliveryError) as caught:
        smtp.send(Message("<a@example.jp>", ("さとう@example.jp",), "件名", "本文"))
    assert caught.value.transient is False and "ASCII" in str(caught.value)


def test_message_ids_take_the_parsed_senders_domain_and_stay_the_same() -> None:
    """R-N: the Message-ID of a delivery is a function of the delivery (a resend is recognisable)."""
    first = message_id("staff_meeting/1", 0, "yamamoto", MAIL_FROM)
    assert first == message_id("staff_meeting/1", 0, "yamamoto", MAIL_FROM)
    assert re.fullmatch(r"<kaigi\.[0-9a-f]{20}\.0\.yamamoto@example\.jp>", first), first
    assert message_id("x", 0, "y", "会議 <kaigi@例え.jp>").endswith("@xn--r8jz45g.jp>")
    assert message_id("x", 0, "y", "example.jp").endswith("@example.jp>")


def test_transient_and_permanent_smtp_errors() -> None:
    """4xx, refused or lost connections and timeouts are retried; 5xx and settings the server
    cannot meet are not."""
    import smtplib

    from engine.reminders.senders import _classify

    cases = {
        smtplib.SMTPDataError(451, b"later"): True,
        smtplib.SMTPDataError(554, b"no"): False,
        smtplib.SMTPSenderRefused(421, b"busy", "k@x"): True,
        smtplib.SMTPSenderRefused(553, b"no", "k@x"): False,
        smtplib.SMTPConnectError(421, b"busy"): True,
        smtplib.SMTPConnectError(554, b"no service"): False,
        smtplib.SMTPAuthenticationError(535, b"bad"): False,
        smtplib.SMTPAuthenticationError(454, b"temp"): True,
        smtplib.SMTPServerDisconnected("lost"): True,
        smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."): False,
        smtplib.SMTPException("No suitable authentication method found."): False,
        ConnectionRefusedError(111, "Connection refused"): True,
        ConnectionResetError(104, "Connection reset by peer"): True,
        TimeoutError("timed out"): True,
    }
    wrong = [(repr(e), transient) for e, transient in cases.items() if _classify(e)[1] != transient]
    assert wrong == []


def test_a_password_smtplib_cannot_send_is_a_permanent_error_that_does_not_show_it() -> None:
    """smtplib logs in in ASCII only: a Japanese password is a setting to fix, said without it."""
    with serve(Server(), authenticator=refuse_login, auth_require_tls=False) as port:
        smtp = SmtpSender(SmtpConfig("127.0.0.1", port, "kaigi", "秘密のPa55", timeout=5.0), MAIL_FROM)
        with pytest.raises(DeliveryError) as caught:
            smtp.send(Message("<a@example.jp>", ("sato@example.jp",), "件名", "本文"))
    assert caught.value.transient is False and "not ASCII" in str(caught.value)
    assert "秘密" not in str(caught.value) and "Pa55" not in repr(caught.value)
