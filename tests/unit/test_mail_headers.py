"""Header-unsafe text never reaches a mail header (issue 15 item 9).

Measured on main 71839af: an item titled with a CRLF made `build_email` refuse its reminder
(the mail library will not put a line break in a header), so the reminder failed for good
and nobody was told the item waited; a NUL, an escape or a right-to-left override went into
the Subject as it was. Now titles and names are folded to one line without control, bidi or
zero-width characters in every header (engine/reminders/headers.py); the body keeps them.
The checks parse the mail with Python's `email` parser, as a receiving program would.
"""

import datetime as dt
import unicodedata
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine.core.errors import BadInput
from engine.core.events import ItemFiled
from engine.reminders.dispatch import Dispatcher, message_id
from engine.reminders.headers import header_text
from engine.reminders.senders import Message, OutboxSender, SmtpConfig, SmtpSender, build_email
from tests.unit.test_delivery import Collector, free_port

SENT_AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
INJECTION = "Bcc: evil@example.com"
# Line breaks the mail library refuses, controls it lets through, and invisible format characters.
NASTY = ["\r\n", "\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\x00", "\x1b", "\x7f", "\t",
         "\u202e", "\u2066", "\u200b", "\u200f", "\ufeff"]
EXPECTED_HEADERS = {"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Content-Type",
                    "MIME-Version"}  # multipart/alternative (text and HTML): no Content-Transfer-Encoding


def unsafe(text: str) -> list[str]:
    """The characters of `text` that may not be in a header."""
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


def parse(raw: bytes) -> Any:
    return message_from_bytes(raw, policy=policy.default)


def assert_one_clean_line(raw: bytes, subject_has: tuple[str, ...]) -> Any:
    """The mail parses to the headers kaigi writes and no other; the Subject is one clean line."""
    mail = parse(raw)
    assert set(mail.keys()) == EXPECTED_HEADERS, mail.keys()  # no Bcc (or anything else) injected
    assert mail["Bcc"] is None and len(mail.get_all("Subject")) == 1
    subject = str(mail["Subject"])
    assert "\n" not in subject and "\r" not in subject and not unsafe(subject), repr(subject)
    for part in subject_has:
        assert part in subject, (part, subject)
    assert all(not unsafe(str(mail[h])) for h in mail), {h: str(mail[h]) for h in mail}
    return mail


@pytest.mark.parametrize("bad", NASTY, ids=["-".join(f"U+{ord(x):04X}" for x in c) for c in NASTY])
def test_a_subject_with_a_line_break_or_control_is_one_clean_line(bad: str) -> None:
    msg = Message("<kaigi.1@example.jp>", ("sato@example.jp",), f"【督促】案件{bad}{INJECTION}", "本文\n")
    raw = build_email(msg, "kaigi@example.jp", SENT_AT).as_bytes()
    assert_one_clean_line(raw, ("【督促】案件", INJECTION))


def test_the_from_display_name_loses_bidi_and_a_from_with_a_line_break_is_refused_at_start() -> None:
    raw = build_email(Message("<a@b>", ("sato@example.jp",), "s", "b"), "\u202e会議\u200bシステム <kaigi@x.jp>",
                      SENT_AT).as_bytes()
    mail = assert_one_clean_line(raw, ())
    assert "会議システム" in str(mail["From"]) and mail["From"].addresses[0].addr_spec == "kaigi@x.jp"
    with pytest.raises(ValueError, match="not one mailbox on one line"):
        SmtpSender(SmtpConfig("127.0.0.1", 25), f"Kaigi\r\n{INJECTION} <kaigi@x.jp>")


def test_a_recipient_address_with_a_control_is_refused_not_rewritten() -> None:
    with pytest.raises(ValueError, match="recipient address"):
        build_email(Message("<a@b>", ("sato@example.jp\x00",), "s", "b"), "kaigi@x.jp", SENT_AT)


