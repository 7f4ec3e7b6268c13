"""`kaigi meeting move M [--at WHEN] [--place TEXT] [--reason TEXT]` (R-M6, docs/cli.md):
the convener moves a meeting that has not started; `meeting show`, `meeting ics` and the
history say so; anyone else gets exit 3, a meeting that started, sat or was called off and
a past time exit 4, a hidden or unknown meeting exit 5, a time that does not parse exit 2;
one line each, nothing written. SQLite and PostgreSQL."""

import json

import pytest

AT = "2099-03-10T10:00"


def js(result):
    return json.loads(result.stdout)


@pytest.fixture
def council(demo_cli):
    r = demo_cli("--json", "--as", "sato", "meeting", "convene", "council", "--at", AT, "--place", "本部4階大会議室")
    assert r.exit_code == 0, r.output
    return js(r)["id"]


def head(k):
    return k("audit", "checkpoint").stdout


def test_r_m6_the_chief_moves_his_council(demo_cli, council):
    k, m = demo_cli, str(council)
    r = k("--as", "sato", "meeting", "move", m, "--at", "2099-03-12T14:30", "--place", "第二会議室",
          "--reason", "本部長の日程")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"moved meeting {m} (event ")
    assert "Thu 12 Mar 2099 14:30 JST" in r.stdout and "第二会議室" in r.stdout
    view = js(k("--json", "--as", "sato", "meeting", "show", m))
    assert (view["starts_at"], view["place"], view["status"]) == ("2099-03-12T14:30:00+09:00", "第二会議室",
                                                                  "convened")
    ics = k("--as", "sato", "meeting", "ics", m).stdout
    assert "DTSTART:20990312T053000Z" in ics and "LOCATION:第二会議室" in ics and "SEQUENCE:1" in ics
    ja = k("--lang", "ja", "--as", "sato", "meeting", "show", m).stdout
    assert "場所: 第二会議室" in ja and "3月12日(木) 14:30" in ja
    r = k("--json", "--as", "sato", "meeting", "move", m, "--place", "署長室")
    assert r.exit_code == 0 and js(r)["place"] == "署長室" and js(r)["starts_at"] == "2099-03-12T14:30:00+09:00"
    assert "SEQUENCE:2" in k("--as", "sato", "meeting", "ics", m).stdout
    v = k("--json", "audit", "verify")
    assert v.exit_code == 0 and js(v)["ok"] is True


def test_r_m6_dry_run_writes_nothing(demo_cli, council):
    before = head(demo_cli)
    r = demo_cli("--json", "--as", "sato", "meeting", "move", str(council), "--place", "別室", "--dry-run")
    assert r.exit_code == 0 and js(r)["dry_run"] is True and js(r)["event"]["place"] == "別室"
    assert head(demo_cli) == before


def test_r_m6_r_c3_exit_3_for_anyone_but_the_convener(demo_cli, council):
    before = js(demo_cli("--json", "--as", "sato", "meeting", "show", str(council)))
    r = demo_cli("--as", "watanabe", "meeting", "move", str(council), "--place", "別室")
    assert r.exit_code == 3
    assert r.stderr.startswith("not permitted: only the HQ chief (本部長) moves an HQ council to another time or place")
    assert len(r.stderr.strip().splitlines()) == 1
    assert js(demo_cli("--json", "--as", "sato", "meeting", "show", str(council))) == before


def test_r_m6_exit_4_started_held_cancelled_past_or_unchanged(demo_cli, council):
    k = demo_cli
    now = js(k("--json", "--as", "sato", "meeting", "convene", "council", "--at", "now"))["id"]
    held = js(k("--json", "--as", "sato", "meeting", "convene", "council", "--at", "now"))["id"]
    assert k("--as", "sato", "meeting", "hold", str(held)).exit_code == 0
    off = js(k("--json", "--as", "sato", "meeting", "convene", "council", "--at", AT))["id"]
    assert k("--as", "sato", "meeting", "cancel", str(off)).exit_code == 0
    before = head(k)
    cases = [([str(now), "--at", AT], "started"), ([str(held), "--at", AT], "only a convened meeting can be moved"),
             ([str(off), "--at", AT], "only a convened meeting can be moved"),
             ([str(council), "--at", "2020-01-01T10:00"], "has passed"),
             ([str(council), "--at", AT], "keeps its time and place"),
             ([str(council)], "keeps its time and place")]
    for args, why in cases:
        r = k("--as", "sato", "meeting", "move", *args)
        assert r.exit_code == 4, (args, r.output)
        assert r.stderr.startswith("not possible: ") and why in r.stderr and "(R-M6)" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert head(k) != before  # the refusals are kept for the auditor (ActRefused), nothing else
    assert js(k("--json", "--as", "sato", "meeting", "show", str(council)))["starts_at"] == AT + ":00+09:00"


def test_exit_5_and_exit_2(demo_cli, council):
    k = demo_cli
    r = k("--as", "sato", "meeting", "move", "99", "--place", "x")
    assert r.exit_code == 5 and r.stderr.strip() == "not found: no meeting 99"
    r = k("--as", "matsumoto", "meeting", "move", str(council), "--place", "x")  # R-R1: the HQ's, hidden
    assert r.exit_code == 5 and r.stderr.strip() == f"not found: no meeting {council}"
    r = k("--as", "sato", "meeting", "move", str(council), "--at", "next tuesday")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    r = k("--as", "sato", "meeting", "move", str(council), "--place", "二行\n目")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1


def test_r_m6_r_p2_a_station_chief_moves_his_council_and_the_items_history_says_so(demo_cli):
    """R-P2: the station chief convenes his station's council (its items tabled) and moves it."""
    k = demo_cli
    item = js(k("--json", "--as", "matsumoto", "item", "file", "水戸署の案件", "--station", "mito"))["id"]
    m = js(k("--json", "--as", "matsumoto", "meeting", "convene", "station_council", "--at", AT,
             "--item", str(item)))["id"]
    assert k("--as", "inoue", "meeting", "move", str(m), "--place", "x").exit_code == 5  # another station's (R-R1)
    r = k("--as", "matsumoto", "meeting", "move", str(m), "--at", "2099-03-11T09:00", "--reason", "会場都合")
    assert r.exit_code == 0, r.output
    history = js(k("--json", "--as", "matsumoto", "item", "history", str(item)))
    moved = [e for e in history if e["type"] == "MeetingMoved"]
    assert len(moved) == 1 and moved[0]["note"] == "会場都合" and "Wed 11 Mar 2099 09:00 JST" in moved[0]["summary"]
    assert js(k("--json", "audit", "verify"))["ok"] is True
