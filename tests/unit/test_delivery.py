"""Delivery of reminder messages: a real SMTP server in the test process, URL parsing, the outbox file."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from engine.reminders.senders import (
    DeliveryError,
    Message,
    OutboxSender,
    SmtpConfig,
    SmtpSender,
    build_email,
    parse_smtp_url,
    redact_url,
)

ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:職員会議\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
SENT_AT = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
SECRET = "s3cr:et/p@ss"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message(**overrides: Any) -> Message:
    args: dict[str, Any] = {
        "message_id": "<reminder-12-3-0-abcd@kaigi>",
        "to": ("sato@example.jp",),
        "subject": "【督促】職員会議の開催期限",
        "body": "佐藤様\n\n案件12の職員会議が未開催です。\n",
    }
    args.update(overrides)
    return Message(**args)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any
    authenticated: bool

    def parsed(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Collector:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 Message accepted for delivery"

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        authenticated = bool(session.authenticated)
        got = Received(str(envelope.mail_from), list(envelope.rcpt_tos), content, session.peer, authenticated)
        self.received.append(got)
        return self.data_reply


def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"kaigi",
        SECRET.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535 itself


@pytest.fixture
def collector() -> Collector:
    return Collector()


def _serve(collector: Collector, **smtp_params: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, **smtp_params)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def plain_port(collector: Collector) -> Iterator[int]:
    yield from _serve(collector)


@pytest.fixture
def auth_port(collector: Collector) -> Iterator[int]:
    yield from _serve(collector, authenticator=authenticate, auth_require_tls=False)


def sender(port: int, **config: Any) -> SmtpSender:
    config.setdefault("timeout", 5.0)
    return SmtpSender(SmtpConfig(host="127.0.0.1", port=port, **config), "kaigi@example.jp", now=lambda: SENT_AT)


class TestSmtpSender:
    def test_delivers_message_with_invite(self, collector: Collector, plain_port: int) -> None:
        """Envelope, headers, Japanese subject and body, and the invite.ics attachment arrive intact."""
        # send one reminder with an invitation to two members
        msg = message(to=("sato@example.jp", "suzuki@example.jp"), ics=ICS)
        sender(plain_port).send(msg)
        # the server saw one envelope with both recipients
        assert 1 == len(collector.received)
        got = collector.received[0]
        assert "kaigi@example.jp" == got.mail_from
        assert ["sato@example.jp", "suzuki@example.jp"] == got.rcpt_tos
        # the headers decode to what was sent; the Message-ID is exactly the stable id
        mail = got.parsed()
        assert "【督促】職員会議の開催期限" == mail["Subject"]
        assert "<reminder-12-3-0-abcd@kaigi>" == mail["Message-ID"]
        assert "kaigi@example.jp" == mail["From"]
        assert "sato@example.jp, suzuki@example.jp" == mail["To"]
        assert "auto-generated" == mail["Auto-Submitted"]
        assert mail["Date"].datetime == SENT_AT
        # the body is UTF-8 text (in MIME's canonical CRLF line endings)
        body = mail.get_body(("plain",))
        assert body is not None
        assert "utf-8" == body.get_content_charset()
        assert msg.body == body.get_content().replace("\r\n", "\n")
        # the calendar is an attachment named invite.ics with method=REQUEST
        (attachment,) = list(mail.iter_attachments())
        assert "text/calendar" == attachment.get_content_type()
        assert "REQUEST" == attachment.get_param("method")
        assert "utf-8" == attachment.get_content_charset()
        assert "invite.ics" == attachment.get_filename()
        assert ICS == attachment.get_content()

    def test_cancel_method_on_attachment(self, collector: Collector, plain_port: int) -> None:
        """The attachment's method parameter follows ``ics_method``."""
        sender(plain_port).send(message(ics=ICS.replace("REQUEST", "CANCEL"), ics_method="CANCEL"))
        (attachment,) = list(collector.received[0].parsed().iter_attachments())
        assert "CANCEL" == attachment.get_param("method")

    def test_no_login_without_username(self, collector: Collector, auth_port: int) -> None:
        """Without a username the sender does not authenticate."""
        sender(auth_port).send(message())
        assert [False] == [got.authenticated for got in collector.received]

    def test_no_attachment_without_ics(self, collector: Collector, plain_port: int) -> None:
        """Without ``ics`` the mail is its text and the HTML made from it, nothing attached."""
        sender(plain_port).send(message(headers=(("X-Kaigi-Item", "12"),)))
        mail = collector.received[0].parsed()
        assert "multipart/alternative" == mail.get_content_type()
        assert ["text/plain", "text/html"] == [p.get_content_type() for p in mail.iter_parts()]
        assert [] == list(mail.iter_attachments())
        assert "12" == mail["X-Kaigi-Item"]

    def test_refused_recipient_is_permanent(self, collector: Collector, plain_port: int) -> None:
        """A 550 for the only recipient is a permanent DeliveryError naming the address."""
        collector.refuse["nobody@example.jp"] = "550 no such user"
        with pytest.raises(DeliveryError) as excinfo:
            sender(plain_port).send(message(to=("nobody@example.jp",)))
        assert excinfo.value.transient is False
        assert ("nobody@example.jp",) == excinfo.value.refused
        assert "550" in str(excinfo.value)
        assert [] == collector.received

    def test_greylisted_recipient_is_transient(self, collector: Collector, plain_port: int) -> None:
        """A 4xx for the recipients is worth retrying."""
        collector.refuse["sato@example.jp"] = "450 try again later"
        with pytest.raises(DeliveryError) as excinfo:
            sender(plain_port).send(message())
        assert excinfo.value.transient is True

    def test_partly_refused_is_reported(self, collector: Collector, plain_port: int) -> None:
        """If some recipients are refused, the others get it and the error names the refused ones."""
        collector.refuse["nobody@example.jp"] = "550 no such user"
        with pytest.raises(DeliveryError) as excinfo:
            sender(plain_port).send(message(to=("sato@example.jp", "nobody@example.jp")))
        assert excinfo.value.transient is False
        assert ("nobody@example.jp",) == excinfo.value.refused
        assert ["sato@example.jp"] == collector.received[0].rcpt_tos

    def test_data_rejected_is_permanent(self, collector: Collector, plain_port: int) -> None:
        """A 554 after DATA is permanent."""
        collector.data_reply = "554 rejected as spam"
        with pytest.raises(DeliveryError) as excinfo:
            sender(plain_port).send(message())
        assert excinfo.value.transient is False
        assert "554" in str(excinfo.value)

    def test_unreachable_is_transient(self) -> None:
        """Nobody listening on the port is a transient error."""
        with pytest.raises(DeliveryError) as excinfo:
            sender(free_port()).send(message())
        assert excinfo.value.transient is True

    def test_silent_server_times_out(self) -> None:
        """A server that accepts but never greets times out as a transient error."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            port = listener.getsockname()[1]
            with pytest.raises(DeliveryError) as excinfo:
                sender(port, timeout=0.3).send(message())
        assert excinfo.value.transient is True

    def test_login(self, collector: Collector, auth_port: int) -> None:
        """With a username the sender logs in; the server requires it."""
        sender(auth_port, username="kaigi", password=SECRET).send(message())
        assert [True] == [got.authenticated for got in collector.received]

    def test_bad_password_is_permanent_and_hidden(self, collector: Collector, auth_port: int) -> None:
        """A refused login is permanent, and the password appears nowhere in the error."""
        wrong = "wrong-" + SECRET
        with pytest.raises(DeliveryError) as excinfo:
            sender(auth_port, username="kaigi", password=wrong).send(message())
        assert excinfo.value.transient is False
        assert "535" in str(excinfo.value)
        assert wrong not in str(excinfo.value)
        assert wrong not in repr(excinfo.value)
        assert excinfo.value.__cause__ is None

    def test_batch_reuses_one_connection(self, collector: Collector, plain_port: int) -> None:
        """Inside ``with sender:`` several messages travel over one connection."""
        with sender(plain_port) as batch:
            batch.send(message(message_id="<a@kaigi>"))
            batch.send(message(message_id="<b@kaigi>"))
        assert 2 == len(collector.received)
        assert collector.received[0].peer == collector.received[1].peer

    def test_separate_sends_use_separate_connections(self, collector: Collector, plain_port: int) -> None:
        """Without ``with`` each send connects and quits."""
        smtp = sender(plain_port)
        smtp.send(message(message_id="<a@kaigi>"))
        smtp.send(message(message_id="<b@kaigi>"))
        assert collector.received[0].peer != collector.received[1].peer

    def test_batch_survives_a_refused_message(self, collector: Collector, plain_port: int) -> None:
        """A permanent refusal in a batch does not stop the next message."""
        collector.refuse["nobody@example.jp"] = "550 no such user"
        with sender(plain_port) as batch:
            with pytest.raises(DeliveryError):
                batch.send(message(to=("nobody@example.jp",)))
            batch.send(message())
        assert 1 == len(collector.received)

    def test_no_recipients_is_permanent(self, plain_port: int) -> None:
        """A message without recipients is refused before connecting."""
        with pytest.raises(DeliveryError) as excinfo:
            sender(plain_port).send(message(to=()))
        assert excinfo.value.transient is False

    def test_reserved_header_is_permanent(self, plain_port: int) -> None:
        """A message may not override the headers kaigi sets."""
        with pytest.raises(DeliveryError) as excinfo:
            sender(plain_port).send(message(headers=(("Message-ID", "<other@kaigi>"),)))
        assert "Message-ID" in str(excinfo.value)

    def test_sender_repr_hides_password(self) -> None:
        """The sender's repr shows the config without its password."""
        smtp = SmtpSender(SmtpConfig("h", 25, "u", SECRET), "kaigi@example.jp")
        assert SECRET not in repr(smtp)


