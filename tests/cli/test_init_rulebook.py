"""`kaigi init --rulebook FILE|KEY` (issue 19): a database started on another organisation's
rulebook. Its top body is founded from the book (key and names of its top kind), `--chief`
holds the book's top role there (on a training database too) and can set up a lower body
and post people in it. A bad file is refused before any database is touched; a database
holds one organisation; running init again adds nothing. SQLite and PostgreSQL."""

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from engine.infra.os_account import os_account
from workflows import DEFAULT_KEY, bundled_organisations, bundled_rulebooks

# A small rulebook of a made-up city, in the shape of the Ibaraki book but sharing no key with it.
MINATO = """[rulebook]
key = "minato-kokusai"
version = "minato-2025-01-01"
effective_from = "2025-01-01"
ja = "港市国際交流推進要綱（試験用）"
en = "Minato City international exchange rules (for tests)"
source = "written for kaigi's tests"

[body_kinds.city]
ja = "港市推進本部"
en = "city HQ"
top = true

[body_kinds.district]
ja = "地区会議"
en = "district council"
reports_to = "city"
head = "district_head"

[roles.mayor]
ja = "市長"
en = "mayor"
body = "city"

[roles.secretary]
ja = "幹事"
en = "secretary"
body = "city"

[roles.district_head]
ja = "地区長"
en = "district head"
body = "district"

[roles.district_member]
ja = "地区委員"
en = "district member"
body = "district"

[positions.shicho]
ja = "市長"
en = "Mayor"
role = "mayor"

[positions.kikaku_kacho]
ja = "企画課長"
en = "Head of Planning"
role = "secretary"

[positions.shishocho]
ja = "支所長"
en = "Branch director"
role = "district_head"

[positions.chiku_iin]
ja = "地区委員"
en = "District member"
role = "district_member"

[teams.kouryu]
ja = "交流班"
en = "Exchange team"

[powers]
organise_top = ["mayor"]
organise_body = ["district_head"]
body_head = "district_head"
top_in_body = "head"
adopt_rulebook = ["mayor"]
order = ["mayor"]
ordered = ["secretary"]
order_state = "proposed"

[meetings.hq_meeting]
ja = "本部会議"
en = "HQ meeting"
body = "city"
convener = "mayor"
members = ["mayor", "secretary"]
invite = ["mayor"]
recorders = ["secretary"]
rule = "M-3"

[states.proposed]
ja = "提案"
en = "proposed"

[states.adopted]
ja = "決定"
en = "adopted"
final = true

[[transitions]]
trigger = "adopt"
from = "proposed"
to = "adopted"
meeting = "hq_meeting"
items = "city"
rule = "M-4"
"""


def js(r: Any) -> Any:
    return json.loads(r.stdout)


def one_line(r: Any, code: int, *words: str) -> None:
    assert r.exit_code == code, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def log(k: Any) -> list[dict[str, Any]]:
    r = k("audit", "export")
    assert r.exit_code == 0, r.output
    return [e for e in (json.loads(x) for x in r.stdout.splitlines()) if e["type"] != "ActRefused"]


@pytest.fixture
def book(tmp_path: Path) -> str:
    p = tmp_path / "minato.toml"
    p.write_text(MINATO, encoding="utf-8")
    return str(p)


def chief_args(db_url: str) -> list[str]:
    """`--chief` bound to whoever runs the tests: the OS account, or the PostgreSQL role."""
    if db_url.startswith("postgresql"):
        role = urlsplit(os.environ["KAIGI_TEST_PG_URL"].replace("postgresql+psycopg", "postgresql")).username
        return ["--chief", "ito", "--name", "伊藤 市長", "--db-role", role or "postgres"]
    return ["--chief", "ito", "--name", "伊藤 市長", "--os-user", os_account()]


def organise(k: Any, *who: str) -> None:
    """The first member holds the top role at the top body, sets up a district and posts its head."""
    me = js(k(*who, "--json", "whoami"))
    assert me["login"] == "ito"
    assert [(r["role"], r["body"]) for r in me["roles"]] == [("mayor", "city")]
    bodies = js(k(*who, "--json", "body", "list"))
    assert [(b["key"], b["kind"], b["name_ja"], b["name_en"]) for b in bodies] == [
        ("city", "city", "港市推進本部", "city HQ")]
    r = k(*who, "body", "add", "kita", "--kind", "district", "--name", "北地区", "--name-en", "North District")
    assert r.exit_code == 0, r.output
    assert k(*who, "roster", "add", "kondo", "--name", "近藤 支所長").exit_code == 0
    r = k(*who, "roster", "assign", "kondo", "shishocho", "--station", "kita")
    assert r.exit_code == 0, r.output
    rows = {b["key"]: b["members"] for b in js(k(*who, "--json", "body", "list"))}
    assert rows == {"city": 1, "kita": 1}
    r = k("--json", "audit", "verify")
    assert r.exit_code == 0 and js(r)["ok"], r.output


