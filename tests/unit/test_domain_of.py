"""`domain_of` (the domain of Message-IDs and calendar UIDs, from KAIGI_MAIL_FROM) answers
a plain `local@domain` without the mail library, and that answer is the one the mail
library's parser gives (a resend's Message-ID must not change with the path taken)."""

from email.utils import parseaddr

from hypothesis import given
from hypothesis import strategies as st

from engine.reminders.headers import _DOMAIN_UNSAFE, ascii_domain, domain_of, header_text


def by_the_parser(value: str) -> str:
    """What domain_of answered before it had a plain path: always through parseaddr."""
    text = header_text(value)
    if "@" in text or "<" in text:
        text = (parseaddr(text)[1] or text).rpartition("@")[2]
    try:
        text = ascii_domain(text)
    except ValueError:
        pass
    return _DOMAIN_UNSAFE.sub("", text).strip(".-") or "kaigi.local"


ADDRESS_CHARS = st.sampled_from(list('abcXYZ019._%+-@<>\\" ,;:()[]例'))


@given(st.text(ADDRESS_CHARS, max_size=30))
def test_the_plain_path_answers_as_the_parser_does(value: str) -> None:
    assert domain_of(value) == by_the_parser(value)


@given(st.from_regex(r"[a-z0-9_%+-]{1,8}(\.[a-z0-9_%+-]{1,5}){0,2}@[a-z0-9-]{1,8}(\.[a-z0-9-]{1,5}){0,2}", fullmatch=True))
def test_plain_addresses(value: str) -> None:
    assert domain_of(value) == by_the_parser(value)


def test_examples() -> None:
    assert domain_of("kaigi@localhost") == "localhost"
    assert domain_of("推進本部 事務局 <kaigi@example.jp>") == "example.jp"
    assert domain_of("kaigi@例え.jp") == "xn--r8jz45g.jp"
    assert domain_of("example.jp") == "example.jp"
    assert domain_of("") == "kaigi.local"