class TestBuildEmail:
    def test_ascii_body_stays_readable(self) -> None:
        """An ASCII body is sent as 7bit text; a Japanese one as base64, so no 8BITMIME is needed."""
        ascii_mail = build_email(message(body="hello\n"), "kaigi@example.jp", SENT_AT)
        japanese_mail = build_email(message(), "kaigi@example.jp", SENT_AT)
        assert "7bit" == ascii_mail.get_body(("plain",))["Content-Transfer-Encoding"]
        assert "base64" == japanese_mail.get_body(("plain",))["Content-Transfer-Encoding"]
        assert japanese_mail.as_bytes().isascii()

    def test_header_injection_folded(self) -> None:
        """A line break in a subject cannot add headers: it folds to a space and the mail goes
        (before, the message was refused and its reminder failed for good)."""
        em = build_email(message(subject="x\r\nBcc: evil@example.com"), "kaigi@example.jp", SENT_AT)
        parsed = message_from_bytes(em.as_bytes(), policy=policy.default)
        assert parsed["Bcc"] is None and "x Bcc: evil@example.com" == parsed["Subject"]


class TestParseSmtpUrl:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("smtp://mail.example.jp", SmtpConfig("mail.example.jp", 25)),
            ("smtp://mail.example.jp:2525", SmtpConfig("mail.example.jp", 2525)),
            ("smtps://mail.example.jp", SmtpConfig("mail.example.jp", 465, ssl=True)),
            ("smtp://mail.example.jp:587?starttls=1", SmtpConfig("mail.example.jp", 587, starttls=True)),
            ("smtp://h?starttls=true&timeout=2.5", SmtpConfig("h", 25, starttls=True, timeout=2.5)),
            ("smtp://h?starttls=0", SmtpConfig("h", 25)),
            ("smtp://kaigi:pw@h:587", SmtpConfig("h", 587, "kaigi", "pw")),
            ("smtp://kaigi@h", SmtpConfig("h", 25, "kaigi")),
            ("smtp://k%40pref.jp:s3cr%3Aet%2Fp%40ss@h", SmtpConfig("h", 25, "k@pref.jp", SECRET)),
            ("SMTPS://U:P@MAIL.example.jp/", SmtpConfig("mail.example.jp", 465, "U", "P", ssl=True)),
            ("smtp://[::1]:2525", SmtpConfig("::1", 2525)),
        ],
    )
    def test_valid(self, url: str, expected: SmtpConfig) -> None:
        """Ports default by scheme; user and password are percent-decoded."""
        assert expected == parse_smtp_url(url)

    @pytest.mark.parametrize(
        ("url", "needle"),
        [
            ("http://u:topsecret@h", "scheme"),
            ("smtp://u:topsecret@h:notaport", "port"),
            ("smtp://u:topsecret@h:70000", "port"),
            ("smtp://u:topsecret@:25", "no host"),
            ("smtp://u:top/secret@h:25", "path"),
            ("smtp://u:topsecret@h?tls=1", "unknown option tls"),
            ("smtp://u:topsecret@h?starttls=maybe", "starttls"),
            ("smtp://u:topsecret@h?timeout=-1", "timeout"),
            ("smtps://u:topsecret@h?starttls=1", "smtps"),
            ("", "scheme"),
        ],
    )
    def test_invalid(self, url: str, needle: str) -> None:
        """A bad URL gives one line naming the problem, without the password."""
        with pytest.raises(ValueError) as excinfo:
            parse_smtp_url(url)
        text = str(excinfo.value)
        assert needle in text
        assert "\n" not in text
        assert "secret" not in text
        assert excinfo.value.__cause__ is None

    def test_repr_hides_password(self) -> None:
        """repr and str of a config never show the password."""
        config = parse_smtp_url("smtp://kaigi:topsecret@h")
        assert "topsecret" not in repr(config)
        assert "topsecret" not in str(config)
        assert "password='***'" in repr(config)
        assert "topsecret" not in f"{[config]}"

    def test_repr_without_password(self) -> None:
        """Without a password the repr says None, not ***."""
        assert "password=None" in repr(SmtpConfig("h", 25))


