"""What text a person may give kaigi: decided here, once, for every act, query and face.

Three kinds of text, three rules:

- **a key** (a station, a team, a login, a trigger, a filter): looked up, or kept as a key.
  It must be text a database and an event can hold at all: no lone surrogate (bytes that
  were not UTF-8; no encoder accepts them) and no NUL (PostgreSQL refuses it in text).
  `usable` checks that, at the application's boundary (every command and query filter), so
  a bad key is a refusal naming the character, not a driver's or an encoder's crash.
- **a line** (an item's title, a member's name): what identifies something to a reader,
  on a board, in a mail subject, in the auditor's report. One line (no line break of any
  kind), no control character, and no invisible format character (Unicode category Cf):
  bidi controls (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C) make a title read
  backwards or two titles look alike, zero-width characters (U+200B-U+200D, U+2060,
  U+FEFF) make two different names look the same (visual spoofing).
- **prose** (a note, minutes, a finding, a reason): keeps its line breaks and tabs, and
  the invisible characters that join letters or emoji (ZWJ, ZWNJ, a soft hyphen): prose
  identifies nothing, and scripts and emoji need them. It still refuses other control
  characters and every bidi control: those reorder what an auditor reads, so a note could
  show one sentence while holding another.

The refusal names the character by code point and Unicode name (`U+202E RIGHT-TO-LEFT
OVERRIDE`), never the character itself, so the line that refuses it cannot be spoofed.
These are decisions (pure, no clock, no store): the live path and the auditor's replay
run the same code.
"""

import unicodedata

from engine.core.errors import BadInput
from engine.i18n import Msg, catalog

BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_CONTROL_NAMES = {0x00: "NULL", 0x09: "CHARACTER TABULATION", 0x0A: "LINE FEED", 0x0B: "LINE TABULATION",
                  0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE", 0x85: "NEXT LINE"}


def char_name(ch: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`: a character as a refusal may quote it, safely."""
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return f"U+{code:04X} SURROGATE"
    name = _CONTROL_NAMES.get(code) or unicodedata.name(ch, "")
    if not name and unicodedata.category(ch) == "Cc":
        name = "control"
    return f"U+{code:04X} {name}".rstrip()


def field(what: str) -> Msg | str:
    """The name of a field in the reader's language, where the catalog has it."""
    key = f"field.{what}"
    return Msg(key) if key in catalog() else what


def usable(value: str, what: str) -> str:
    """A key or a filter: text a database and an event can hold (no surrogate, no NUL)."""
    if value.isascii() and "\x00" not in value:  # no surrogate is ASCII: most keys end here
        return value
    for ch in value:
        if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF:
            raise BadInput("input.unusable_char", what=field(what), char=char_name(ch))
    return value


def _measured(value: str, what: str, limit: int, required: bool, strip: bool) -> str:
    if required or strip:
        value = value.strip()
    if required and not value:
        raise BadInput("input.empty", what=field(what))
    if len(value) > limit:
        raise BadInput("input.too_long", what=field(what), limit=limit)
    return value


def legacy(value: str, what: str, limit: int, required: bool = False, strip: bool = False) -> str:
    """The rule kaigi 0.2 applied to every text (no surrogate, no control character but a line
    break or a tab): how an act recorded before this release is judged again by replay, so a
    log that was honest then does not fail `audit verify` now (see `Ctx.legacy_text`)."""
    value = _measured(value, what, limit, required, strip)
    for ch in value:
        if 0xD800 <= ord(ch) <= 0xDFFF or (ord(ch) < 32 and ch not in "\n\t\r"):
            raise BadInput("input.bad_chars", what=field(what), char=char_name(ch))
    return value


def line(value: str, what: str, limit: int, *, required: bool = False, old: bool = False) -> str:
    """A title or a name: one line, nothing that reorders or hides text (see the module).
    `old`: an act recorded before these rules, judged by the rule of its day (`legacy`)."""
    if old:
        return legacy(value, what, limit, required, strip=required)
    value = _measured(value, what, limit, required, strip=required)
    for ch in value:
        if ch in LINE_BREAKS:
            raise BadInput("input.one_line", what=field(what), char=char_name(ch))
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs"):
            raise BadInput("input.bad_chars", what=field(what), char=char_name(ch))
        if cat in ("Cf", "Zl", "Zp"):
            raise BadInput("input.spoofing_char", what=field(what), char=char_name(ch))
    return value


def prose(value: str, what: str, limit: int, *, required: bool = False, strip: bool = False,
          old: bool = False) -> str:
    """A note, minutes, a finding, a reason: line breaks and tabs kept as typed; no other
    control character, no bidi control (see the module). Not stripped unless asked: a note's
    spacing is the author's. `old`: as in `line`."""
    if old:
        return legacy(value, what, limit, required, strip)
    value = _measured(value, what, limit, required, strip)
    for ch in value:
        if ch in BIDI:
            raise BadInput("input.bidi_char", what=field(what), char=char_name(ch))
        code = ord(ch)
        if (code < 32 and ch not in "\n\t\r") or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF:
            raise BadInput("input.bad_chars", what=field(what), char=char_name(ch))
    return value
