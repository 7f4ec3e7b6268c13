"""A fuzz over the CLI's commands and options (issue 9): whatever is typed, kaigi answers
with an exit code of CLI.md other than 1 (a bug), never a traceback; a refused command or
a dry run changes nothing. Arguments mix what a person means (ids, logins, triggers, Japan
times) with what they might mistype (huge numbers, nan, calendar ends, control characters,
undecodable bytes, empty strings)."""

import contextlib
import io
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from store import open_store
from tests.conftest import fingerprint

# Issue 15 (input): what spoofs a title or a name (bidi controls, zero-width characters), line
# breaks of every kind, NUL and C1 controls: refused with exit 2 and the character's name.
BIDI_AND_INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
                      "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
SPOOFING = ([f"承認{c}済み" for c in BIDI_AND_INVISIBLE]
            + ["# 承認済み\n| 1 | forged |", "a\u2028b", "a\x85b", "a\rb", "nul\x00", "\x9b31m"])
LOGINS = ["sato", "suzuki", "watanabe", "yamamoto", "nakamura", "kobayashi", "yamaguchi", "nobody"]
GARBAGE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "0", "-1", str(2**63), str(2**64), "nan", "inf", "1e309", "9999-12-31",
                     "0001-01-01", "2026-02-30", "24:00", "\x00", "\x1b[31m", "\udcff", "../../etc/passwd",
                     "'; DROP TABLE event; --", "%s%s%n", "{}", "[]", "null"]),
    st.sampled_from(SPOOFING),
)
ID = st.one_of(st.integers(1, 6).map(str), GARBAGE)
WHEN = st.one_of(st.sampled_from(["now", "2026-12-01", "2026-12-01T10:00+09:00", "2026-11-30 09:00", "tomorrow"]),
                 GARBAGE)
LOGIN = st.one_of(st.sampled_from(LOGINS), GARBAGE)
TEXT = st.one_of(st.sampled_from(["外国人住民の安全", "note", "x" * 300]), GARBAGE)


def command() -> st.SearchStrategy[list[str]]:
    def opt(name: str, value: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
        return st.one_of(st.just([]), value.map(lambda v: [name, v]))

    def cmd(*parts: Any) -> st.SearchStrategy[list[str]]:
        return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just([p] if isinstance(p, str) else p)
                           for p in parts]).map(lambda xs: [a for x in xs for a in (x if isinstance(x, list) else [x])])

    dry = st.sampled_from([[], ["--dry-run"]])
    trig = st.one_of(st.sampled_from(["refer", "skip", "return", "decide", "defer", "close", "withdraw", "check"]),
                     GARBAGE)
    kind = st.one_of(st.sampled_from(["staff", "team_lead", "council", "station_council"]), GARBAGE)
    return st.one_of(
        cmd("item", "file", TEXT.map(lambda t: [t]), opt("--station", TEXT), opt("--team", TEXT),
            opt("--note", TEXT), dry),
        cmd("item", "advance", ID.map(lambda i: [i]), trig.map(lambda t: [t]), opt("--meeting", ID),
            opt("--note", TEXT), dry),
        cmd("item", "show", ID.map(lambda i: [i])),
        cmd("item", "history", ID.map(lambda i: [i])),
        cmd("item", "list", opt("--state", TEXT), opt("--station", TEXT)),
        cmd("meeting", "convene", kind.map(lambda k: [k]), WHEN.map(lambda w: ["--at", w]), opt("--item", ID),
            opt("--attendee", LOGIN), opt("--invite", LOGIN), dry),
        cmd("meeting", "hold", ID.map(lambda i: [i]), opt("--present", LOGIN), opt("--sat-at", WHEN), dry),
        cmd("meeting", "cancel", ID.map(lambda i: [i]), opt("--reason", TEXT), dry),
        cmd("meeting", "agenda", ID.map(lambda i: [i]), st.sampled_from(["add", "remove", "move", "x"]).map(
            lambda o: [o]), ID.map(lambda i: [i]), opt("--to", ID), dry),
        cmd("order", "issue", ID.map(lambda i: [i]), LOGIN.map(lambda w: ["--to", w]), opt("--due", WHEN),
            opt("--note", TEXT), dry),
        cmd("order", "complete", ID.map(lambda i: [i]), TEXT.map(lambda t: ["--finding", t]), dry),
        cmd("roster", "add", LOGIN.map(lambda w: [w]), TEXT.map(lambda t: ["--name", t]), opt("--name-en", TEXT),
            opt("--email", TEXT), opt("--os-user", TEXT), dry),
        cmd("meeting", "list"),
        cmd("item", "list", opt("--team", TEXT), opt("--state", TEXT)),
        cmd("roster", "delegate", LOGIN.map(lambda w: [w]), WHEN.map(lambda w: ["--until", w]), dry),
        cmd("roster", "list", opt("--at", WHEN)),
        cmd("reminders", "forecast", WHEN.map(lambda w: ["--until", w])),
        cmd("audit", "replay", ID.map(lambda i: [i]), opt("--at", WHEN)),
        cmd("audit", "verify", opt("--checkpoint", TEXT)),
        cmd("rulebook", "show", opt("--version", TEXT)),
        cmd("whoami"),
    )


def invoke(args: list[str]) -> tuple[int, str]:
    """The real entry point, in this process: `cli.main()` with this argv."""
    import cli

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["kaigi", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = saved
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def demo_db(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/fuzz.db"
    monkeypatch.setenv("KAIGI_LANG", "en")
    monkeypatch.setenv("KAIGI_LOG", str(tmp_path / "kaigi.log"))
    monkeypatch.chdir(tmp_path)
    code, out = invoke(["--db", url, "init", "--demo"])
    assert code == 0, out
    return url


@settings(max_examples=int(__import__("os").environ.get("KAIGI_FUZZ_EXAMPLES", "120")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(args=command(), who=LOGIN, json_out=st.booleans())
def test_no_bug_no_traceback_and_refusals_change_nothing(demo_db: str, args: list[str], who: str,
                                                        json_out: bool) -> None:
    store = open_store(demo_db)
    before = fingerprint(store)
    code, output = invoke(["--db", demo_db, "--as", who, *(["--json"] if json_out else []), *args])
    event(f"exit {code}")
    assert code in (0, 2, 3, 4, 5, 6, 7), (args, code, output)
    assert "Traceback" not in output and "unexpected failure" not in output, output
    if code != 0 or "--dry-run" in args:
        assert fingerprint(store) == before, (args, code, output)
    if args[:2] == ["item", "file"] and any(c in args[2] for c in BIDI_AND_INVISIBLE):
        assert code != 0, (args, code, output)  # never filed, dry run or not
    store.close()


@pytest.mark.parametrize("title", SPOOFING)
def test_a_spoofing_or_multi_line_title_is_refused_by_name_and_changes_nothing(demo_db: str, title: str) -> None:
    """Issue 15: on main these titles were filed (exit 0); now exit 2, one line naming the character."""
    store = open_store(demo_db)
    before = fingerprint(store)
    code, output = invoke(["--db", demo_db, "--as", "yamamoto", "item", "file", title])
    assert code == 2 and "U+" in output and len(output.strip().splitlines()) == 1, output
    assert not any(c in output for c in BIDI_AND_INVISIBLE)
    assert fingerprint(store) == before
    store.close()
