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
