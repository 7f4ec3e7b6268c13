"""Text made safe for a mail header: one line, nothing a reader cannot see.

A title or a name is a person's text and may carry a line break (a pasted title), another
control character, or an invisible format character (a right-to-left override, a
zero-width space). None of it may reach a header: a line break there either adds a header
(injection) or makes the mail library refuse the message, and that reminder would then fail
for good; an override makes the subject read otherwise than it is. So line breaks and
other controls fold to one space and format characters are dropped. Only headers: the
body keeps the text as it was typed. Pure and deterministic (a resend builds the same
headers).
"""

import re
import unicodedata

_FOLD = frozenset(("Cc", "Zl", "Zp"))  # controls (CR, LF, TAB, NUL, ESC, NEL …), line and paragraph separators
_DROP = frozenset(("Cf", "Cs"))  # format characters (bidi controls, zero-width, BOM), lone surrogates
_SPACES = re.compile(" {2,}")
_TOKEN_UNSAFE = re.compile(r"[^\x21-\x7e]")


def header_text(text: str) -> str:
    """`text` on one line: controls and separators become a space, format characters go."""
    if text.isprintable():  # no Cc, Cf, Cs, Zl, Zp in it (nor Zs but the ASCII space): nothing to fold or drop
        return _SPACES.sub(" ", text).strip()
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in _FOLD:
            kept.append(" ")
        elif category not in _DROP:
            kept.append(ch)
    return _SPACES.sub(" ", "".join(kept)).strip()


def header_token(text: str) -> str:
    """A Message-ID or a domain: visible ASCII only, no spaces (what is left is dropped)."""
    return _TOKEN_UNSAFE.sub("", text)


def has_line_break_or_control(text: str) -> bool:
    """True if `text` holds a control character or a line or paragraph separator."""
    return any(unicodedata.category(ch) in _FOLD for ch in text)


def is_header_safe(text: str) -> bool:
    """True if `text` would go into a header unchanged."""
    return header_text(text) == text


_DOMAIN_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def ascii_domain(domain: str) -> str:
    """`domain` as a mail server reads it: an internationalised name IDNA-encoded
    (`例え.jp` gives `xn--r8jz45g.jp`), an ASCII one unchanged. Raises ValueError if it cannot be."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"the domain {header_text(domain)!r} is not a valid internationalised domain name") from None


def domain_of(value: str) -> str:
    """The domain for Message-IDs and calendar UIDs, from a domain or a whole KAIGI_MAIL_FROM
    (`推進本部 事務局 <kaigi@example.jp>` gives `example.jp`): only letters, digits, dots and
    hyphens, an IDN IDNA-encoded, case kept (a calendar UID made from it stays the same);
    `kaigi.local` if nothing is left. Pure (a resend's Message-ID is the same)."""
    text = header_text(value)
    if _PLAIN_ADDRESS.fullmatch(text):  # `kaigi@example.jp`: what parseaddr gives back unchanged
        text = text.rpartition("@")[2]
    elif "@" in text or "<" in text:
        from email.utils import parseaddr  # ~15 ms of imports a command that only opens the database skips

        addr = parseaddr(text)[1] or text
        text = addr.rpartition("@")[2]
    try:
        text = ascii_domain(text)
    except ValueError:
        pass
    return _DOMAIN_UNSAFE.sub("", text).strip(".-") or "kaigi.local"