class TestStart:
    def test_the_book_passes_its_check(self, kaigi: Any, book: str) -> None:
        r = kaigi("rulebook", "check", book)
        assert r.exit_code == 0 and "minato-2025-01-01" in r.stdout, r.output

    def test_training_database_with_a_first_member(self, kaigi: Any, book: str) -> None:
        r = kaigi("--json", "init", "--rulebook", book, "--training", "--chief", "ito", "--name", "伊藤 市長")
        assert r.exit_code == 0, r.output
        out = js(r)
        assert out["mode"] == "training" and out["adopted"] == ["minato-2025-01-01"]
        assert out["rulebook"] == "minato-kokusai"
        organise(kaigi, "--as", "ito")
        # the district head organises their district (R-P1), the mayor appoints its head only (R-P4)
        assert kaigi("--as", "kondo", "roster", "add", "abe", "--name", "阿部").exit_code == 0
        assert kaigi("--as", "kondo", "roster", "assign", "abe", "chiku_iin", "--station", "kita").exit_code == 0
        one_line(kaigi("--as", "kondo", "body", "add", "minami", "--kind", "district", "--name", "南地区"), 3, "R-P1")

    def test_real_database_with_its_chief(self, kaigi: Any, book: str, db_url: str) -> None:
        r = kaigi("init", "--rulebook", book, *chief_args(db_url))
        assert r.exit_code == 0 and "kind: real" in r.stdout, r.output
        organise(kaigi)

    def test_the_top_kind_is_not_added_twice(self, kaigi: Any, book: str) -> None:
        assert kaigi("init", "--rulebook", book, "--training", "--chief", "ito", "--name", "伊藤").exit_code == 0
        one_line(kaigi("--as", "ito", "body", "add", "city2", "--kind", "city", "--name", "第二本部"), 4)


class TestOnce:
    def test_init_twice_adds_nothing(self, kaigi: Any, book: str) -> None:
        assert kaigi("init", "--rulebook", book, "--training", "--chief", "ito", "--name", "伊藤").exit_code == 0
        before = log(kaigi)
        for args in (["init", "--rulebook", book], ["init"], ["init", "--rulebook", book, "--training"],
                     ["init", "--rulebook", book, "--training", "--chief", "ito", "--name", "伊藤"]):
            r = kaigi("--json", *args)
            assert r.exit_code == 0 and js(r)["events"] == 0, (args, r.output)
        assert log(kaigi) == before

    def test_r_v1_a_new_version_is_not_adopted_by_init(self, kaigi: Any, book: str, tmp_path: Path) -> None:
        """R-V1: once a database has its book, a new version is the chief's act (rulebook cutover)."""
        assert kaigi("init", "--rulebook", book, "--training", "--chief", "ito", "--name", "伊藤").exit_code == 0
        before = log(kaigi)
        v2 = tmp_path / "minato-2.toml"
        v2.write_text(MINATO.replace('version = "minato-2025-01-01"', 'version = "minato-2025-06-01"')
                      .replace('effective_from = "2025-01-01"', 'effective_from = "2025-06-01"'), encoding="utf-8")
        one_line(kaigi("init", "--rulebook", str(v2)), 2, "minato-2025-06-01", "rulebook cutover")
        assert log(kaigi) == before

    def test_a_second_organisation_is_refused(self, kaigi: Any, book: str) -> None:
        assert kaigi("init", "--rulebook", book, "--training", "--chief", "ito", "--name", "伊藤").exit_code == 0
        before = log(kaigi)
        one_line(kaigi("init", "--rulebook", DEFAULT_KEY), 2, "minato-kokusai", DEFAULT_KEY)
        assert log(kaigi) == before

    def test_a_police_database_refuses_the_city_book(self, demo_cli: Any, book: str) -> None:
        before = log(demo_cli)
        one_line(demo_cli("init", "--rulebook", book), 2, "minato-kokusai")
        assert log(demo_cli) == before


class TestBadInput:
    def test_a_missing_file_is_one_line_and_no_database(self, kaigi: Any, tmp_path: Path, db_url: str) -> None:
        one_line(kaigi("init", "--rulebook", str(tmp_path / "nope.toml")), 2, "nope.toml", DEFAULT_KEY)
        if db_url.startswith("sqlite"):
            assert not (tmp_path / "kaigi.db").exists()

    def test_a_bad_book_lists_its_problems_and_writes_nothing(self, kaigi: Any, tmp_path: Path, db_url: str) -> None:
        bad = tmp_path / "bad.toml"
        bad.write_text(MINATO.replace('items = "city"\n', "").replace('rule = "M-3"\n', ""), encoding="utf-8")
        r = kaigi("init", "--rulebook", str(bad))
        assert r.exit_code == 2 and "Traceback" not in r.output, r.output
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 2 and all("bad.toml" in x for x in lines), r.stderr
        if db_url.startswith("sqlite"):
            assert not (tmp_path / "kaigi.db").exists()
        # and on a database already there: nothing changes
        assert kaigi("init", "--demo").exit_code == 0
        before = log(kaigi)
        assert kaigi("init", "--rulebook", str(bad)).exit_code == 2
        assert log(kaigi) == before

    def test_a_book_without_a_demo_refuses_demo(self, kaigi: Any, book: str, tmp_path: Path, db_url: str) -> None:
        one_line(kaigi("init", "--rulebook", book, "--demo"), 2, "minato-kokusai", "demo")
        if db_url.startswith("sqlite"):
            assert not (tmp_path / "kaigi.db").exists()


class TestBundled:
    def test_the_default_books_are_the_ibaraki_ones_only(self) -> None:
        assert bundled_rulebooks() and {b.key for b in bundled_rulebooks()} == {DEFAULT_KEY}
        assert DEFAULT_KEY in bundled_organisations()

    def test_a_bundled_key_starts_that_organisation_with_its_demo(self, kaigi: Any) -> None:
        r = kaigi("--json", "init", "--rulebook", DEFAULT_KEY, "--demo")
        assert r.exit_code == 0, r.output
        assert js(r)["demo_items"] and js(r)["rulebook"] == DEFAULT_KEY
        bodies = {b["key"]: b for b in js(kaigi("--as", "sato", "--json", "body", "list"))}
        assert (bodies["hq"]["name_ja"], bodies["hq"]["name_en"]) == ("推進本部", "promotion HQ")
        r = kaigi("--json", "init", "--demo")
        assert r.exit_code == 0 and js(r)["events"] == 0
