"""`kaigi body add` / `body list` (R-P1): a body of one of the rulebook's kinds is set up by
whoever organises the top body, as an act of theirs that `audit verify` re-decides; its
people are then posted with `roster assign … --station KEY`. Refusals are one line, with
CLI.md's exit code, and write nothing. Runs on SQLite and PostgreSQL."""

import json
import os
from typing import Any
from urllib.parse import urlsplit

import pytest

from engine.infra.os_account import os_account


def js(r: Any) -> Any:
    return json.loads(r.stdout)


def state(k: Any, *who: str) -> Any:
    """What a refused act must leave as it was: the bodies, the roster and the log but for
    the `ActRefused` event that keeps the attempt."""
    r = k("audit", "export")
    assert r.exit_code == 0, r.output
    log = [e for e in (json.loads(line) for line in r.stdout.splitlines()) if e["type"] != "ActRefused"]
    return js(k(*who, "--json", "body", "list")), js(k(*who, "--json", "roster", "list")), log


def refused(r: Any, code: int, *words: str) -> None:
    assert r.exit_code == code, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


@pytest.fixture
def real(kaigi: Any, db_url: str) -> Any:
    """A real database whose chief is whoever runs the tests: the OS account on SQLite, the
    database role of the test URL on PostgreSQL."""
    if db_url.startswith("postgresql"):
        role = urlsplit(os.environ["KAIGI_TEST_PG_URL"].replace("postgresql+psycopg", "postgresql")).username
        r = kaigi("init", "--chief", "sato", "--name", "佐藤 一郎", "--db-role", role or "postgres")
    else:
        r = kaigi("init", "--chief", "sato", "--name", "佐藤 一郎", "--os-user", os_account())
    assert r.exit_code == 0, r.output
    assert "kind: real" in r.stdout
    return kaigi


class TestAdd:
    def test_r_p1_the_chief_adds_a_station_on_a_training_database_and_posts_its_chief(self, demo_cli: Any) -> None:
        """R-P1: the HQ chief sets up a station HQ; then posts its chief there; verify re-decides both."""
        r = demo_cli("--as", "sato", "--json", "body", "add", "tsukuba", "--kind", "station",
                     "--name", "つくば警察署", "--name-en", "Tsukuba Police Station")
        assert r.exit_code == 0, r.output
        assert js(r)["body"] == {"key": "tsukuba", "kind": "station", "name_ja": "つくば警察署",
                                 "name_en": "Tsukuba Police Station"}
        rows = {b["key"]: b for b in js(demo_cli("--as", "sato", "--json", "body", "list"))}
        assert rows["tsukuba"]["members"] == 0 and rows["tsukuba"]["kind"] == "station"
        assert demo_cli("--as", "sato", "roster", "add", "ishii", "--name", "石井 五郎").exit_code == 0
        r = demo_cli("--as", "sato", "roster", "assign", "ishii", "keisatsu_shocho", "--station", "tsukuba")
        assert r.exit_code == 0, r.output
        rows = {b["key"]: b for b in js(demo_cli("--as", "sato", "--json", "body", "list"))}
        assert rows["tsukuba"]["members"] == 1
        # the new station's chief organises it (R-P1): posts a member of their own
        assert demo_cli("--as", "ishii", "roster", "add", "ueda", "--name", "上田").exit_code == 0
        r = demo_cli("--as", "ishii", "roster", "assign", "ueda", "fuku_shocho", "--station", "tsukuba")
        assert r.exit_code == 0, r.output
        r = demo_cli("--json", "audit", "verify")
        assert r.exit_code == 0 and js(r)["ok"], r.output
        last = [json.loads(x) for x in demo_cli("audit", "export").stdout.splitlines()]
        added = next(e for e in last if e["type"] == "BodyAdded" and "tsukuba" in json.dumps(e, ensure_ascii=False))
        assert added["actor"] == "sato"  # an act of the chief's, not a set-up fact

    def test_r_p1_the_chief_adds_a_station_on_a_real_database(self, real: Any) -> None:
        r = real("body", "add", "tsukuba", "--kind", "station", "--name", "つくば警察署")
        assert r.exit_code == 0, r.output
        assert "tsukuba" in r.stdout
        assert real("roster", "add", "ishii", "--name", "石井 五郎").exit_code == 0
        r = real("roster", "assign", "ishii", "keisatsu_shocho", "--station", "tsukuba")
        assert r.exit_code == 0, r.output
        r = real("--json", "audit", "verify")
        assert r.exit_code == 0 and js(r)["ok"], r.output

    def test_dry_run_writes_nothing(self, demo_cli: Any) -> None:
        before = state(demo_cli, "--as", "sato")
        r = demo_cli("--as", "sato", "body", "add", "tsukuba", "--kind", "station", "--name", "つくば", "--dry-run")
        assert r.exit_code == 0 and "nothing written" in r.stdout, r.output
        assert state(demo_cli, "--as", "sato") == before