def test_message_ids_are_visible_ascii_and_the_same_for_every_send_of_a_delivery() -> None:
    """A KAIGI_MAIL_FROM with a display name gave the domain `x.jp>`; the Message-ID stays
    well formed and is a function of the delivery alone (a resend carries the same)."""
    first = message_id("staff_meeting/1", 0, "yamamoto", "x.jp>")
    assert first == message_id("staff_meeting/1", 0, "yamamoto", "x.jp>") == \
        f"<kaigi.{first.split('.')[1]}.0.yamamoto@x.jp>"
    assert first != message_id("staff_meeting/1", 1, "yamamoto", "x.jp>")
    raw = build_email(Message(first + "\r\nBcc: x", ("sato@example.jp",), "s", "b"), "k@x.jp", SENT_AT).as_bytes()
    assert_one_clean_line(raw, ())  # no space, no line break in it: it cannot add a header
    assert str(parse(raw)["Message-ID"]).startswith(first)


def test_the_outbox_line_has_a_one_line_subject_and_the_body_keeps_the_text(tmp_path: Any) -> None:
    import json

    out = tmp_path / "outbox.jsonl"
    OutboxSender(out).send(Message("<a@b>", ("sato",), f"件名\r\n{INJECTION}\u202e", f"本文\r\n{INJECTION}\u202e"))
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["subject"] == f"件名 {INJECTION}" and record["body"] == f"本文\r\n{INJECTION}\u202e"


def test_header_text_keeps_japanese_and_its_spaces() -> None:
    assert header_text("【督促】山本　七子 様\u3000案件") == "【督促】山本　七子 様\u3000案件"
    assert header_text(" a\r\n\r\n\tb \u200b") == "a b"


# ------------------------------------------------------------------ the reminder is delivered
def file_with_title(svc: Any, title: str) -> int:
    """An HQ item with this title. Should filing refuse such a title one day, the item comes
    as an older log would carry it: recorded before titles were checked."""
    try:
        return int(svc.file_item("yamamoto", title).fact.item)
    except BadInput:
        with svc.store.read() as tx:
            item = tx.max_id("item") + 1
        book = svc.book()
        svc.system([ItemFiled(item=item, title=title, body="hq", team=None, note="", state=book.initial,
                              origin=None)])
        return item


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    collector, port = Collector(), free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


def test_a_crlf_title_is_reminded_with_a_one_line_subject_and_the_title_in_the_body(
        fast: Any, clock: Any, smtp: tuple[Collector, int]) -> None:
    """The reminder of an item titled `…\\r\\nBcc: evil@example.com\\u202e` goes out over SMTP:
    one Subject line holding the whole title, no Bcc, the title's lines in the body."""
    collector, port = smtp
    title = f"庁舎警備の件\r\n{INJECTION}\u202e\x1b[31m"
    item = file_with_title(fast, title)
    clock.advance(days=14)
    sender = SmtpSender(SmtpConfig("127.0.0.1", port, timeout=5.0), "kaigi@example.jp")
    stats = Dispatcher(fast, {"email": sender}).run_once()
    assert stats.failed == 0 and stats.retried == 0, stats
    rows = [d for d in fast.peek.deliveries() if d.item == item]
    assert rows and all(d.status == "sent" for d in rows), [(d.status, d.last_error) for d in rows]
    mails = [parse(r.content) for r in collector.received]
    ours = [m for m in mails if f"庁舎警備の件 {INJECTION}" in str(m["Subject"])]
    assert len(ours) == len(rows)
    for mail in ours:
        assert_one_clean_line(mail.as_bytes(), ("庁舎警備の件", INJECTION, "[31m"))
        body = mail.get_body(("plain",)).get_content()
        assert "庁舎警備の件" in body and INJECTION in body


def test_a_mail_from_with_a_line_break_is_refused_before_anything_is_claimed(demo_cli: Any, db_url: str) -> None:
    """`scheduler run` says so on one line, exit 2, and claims, fires and sends nothing."""
    from store import open_store

    r = demo_cli("scheduler", "run", "--once", env={"KAIGI_SMTP_URL": "smtp://127.0.0.1:2525",
                                                     "KAIGI_MAIL_FROM": f"Kaigi\r\n{INJECTION} <kaigi@x.jp>"})
    assert r.exit_code == 2, r.output
    assert r.stderr.splitlines() == [f"KAIGI_MAIL_FROM: the sender 'Kaigi {INJECTION} <kaigi@x.jp>' "
                                     "is not one mailbox on one line"]
    store = open_store(db_url)
    try:
        with store.read() as tx:
            assert tx.deliveries() == [] and not [e for e in tx.stream() if e.type.startswith("Reminder")]
    finally:
        store.close()
