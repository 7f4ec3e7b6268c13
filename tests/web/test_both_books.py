"""The same scenario on two rulebooks through the web (issue 19): each book's demo
database started as its users start it (`kaigi init --demo`, `kaigi init --rulebook
sakuragawa-tabunka --demo`), then every act a form a member posts, signed in as that
member from the training database's member menu: convene with the item ticked, record the
sitting, advance on the item page. Keys come from tests/both_books.py only. A convening by
a role the book does not name shows its refusal and writes nothing; at the end the audit
page's verdict and `audit replay` agree with what the pages showed."""

import re
from typing import Any

import pytest
from click.testing import CliRunner

from store import open_store
from tests.both_books import SCENARIOS, Scenario
from tests.conftest import Svc, fingerprint


@pytest.fixture(params=SCENARIOS, ids=[s.name for s in SCENARIOS])
def site(request: pytest.FixtureRequest, db_url: str, browser: Any) -> Any:
    """(scenario, the application, a browser signed in as LOGIN) over a demo database."""
    from cli import cli

    s: Scenario = request.param
    r = CliRunner().invoke(cli, ["--db", db_url, *s.init], env={"KAIGI_LANG": "en"}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    k = Svc(open_store(db_url))
    made: dict[str, Any] = {}

    def as_(login: str) -> Any:
        if login not in made:
            made[login] = browser(k)
            r = made[login].switch(login)
            assert r.status_code == 200, r.text[:400]
        return made[login]
    yield s, k, as_
    k.store.close()


def state_on_page(b: Any, item: int) -> str:
    r = b.get(f"/items/{item}")
    assert r.status_code == 200, r.text[:400]
    m = re.search(r'id="state" data-state="([^"]+)"', r.text)
    assert m, r.text[:600]
    return m.group(1)


def no_refusal(r: Any) -> None:
    m = re.search(r'id="refusal"[^>]*>([^<]*)<', r.text)
    assert r.status_code == 200 and not m, (r.status_code, m.group(1) if m else r.text[:400])


def sit(b: Any, kind: str, item: int, attendees: tuple[str, ...] = ()) -> int:
    """Convene on /meetings/new with the item ticked, then record the sitting; the meeting's id."""
    r = b.post("/meetings", {"kind": kind, "starts_at": "now", "item": [str(item)], "attendee": list(attendees)},
               page=f"/meetings/new?kind={kind}&item={item}")
    no_refusal(r)
    assert r.url.path.startswith("/meetings/"), r.text[:400]
    meeting = int(r.url.path.rsplit("/", 1)[1])
    no_refusal(b.post(f"/meetings/{meeting}/hold", {}, page=f"/meetings/{meeting}"))
    return meeting


def advance(b: Any, item: int, trigger: str, meeting: int | None = None, word: str | None = None) -> None:
    page = b.get(f"/items/{item}").text
    assert f'data-trigger="{trigger}"' in page or f'value="{trigger}"' in page, f"{trigger} not offered"
    if word is not None:  # the button says the act in the book's own word: 付議(refer), 上申(send_up)
        assert f"{word}({trigger})" in page, f"{word}({trigger}) not on the page"
    data = {"trigger": trigger, **({"meeting": str(meeting)} if meeting is not None else {})}
    no_refusal(b.post(f"/items/{item}/advance", data, page=f"/items/{item}"))


def replayed(k: Any, item: int, who: str, db_url: str) -> list[str]:
    import json

    from cli import cli

    r = CliRunner().invoke(cli, ["--db", db_url, "--json", "--as", who, "audit", "replay", str(item)],
                           env={"KAIGI_LANG": "en"}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return [step["to"] for step in json.loads(r.stdout) if step.get("trigger")]


def test_an_item_goes_from_filing_to_done_on_its_pages_r_c1(site, db_url):
    s, k, as_ = site
    b = as_(s.path[0].convener)
    assert state_on_page(b, s.item) == s.start
    page = b.get(f"/items/{s.item}").text  # the state in the book's own words
    assert re.search(rf'data-state="{s.start}">{s.start_title[0]}<', page), page[:800]
    b.get("/lang/en")
    assert re.search(rf'data-state="{s.start}">{s.start_title[1]}<', b.get(f"/items/{s.item}").text)
    b.get("/lang/ja")
    from workflows import bundled_rulebooks

    words = {k: v.ja for k, v in bundled_rulebooks(s.key)[-1].trigger_titles.items()}
    for step in s.path:
        m = sit(as_(step.convener), step.kind, s.item, step.attendees)
        advance(as_(step.recorder), s.item, step.trigger, m, word=words[step.trigger])
        assert state_on_page(as_(step.recorder), s.item) == step.state
    assert state_on_page(as_(s.path[-1].convener), s.item) == s.done
    audit = as_(s.path[-1].convener).get("/audit")
    assert audit.status_code == 200
    assert replayed(k, s.item, s.path[-1].convener, db_url) == [step.state for step in s.path]


def test_a_lower_body_reports_up_through_the_pages_r_p2_r_p3(site, db_url):
    s, k, as_ = site
    b = as_(s.lower_filer)
    r = b.post("/items", {"title": "合同訓練の結果報告", "station": s.lower_body, "note": ""}, page="/board")
    no_refusal(r)
    item = int(r.url.path.rsplit("/", 1)[1])
    assert state_on_page(b, item) == s.lower_start
    m = sit(b, s.lower_meeting, item)
    assert state_on_page(b, item) == s.lower_tabled
    advance(as_(s.lower_report.who), item, s.lower_report.trigger, m)
    for step in s.lower_up:
        advance(as_(step.who), item, step.trigger)
        assert state_on_page(as_(step.who), item) == step.state
    assert replayed(k, item, s.lower_up[-1].who, db_url) == [
        s.lower_tabled, s.lower_report.state, *[u.state for u in s.lower_up]]


def test_a_convening_by_a_role_the_book_does_not_name_is_refused_r_c3(site):
    s, k, as_ = site
    b = as_(s.refused_by)
    before = fingerprint(k.store)
    r = b.post("/meetings", {"kind": s.refused_kind, "starts_at": "now", "item": [str(s.item)]},
               page="/")
    assert r.status_code == 403, r.text[:400]
    assert 'id="refusal"' in r.text
    assert fingerprint(k.store) == before
    assert state_on_page(b, s.item) == s.start
