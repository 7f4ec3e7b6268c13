"""The same scenario on two rulebooks through the command line (issue 19): the Ibaraki
police HQ (`kaigi init --demo`) and the fictional Sakuragawa City HQ (`kaigi init
--rulebook sakuragawa-tabunka --demo`). Every key comes from tests/both_books.py, the
book's own words; the path ends where the book says, a lower body's report goes up and is
received, a meeting called by a role the book does not name is refused (exit 3) and
changes nothing, and `audit verify` / `audit replay` reproduce every state."""

import json
from typing import Any

import pytest

from tests.both_books import SCENARIOS, Scenario


def js(result: Any) -> Any:
    return json.loads(result.stdout)


@pytest.fixture(params=SCENARIOS, ids=[s.name for s in SCENARIOS])
def book(request: pytest.FixtureRequest, kaigi: Any) -> tuple[Scenario, Any]:
    """A demo database on each book, started as its users start it."""
    s: Scenario = request.param
    r = kaigi(*s.init)
    assert r.exit_code == 0, r.output
    return s, kaigi


def state(k: Any, item: int, who: str) -> str:
    r = k("--json", "--as", who, "item", "show", str(item))
    assert r.exit_code == 0, r.output
    return str(js(r)["state"])


def sit(k: Any, kind: str, convener: str, item: int, attendees: tuple[str, ...] = (),
        called: tuple[str, ...] = ()) -> int:
    """Convene `kind` now with the item on its agenda and record that it sat; its convener
    chairs it and the members the book calls are called (R-C2, R-C3)."""
    extra = [a for login in attendees for a in ("--attendee", login)]
    r = k("--json", "--as", convener, "meeting", "convene", kind, "--at", "now", "--item", str(item), *extra)
    assert r.exit_code == 0, r.output
    m = js(r)
    assert (m["kind"], m["convener"], m["chair"]) == (kind, convener, convener)
    assert set(called) <= set(m["attendees"]), m["attendees"]
    r = k("--as", convener, "meeting", "hold", str(m["id"]))
    assert r.exit_code == 0, r.output
    return int(m["id"])


def test_the_book_in_force_is_the_one_init_was_given(book):
    s, k = book
    r = k("--json", "rulebook", "show")
    assert r.exit_code == 0, r.output
    assert s.key in r.stdout


def test_an_item_goes_from_filing_to_done_through_each_meeting_r_c1(book):
    """Each meeting called by the role the book names, with the item on its agenda; its
    outcome recorded by the role it names; the item ends in the book's final state."""
    s, k = book
    first = s.path[0]
    assert state(k, s.item, first.convener) == s.start
    for step in s.path:
        m = sit(k, step.kind, step.convener, s.item, step.attendees, step.called)
        r = k("--json", "--as", step.recorder, "item", "advance", str(s.item), step.trigger, "--meeting", str(m))
        assert r.exit_code == 0, r.output
        assert js(r)["event"]["to"] == step.state
    show = js(k("--json", "--as", s.path[-1].convener, "item", "show", str(s.item)))
    assert show["state"] == s.done and show["next"] == []
    v = k("--json", "audit", "verify")
    assert v.exit_code == 0 and js(v)["ok"] is True, v.output
    replay = js(k("--json", "--as", s.path[-1].convener, "audit", "replay", str(s.item)))
    moves = [step["to"] for step in replay if step.get("trigger")]
    assert moves == [step.state for step in s.path], replay
    assert all(step["allowed"] for step in replay if step.get("trigger"))


def test_a_lower_body_reports_up_and_the_top_receives_it_r_p2_r_p3(book):
    """Filed at a station / district; its council sits with it; its head reports the
    result; the named role relays it up; the top receives and closes it."""
    s, k = book
    r = k("--json", "--as", s.lower_filer, "item", "file", "合同訓練の結果報告", "--station", s.lower_body)
    assert r.exit_code == 0, r.output
    item = int(js(r)["id"])
    assert (js(r)["state"], js(r)["body"]) == (s.lower_start, s.lower_body)
    m = sit(k, s.lower_meeting, s.lower_filer, item)
    assert state(k, item, s.lower_filer) == s.lower_tabled
    rep = s.lower_report
    r = k("--json", "--as", rep.who, "item", "advance", str(item), rep.trigger, "--meeting", str(m))
    assert r.exit_code == 0, r.output
    assert js(r)["event"]["to"] == rep.state
    for step in s.lower_up:
        r = k("--json", "--as", step.who, "item", "advance", str(item), step.trigger)
        assert r.exit_code == 0, r.output
        assert js(r)["event"]["to"] == step.state
    v = k("--json", "audit", "verify")
    assert v.exit_code == 0 and js(v)["ok"] is True, v.output
    replay = js(k("--json", "--as", s.lower_up[-1].who, "audit", "replay", str(item)))
    moves = [step["to"] for step in replay if step.get("trigger")]
    assert moves == [s.lower_tabled, rep.state, *[u.state for u in s.lower_up]], replay


def test_a_meeting_called_by_a_role_the_book_does_not_name_is_refused_r_c3(book):
    """Exit 3, one line naming who may call it, and nothing changes."""
    s, k = book
    before = k("--json", "audit", "export").stdout
    r = k("--as", s.refused_by, "meeting", "convene", s.refused_kind, "--at", "now", "--item", str(s.item))
    assert r.exit_code == 3, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert state(k, s.item, s.refused_by) == s.start
    after = k("--json", "audit", "export").stdout
    kept = [json.loads(x) for x in after.splitlines() if json.loads(x).get("type") != "ActRefused"]
    assert kept == [json.loads(x) for x in before.splitlines()]


def test_item_show_names_the_next_step_in_the_books_own_word(book):
    """`item show` in Japanese says the next act as the book words it, with the key to type:
    付議(refer) on the Ibaraki book, the city's own word on the city's."""
    from workflows import bundled_rulebooks

    s, k = book
    first = s.path[0]
    word = bundled_rulebooks(s.key)[-1].trigger_titles[first.trigger].ja
    r = k("--lang", "ja", "--as", first.convener, "item", "show", str(s.item))
    assert r.exit_code == 0, r.output
    assert f"{word}({first.trigger})" in r.output, r.output
