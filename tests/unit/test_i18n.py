"""Every word a person reads exists in Japanese and English: each message id the code
uses is in the catalog in both languages, with the same parameters; dates in Japanese
text are 令和 with the weekday."""

import datetime as dt
import re
import string
from pathlib import Path

import pytest

from engine.i18n import A, Msg, Person, catalog, era, help_catalog, when
from engine.infra.timeutil import JST
from workflows import Title

ROOT = Path(__file__).resolve().parent.parent.parent
CALL = re.compile(r'''(?:Msg|NotPermitted|NotPossible|NotFound|BadInput|Conflict|IntegrityFailure|ReplayMismatch|'''
                  r'''Unavailable|DomainError|\bt|app\.t|_t)\(\s*"([a-z_]+\.[a-zA-Z_.]+)"''')
HELP = re.compile(r'help="((?:help|opt)\.[a-z_.]+)"')
DYNAMIC = {  # ids made from a value: every value they can take
    "kind.": ["bad_input", "not_permitted", "not_possible", "not_found", "conflict", "integrity", "unavailable"],
    "status.": ["convened", "held", "cancelled", "open", "complete", "waived", "pending", "due", "done", "sending",
                "sent", "failed", "forecast"],
    "verify.stored_": ["log", "db", "differs"],
    "history.agenda_": ["add", "remove", "move"],
    "history.": ["OrderCompleted", "OrderWaived", "MinutesRecorded", "MinutesApproved"],
    "done.": ["issue_order", "complete_order", "waive_order"],
    "would.": ["issue_order", "complete_order", "waive_order"],
}


def used_ids() -> set[str]:
    found = set()
    for path in [*ROOT.joinpath("engine").rglob("*.py"), ROOT / "cli.py", *ROOT.joinpath("web").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        found |= set(CALL.findall(text)) | set(HELP.findall(text))
        found |= set(re.findall(r'''ctx\.refuse\(Msg\("([a-z_.]+)"''', text))
        found |= set(re.findall(r'''_may_record\(ctx, \w+, "([a-z_.]+)"\)''', text))
    found = {f for f in found if not f.endswith(("_", "."))}  # the stems of the DYNAMIC ones
    for prefix, values in DYNAMIC.items():
        found |= {prefix + v for v in values}
    return found


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_id_the_code_uses_is_in_both_languages():
    known = {**catalog(), **help_catalog()}
    missing = sorted(i for i in used_ids() if i not in known)
    assert [] == missing
    half = sorted(k for k, v in known.items() if not (v.get("ja") and v.get("en")))
    assert [] == half


@pytest.mark.parametrize("key", sorted({**catalog(), **help_catalog()}))
def test_both_languages_take_the_same_parameters(key):
    entry = {**catalog(), **help_catalog()}[key]
    assert fields(entry["ja"]) == fields(entry["en"]), key


def test_japanese_is_not_english():
    """Japanese text that is only ASCII is an untranslated string (ids, codes and URLs aside)."""
    ascii_only = [k for k, v in {**catalog(), **help_catalog()}.items()
                  if v["ja"].isascii() and v["ja"] != v["en"] and not k.startswith("step.option")]
    assert [] == ascii_only


class TestDates:
    def test_reiwa_with_the_weekday(self):
        at = dt.datetime(2026, 12, 2, 10, 0, tzinfo=JST)
        assert "令和8年12月2日(水) 10:00" == when(at, "ja")
        assert "Wed 2 Dec 2026 10:00 JST" == when(at, "en")

    def test_the_first_year_of_an_era_is_gannen(self):
        assert "令和元年5月1日" == era(dt.date(2019, 5, 1))
        assert "平成31年4月30日" == era(dt.date(2019, 4, 30))

    def test_utc_instants_are_read_in_japan_time(self):
        at = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)  # 00:30 the next day in Japan
        assert when(at, "ja").startswith("令和8年12月2日(水)")


class TestRendering:
    def test_titles_people_and_articles(self):
        gm = Title("総括責任者", "general manager")
        meeting = Title("班長会議", "team-lead meeting")
        msg = Msg("refuse.only", roles=gm, act=Msg("act.convene", meeting=A(meeting)), rule_id="R-T3",
                  held=Msg("held.none"), now=Msg("held.now", who=(Person("watanabe", "渡辺 六郎", "Rokuro Watanabe"),)))
        assert ("only the general manager (総括責任者) convenes a team-lead meeting (R-T3); you hold no role "
                "(now: Rokuro Watanabe (watanabe))") == msg.render("en")
        assert ("班長会議を招集することができるのは総括責任者だけです(R-T3)。あなたの役職: 役職なし"
                "(現在の担当: 渡辺 六郎(watanabe))") == msg.render("ja")
