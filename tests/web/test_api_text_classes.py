"""The API's text patterns (in /api/openapi.json, checked by pydantic before the engine sees a
request) refuse exactly the characters the engine's text rules refuse: a title's (`line`) and
a note's (`prose`), over every code point. web.api keeps the `line` class for this Python's
Unicode version in a table instead of computing it at each import; the table must hold what
the computation gives (the computation serves any other version)."""

import re
import sys

import pytest

from engine.core import text
from engine.core.errors import BadInput
from web import api

EVERY = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]  # JSON text holds no surrogate


def _refused(rule, ch: str) -> bool:
    try:
        rule(ch, "title", 10)
    except BadInput:
        return True
    return False


@pytest.mark.parametrize("rule", ["line", "prose"])
def test_the_api_refuses_the_characters_the_engine_refuses(rule):
    pattern = re.compile(api.LINE_PATTERN if rule == "line" else api.PROSE_PATTERN)
    by_api = {ch for ch in EVERY if not pattern.fullmatch(ch)}  # (as pydantic: `$` is the end)
    by_engine = {ch for ch in EVERY if _refused(getattr(text, rule), ch)}
    assert by_api == by_engine
    assert "\u202e" in by_api and ("\n" in by_api) == (rule == "line")  # a note keeps its line breaks


def test_the_kept_line_class_is_the_computed_one():
    assert api.line_class() == api.LINE