class TestRefused:
    def test_r_p1_a_station_chief_may_not_add_a_body(self, demo_cli: Any) -> None:
        """R-P1: only who organises the top body sets one up: exit 3 naming the rule; nothing written."""
        before = state(demo_cli, "--as", "sato")
        r = demo_cli("--as", "matsumoto", "body", "add", "kasama", "--kind", "station", "--name", "笠間警察署")
        refused(r, 3, "R-P1", "HQ chief")
        assert state(demo_cli, "--as", "sato") == before

    def test_an_unknown_kind_lists_the_books_kinds(self, demo_cli: Any) -> None:
        before = state(demo_cli, "--as", "sato")
        r = demo_cli("--as", "sato", "body", "add", "kasama", "--kind", "ward", "--name", "笠間")
        refused(r, 2, "'ward'", "hq (promotion HQ)", "station (station HQ)")
        assert state(demo_cli, "--as", "sato") == before

    def test_the_top_kind_is_founded_once(self, demo_cli: Any) -> None:
        before = state(demo_cli, "--as", "sato")
        refused(demo_cli("--as", "sato", "body", "add", "hq2", "--kind", "hq", "--name", "第二本部"), 4, "kaigi init")
        assert state(demo_cli, "--as", "sato") == before

    def test_a_key_or_name_already_used(self, demo_cli: Any) -> None:
        before = state(demo_cli, "--as", "sato")
        refused(demo_cli("--as", "sato", "body", "add", "mito", "--kind", "station", "--name", "新水戸"), 2, "'mito'")
        refused(demo_cli("--as", "sato", "body", "add", "mito2", "--kind", "station", "--name", "水戸警察署"), 2,
                "水戸警察署")
        assert state(demo_cli, "--as", "sato") == before

    @pytest.mark.parametrize("key", ["Tsukuba", "つくば", "a b", "_x", "x" * 41, ""])
    def test_a_bad_key(self, demo_cli: Any, key: str) -> None:
        before = state(demo_cli, "--as", "sato")
        refused(demo_cli("--as", "sato", "body", "add", key, "--kind", "station", "--name", "つくば"), 2, "key")
        assert state(demo_cli, "--as", "sato") == before

    @pytest.mark.parametrize("name", ["", "つく\u202eば", "つく\nば"])
    def test_a_name_with_unusable_characters(self, demo_cli: Any, name: str) -> None:
        before = state(demo_cli, "--as", "sato")
        refused(demo_cli("--as", "sato", "body", "add", "tsukuba", "--kind", "station", "--name", name), 2)
        assert state(demo_cli, "--as", "sato") == before


class TestList:
    def test_list_in_both_languages(self, demo_cli: Any) -> None:
        r = demo_cli("--as", "sato", "body", "list")
        assert r.exit_code == 0, r.output
        first = r.stdout.splitlines()[1]
        assert first.split()[:3] == ["hq", "promotion", "HQ"]  # the top body first
        assert "Mito Police Station (水戸警察署)" in r.stdout
        r = demo_cli("--lang", "ja", "--as", "sato", "body", "list")
        assert r.exit_code == 0 and "署推進本部" in r.stdout and "水戸警察署" in r.stdout and "構成員数" in r.stdout
        rows = {b["key"]: b for b in js(demo_cli("--as", "sato", "--json", "body", "list"))}
        assert set(rows) == {"hq", "mito", "joso", "hokota"}
        assert rows["mito"]["members"] >= 1 and rows["hq"]["top"]

    def test_list_needs_a_member(self, demo_cli: Any) -> None:
        refused(demo_cli("--as", "nobody", "body", "list"), 3)
