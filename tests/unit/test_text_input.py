"""Issue 15, item 9 (input): the text people give kaigi, decided by the engine for every face.

- Titles and names refuse bidi controls and zero-width characters (visual spoofing: a title
  that reads backwards, two names that look the same), and line breaks; the refusal names
  the character (`U+202E RIGHT-TO-LEFT OVERRIDE`), never shows it.
- Notes, minutes, findings and reasons keep line breaks and tabs, and joiners (emoji), but
  not bidi controls: those reorder what an auditor reads.
- A key or a filter (station, team, attendees, state, ...) with a lone surrogate or a NUL is
  refused at the application's boundary, before the store or an encoder meets it (on main:
  a crash rendering the refusal, HTTP 500; PostgreSQL refusing NUL, HTTP 503).
Every refusal changes nothing.
"""

import unicodedata

import pytest

from engine.core.errors import BadInput
from tests.conftest import fingerprint

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
        "\u061c"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
BREAKS = ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b"]


def named(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch)}"


def refused(call, *, names: str | None = None) -> BadInput:
    """`call` raises BadInput with one line in each language, naming the character."""
    with pytest.raises(BadInput) as err:
        call()
    for lang in ("en", "ja"):
        line = err.value.render(lang)
        assert "\n" not in line and line.encode("utf-8")
        if names is not None:
            assert names in line, line
    return err.value


@pytest.fixture
def svc(fast):
    return fast


class TestTitlesAndNames:
    def test_a_title_with_a_bidi_control_or_a_zero_width_character_is_refused_naming_it(self, svc):
        before = fingerprint(svc.store)
        for ch in BIDI + ZERO_WIDTH:
            err = refused(lambda: svc.file_item("yamamoto", f"予算{ch}承認済み"), names=named(ch))
            assert ch not in err.render("en") and ch not in err.render("ja")
        assert "U+202E RIGHT-TO-LEFT OVERRIDE" in refused(lambda: svc.file_item("yamamoto", "\u202eabc")).render("en")
        assert before == fingerprint(svc.store)

    def test_a_title_is_one_line(self, svc):
        before = fingerprint(svc.store)
        for br in BREAKS:
            refused(lambda: svc.file_item("yamamoto", f"# 承認済み{br}| 1 | forged |"), names=named(br[-1])
                    if br[-1] not in "\n\r\x0b\x85" else None)
        assert before == fingerprint(svc.store)

    def test_a_dry_run_refuses_it_the_same(self, svc):
        refused(lambda: svc.file_item("yamamoto", "a\u202eb", dry_run=True), names="U+202E")

    def test_member_names_in_japanese_and_english_refuse_them_too(self, svc):
        before = fingerprint(svc.store)
        for ch in ("\u202e", "\u200b", "\ufeff", "\u2066"):
            refused(lambda: svc.add_member("sato", "okada", name=f"木村{ch}", name_en="Kimura"), names=named(ch))
            refused(lambda: svc.add_member("sato", "okada", name="木村", name_en=f"Ki{ch}mura"), names=named(ch))
        refused(lambda: svc.add_member("sato", "okada", name="木村\n本部長"))
        assert before == fingerprint(svc.store)
        svc.add_member("sato", "okada", name="木村 三郎", name_en="Saburo Kimura")  # plain names still pass

    def test_ordinary_japanese_titles_still_pass(self, svc):
        for title in ("外国人住民の安全確保（第2四半期）", "ＡＢＣ・ｶﾀｶﾅ・〜・①", "Café «naïve» — 𠮷野家"):
            assert svc.file_item("yamamoto", title).fact.title == title


class TestProse:
    def test_notes_keep_line_breaks_tabs_and_emoji_joiners(self, svc):
        note = "一行目\n\t二行目\r\n家族: 👨\u200d👩\u200d👧"
        assert svc.file_item("yamamoto", "x", note=note).fact.note == note

    def test_a_bidi_control_in_a_note_minutes_a_finding_or_a_reason_is_refused(self, svc):
        item = svc.file_item("yamamoto", "x").fact.item
        m = svc.convene("sato", "council", svc.clock.now(), items=[]).fact.meeting
        svc.hold("watanabe", m, present=["sato", "watanabe"])
        before = fingerprint(svc.store)
        for ch in BIDI:
            refused(lambda: svc.file_item("yamamoto", "x", note=f"a{ch}b"), names=named(ch))
            refused(lambda: svc.advance("yamamoto", item, "skip", note=f"{ch}x"), names=named(ch))
            refused(lambda: svc.record_minutes("watanabe", m, f"議事録{ch}"), names=named(ch))
        assert before == fingerprint(svc.store)

    def test_other_control_characters_in_prose_are_refused(self, svc):
        for ch in ("\x00", "\x1b", "\x7f", "\x85"):
            refused(lambda: svc.file_item("yamamoto", "x", note=f"a{ch}b"), names=f"U+{ord(ch):04X}")


class TestKeysAtTheBoundary:
    """Lone surrogates (undecodable bytes: JSON's `"\\ud800"`) and NUL never reach the store."""

    BAD = ("\ud800", "mito\udcff", "\x00", "hq\x00")

    def test_acts_refuse_them_in_any_text_argument(self, svc):
        before = fingerprint(svc.store)
        now = svc.clock.now()
        for bad in self.BAD:
            refused(lambda: svc.file_item("yamamoto", "x", station=bad), names="U+")
            refused(lambda: svc.file_item("yamamoto", "x", team=bad), names="U+")
            refused(lambda: svc.convene("yamamoto", "staff", now, items=[1], attendees=["nakamura", bad]))
            refused(lambda: svc.convene("yamamoto", bad, now, items=[1]))
            refused(lambda: svc.advance("yamamoto", 1, bad))
            refused(lambda: svc.advance(bad, 1, "skip"))
            refused(lambda: svc.hold("yamamoto", 1, present=[bad]))
            refused(lambda: svc.issue_order("watanabe", 1, bad))
            refused(lambda: svc.assign("sato", "nakamura", "team_leader", station=bad))
            refused(lambda: svc.advance("yamamoto", 1, "skip", document=(bad, b"%PDF")))
        assert before == fingerprint(svc.store)

    def test_query_filters_refuse_them(self, svc):
        for bad in self.BAD:
            with svc.read() as q:
                refused(lambda: q.items(state=bad), names="U+")
                refused(lambda: q.items(station=bad))
                refused(lambda: q.items(team=bad))
                refused(lambda: q.cards("sato", station=bad))
                refused(lambda: q.cards("sato", team=bad))
                refused(lambda: q.meetings(status=bad))

    def test_an_id_past_64_bits_is_absent_for_acts_and_queries(self, svc):
        """ids 2**63 and up name nothing (on main, SQLite's OverflowError: HTTP 500)."""
        from engine.core.errors import NotFound

        before = fingerprint(svc.store)
        for bad in (2**63, 2**64, -(2**63) - 1):
            with pytest.raises(NotFound):
                svc.hold("yamamoto", bad)
            with pytest.raises(NotFound):
                svc.advance("yamamoto", 1, "skip", meeting=bad)
            with pytest.raises(NotFound):
                svc.convene("yamamoto", "staff", svc.clock.now(), items=[bad])
            with svc.read() as q:
                for call in (lambda: q.item(bad), lambda: q.meeting(bad), lambda: q.history(bad),
                             lambda: q.orders(item=bad)):
                    with pytest.raises(NotFound):
                        call()
        assert before == fingerprint(svc.store)
