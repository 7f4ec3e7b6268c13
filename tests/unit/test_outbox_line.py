"""The outbox line of a reminder, written with orjson (`senders._plain_line`), is byte for
byte the json.dumps(record, ensure_ascii=False) line it was before: resends look for their
Message-ID by that line's opening text, and readers may hold older files (issue 21)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.reminders.senders import Attachment, Message, OutboxSender, _plain_line

NASTY = ["", "\r\n", "\n", "\x00", "\x1b", "\x7f", "\t", "\x85", "\u2028", "\u202e", "\ufeff", '"', "\\", "/",
         "日本語の件名", "\U0001f600", "\x08\x0c", "</script>", "\ud800"]
texts = st.one_of(st.sampled_from(NASTY), st.text(), st.text(alphabet=st.characters(codec="utf-8")))


def _json_line(msg: Message) -> bytes:
    return OutboxSender._line(msg)


@settings(max_examples=200, deadline=None)
@given(mid=texts, to=st.lists(texts, max_size=3), subject=texts, body=texts, ics=st.none() | texts)
def test_plain_line_is_the_json_line(mid: str, to: list[str], subject: str, body: str, ics: str | None) -> None:
    msg = Message(message_id=mid, to=tuple(to), subject=subject, body=body, ics=ics)
    try:
        want = _json_line(msg)
    except UnicodeEncodeError:  # a lone surrogate: the json path fails, and so does the message
        assert _plain_line(msg) is None
        return
    got = _plain_line(msg)
    assert got == want
    assert json.loads(got) == json.loads(want)


def test_headers_or_attachments_take_the_json_path() -> None:
    assert _plain_line(Message(message_id="<a@b>", to=("x@y",), subject="s", body="b", headers=(("X-A", "1"),))) \
        is None
    assert _plain_line(Message(message_id="<a@b>", to=("x@y",), subject="s", body="b",
                               attachments=(Attachment("n.pdf", "application/pdf", b"%PDF"),))) is None
    line = _plain_line(Message(message_id="<a@b>", to=(), subject="s", body="b"))
    assert line == b'{"message_id": "<a@b>", "to": [], "subject": "s", "body": "b", "ics": null, "headers": {}}\n'