class TestRedactUrl:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("smtp://u:pw@h:25", "smtp://u:***@h:25"),
            ("smtp://u:p/w@h:25", "smtp://u:***@h:25"),
            ("smtp://u@h", "smtp://u@h"),
            ("smtp://h:25", "smtp://h:25"),
            ("postgresql+psycopg://kaigi:pw@db/kaigi", "postgresql+psycopg://kaigi:***@db/kaigi"),
            ("postgresql://db/kaigi?user=k&password=pw", "postgresql://db/kaigi?user=k&password=***"),
            ("sqlite:////srv/a:b@c/kaigi.db", "sqlite:////srv/a:b@c/kaigi.db"),
        ],
    )
    def test_redact(self, url: str, expected: str) -> None:
        """Passwords in the userinfo or a password option are masked; file paths are left alone."""
        assert expected == redact_url(url)


class TestOutboxSender:
    def test_appends_json_lines(self, tmp_path: Path) -> None:
        """Each send appends one JSON line with the Japanese text intact."""
        path = tmp_path / "out" / "outbox.jsonl"
        outbox = OutboxSender(path)
        outbox.send(message(ics=ICS, headers=(("X-Kaigi-Item", "12"),)))
        outbox.send(message(message_id="<b@kaigi>"))
        raw = path.read_text(encoding="utf-8")
        assert "【督促】" in raw  # not \\u-escaped
        lines = raw.splitlines()
        assert 2 == len(lines)
        first, second = (json.loads(line) for line in lines)
        assert {
            "message_id": "<reminder-12-3-0-abcd@kaigi>",
            "to": ["sato@example.jp"],
            "subject": "【督促】職員会議の開催期限",
            "body": "佐藤様\n\n案件12の職員会議が未開催です。\n",
            "ics": ICS,
            "headers": {"X-Kaigi-Item": "12"},
        } == first
        assert None is second["ics"]
        assert "<b@kaigi>" == second["message_id"]

    def test_fsyncs_before_returning(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The line is fsynced before send returns."""
        import engine.reminders.senders as delivery

        synced: list[int] = []
        real_fsync = delivery.os.fsync
        monkeypatch.setattr(delivery.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
        OutboxSender(tmp_path / "outbox.jsonl").send(message())
        assert synced

    def test_concurrent_appends_stay_whole(self, tmp_path: Path) -> None:
        """Lines written from several threads never interleave."""
        path = tmp_path / "outbox.jsonl"
        outbox = OutboxSender(path)
        big = "長文" * 5000

        def work(n: int) -> None:
            for i in range(10):
                outbox.send(message(message_id=f"<{n}-{i}@kaigi>", body=big))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert 40 == len(records)
        assert all(big == r["body"] for r in records)

    def test_unwritable_is_delivery_error(self, tmp_path: Path) -> None:
        """A path that cannot be written raises DeliveryError rather than OSError."""
        blocker = tmp_path / "file"
        blocker.write_text("")
        with pytest.raises(DeliveryError):
            OutboxSender(blocker / "outbox.jsonl").send(message())
